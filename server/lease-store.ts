// <state_dir>/leases.json: the addresses in use and the reservations, so that clients reconnecting
// after a gateway restart (or a kill -9) within lease_grace get their addresses back.
//
//   {"version":1,"savedAt":"2026-11-30T12:00:00.000Z","leases":[["198.18.0.2","id:<32 hex>",null],
//                                                                ["198.18.0.3","src:fd00::1",1796040000000]]}
//
// Each lease: address, holder identity (lease-table.ts), reservation deadline in wall-clock ms or null
// for an address in use. At most one entry per pool address, so the file's size is bounded by the
// pool. Written whole to a temporary file, fsynced, renamed over the old one (never half a file),
// at most once a second; 0600, because client ids are bearer secrets.
import { promises as fsp, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { intToIpv4, ipv4ToInt } from '../protocol/config';
import { isIPv4 } from '../protocol/messages';
import { type LeaseRecord, isIdentity } from './lease-table';

export const LEASE_FILE_NAME = 'leases.json';
const VERSION = 1;
/** Per pool address: the longest entry (a full IPv6 source and a deadline) fits with room to spare. */
const MAX_BYTES_PER_ADDRESS = 100;

export class LeaseFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseFileError';
  }
}

/** The largest lease file a pool of `poolSize` addresses can produce (larger ones are not ours). */
export function maxLeaseFileBytes(poolSize: number): number {
  return 1024 + poolSize * MAX_BYTES_PER_ADDRESS;
}

export function encodeLeaseFile(records: readonly LeaseRecord[], savedAtMs: number): string {
  const leases = records.map((r) => JSON.stringify([intToIpv4(r.address), r.holder, r.until ?? null]));
  return `{"version":${VERSION},"savedAt":${JSON.stringify(new Date(savedAtMs).toISOString())},"leases":[\n${leases.join(',\n')}\n]}\n`;
}

/**
 * Reads a lease file's text. A file that is not ours as a whole (not JSON, another version, no
 * lease list) throws LeaseFileError; single entries that do not make sense are skipped and counted.
 */
export function decodeLeaseFile(text: string): { records: LeaseRecord[]; skipped: number } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new LeaseFileError(`not JSON (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || (doc as { version?: unknown }).version !== VERSION) {
    throw new LeaseFileError(`not a version-${VERSION} lease file`);
  }
  const leases = (doc as { leases?: unknown }).leases;
  if (!Array.isArray(leases)) throw new LeaseFileError('no "leases" list');
  const records: LeaseRecord[] = [];
  let skipped = 0;
  for (const entry of leases) {
    const record = recordOf(entry);
    if (record) records.push(record);
    else skipped++;
  }
  return { records, skipped };
}

function recordOf(entry: unknown): LeaseRecord | null {
  if (!Array.isArray(entry) || entry.length !== 3) return null;
  const [address, holder, until] = entry as unknown[];
  if (typeof address !== 'string' || !isIPv4(address) || typeof holder !== 'string' || !isIdentity(holder)) return null;
  if (until === null) return { address: ipv4ToInt(address), holder };
  if (typeof until !== 'number' || !Number.isFinite(until)) return null;
  return { address: ipv4ToInt(address), holder, until };
}

/** The records of `path`; null when there is no file. Throws LeaseFileError when it is not usable. */
export function readLeaseFile(path: string, maxBytes: number): { records: LeaseRecord[]; skipped: number } | null {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > maxBytes) throw new LeaseFileError(`${bytes.length} bytes, more than this pool can need (${maxBytes})`);
    text = bytes.toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (err instanceof LeaseFileError) throw err;
    throw new LeaseFileError(`cannot read it: ${(err as Error).message}`);
  }
  return decodeLeaseFile(text);
}

/** Replaces `path` with `text` so that a reader (or a crash) sees the old file or the new one, whole. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${LEASE_FILE_NAME}.${process.pid}.tmp`);
  const file = await fsp.open(tmp, 'w', 0o600);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await fsp.rename(tmp, path);
  const d = await fsp.open(dir, 'r');
  try {
    await d.sync(); // the rename itself survives a power cut
  } finally {
    await d.close();
  }
}

/**
 * Writes the lease file when asked, at most once per `debounceMs`, never two writes at once; flush()
 * writes what is pending now (at shutdown). Errors go to onError; the next change tries again.
 */
export class LeaseFileWriter {
  private timer: NodeJS.Timeout | null = null;
  private dirty = false;
  private writing: Promise<void> | null = null;

  constructor(
    readonly path: string,
    private readonly snapshot: () => string,
    private readonly onError: (err: Error) => void,
    private readonly debounceMs = 1000,
  ) {}

  /** Something changed: write within debounceMs. */
  schedule(): void {
    this.dirty = true;
    if (this.timer === null && this.writing === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.write();
      }, this.debounceMs);
      this.timer.unref();
    }
  }

  /** Writes what is pending now and resolves when it is on disk (or failed). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.dirty) await this.write();
  }

  private write(): Promise<void> {
    this.dirty = false;
    this.writing = writeFileAtomic(this.path, this.snapshot())
      .catch((err: Error) => this.onError(err))
      .finally(() => {
        this.writing = null;
        if (this.dirty) this.schedule(); // changes during the write
      });
    return this.writing;
  }
}

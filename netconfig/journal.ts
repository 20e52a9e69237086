// ChangeJournal: the durable, append-only list of system changes made, so a restart after kill -9 can undo them.
//
// File format, one JSON object per line:
//   {"v":1,"id":"<uuid>","change":{...NetChange}}   written and fsynced BEFORE the change is made
//   {"v":1,"cancel":"<uuid>"}                       forget that change: it failed without altering anything,
//                                                   or it was undone while others stay (a partial undo)
// A process killed mid-write leaves at most a torn last line, which entries() ignores.
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseChange, type NetChange } from './changes';

const FORMAT_VERSION = 1;

export interface JournalReadResult {
  /** Changes still in effect (cancelled ones removed), oldest first. */
  entries: NetChange[];
  /** The same, with the id each was recorded under (for cancel). */
  records: { id: string; change: NetChange }[];
  /** Lines that could not be used (1-based line number and why), excluding a torn last line. */
  skipped: { line: number; reason: string }[];
  /** True if the file ended in an incomplete line (a write interrupted by a crash). */
  tornTail: boolean;
}

export class ChangeJournal {
  private readonly memory: string[] = [];
  private tailChecked = false;

  /** With a path the journal is a file (e.g. /run/4over6/journal.jsonl); without one it lives in memory only. */
  constructor(readonly path?: string) {}

  get persistent(): boolean {
    return this.path !== undefined;
  }

  /** Appends the change durably and returns its id (for cancel). Call before making the change. */
  async record(change: NetChange): Promise<string> {
    const id = randomUUID();
    await this.append({ v: FORMAT_VERSION, id, change });
    return id;
  }

  /** Forgets a recorded change: its command failed and changed nothing, or it has been undone. */
  async cancel(id: string): Promise<void> {
    await this.append({ v: FORMAT_VERSION, cancel: id });
  }

  async entries(): Promise<NetChange[]> {
    return (await this.read()).entries;
  }

  async read(): Promise<JournalReadResult> {
    let text: string;
    if (this.path === undefined) {
      text = this.memory.join('');
    } else {
      try {
        text = await fs.readFile(this.path, 'utf8');
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'ENOENT') return { entries: [], records: [], skipped: [], tornTail: false };
        err.path ??= this.path; // reading a directory fails in read(2), whose error names no file
        throw err;
      }
    }
    const lines = text.split('\n');
    // Everything after the last '\n' is an unfinished line ('' when the file ends cleanly).
    const tail = lines.pop() ?? '';
    const result: JournalReadResult = { entries: [], records: [], skipped: [], tornTail: false };
    const live = new Map<string, NetChange>(); // insertion order = record order
    const use = (line: string, lineNo: number, isTail: boolean): void => {
      if (line.trim() === '') return;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        if (isTail) result.tornTail = true;
        else result.skipped.push({ line: lineNo, reason: 'not valid JSON' });
        return;
      }
      try {
        const rec = obj as { v?: unknown; id?: unknown; cancel?: unknown; change?: unknown };
        if (rec.v !== FORMAT_VERSION) throw new Error(`unsupported format version ${JSON.stringify(rec.v)}`);
        if (typeof rec.cancel === 'string') {
          live.delete(rec.cancel);
        } else if (typeof rec.id === 'string') {
          live.set(rec.id, parseChange(rec.change));
        } else {
          throw new Error('neither a change nor a cancel record');
        }
      } catch (e) {
        result.skipped.push({ line: lineNo, reason: (e as Error).message });
      }
    };
    lines.forEach((line, i) => use(line, i + 1, false));
    use(tail, lines.length + 1, true);
    result.records = [...live].map(([id, change]) => ({ id, change }));
    result.entries = result.records.map((r) => r.change);
    return result;
  }

  /** Forgets everything (after all changes were undone). */
  async clear(): Promise<void> {
    if (this.path === undefined) {
      this.memory.length = 0;
      return;
    }
    try {
      await fs.unlink(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await syncDir(dirname(this.path));
    this.tailChecked = true; // the file is gone, the next append starts a fresh one
  }

  private async append(record: object): Promise<void> {
    const line = JSON.stringify(record) + '\n';
    if (this.path === undefined) {
      this.memory.push(line);
      return;
    }
    const dir = dirname(this.path);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const handle = await fs.open(this.path, 'a', 0o600);
    try {
      let prefix = '';
      if (!this.tailChecked) {
        // A torn line left by a crash must not swallow our first record: start on a fresh line.
        const { size } = await handle.stat();
        if (size > 0) {
          const last = Buffer.alloc(1);
          const readable = await fs.open(this.path, 'r');
          try {
            await readable.read(last, 0, 1, size - 1);
          } finally {
            await readable.close();
          }
          if (last[0] !== 0x0a) prefix = '\n';
        }
        this.tailChecked = true;
      }
      // One write call per record: with O_APPEND a kill can at worst tear this line, never interleave it.
      await handle.write(prefix + line);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await syncDir(dir);
  }
}

// Makes the file's creation/removal itself durable, not just its contents.
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the data itself is already synced.
  } finally {
    await handle?.close();
  }
}

// This client's identity toward each gateway (docs/protocol.md, the IP request's `id=`): 128 random
// bits, made once per gateway (server and port) and kept in a root-only file, so a reconnect from
// another IPv6 address, or after a restart, gets the same IPv4 address back. It is a bearer secret
// (whoever has it can claim our reserved address), hence 0600 and one id per gateway.
//
// File: one JSON object, `{"[fd00::2]:5555": "<32 lowercase hex>", ...}`, replaced atomically.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isClientId } from '../protocol/ip-request';
import { writePrivateFileSync } from './private-file';

/** Where the ids are kept unless told: beside the process's change journal (by default /var/lib/4over6). */
export function defaultClientIdsPath(journalPath: string): string {
  return join(dirname(journalPath), 'client-ids.json');
}

export function gatewayKey(server: string, port: number): string {
  return `[${server.toLowerCase()}]:${port}`;
}

/**
 * The id kept for this gateway in the file at path, made and stored first if there is none. A file
 * that cannot be read as ours is replaced (the ids in it are lost: the next connect may get another
 * address), never trusted field by field.
 */
export function clientIdFor(path: string, server: string, port: number, warn: (message: string) => void = () => {}): string {
  const key = gatewayKey(server, port);
  const ids = readIds(path, warn);
  const known = ids[key];
  if (known !== undefined) return known;
  const id = randomBytes(16).toString('hex');
  ids[key] = id;
  writePrivateFileSync(path, `${JSON.stringify(ids, null, 2)}\n`);
  return id;
}

function readIds(path: string, warn: (message: string) => void): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read ${path} (${(err as Error).message}): starting a new one`);
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    const ids: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== 'string' || !isClientId(value)) throw new Error(`bad id for ${key}`);
      ids[key] = value;
    }
    return ids;
  } catch (err) {
    warn(`${path} is not a client id file (${(err as Error).message}): starting a new one`);
    return {};
  }
}

// Our one-line ASCII extension, carried where legacy peers never look (the type-100 payload, type 105):
//
//   4o6/1 key=value key=value ...
//
// `4o6/1` marks the line and its version: anything else (or longer than 256 bytes) is not ours and
// is ignored, as a legacy peer would. Tokens are separated by single spaces; a token without `=` or
// with an empty key is skipped; keys a reader does not know are ignored so later versions can add
// fields. One grammar for every message that carries such a line: this module is its only parser.

export const EXTENSION_MAGIC = '4o6/1';
/** Longer lines are not ours: ignored. */
export const MAX_EXTENSION_LINE_BYTES = 256;
const CAP_NAME = /^[a-z0-9-]{1,32}$/;

export type ExtensionField = readonly [key: string, value: string];

/** Encodes the line; an empty buffer when there are no fields (what a legacy peer sends). */
export function encodeExtensionLine(fields: readonly ExtensionField[]): Buffer {
  if (fields.length === 0) return Buffer.alloc(0);
  const line = [EXTENSION_MAGIC, ...fields.map(([key, value]) => `${key}=${value}`)].join(' ');
  if (line.length > MAX_EXTENSION_LINE_BYTES) {
    throw new RangeError(`extension line of ${line.length} bytes exceeds ${MAX_EXTENSION_LINE_BYTES}`);
  }
  return Buffer.from(line, 'latin1');
}

/** The line's fields in order, or null when the payload is not our line. */
export function parseExtensionLine(payload: Uint8Array): ExtensionField[] | null {
  if (payload.byteLength > MAX_EXTENSION_LINE_BYTES) return null; // empty: no magic, not ours either
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1');
  const tokens = text.split(' ');
  if (tokens[0] !== EXTENSION_MAGIC) return null;
  const fields: ExtensionField[] = [];
  for (let i = 1; i < tokens.length; i++) {
    const token = tokens[i];
    const eq = token.indexOf('=');
    if (eq > 0) fields.push([token.slice(0, eq), token.slice(eq + 1)]);
  }
  return fields;
}

export function isCapabilityName(name: string): boolean {
  return CAP_NAME.test(name);
}

/** The `caps` value: names joined by commas; throws on a name the parser would drop. */
export function encodeCapabilityList(caps: readonly string[]): string {
  for (const c of caps) if (!isCapabilityName(c)) throw new RangeError(`bad capability name: "${c}"`);
  return caps.join(',');
}

/** Reads a `caps` value: the well-formed names, in order; malformed ones are dropped. */
export function parseCapabilityList(value: string): string[] {
  return value.split(',').filter(isCapabilityName);
}

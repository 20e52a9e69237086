// The IP request's optional payload: our extension, invisible to legacy peers.
//
// Legacy clients send type 100 with an empty payload, and the legacy server answers a type-100 frame
// whatever its payload holds (it never reads it). Our client puts one line of ASCII there:
//
//   4o6/1 id=<32 lowercase hex> addr=<dotted quad> caps=<name>,<name>
//
// - `4o6/1` marks the extension and its version; a payload that does not start with it is ignored
//   (treated as a legacy request).
// - `id`: the client's identity, 128 random bits the client keeps per gateway. The gateway keys its
//   address reservations by it, so a client whose IPv6 source address changed still gets its lease back.
//   It is a bearer secret: sent inside type-200 frames when the profile has a key.
// - `addr`: the address the client held before (to ask for it back after a reconnect).
// - `caps`: capabilities the client supports (reserved for the super-packet exchange; none defined yet).
// Every field is optional; unknown `key=value` tokens are ignored so later versions can add fields.
import { isIPv4 } from './messages';

export const IP_REQUEST_MAGIC = '4o6/1';
/** Longer payloads are not ours: ignored, as a legacy server would. */
export const MAX_IP_REQUEST_PAYLOAD_BYTES = 256;
const CLIENT_ID = /^[0-9a-f]{32}$/;
const CAP_NAME = /^[a-z0-9-]{1,32}$/;

export interface IpRequestExtension {
  /** 32 lowercase hex digits. */
  clientId?: string;
  /** The dotted quad the client asks for back. */
  previousAddress?: string;
  caps: string[];
}

export function isClientId(text: string): boolean {
  return CLIENT_ID.test(text);
}

/** Encodes the type-100 payload; an empty buffer when there is nothing to say (the legacy request). */
export function encodeIpRequestPayload(ext: Partial<IpRequestExtension>): Buffer {
  const tokens = [IP_REQUEST_MAGIC];
  if (ext.clientId !== undefined) {
    if (!isClientId(ext.clientId)) throw new RangeError(`client id must be 32 lowercase hex digits, got "${ext.clientId}"`);
    tokens.push(`id=${ext.clientId}`);
  }
  if (ext.previousAddress !== undefined) {
    if (!isIPv4(ext.previousAddress)) throw new RangeError(`not an IPv4 address: ${ext.previousAddress}`);
    tokens.push(`addr=${ext.previousAddress}`);
  }
  const caps = ext.caps ?? [];
  for (const c of caps) if (!CAP_NAME.test(c)) throw new RangeError(`bad capability name: "${c}"`);
  if (caps.length > 0) tokens.push(`caps=${caps.join(',')}`);
  if (tokens.length === 1) return Buffer.alloc(0);
  return Buffer.from(tokens.join(' '), 'latin1');
}

/**
 * Reads a type-100 payload. Returns null for a legacy (empty) request or anything that is not our
 * extension; malformed fields are dropped one by one, so a peer cannot make the request fail.
 */
export function parseIpRequestPayload(payload: Uint8Array): IpRequestExtension | null {
  if (payload.byteLength === 0 || payload.byteLength > MAX_IP_REQUEST_PAYLOAD_BYTES) return null;
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1');
  const tokens = text.split(' ');
  if (tokens[0] !== IP_REQUEST_MAGIC) return null;
  const ext: IpRequestExtension = { caps: [] };
  for (const token of tokens.slice(1)) {
    const eq = token.indexOf('=');
    if (eq <= 0) continue;
    const key = token.slice(0, eq);
    const value = token.slice(eq + 1);
    if (key === 'id' && isClientId(value)) ext.clientId = value;
    else if (key === 'addr' && isIPv4(value)) ext.previousAddress = value;
    else if (key === 'caps') ext.caps = value.split(',').filter((c) => CAP_NAME.test(c));
  }
  return ext;
}

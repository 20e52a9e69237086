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
// - `caps`: capabilities the client supports (`gso`: super-packet frames); a gateway that shares
//   some answers with a type-105 frame (capabilities.ts).
// Every field is optional; unknown `key=value` tokens are ignored so later versions can add fields.
// The line's grammar (magic, tokens, length limit) is extension-line.ts, shared with type 105.
import {
  EXTENSION_MAGIC,
  ExtensionField,
  MAX_EXTENSION_LINE_BYTES,
  encodeCapabilityList,
  encodeExtensionLine,
  parseCapabilityList,
  parseExtensionLine,
} from './extension-line';
import { isIPv4 } from './messages';

export const IP_REQUEST_MAGIC = EXTENSION_MAGIC;
/** Longer payloads are not ours: ignored, as a legacy server would. */
export const MAX_IP_REQUEST_PAYLOAD_BYTES = MAX_EXTENSION_LINE_BYTES;
const CLIENT_ID = /^[0-9a-f]{32}$/;

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
  const fields: ExtensionField[] = [];
  if (ext.clientId !== undefined) {
    if (!isClientId(ext.clientId)) throw new RangeError(`client id must be 32 lowercase hex digits, got "${ext.clientId}"`);
    fields.push(['id', ext.clientId]);
  }
  if (ext.previousAddress !== undefined) {
    if (!isIPv4(ext.previousAddress)) throw new RangeError(`not an IPv4 address: ${ext.previousAddress}`);
    fields.push(['addr', ext.previousAddress]);
  }
  const caps = encodeCapabilityList(ext.caps ?? []);
  if (caps !== '') fields.push(['caps', caps]);
  return encodeExtensionLine(fields);
}

/**
 * Reads a type-100 payload. Returns null for a legacy (empty) request or anything that is not our
 * extension; malformed fields are dropped one by one, so a peer cannot make the request fail.
 */
export function parseIpRequestPayload(payload: Uint8Array): IpRequestExtension | null {
  const fields = parseExtensionLine(payload);
  if (fields === null) return null;
  const ext: IpRequestExtension = { caps: [] };
  for (const [key, value] of fields) {
    if (key === 'id' && isClientId(value)) ext.clientId = value;
    else if (key === 'addr' && isIPv4(value)) ext.previousAddress = value;
    else if (key === 'caps') ext.caps = parseCapabilityList(value);
  }
  return ext;
}

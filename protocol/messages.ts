// The messages carried in frames: IP request/response, data, heartbeat, unsupported. protocol.md "Types".
import ipaddr from 'ipaddr.js';
import { EMPTY, MessageType, encodeFrame } from './frame';

export const IP_REQUEST_FRAME = encodeFrame(MessageType.IpRequest, EMPTY);
export const HEARTBEAT_FRAME = encodeFrame(MessageType.Heartbeat, EMPTY);
export const UNSUPPORTED_FRAME = encodeFrame(MessageType.Unsupported, EMPTY);

/** Legacy servers always send exactly this many fields: lease, route, dns1..dns3. */
export const IP_RESPONSE_FIELDS = 5;
const MIN_IP_RESPONSE_FIELDS = 3;
const NO_ADDRESS = '0.0.0.0';

export interface IpLease {
  /** The IPv4 address leased to the client. */
  address: string;
  /** Legacy servers always send 0.0.0.0: "default route through the tunnel". */
  route: string;
  /** DNS servers, without the `0.0.0.0` placeholders. */
  dns: string[];
}

export type IpResponseField = 'text' | 'address' | 'route' | 'dns1' | 'dns2' | 'dns3';

export class IpResponseError extends Error {
  readonly code = 'IP_RESPONSE_INVALID';
  constructor(readonly field: IpResponseField, message: string) {
    super(message);
    this.name = 'IpResponseError';
  }
}

export function isIPv4(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** Parses the type-101 payload: 3 to 5 whitespace-separated IPv4 fields. */
export function parseIpResponse(payload: Uint8Array): IpLease {
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1');
  if (!/^[\x20-\x7e\t\r\n]*$/.test(text)) {
    throw new IpResponseError('text', 'IP response is not ASCII text');
  }
  const fields = text.trim().split(/\s+/).filter((f) => f.length > 0);
  if (fields.length < MIN_IP_RESPONSE_FIELDS || fields.length > IP_RESPONSE_FIELDS) {
    throw new IpResponseError(
      'text',
      `IP response has ${fields.length} fields, expected 3 to 5 (address, route, DNS): "${text.slice(0, 80)}"`,
    );
  }
  const names: IpResponseField[] = ['address', 'route', 'dns1', 'dns2', 'dns3'];
  fields.forEach((value, i) => {
    if (!isIPv4(value)) {
      throw new IpResponseError(names[i], `IP response field ${names[i]} is not an IPv4 address: "${value}"`);
    }
  });
  const [address, route, ...dns] = fields;
  if (address === NO_ADDRESS) {
    throw new IpResponseError('address', 'IP response offers no address (0.0.0.0)');
  }
  return { address, route, dns: dns.filter((d) => d !== NO_ADDRESS) };
}

/** Encodes an IP response frame the way legacy servers do: always 5 fields, single spaces. */
export function encodeIpResponse(lease: IpLease): Buffer {
  const dns = [...lease.dns.slice(0, 3)];
  while (dns.length < 3) dns.push(NO_ADDRESS);
  const fields = [lease.address, lease.route, ...dns];
  fields.forEach((f) => {
    if (!isIPv4(f)) throw new RangeError(`not an IPv4 address: ${f}`);
  });
  return encodeFrame(MessageType.IpResponse, Buffer.from(fields.join(' '), 'latin1'));
}

export function encodeDataUp(packet: Uint8Array): Buffer {
  return encodeFrame(MessageType.DataUp, packet);
}

export function encodeDataDown(packet: Uint8Array): Buffer {
  return encodeFrame(MessageType.DataDown, packet);
}

// The few IPv4 header fields the engines look at. RFC 791.
export const IPV4_MIN_HEADER_BYTES = 20;
const VERSION_OFFSET = 0;
const SOURCE_OFFSET = 12;
const DESTINATION_OFFSET = 16;

export function isIPv4Packet(buf: Uint8Array, start: number, length: number): boolean {
  return length >= IPV4_MIN_HEADER_BYTES && buf[start + VERSION_OFFSET] >> 4 === 4;
}

/** Source address as an unsigned 32-bit integer. */
export function ipv4Source(buf: Buffer, start: number): number {
  return buf.readUInt32BE(start + SOURCE_OFFSET);
}

export function ipv4Destination(buf: Buffer, start: number): number {
  return buf.readUInt32BE(start + DESTINATION_OFFSET);
}

// The few IPv4 and TCP header fields the engines look at or fix. RFC 791, RFC 793, RFC 1624.
export const IPV4_MIN_HEADER_BYTES = 20;
const VERSION_OFFSET = 0;
const TOTAL_LENGTH_OFFSET = 2;
const FRAGMENT_OFFSET = 6;
const PROTOCOL_OFFSET = 9;
const SOURCE_OFFSET = 12;
const DESTINATION_OFFSET = 16;
const PROTOCOL_TCP = 6;
const TCP_MIN_HEADER_BYTES = 20;
const TCP_FLAGS_OFFSET = 13;
const TCP_CHECKSUM_OFFSET = 16;
const TCP_FLAG_SYN = 0x02;
const TCP_OPTION_END = 0;
const TCP_OPTION_NOP = 1;
const TCP_OPTION_MSS = 2;

/**
 * Largest IPv4 packet a legacy peer carries whole: it reads its TUN into a 1500-byte buffer that
 * also holds a 4-byte packet-information header, so longer packets are cut (seen with the legacy
 * C++ server and client, test/interop). TCP through our tunnels is kept below it (clampTcpMss).
 */
export const LEGACY_MAX_PACKET_BYTES = 1496;
/** TCP MSS that keeps TCP packets within LEGACY_MAX_PACKET_BYTES (20-byte IPv4 + 20-byte TCP headers). */
export const TUNNEL_TCP_MSS = LEGACY_MAX_PACKET_BYTES - 40;

export function isIPv4Packet(buf: Uint8Array, start: number, length: number): boolean {
  return length >= IPV4_MIN_HEADER_BYTES && buf[start + VERSION_OFFSET] >> 4 === 4;
}

/** The IPv4 total-length field equals the bytes we have: not cut short, nothing trailing. */
export function ipv4LengthMatches(buf: Uint8Array, start: number, length: number): boolean {
  return ((buf[start + TOTAL_LENGTH_OFFSET] << 8) | buf[start + TOTAL_LENGTH_OFFSET + 1]) === length;
}

/** Source address as an unsigned 32-bit integer. */
export function ipv4Source(buf: Buffer, start: number): number {
  return buf.readUInt32BE(start + SOURCE_OFFSET);
}

export function ipv4Destination(buf: Buffer, start: number): number {
  return buf.readUInt32BE(start + DESTINATION_OFFSET);
}

/**
 * Lowers the MSS option of a TCP SYN (or SYN-ACK) in an IPv4 packet to `maxMss`, in place, with an
 * incremental checksum update. Both ends of a TCP connection then send segments that fit. Returns
 * true when the packet was changed. Anything that is not an unfragmented TCP SYN is left alone.
 */
export function clampTcpMss(buf: Uint8Array, start: number, length: number, maxMss: number): boolean {
  if (buf[start + PROTOCOL_OFFSET] !== PROTOCOL_TCP) return false;
  const ihl = (buf[start] & 0x0f) * 4;
  const tcp = start + ihl;
  if (ihl < IPV4_MIN_HEADER_BYTES || length < ihl + TCP_MIN_HEADER_BYTES) return false;
  if (!(buf[tcp + TCP_FLAGS_OFFSET] & TCP_FLAG_SYN)) return false;
  if (((buf[start + FRAGMENT_OFFSET] & 0x1f) << 8 | buf[start + FRAGMENT_OFFSET + 1]) !== 0) return false;
  const optionsEnd = tcp + Math.min((buf[tcp + 12] >> 4) * 4, length - ihl);
  let o = tcp + TCP_MIN_HEADER_BYTES;
  while (o < optionsEnd) {
    const kind = buf[o];
    if (kind === TCP_OPTION_END) return false;
    if (kind === TCP_OPTION_NOP) {
      o++;
      continue;
    }
    if (o + 1 >= optionsEnd) return false;
    const optionLength = buf[o + 1];
    if (optionLength < 2 || o + optionLength > optionsEnd) return false;
    if (kind === TCP_OPTION_MSS && optionLength === 4) {
      const mss = (buf[o + 2] << 8) | buf[o + 3];
      if (mss <= maxMss) return false;
      buf[o + 2] = maxMss >> 8;
      buf[o + 3] = maxMss & 0xff;
      // RFC 1624: HC' = ~(~HC + ~m + m'). A field at an odd offset from the TCP header spans two
      // checksum words; in one's-complement arithmetic that is the same as its bytes swapped.
      const odd = (o + 2 - tcp) & 1;
      const oldWord = odd ? swap16(mss) : mss;
      const newWord = odd ? swap16(maxMss) : maxMss;
      const checksum = (buf[tcp + TCP_CHECKSUM_OFFSET] << 8) | buf[tcp + TCP_CHECKSUM_OFFSET + 1];
      let sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + newWord;
      sum = (sum & 0xffff) + (sum >>> 16);
      sum = (sum & 0xffff) + (sum >>> 16);
      const updated = ~sum & 0xffff;
      buf[tcp + TCP_CHECKSUM_OFFSET] = updated >> 8;
      buf[tcp + TCP_CHECKSUM_OFFSET + 1] = updated & 0xff;
      return true;
    }
    o += optionLength;
  }
  return false;
}

function swap16(v: number): number {
  return ((v & 0xff) << 8) | (v >> 8);
}

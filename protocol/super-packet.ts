// Super-packet regions: the payload of a type-106 frame between our own peers. protocol.md
// "Between our own peers: capabilities and super-packets".
//
//   u16 LE segment size | u8 flags (bit 0 = ECN) | u8 reserved (0) | one IPv4 TCP packet
//
// The packet is a TSO super-packet as the kernel hands it over (TUN with IFF_VNET_HDR): its TCP
// checksum field holds the CHECKSUM_PARTIAL seed, and the receiving TUN cuts it into segments of
// `segment size` payload bytes. Pure code: the checks run on any bytes a peer sends, before C sees them.

export const SUPER_HEADER_BYTES = 4;
/** An IPv4 packet's total length is a u16. */
export const MAX_SUPER_PACKET_BYTES = 65535;
/** Bounds the segments one frame can make a receiver's kernel cut (as the kernel's UDP_MAX_SEGMENTS). */
export const MAX_SUPER_SEGMENTS = 128;
export const SUPER_FLAG_ECN = 1;
/** The capability name in `caps=` (IP request, type 105) that enables type-106 frames. */
export const CAP_SUPER_PACKETS = 'gso';

const IPV4_MIN_HEADER_BYTES = 20;
const TCP_MIN_HEADER_BYTES = 20;
const MIN_REGION_BYTES = SUPER_HEADER_BYTES + IPV4_MIN_HEADER_BYTES + TCP_MIN_HEADER_BYTES; // 44
const MAX_REGION_BYTES = SUPER_HEADER_BYTES + MAX_SUPER_PACKET_BYTES; // 65539
const PROTOCOL_TCP = 6;
/** IPv4 flags/fragment-offset word: MF bit and the 13-bit offset (DF may be set). */
const FRAGMENT_MASK = 0x3fff;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

export interface SuperHeader {
  /** Payload bytes per segment (the kernel's gso_size). */
  segmentBytes: number;
  /** The sender's TSO had ECN set (VIRTIO_NET_HDR_GSO_ECN): CWR goes on the first segment only. */
  ecn: boolean;
}

/** Reads the 4-byte header at `offset`; no checks (superPacketProblem does them). */
export function readSuperHeader(buf: Uint8Array, offset: number): SuperHeader {
  return {
    segmentBytes: buf[offset] | (buf[offset + 1] << 8),
    ecn: (buf[offset + 2] & SUPER_FLAG_ECN) !== 0,
  };
}

/** Writes the 4-byte header at `offset`: segment size (1..65535), flags, reserved zero. */
export function writeSuperHeader(buf: Uint8Array, offset: number, segmentBytes: number, ecn: boolean): void {
  if (!Number.isInteger(segmentBytes) || segmentBytes < 1 || segmentBytes > MAX_SUPER_PACKET_BYTES) {
    throw new RangeError(`segment size must be an integer in 1..${MAX_SUPER_PACKET_BYTES}, got ${segmentBytes}`);
  }
  buf[offset] = segmentBytes & 0xff;
  buf[offset + 1] = segmentBytes >>> 8;
  buf[offset + 2] = ecn ? SUPER_FLAG_ECN : 0;
  buf[offset + 3] = 0;
}

function u16be(buf: Uint8Array, at: number): number {
  return (buf[at] << 8) | buf[at + 1];
}

/**
 * Checks a super-packet region (`length` bytes at `offset`) a peer sent: null when it may be written
 * to the TUN as one GSO packet, else a short reason. Covers everything the kernel would otherwise
 * have to refuse or could mis-cut; does not check checksums (the receiver rewrites the seed).
 */
export function superPacketProblem(buf: Uint8Array, offset: number, length: number): string | null {
  if (length < MIN_REGION_BYTES) return `region of ${length} bytes is shorter than ${MIN_REGION_BYTES}`;
  if (length > MAX_REGION_BYTES) return `region of ${length} bytes is longer than ${MAX_REGION_BYTES}`;
  if (offset < 0 || offset + length > buf.length) return 'region runs past the end of the buffer';
  if ((buf[offset + 2] & ~SUPER_FLAG_ECN) !== 0) return 'unknown flag bits set';
  if (buf[offset + 3] !== 0) return 'reserved byte is not zero';

  const ip = offset + SUPER_HEADER_BYTES;
  const end = offset + length;
  const packetBytes = length - SUPER_HEADER_BYTES;
  if (buf[ip] >> 4 !== 4) return 'not IPv4';
  const ipHeaderBytes = (buf[ip] & 0x0f) * 4;
  if (ipHeaderBytes < IPV4_MIN_HEADER_BYTES) return 'IPv4 header length below 20';
  if (u16be(buf, ip + 2) !== packetBytes) return 'IPv4 total length does not match the region';
  if (buf[ip + 9] !== PROTOCOL_TCP) return 'not TCP';
  if ((u16be(buf, ip + 6) & FRAGMENT_MASK) !== 0) return 'IPv4 fragment';

  const tcp = ip + ipHeaderBytes;
  if (tcp + TCP_MIN_HEADER_BYTES > end) return 'TCP header outside the packet';
  const tcpHeaderBytes = (buf[tcp + 12] >> 4) * 4;
  if (tcpHeaderBytes < TCP_MIN_HEADER_BYTES) return 'TCP data offset below 5';
  const payloadBytes = end - tcp - tcpHeaderBytes;
  if (payloadBytes < 0) return 'TCP header outside the packet';
  if (payloadBytes === 0) return 'no TCP payload';
  const flags = buf[tcp + 13];
  if ((flags & TCP_ACK) === 0) return 'ACK not set';
  if ((flags & (TCP_SYN | TCP_RST)) !== 0) return 'SYN or RST set';

  const segmentBytes = buf[offset] | (buf[offset + 1] << 8);
  if (segmentBytes === 0) return 'segment size is zero';
  if (Math.ceil(payloadBytes / segmentBytes) > MAX_SUPER_SEGMENTS) return `more than ${MAX_SUPER_SEGMENTS} segments`;
  return null;
}

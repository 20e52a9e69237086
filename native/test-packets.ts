// TCP/IPv4 packets built and checked byte by byte in JS, for the tests of the offload decisions in
// tun.c (offload.test.ts, super-packet.test.ts): every checksum here is computed independently of C.
import assert from 'node:assert/strict';

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;
export const ECE = 0x40;
export const CWR = 0x80;

export const VNET_F_NEEDS_CSUM = 1;
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_UDP = 3;
export const GSO_TCPV6 = 4;
export const GSO_ECN = 0x80;
export const GRO_MAX_SEGMENTS = 128; // tun.c: as many as TSO_MAX_SEGMENTS
export const GRO_MAX_BYTES = 65535;
export const TSO_MAX_SEGMENTS = 128;

// ---- packet building and checking -----------------------------------------------------------

export interface Segment {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  id?: number;
  tos?: number;
  ttl?: number;
  fragment?: number; // the IPv4 flags + fragment offset field
  ipOptions?: number[];
  tcpOptions?: number[];
  payload: Uint8Array;
  protocol?: number;
}

export function sum16(bytes: Uint8Array, sum = 0): number {
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  return sum;
}
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}
export function ipHeaderBytes(pkt: Uint8Array): number {
  return (pkt[0] & 15) * 4;
}
/** The pseudo-header sum (addresses, protocol, transport length), unfolded. */
export function pseudoSum(pkt: Uint8Array): number {
  const ihl = ipHeaderBytes(pkt);
  return sum16(pkt.subarray(12, 20)) + pkt[9] + (pkt.length - ihl);
}
export function ipChecksumValid(pkt: Uint8Array): boolean {
  return fold(sum16(pkt.subarray(0, ipHeaderBytes(pkt)))) === 0xffff;
}
export function transportChecksumValid(pkt: Uint8Array): boolean {
  return fold(sum16(pkt.subarray(ipHeaderBytes(pkt)), pseudoSum(pkt))) === 0xffff;
}

export function addr(text: string): number[] {
  return text.split('.').map(Number);
}

let nextId = 1;
/** An IPv4/TCP packet (or another protocol, same layout) with both checksums correct. */
export function packet(s: Segment): Buffer {
  const ipOpts = s.ipOptions ?? [];
  const tcpOpts = s.tcpOptions ?? [];
  const ihl = 20 + ipOpts.length;
  const thl = 20 + tcpOpts.length;
  assert.equal(ipOpts.length % 4, 0);
  assert.equal(tcpOpts.length % 4, 0);
  const pkt = Buffer.alloc(ihl + thl + s.payload.length);
  pkt[0] = 0x40 | (ihl / 4);
  pkt[1] = s.tos ?? 0;
  pkt.writeUInt16BE(pkt.length, 2);
  pkt.writeUInt16BE((s.id ?? nextId++) & 0xffff, 4);
  pkt.writeUInt16BE(s.fragment ?? 0x4000, 6);
  pkt[8] = s.ttl ?? 64;
  pkt[9] = s.protocol ?? 6;
  pkt.set(addr(s.src ?? '198.18.0.1'), 12);
  pkt.set(addr(s.dst ?? '198.18.0.2'), 16);
  pkt.set(ipOpts, 20);
  pkt.writeUInt16BE(0xffff ^ fold(sum16(pkt.subarray(0, ihl))), 10);
  const tcp = pkt.subarray(ihl);
  tcp.writeUInt16BE(s.sport ?? 40000, 0);
  tcp.writeUInt16BE(s.dport ?? 5201, 2);
  tcp.writeUInt32BE((s.seq ?? 1000) >>> 0, 4);
  tcp.writeUInt32BE((s.ack ?? 7777) >>> 0, 8);
  tcp[12] = (thl / 4) << 4;
  tcp[13] = s.flags ?? ACK;
  tcp.writeUInt16BE(s.window ?? 501, 14);
  tcp.set(tcpOpts, 20);
  tcp.set(s.payload, thl);
  const checksumAt = pkt[9] === 17 ? 6 : 16;
  tcp.writeUInt16BE(0xffff ^ fold(sum16(tcp, pseudoSum(pkt))), checksumAt);
  return pkt;
}

export function payload(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed * 31 + i * 7 + (i >> 8)) & 0xff;
  return bytes;
}

export const TIMESTAMPS = [1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78];

/** A run of in-sequence segments of one flow: payload sizes `sizes`, consecutive IP ids. */
export function run(sizes: number[], base: Partial<Segment> = {}, lastFlags = ACK): Buffer[] {
  let seq = base.seq ?? 1000;
  const id = base.id ?? 100;
  return sizes.map((size, k) => {
    const pkt = packet({
      ...base,
      seq,
      id: id + k,
      flags: k === sizes.length - 1 ? lastFlags : (base.flags ?? ACK),
      payload: payload(size, k + 1),
    });
    seq = (seq + size) >>> 0;
    return pkt;
  });
}

export interface VnetHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}
export function parseVnet(bytes: Uint8Array): VnetHeader {
  assert.equal(bytes.length, 10);
  const view = Buffer.from(bytes);
  return {
    flags: view[0],
    gsoType: view[1],
    hdrLen: view.readUInt16LE(2),
    gsoSize: view.readUInt16LE(4),
    csumStart: view.readUInt16LE(6),
    csumOffset: view.readUInt16LE(8),
  };
}
export function vnetBytes(h: Partial<VnetHeader>): Uint8Array {
  const b = Buffer.alloc(10);
  b[0] = h.flags ?? 0;
  b[1] = h.gsoType ?? GSO_NONE;
  b.writeUInt16LE(h.hdrLen ?? 0, 2);
  b.writeUInt16LE(h.gsoSize ?? 0, 4);
  b.writeUInt16LE(h.csumStart ?? 0, 6);
  b.writeUInt16LE(h.csumOffset ?? 0, 8);
  return b;
}


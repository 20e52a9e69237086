import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hex } from '../test/support/hex';
import {
  CAP_SUPER_PACKETS,
  MAX_SUPER_PACKET_BYTES,
  MAX_SUPER_SEGMENTS,
  SUPER_FLAG_ECN,
  SUPER_HEADER_BYTES,
  readSuperHeader,
  superPacketProblem,
  writeSuperHeader,
} from './super-packet';

// The region of docs/protocol.md section 9: segment size 4, no flags; IPv4 198.18.0.2 -> 198.18.0.1,
// DF, TTL 64, total length 48, header checksum 9c6c; TCP 1234 -> 80, data offset 5, ACK, checksum
// field = the CHECKSUM_PARTIAL seed (folded pseudo-header sum, not complemented:
// c612+0002+c612+0001+0006+001c = 0x8c4a); 8 payload bytes "34o634o6": the receiver's kernel cuts
// it into two segments of 4.
const DOC_REGION = hex(
  '0400 00 00' + '45 00 0030 1234 4000 40 06 9c6c c6120002 c6120001' + '04d2 0050 00000001 00000002 50 10 ffff 8c4a 0000' + '33346f36 33346f36');
const IP = SUPER_HEADER_BYTES;
const TCP = IP + 20;

function region(): Buffer {
  return Buffer.from(DOC_REGION);
}

function withByte(at: number, value: number, buf = region()): Buffer {
  buf[at] = value;
  return buf;
}

function problem(buf: Buffer): string | null {
  return superPacketProblem(buf, 0, buf.length);
}

interface Shape {
  ipHeaderWords: number;
  tcpHeaderWords: number;
  payloadBytes: number;
  segmentBytes: number;
  tcpFlags: number;
  dontFragment: boolean;
  ecn: boolean;
}

function pseudoHeaderSeed(packet: Buffer, ipHeaderBytes: number): number {
  const tcpBytes = packet.length - ipHeaderBytes;
  let sum = 6 + tcpBytes;
  for (let i = 12; i < 20; i += 2) sum += packet.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The reference builder: a region exactly as docs/protocol.md describes it. */
function build(s: Shape): Buffer {
  const ipBytes = s.ipHeaderWords * 4;
  const tcpBytes = s.tcpHeaderWords * 4;
  const total = ipBytes + tcpBytes + s.payloadBytes;
  const buf = Buffer.alloc(SUPER_HEADER_BYTES + total, 0x01); // options: NOP
  writeSuperHeader(buf, 0, s.segmentBytes, s.ecn);
  const p = buf.subarray(SUPER_HEADER_BYTES);
  p[0] = 0x40 | s.ipHeaderWords;
  p[1] = 0;
  p.writeUInt16BE(total, 2);
  p.writeUInt16BE(0x4321, 4);
  p.writeUInt16BE(s.dontFragment ? 0x4000 : 0, 6);
  p[8] = 64;
  p[9] = 6;
  p.writeUInt16BE(0, 10);
  hex('c6120002 c6120001').copy(p, 12);
  const t = p.subarray(ipBytes);
  t.writeUInt16BE(40000, 0);
  t.writeUInt16BE(443, 2);
  t.writeUInt32BE(0x01020304, 4);
  t.writeUInt32BE(0x05060708, 8);
  t[12] = s.tcpHeaderWords << 4;
  t[13] = s.tcpFlags;
  t.writeUInt16BE(65535, 14);
  t.writeUInt16BE(pseudoHeaderSeed(p, ipBytes), 16);
  t.writeUInt16BE(0, 18);
  for (let i = tcpBytes; i < t.length; i++) t[i] = (i * 7) & 255;
  return buf;
}

const SHAPE: Shape = { ipHeaderWords: 5, tcpHeaderWords: 5, payloadBytes: 8, segmentBytes: 1000, tcpFlags: 0x10, dontFragment: true, ecn: false };

test('constants: 4-byte header, 65535-byte packets, 128 segments, ECN bit 0, capability "gso"', () => {
  assert.equal(SUPER_HEADER_BYTES, 4);
  assert.equal(MAX_SUPER_PACKET_BYTES, 65535);
  assert.equal(MAX_SUPER_SEGMENTS, 128);
  assert.equal(SUPER_FLAG_ECN, 1);
  assert.equal(CAP_SUPER_PACKETS, 'gso');
});

test('the reference builder makes the documented vector byte for byte, and it is accepted', () => {
  const vector = region();
  assert.deepEqual(readSuperHeader(vector, 0), { segmentBytes: 4, ecn: false });
  assert.deepEqual(build({ ...SHAPE, segmentBytes: 4 }).subarray(0, 4), vector.subarray(0, 4));
  const built = build(SHAPE);
  // Same bytes apart from what the builder picks differently (ports, sequence numbers, ids, payload).
  assert.equal(built.length, vector.length);
  assert.equal(pseudoHeaderSeed(vector.subarray(IP), 20), 0x8c4a);
  let ipSum = 0;
  for (let i = IP; i < TCP; i += 2) ipSum += vector.readUInt16BE(i);
  while (ipSum > 0xffff) ipSum = (ipSum & 0xffff) + (ipSum >>> 16);
  assert.equal(ipSum, 0xffff, 'the IPv4 header checksum is right');
  assert.equal(vector.readUInt16BE(TCP + 16), 0x8c4a);
  assert.equal(problem(vector), null);
  assert.equal(problem(built), null);
});

test('readSuperHeader: little-endian segment size, ECN from bit 0 only', () => {
  assert.deepEqual(readSuperHeader(hex('e803 00 00'), 0), { segmentBytes: 1000, ecn: false });
  assert.deepEqual(readSuperHeader(hex('ff 0001 01 00'), 1), { segmentBytes: 256, ecn: true });
  assert.deepEqual(readSuperHeader(hex('ffff 03 ff'), 0), { segmentBytes: 65535, ecn: true });
  assert.deepEqual(readSuperHeader(hex('0100 02 00'), 0), { segmentBytes: 1, ecn: false });
});

test('writeSuperHeader: writes all four bytes at the offset, refuses sizes outside 1..65535', () => {
  const buf = Buffer.alloc(7, 0xee);
  writeSuperHeader(buf, 2, 1000, true);
  assert.deepEqual(buf, hex('eeee e803 01 00 ee'));
  writeSuperHeader(buf, 2, 65535, false);
  assert.deepEqual(buf, hex('eeee ffff 00 00 ee'));
  writeSuperHeader(buf, 2, 1, false);
  assert.deepEqual(buf, hex('eeee 0100 00 00 ee'));
  writeSuperHeader(buf, 2, 256, false);
  assert.deepEqual(buf, hex('eeee 0001 00 00 ee'));
  for (const bad of [0, -1, 65536, 1.5, Number.NaN]) {
    assert.throws(() => writeSuperHeader(buf, 2, bad, false), RangeError, String(bad));
  }
  assert.throws(() => writeSuperHeader(buf, 2, 0, false), /segment size must be an integer in 1\.\.65535, got 0/);
  assert.deepEqual(buf, hex('eeee 0001 00 00 ee'), 'a refused call writes nothing');
});

test('region length: 43 bytes too short, 44 has no payload, 45 is the smallest accepted', () => {
  assert.equal(problem(region().subarray(0, 43)), 'region of 43 bytes is shorter than 44');
  assert.equal(problem(build({ ...SHAPE, payloadBytes: 0 })), 'no TCP payload');
  const smallest = build({ ...SHAPE, payloadBytes: 1 });
  assert.equal(smallest.length, 45);
  assert.equal(problem(smallest), null);
});

test('region length: 4 + 65535 bytes accepted, one more refused before anything is read', () => {
  const largest = build({ ...SHAPE, payloadBytes: 65535 - 40 });
  assert.equal(largest.length, 65539);
  assert.equal(problem(largest), null);
  const over = Buffer.concat([largest, hex('00')]);
  assert.equal(problem(over), 'region of 65540 bytes is longer than 65539');
});

test('the region must lie inside the buffer; an offset is honoured', () => {
  const buf = Buffer.concat([hex('aabbcc'), region()]);
  assert.equal(superPacketProblem(buf, 3, 52), null, 'ends exactly at the end of the buffer');
  assert.equal(superPacketProblem(buf, 4, 52), 'region runs past the end of the buffer');
  assert.equal(superPacketProblem(buf, -1, 52), 'region runs past the end of the buffer');
  assert.equal(superPacketProblem(new Uint8Array(region()), 0, 52), null, 'a plain Uint8Array works too');
});

test('flags: bit 0 (ECN) allowed, any other bit refused; the reserved byte must be zero', () => {
  assert.equal(problem(withByte(2, 0x01)), null);
  for (const v of [0x02, 0x03, 0x80, 0xff]) assert.equal(problem(withByte(2, v)), 'unknown flag bits set', `flags ${v}`);
  for (const v of [0x01, 0x80]) assert.equal(problem(withByte(3, v)), 'reserved byte is not zero', `reserved ${v}`);
});

test('IPv4: version 4 only, IHL at least 5, options allowed', () => {
  for (const v of [0x65, 0x35, 0x05, 0xf5]) assert.equal(problem(withByte(IP, v)), 'not IPv4', `first byte ${v}`);
  assert.equal(problem(withByte(IP, 0x44)), 'IPv4 header length below 20');
  assert.equal(problem(withByte(IP, 0x40)), 'IPv4 header length below 20');
  assert.equal(problem(build({ ...SHAPE, ipHeaderWords: 6 })), null);
  assert.equal(problem(build({ ...SHAPE, ipHeaderWords: 15 })), null);
  assert.equal(problem(withByte(IP, 0x4f)), 'TCP header outside the packet', 'IHL 15 in a 48-byte packet');
});

test('IPv4: the total length field must equal the region minus its header', () => {
  assert.equal(problem(withByte(IP + 3, 0x2f)), 'IPv4 total length does not match the region');
  assert.equal(problem(withByte(IP + 3, 0x31)), 'IPv4 total length does not match the region');
  assert.equal(problem(withByte(IP + 2, 0x01)), 'IPv4 total length does not match the region', 'high byte read too');
});

test('IPv4: protocol 6 only; no fragments (MF or an offset), DF and the reserved bit allowed', () => {
  for (const v of [17, 5, 7, 0x86]) assert.equal(problem(withByte(IP + 9, v)), 'not TCP', `protocol ${v}`);
  assert.equal(problem(withByte(IP + 6, 0x20)), 'IPv4 fragment', 'MF');
  assert.equal(problem(withByte(IP + 6, 0x60)), 'IPv4 fragment', 'MF with DF');
  assert.equal(problem(withByte(IP + 6, 0x41)), 'IPv4 fragment', 'offset high bits');
  assert.equal(problem(withByte(IP + 7, 0x01)), 'IPv4 fragment', 'offset low bit');
  assert.equal(problem(withByte(IP + 6, 0x00)), null, 'no DF');
  assert.equal(problem(withByte(IP + 6, 0x80)), null, 'the reserved bit is no fragment');
});

test('TCP: data offset 5..15 with the header inside the packet and at least one payload byte', () => {
  assert.equal(problem(withByte(TCP + 12, 0x40)), 'TCP data offset below 5');
  assert.equal(problem(withByte(TCP + 12, 0x00)), 'TCP data offset below 5');
  assert.equal(problem(withByte(TCP + 12, 0x60)), null, 'offset 6: 4 option bytes, 4 payload bytes');
  assert.equal(problem(withByte(TCP + 12, 0x5f)), null, 'the low nibble is not the offset');
  assert.equal(problem(withByte(TCP + 12, 0x70)), 'no TCP payload', 'offset 7: the header ends where the packet does');
  assert.equal(problem(withByte(TCP + 12, 0x80)), 'TCP header outside the packet', 'offset 8: 4 bytes past the end');
  assert.equal(problem(withByte(TCP + 12, 0xf0)), 'TCP header outside the packet');
  assert.equal(problem(build({ ...SHAPE, tcpHeaderWords: 15 })), null);
});

test('TCP flags: ACK required, SYN and RST refused, FIN/PSH/URG/ECE/CWR with ACK fine', () => {
  for (const v of [0x00, 0x01, 0x08, 0x02, 0xef]) assert.equal(problem(withByte(TCP + 13, v)), 'ACK not set', `flags ${v}`);
  for (const v of [0x12, 0x14, 0x16, 0xff]) assert.equal(problem(withByte(TCP + 13, v)), 'SYN or RST set', `flags ${v}`);
  for (const v of [0x10, 0x11, 0x18, 0x30, 0x50, 0x90, 0xf9]) assert.equal(problem(withByte(TCP + 13, v)), null, `flags ${v}`);
});

test('segment size: zero refused; at most 128 segments, counted rounding up', () => {
  assert.equal(problem(withByte(0, 0x00, withByte(1, 0x00))), 'segment size is zero');
  assert.equal(problem(withByte(0, 0x01, withByte(1, 0x00))), null, '8 segments of 1 byte');
  const seg = (payloadBytes: number, segmentBytes: number) => problem(build({ ...SHAPE, payloadBytes, segmentBytes }));
  assert.equal(seg(128, 1), null);
  assert.equal(seg(129, 1), 'more than 128 segments');
  assert.equal(seg(1280, 10), null);
  assert.equal(seg(1281, 10), 'more than 128 segments', '128.1 rounds up to 129');
  assert.equal(seg(1279, 10), null);
  assert.equal(seg(8, 65535), null, 'a size above the payload: one segment');
  // Little-endian: bytes 01 00 are size 1 (200 segments), not 256 (1 segment).
  const le = build({ ...SHAPE, payloadBytes: 200, segmentBytes: 1 });
  assert.deepEqual(le.subarray(0, 2), hex('0100'));
  assert.equal(problem(le), 'more than 128 segments');
  assert.equal(problem(withByte(0, 0x00, withByte(1, 0x01, build({ ...SHAPE, payloadBytes: 200, segmentBytes: 2 })))), null);
});

const shapeArb: fc.Arbitrary<Shape> = fc
  .record({
    ipHeaderWords: fc.integer({ min: 5, max: 15 }),
    tcpHeaderWords: fc.integer({ min: 5, max: 15 }),
    payloadBytes: fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 65535 - 120 })),
    segments: fc.integer({ min: 1, max: MAX_SUPER_SEGMENTS }),
    extraFlags: fc.subarray([0x01, 0x08, 0x20, 0x40, 0x80]),
    dontFragment: fc.boolean(),
    ecn: fc.boolean(),
  })
  .map((r) => ({
    ipHeaderWords: r.ipHeaderWords,
    tcpHeaderWords: r.tcpHeaderWords,
    payloadBytes: r.payloadBytes,
    segmentBytes: Math.ceil(r.payloadBytes / r.segments),
    tcpFlags: r.extraFlags.reduce((a, b) => a | b, 0x10),
    dontFragment: r.dontFragment,
    ecn: r.ecn,
  }));

test('property: every region the reference builder makes is accepted, and its header reads back', () => {
  fc.assert(
    fc.property(shapeArb, fc.nat({ max: 7 }), (s, pad) => {
      const r = build(s);
      const buf = Buffer.concat([Buffer.alloc(pad, 0xaa), r, Buffer.alloc(pad, 0xbb)]);
      assert.equal(superPacketProblem(buf, pad, r.length), null);
      assert.deepEqual(readSuperHeader(buf, pad), { segmentBytes: s.segmentBytes, ecn: s.ecn });
    }),
    { numRuns: 300 },
  );
});

/** Header fields the rules cover: where the byte is, and which values break the rule. */
const COVERED: Record<string, { at: (s: Shape) => number; breaks: (v: number, s: Shape) => boolean }> = {
  'region flags': { at: () => 2, breaks: (v) => (v & 0xfe) !== 0 },
  'region reserved': { at: () => 3, breaks: (v) => v !== 0 },
  'IP version': { at: () => IP, breaks: (v) => v >> 4 !== 4 },
  'IP header length': { at: () => IP, breaks: (v) => (v & 0x0f) < 5 },
  'IP total length, high byte': { at: () => IP + 2, breaks: (v, s) => v !== (totalLength(s) >> 8) },
  'IP total length, low byte': { at: () => IP + 3, breaks: (v, s) => v !== (totalLength(s) & 0xff) },
  'IP fragment word, high byte': { at: () => IP + 6, breaks: (v) => (v & 0x3f) !== 0 },
  'IP fragment offset, low byte': { at: () => IP + 7, breaks: (v) => v !== 0 },
  'IP protocol': { at: () => IP + 9, breaks: (v) => v !== 6 },
  'TCP data offset': {
    at: (s) => IP + s.ipHeaderWords * 4 + 12,
    breaks: (v, s) => v >> 4 < 5 || (v >> 4) * 4 >= s.tcpHeaderWords * 4 + s.payloadBytes,
  },
  'TCP flags': { at: (s) => IP + s.ipHeaderWords * 4 + 13, breaks: (v) => (v & 0x10) === 0 || (v & 0x06) !== 0 },
};

function totalLength(s: Shape): number {
  return (s.ipHeaderWords + s.tcpHeaderWords) * 4 + s.payloadBytes;
}

test('property: a single byte of a covered header field set to a value that breaks its rule is refused', () => {
  fc.assert(
    fc.property(shapeArb, fc.constantFrom(...Object.keys(COVERED)), fc.integer({ min: 0, max: 255 }), (s, field, v) => {
      const rule = COVERED[field];
      fc.pre(rule.breaks(v, s));
      const r = build(s);
      r[rule.at(s)] = v;
      assert.notEqual(problem(r), null, `${field} = ${v}`);
    }),
    { numRuns: 1000 },
  );
});

test('property: any byte outside the covered fields may hold anything (ports, ids, TTL, checksums, options, payload)', () => {
  fc.assert(
    fc.property(shapeArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (s, seed, v) => {
      const r = build(s);
      const tcp = IP + s.ipHeaderWords * 4;
      const covered = new Set([0, 1, 2, 3, IP, IP + 2, IP + 3, IP + 6, IP + 7, IP + 9, tcp + 12, tcp + 13]);
      const at = seed % r.length;
      fc.pre(!covered.has(at));
      r[at] = v;
      assert.equal(problem(r), null);
    }),
    { numRuns: 500 },
  );
});

test('property: any bytes at any offset give null or a reason, never an exception; null means the rules hold', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: -2, max: 210 }), fc.integer({ min: 0, max: 210 }), (bytes, offset, length) => {
      const result = superPacketProblem(bytes, offset, length);
      if (result !== null) {
        assert.equal(typeof result, 'string');
        return;
      }
      const ip = offset + 4;
      assert.ok(offset >= 0 && offset + length <= bytes.length);
      assert.equal(bytes[ip] >> 4, 4);
      assert.equal(((bytes[ip + 2] << 8) | bytes[ip + 3]) + 4, length);
    }),
    { numRuns: 2000 },
  );
  // Random bytes almost never pass; a built region with random bytes in its free fields always does.
  fc.assert(
    fc.property(shapeArb, fc.uint8Array({ minLength: 64, maxLength: 64 }), (s, noise) => {
      const r = build(s);
      const tcp = IP + s.ipHeaderWords * 4;
      for (const [i, at] of [IP + 1, IP + 4, IP + 5, IP + 8, IP + 10, IP + 11, tcp, tcp + 1, tcp + 4, tcp + 8, tcp + 14, tcp + 16, tcp + 17, tcp + 18].entries()) r[at] = noise[i];
      assert.equal(problem(r), null);
    }),
    { numRuns: 200 },
  );
});

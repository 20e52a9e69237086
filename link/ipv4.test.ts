import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hex } from '../test/support/hex';
import { TUNNEL_TCP_MSS, clampTcpMss, ipv4Destination, ipv4LengthMatches, ipv4Source, isIPv4Packet } from './ipv4';

/** TCP checksum computed from scratch over the pseudo-header and segment (independent of ipv4.ts). */
function tcpChecksum(packet: Buffer): number {
  const ihl = (packet[0] & 0x0f) * 4;
  const segment = packet.subarray(ihl);
  const pseudo = Buffer.alloc(12);
  packet.copy(pseudo, 0, 12, 20);
  pseudo[9] = 6;
  pseudo.writeUInt16BE(segment.length, 10);
  const data = Buffer.concat([pseudo, segment, Buffer.alloc(segment.length % 2)]);
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) {
    if (i === 12 + 16) continue; // the checksum field itself
    sum += data.readUInt16BE(i);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A SYN from 198.18.0.2:40000 to 198.18.0.1:80 with the given TCP options, checksummed. */
function synPacket(options: number[], flags = 0x02, fragmentField = 0x4000): Buffer {
  const padded = [...options];
  while (padded.length % 4) padded.push(0);
  const tcpLength = 20 + padded.length;
  const p = Buffer.alloc(20 + tcpLength);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p.writeUInt16BE(fragmentField, 6);
  p[8] = 64;
  p[9] = 6;
  Buffer.from([198, 18, 0, 2, 198, 18, 0, 1]).copy(p, 12);
  p.writeUInt16BE(40000, 20);
  p.writeUInt16BE(80, 22);
  p.writeUInt32BE(0x01020304, 24);
  p[32] = (tcpLength / 4) << 4;
  p[33] = flags;
  p.writeUInt16BE(64240, 34);
  Buffer.from(padded).copy(p, 40);
  p.writeUInt16BE(tcpChecksum(p), 36);
  return p;
}

const LINUX_SYN_OPTIONS = [2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]; // MSS 1460, SACK ok, TS, NOP, WS 7

test('a Linux-style SYN has its MSS lowered to 1456 with a valid checksum', () => {
  const p = synPacket(LINUX_SYN_OPTIONS);
  assert.equal(TUNNEL_TCP_MSS, 1456);
  assert.equal(clampTcpMss(p, 0, p.length, TUNNEL_TCP_MSS), true);
  assert.equal(p.readUInt16BE(42), 1456);
  assert.equal(p.readUInt16BE(36), tcpChecksum(p));
  // The MSS bytes 05 b4 (1460) became 05 b0 (1456); nothing else but the checksum moved.
  assert.deepEqual([...p.subarray(40, 44)], [2, 4, 0x05, 0xb0]);
});

test('an MSS at an odd offset (after a NOP) is clamped with a valid checksum', () => {
  const p = synPacket([1, 2, 4, 0x23, 0x28, 1, 1, 1]); // NOP, MSS 9000
  assert.equal(clampTcpMss(p, 0, p.length, 1456), true);
  assert.equal(p.readUInt16BE(43), 1456);
  assert.equal(p.readUInt16BE(36), tcpChecksum(p));
});

test('packets that must not change are left byte for byte', () => {
  const cases: [string, Buffer][] = [
    ['MSS already small', synPacket([2, 4, 0x05, 0x00])],
    ['not a SYN (ACK)', synPacket([2, 4, 0x05, 0xb4], 0x10)],
    ['a non-first fragment', synPacket([2, 4, 0x05, 0xb4], 0x02, 0x0010)],
    ['no MSS option', synPacket([1, 1, 4, 2])],
    ['option list ended before the MSS', synPacket([0, 0, 2, 4, 0x05, 0xb4])],
    ['an option length of 0', synPacket([8, 0, 2, 4, 0x05, 0xb4])],
    ['an option running past the header', synPacket([1, 1, 1, 2, 4, 0x05])],
  ];
  for (const [what, p] of cases) {
    const copy = Buffer.from(p);
    assert.equal(clampTcpMss(p, 0, p.length, 1456), false, what);
    assert.ok(p.equals(copy), what);
  }
  const udp = synPacket([2, 4, 0x05, 0xb4]);
  udp[9] = 17;
  assert.equal(clampTcpMss(udp, 0, udp.length, 1456), false);
  const cut = synPacket(LINUX_SYN_OPTIONS);
  assert.equal(clampTcpMss(cut, 0, 30, 1456), false, 'shorter than IPv4 + TCP headers');
});

test('random option layouts: the checksum stays valid and only the MSS changes', () => {
  const option = fc.oneof(
    fc.constant([1]),
    fc.constant([4, 2]),
    fc.integer({ min: 0, max: 14 }).map((s) => [3, 3, s]),
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 8, maxLength: 8 }).map((ts) => [8, 10, ...ts]),
  );
  fc.assert(fc.property(fc.array(option, { maxLength: 5 }), fc.array(option, { maxLength: 3 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 536, max: 1460 }),
    (before, after, mss, clamp) => {
      const options = [...before.flat(), 2, 4, mss >> 8, mss & 0xff, ...after.flat()];
      fc.pre(options.length <= 40);
      const p = synPacket(options);
      const original = Buffer.from(p);
      const changed = clampTcpMss(p, 0, p.length, clamp);
      assert.equal(changed, mss > clamp);
      assert.equal(p.readUInt16BE(36), tcpChecksum(p));
      const at = 40 + before.flat().length + 2;
      assert.equal(p.readUInt16BE(at), Math.min(mss, clamp));
      for (let i = 0; i < p.length; i++) if (i < at || i > at + 1) if (i !== 36 && i !== 37) assert.equal(p[i], original[i]);
    }));
});

test('ipv4LengthMatches compares the total-length field with the bytes received', () => {
  const p = synPacket(LINUX_SYN_OPTIONS);
  assert.equal(ipv4LengthMatches(p, 0, p.length), true);
  assert.equal(ipv4LengthMatches(p, 0, p.length - 4), false, 'cut short, as a legacy peer cuts a 1500-byte packet');
  assert.equal(ipv4LengthMatches(p, 0, p.length - 1), false, 'one byte short');
  const trailing = Buffer.concat([p, Buffer.from([0, 0, 0])]);
  assert.equal(ipv4LengthMatches(trailing, 0, trailing.length), false, 'bytes trailing the packet');
  assert.equal(ipv4LengthMatches(trailing, 0, trailing.length - 2), false, 'one byte trailing');
  const framed = Buffer.concat([Buffer.alloc(5), p]);
  assert.equal(ipv4LengthMatches(framed, 5, p.length), true);
  assert.equal(ipv4LengthMatches(framed, 5, p.length + 1), false);
  // Both bytes of the field count: 0x0100 is 256, not 1 or 0.
  const big = Buffer.alloc(256);
  big[0] = 0x45;
  big.writeUInt16BE(256, 2);
  assert.equal(ipv4LengthMatches(big, 0, 256), true);
  assert.equal(ipv4LengthMatches(big, 0, 0), false);
  assert.equal(ipv4LengthMatches(big, 0, 1), false);
});

// One's-complement corner (RFC 1624): an MSS at an odd offset goes into the sum byte-swapped, and
// here ~checksum + ~old + new is exactly 0x1ffff, which needs the carry folded twice. A random
// option layout meets this 1 time in 65,536; the vector makes it certain. The window (0xad13) was
// chosen so that the SYN's valid checksum is 0xaffe.
const CARRY_SYN = hex(`
  45000030 00004000 40060000 c6120002 c6120001
  9c400050 01020304 00000000 7002ad13 affe0000
  01 020406 00 010101`); // NOP, MSS 1536 at TCP offset 21 (odd), NOP NOP NOP
test('checksum vector: the incremental update whose sum is 0x1ffff (two carry folds)', () => {
  const p = Buffer.from(CARRY_SYN);
  assert.equal(tcpChecksum(p), 0xaffe, 'the vector is a valid SYN');
  assert.equal(p.readUInt16BE(43), 1536);
  assert.equal(clampTcpMss(p, 0, p.length, 1456), true);
  assert.equal(p.readUInt16BE(43), 1456);
  assert.equal(p.readUInt16BE(36), 0xfffe); // one fold only would give 0xffff
  assert.equal(p.readUInt16BE(36), tcpChecksum(p));
});

test('checksum vectors: MSS at even and odd offsets, in a packet behind a frame header', () => {
  const cases: [string, number[], number][] = [
    ['even offset (first option)', [2, 4, 0x23, 0x28], 42],
    ['odd offset (after one NOP)', [1, 2, 4, 0x23, 0x28, 1, 1, 1], 43],
    ['even offset (after two NOPs)', [1, 1, 2, 4, 0xff, 0xff], 44],
    ['odd offset (after NOP, NOP, NOP)', [1, 1, 1, 2, 4, 0x05, 0xb5, 0], 45],
  ];
  for (const [what, options, at] of cases) {
    const p = synPacket(options);
    const framed = Buffer.concat([Buffer.from([0xaa, 0xbb, 0xcc, 0xdd, 0xee]), p]);
    assert.equal(clampTcpMss(framed, 5, p.length, 1456), true, what);
    const out = framed.subarray(5);
    assert.equal(out.readUInt16BE(at), 1456, what);
    assert.equal(out.readUInt16BE(36), tcpChecksum(out), what);
    assert.deepEqual([...framed.subarray(0, 5)], [0xaa, 0xbb, 0xcc, 0xdd, 0xee], `${what}: nothing before the packet changes`);
  }
});

test('MSS equal to the clamp, or one above it', () => {
  const equal = synPacket([2, 4, 0x05, 0xb0]);
  assert.equal(clampTcpMss(equal, 0, equal.length, 1456), false);
  const above = synPacket([2, 4, 0x05, 0xb1]);
  assert.equal(clampTcpMss(above, 0, above.length, 1456), true);
  assert.equal(above.readUInt16BE(42), 1456);
  assert.equal(above.readUInt16BE(36), tcpChecksum(above));
});

test('a SYN-ACK is clamped too; an IPv4 header with options moves the TCP header', () => {
  const synAck = synPacket([2, 4, 0x05, 0xb4], 0x12);
  assert.equal(clampTcpMss(synAck, 0, synAck.length, 1456), true);
  assert.equal(synAck.readUInt16BE(36), tcpChecksum(synAck));
  // IHL 6: four bytes of IPv4 options (NOP x4) before the TCP header.
  const plain = synPacket([2, 4, 0x05, 0xb4]);
  const withOptions = Buffer.concat([plain.subarray(0, 20), Buffer.from([1, 1, 1, 1]), plain.subarray(20)]);
  withOptions[0] = 0x46;
  withOptions.writeUInt16BE(withOptions.length, 2);
  withOptions.writeUInt16BE(tcpChecksum(withOptions), 40);
  assert.equal(clampTcpMss(withOptions, 0, withOptions.length, 1456), true);
  assert.equal(withOptions.readUInt16BE(46), 1456);
  assert.equal(withOptions.readUInt16BE(40), tcpChecksum(withOptions));
  // An IHL below 5 is not a header we can read.
  const badIhl = synPacket([2, 4, 0x05, 0xb4]);
  badIhl[0] = 0x44;
  assert.equal(clampTcpMss(badIhl, 0, badIhl.length, 1456), false);
  // A first fragment (offset 0, more-fragments set) is clamped; any later fragment is not.
  const firstFragment = synPacket([2, 4, 0x05, 0xb4], 0x02, 0x2000);
  assert.equal(clampTcpMss(firstFragment, 0, firstFragment.length, 1456), true);
  for (const field of [0x0001, 0x0100, 0x1000, 0x2001]) {
    const later = synPacket([2, 4, 0x05, 0xb4], 0x02, field);
    assert.equal(clampTcpMss(later, 0, later.length, 1456), false, `fragment field ${field.toString(16)}`);
  }
});

test('options are bounded by the TCP data offset and by the bytes we have', () => {
  // Data offset 5 (no options) although option bytes follow: they are payload, not options.
  const p = synPacket([2, 4, 0x05, 0xb4]);
  p[32] = 5 << 4;
  assert.equal(clampTcpMss(p, 0, p.length, 1456), false);
  // The packet handed over is shorter than the data offset says: read only what we have.
  const q = synPacket([1, 1, 1, 1, 2, 4, 0x05, 0xb4]);
  assert.equal(clampTcpMss(q, 0, q.length - 4, 1456), false);
  // An MSS option of another length is not an MSS we understand.
  const odd = synPacket([2, 5, 0x05, 0xb4, 0]);
  assert.equal(clampTcpMss(odd, 0, odd.length, 1456), false);
  // A kind byte as the last option byte, without its length.
  const lastByte = synPacket([1, 1, 1, 8]);
  assert.equal(clampTcpMss(lastByte, 0, lastByte.length, 1456), false);
});

test('version, source and destination are read from the right bytes', () => {
  const p = synPacket(LINUX_SYN_OPTIONS);
  assert.equal(isIPv4Packet(p, 0, p.length), true);
  assert.equal(isIPv4Packet(p, 0, 20), true);
  assert.equal(isIPv4Packet(p, 0, 19), false, 'shorter than an IPv4 header');
  const v6 = Buffer.from(p);
  v6[0] = 0x60;
  assert.equal(isIPv4Packet(v6, 0, v6.length), false);
  const framed = Buffer.concat([Buffer.from([0x45, 0, 0, 0, 0]), v6]);
  assert.equal(isIPv4Packet(framed, 5, v6.length), false, 'reads the version at start, not at 0');
  assert.equal(ipv4Source(p, 0), 0xc6120002);
  assert.equal(ipv4Destination(p, 0), 0xc6120001);
  const shifted = Buffer.concat([Buffer.alloc(3), p]);
  assert.equal(ipv4Source(shifted, 3), 0xc6120002);
  assert.equal(ipv4Destination(shifted, 3), 0xc6120001);
});

test('only the options are read as options: an IHL below 5, an END, an option past the end', () => {
  // IHL 4 would put a "TCP header" at byte 16; the bytes there are laid out so that it would look
  // like a SYN with an MSS option (doff 6, SYN, option 2/4/0x05b4 at byte 36): it must not be touched.
  const trap = synPacket([1, 1, 1, 1]);
  trap[0] = 0x44;
  trap[28] = 6 << 4;
  trap[29] = 0x02;
  Buffer.from([2, 4, 0x05, 0xb4]).copy(trap, 36);
  const before = Buffer.from(trap);
  assert.equal(clampTcpMss(trap, 0, trap.length, 1456), false);
  assert.ok(trap.equals(before));
  // After END (kind 0) nothing is an option, even bytes that would parse as one.
  const ended = synPacket([0, 2, 2, 4, 0x05, 0xb4, 1, 1]);
  assert.equal(clampTcpMss(ended, 0, ended.length, 1456), false);
  // An MSS option whose 4 bytes run past the data offset into the payload.
  const past = withPayload(synPacket([1, 1, 1, 1, 1, 1, 2, 4]), [0x05, 0xb4, 0, 0]);
  const copy = Buffer.from(past);
  assert.equal(clampTcpMss(past, 0, past.length, 1456), false);
  assert.ok(past.equals(copy));
  // Other options are never taken for an MSS, whatever their bytes: window scale, SACK-permitted, timestamps.
  for (const options of [[3, 3, 0xff, 1], [4, 2, 0xff, 0xff], [8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 1]]) {
    const p = synPacket(options);
    const original = Buffer.from(p);
    assert.equal(clampTcpMss(p, 0, p.length, 1456), false, JSON.stringify(options));
    assert.ok(p.equals(original), JSON.stringify(options));
  }
});

/** The packet with `payload` after its TCP header; lengths and checksum fixed. */
function withPayload(p: Buffer, payload: number[]): Buffer {
  const out = Buffer.concat([p, Buffer.from(payload)]);
  out.writeUInt16BE(out.length, 2);
  out.writeUInt16BE(tcpChecksum(out), 36);
  return out;
}

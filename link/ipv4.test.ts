import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TUNNEL_TCP_MSS, clampTcpMss, ipv4LengthMatches } from './ipv4';

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
  const framed = Buffer.concat([Buffer.alloc(5), p]);
  assert.equal(ipv4LengthMatches(framed, 5, p.length), true);
});

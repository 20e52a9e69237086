// The per-packet decisions tun.c makes on vnet-header devices, checked byte by byte: which TCP
// segments writePackets coalesces into one GSO write (groPlan) and how a read super-packet is cut
// into segments (tsoSegment). Both test entries run the same C functions as the real write and read
// paths, without a device; every checksum here is recomputed in JS.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { TEST_NETNS_PREFIX } from '../test/support/netns';
import { needsRoot, skipUnless } from '../test/support/requirements';
import { nativeBinding } from './tun';
import {
  ACK,
  CWR,
  ECE,
  FIN,
  GRO_MAX_BYTES,
  GRO_MAX_SEGMENTS,
  GSO_ECN,
  GSO_TCPV4,
  GSO_TCPV6,
  GSO_UDP,
  PSH,
  RST,
  SYN,
  Segment,
  TIMESTAMPS,
  TSO_MAX_SEGMENTS,
  URG,
  VNET_F_NEEDS_CSUM,
  fold,
  ipChecksumValid,
  ipHeaderBytes,
  packet,
  parseVnet,
  payload,
  pseudoSum,
  run,
  sum16,
  transportChecksumValid,
  vnetBytes,
} from './test-packets';

const binding = nativeBinding();

function counts(packets: Uint8Array[]): number[] {
  return binding.groPlan(packets).map((g) => g.count);
}

/** The segments one vnet read adds to a batch, split out of the batch layout. */
function segmentsOf(header: Uint8Array, pkt: Uint8Array, headroom = 0, maxPacketBytes = 1500): Buffer[] {
  const { bytes, lengths } = binding.tsoSegment(header, pkt, headroom, maxPacketBytes);
  const out: Buffer[] = [];
  let offset = 0;
  for (const length of lengths) {
    out.push(Buffer.from(bytes.subarray(offset + headroom, offset + headroom + length)));
    offset += headroom + length;
  }
  assert.equal(offset, bytes.length, 'the batch layout covers exactly the bytes used');
  return out;
}

// ---- GRO: what writePackets coalesces ------------------------------------------------------------

test('a run of one flow becomes one GSO packet: header, lengths, checksums, virtio-net header', () => {
  const segments = run([1000, 1000, 1000, 1000, 333], { tcpOptions: TIMESTAMPS }, ACK | PSH);
  const plan = binding.groPlan(segments);
  assert.equal(plan.length, 1);
  assert.equal(plan[0].count, 5);
  const merged = Buffer.from(plan[0].packet);
  const hdr = 20 + 20 + TIMESTAMPS.length;
  assert.equal(merged.length, hdr + 4333);
  assert.equal(merged.readUInt16BE(2), merged.length, 'IPv4 total length of the whole packet');
  assert.ok(ipChecksumValid(merged), 'IPv4 header checksum recomputed');
  assert.deepEqual(merged.subarray(0, 2), segments[0].subarray(0, 2));
  assert.deepEqual(merged.subarray(4, 10), segments[0].subarray(4, 10), 'id, fragment, TTL, protocol of the first');
  assert.deepEqual(merged.subarray(12, 20 + 13), segments[0].subarray(12, 20 + 13), 'addresses, ports, seq, ack, offset of the first');
  assert.equal(merged[20 + 13], ACK | PSH, 'PSH of the last segment carried over');
  assert.deepEqual(merged.subarray(20 + 20, hdr), Buffer.from(TIMESTAMPS), 'options kept');
  assert.deepEqual(merged.subarray(hdr), Buffer.concat(segments.map((s) => s.subarray(hdr))), 'payloads in order');
  // CHECKSUM_PARTIAL: the TCP field holds the folded pseudo-header sum, not inverted.
  assert.equal(merged.readUInt16BE(20 + 16), fold(pseudoSum(merged)));
  assert.deepEqual(parseVnet(plan[0].vnetHeader), {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: GSO_TCPV4,
    hdrLen: hdr,
    gsoSize: 1000,
    csumStart: 20,
    csumOffset: 16,
  });
  // Completing the checksum as the kernel does (sum from csum_start, inverted) gives a valid one.
  const completed = Buffer.from(merged);
  completed.writeUInt16BE(0xffff ^ fold(sum16(completed.subarray(20))), 20 + 16);
  assert.ok(transportChecksumValid(completed));
});

test('odd segment sizes and an odd last segment keep every checksum right through GRO and back', () => {
  const segments = run([999, 999, 999, 1], { seq: 0xffffff00 }); // the sequence number wraps inside
  const plan = binding.groPlan(segments);
  assert.deepEqual(plan.map((g) => g.count), [4]);
  assert.equal(plan[0].packet.length, 40 + 2998);
  assert.equal(Buffer.from(plan[0].packet).readUInt16BE(36), fold(pseudoSum(plan[0].packet)));
  // Cutting it again (the read path) gives back the very segments: ids, seqs, checksums.
  assert.deepEqual(segmentsOf(plan[0].vnetHeader, plan[0].packet), segments);
});

test('packets that go out alone are written as they are, after a zero virtio-net header', () => {
  const lone = packet({ payload: payload(77, 9), flags: ACK | FIN });
  const plan = binding.groPlan([lone]);
  assert.equal(plan.length, 1);
  assert.equal(plan[0].count, 1);
  assert.deepEqual(Buffer.from(plan[0].packet), lone);
  assert.deepEqual(Buffer.from(plan[0].vnetHeader), Buffer.alloc(10));
  assert.deepEqual(binding.groPlan([]), []);
});

test('PSH ends a group: the PSH segment is its last', () => {
  const segments = run([500, 500, 500, 500, 500]);
  segments[1] = packet({ seq: 1500, id: 101, flags: ACK | PSH, payload: segments[1].subarray(40) });
  assert.deepEqual(counts(segments), [2, 3]);
  assert.equal(binding.groPlan(segments)[0].packet[33], ACK | PSH);
  assert.equal(binding.groPlan(segments)[1].packet[33], ACK);
});

for (const [name, flag] of [['FIN', FIN], ['SYN', SYN], ['RST', RST], ['URG', URG], ['ECE', ECE], ['CWR', CWR]] as const) {
  test(`${name} is never merged: the segment goes alone and splits the run`, () => {
    const middle = run([500, 500, 500, 500]);
    middle[1] = packet({ seq: 1500, id: 101, flags: ACK | flag, payload: middle[1].subarray(40) });
    assert.deepEqual(counts(middle), [1, 1, 2]);
    const first = run([500, 500, 500]);
    first[0] = packet({ seq: 1000, id: 100, flags: ACK | flag, payload: first[0].subarray(40) });
    assert.deepEqual(counts(first), [1, 2]);
  });
}

test('runs that must not merge are written packet by packet', () => {
  const a = { seq: 1000, id: 100, payload: payload(600, 1) };
  const b = { seq: 1600, id: 101, payload: payload(600, 2) };
  const cases: [string, Segment, Segment, number[]][] = [
    ['control: the same flow in sequence', a, b, [2]],
    ['control: DF clear on both', { ...a, fragment: 0 }, { ...b, fragment: 0 }, [2]],
    ['another source address', a, { ...b, src: '198.18.0.9' }, [1, 1]],
    ['another destination address', a, { ...b, dst: '198.18.0.9' }, [1, 1]],
    ['another source port', a, { ...b, sport: 40001 }, [1, 1]],
    ['another destination port', a, { ...b, dport: 5202 }, [1, 1]],
    ['another ACK number', a, { ...b, ack: 7778 }, [1, 1]],
    ['another window', a, { ...b, window: 502 }, [1, 1]],
    ['another TOS', a, { ...b, tos: 4 }, [1, 1]],
    ['another TTL', a, { ...b, ttl: 63 }, [1, 1]],
    ['a gap in the sequence', a, { ...b, seq: 1601 }, [1, 1]],
    ['an overlap in the sequence', a, { ...b, seq: 1599 }, [1, 1]],
    ['a retransmission', a, { ...a, id: 101 }, [1, 1]],
    ['a second segment larger than the first', a, { ...b, payload: payload(601, 2) }, [1, 1]],
    ['different option bytes', { ...a, tcpOptions: TIMESTAMPS }, { ...b, tcpOptions: [...TIMESTAMPS.slice(0, 11), 0x79] }, [1, 1]],
    ['different header sizes', a, { ...b, tcpOptions: [1, 1, 1, 1] }, [1, 1]],
    ['IP options on the first', { ...a, ipOptions: [1, 1, 1, 0] }, b, [1, 1]],
    ['IP options on both', { ...a, ipOptions: [1, 1, 1, 0] }, { ...b, ipOptions: [1, 1, 1, 0] }, [1, 1]],
    ['a first fragment (MF)', { ...a, fragment: 0x2000 }, b, [1, 1]],
    ['a later fragment (offset)', a, { ...b, fragment: 0x0010 }, [1, 1]],
    ['no ACK flag', { ...a, flags: 0 }, { ...b, flags: 0 }, [1, 1]],
    ['UDP, not TCP', { ...a, protocol: 17 }, { ...b, protocol: 17 }, [1, 1]],
    ['pure ACKs, no payload', { ...a, payload: new Uint8Array(0) }, { ...b, seq: 1000, payload: new Uint8Array(0) }, [1, 1]],
  ];
  for (const [name, first, second, expected] of cases) {
    assert.deepEqual(counts([packet(first), packet(second)]), expected, name);
  }
  // Only the last segment of a group may be short: nothing follows a short one.
  assert.deepEqual(counts(run([600, 599, 599])), [2, 1], 'a short segment followed by more');
  assert.deepEqual(counts(run([600, 600, 599])), [3], 'a short last segment');
  // Buffers whose IPv4 total length disagrees with their size, or that are not IPv4 at all.
  // (The trailing byte would make the second segment look in sequence if the buffer size counted.)
  const long = Buffer.concat([packet(a), Buffer.from([0])]);
  assert.deepEqual(counts([long, packet({ ...b, seq: 1601 })]), [1, 1], 'IPv4 total length shorter than the buffer');
  const v6ish = packet(b);
  v6ish[0] = 0x65;
  assert.deepEqual(counts([packet(a), v6ish]), [1, 1], 'not IPv4');
  assert.deepEqual(counts([packet(a).subarray(0, 39), packet(b)]), [1, 1], 'a runt');
});

test('a group holds at most 128 segments (as many as a super-packet may be cut into)', () => {
  assert.equal(GRO_MAX_SEGMENTS, 128);
  assert.deepEqual(counts(run(Array(GRO_MAX_SEGMENTS).fill(100))), [128]);
  assert.deepEqual(counts(run(Array(GRO_MAX_SEGMENTS + 1).fill(100))), [128, 1]);
  const plan = binding.groPlan(run(Array(2 * GRO_MAX_SEGMENTS + 6).fill(100)));
  assert.deepEqual(plan.map((g) => g.count), [128, 128, 6]);
  // Each later group starts at its own first segment's sequence number and IP id.
  const second = Buffer.from(plan[1].packet);
  assert.equal(second.readUInt32BE(24), 1000 + 128 * 100);
  assert.equal(second.readUInt16BE(4), 100 + 128);
});

test('a group is at most 65535 bytes, header included', () => {
  // 40 + 5 * 13099 = 65535: exactly at the cap.
  const exact = binding.groPlan(run(Array(6).fill(13099)));
  assert.deepEqual(exact.map((g) => g.count), [5, 1]);
  assert.equal(exact[0].packet.length, GRO_MAX_BYTES);
  assert.equal(Buffer.from(exact[0].packet).readUInt16BE(2), GRO_MAX_BYTES);
  // 40 + 44 * 1460 = 64280; one more would be 65740.
  assert.deepEqual(counts(run(Array(50).fill(1460))), [44, 6]);
  // A short last segment still fits when it does not cross the cap.
  assert.deepEqual(counts(run([...Array(44).fill(1460), 1255])), [45]);
  assert.deepEqual(counts(run([...Array(44).fill(1460), 1256])), [44, 1]);
});

test('property: any mix of packets is written bit-identical once the reader cuts each group again', () => {
  let state = 0x4f36;
  const random = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  for (let round = 0; round < 200; round++) {
    const packets: Buffer[] = [];
    let seq = random(0x7fffffff) * 2;
    let id = random(0x10000);
    const mss = 1 + random(1460);
    const total = 1 + random(90);
    for (let k = 0; k < total; k++) {
      const roll = random(20);
      const size = roll === 0 ? random(mss + 1) : roll === 1 ? 1 + random(mss) : mss;
      const flags = roll === 2 ? ACK | PSH : roll === 3 ? ACK | FIN : roll === 4 ? ACK | URG : ACK;
      const sport = roll === 5 ? 40001 : 40000;
      const gap = roll === 6 ? 1 : 0;
      packets.push(packet({ seq: seq + gap, id, flags, sport, payload: payload(size, k), tcpOptions: round & 1 ? TIMESTAMPS : [] }));
      seq = (seq + gap + size) >>> 0;
      id = (id + 1) & 0xffff;
    }
    const plan = binding.groPlan(packets);
    assert.equal(plan.reduce((n, g) => n + g.count, 0), packets.length);
    const back = plan.flatMap((g) => segmentsOf(g.vnetHeader, g.packet, 5, 1600));
    assert.deepEqual(back, packets, `round ${round}`);
  }
});

// ---- TSO: how a read super-packet is cut ---------------------------------------------------

function superPacket(size: number, base: Partial<Segment> = {}): Buffer {
  const pkt = packet({ seq: 0xfffff000, id: 0xfffe, flags: ACK | PSH | FIN | CWR, tcpOptions: TIMESTAMPS, ...base, payload: payload(size, 3) });
  // As the kernel hands it over: CHECKSUM_PARTIAL, the TCP field holding the pseudo-header sum.
  const ihl = ipHeaderBytes(pkt);
  pkt.writeUInt16BE(fold(pseudoSum(pkt)), ihl + 16);
  return pkt;
}
function tsoHeader(pkt: Uint8Array, gsoSize: number, gsoType = GSO_TCPV4): Uint8Array {
  const ihl = ipHeaderBytes(pkt);
  return vnetBytes({ flags: VNET_F_NEEDS_CSUM, gsoType, gsoSize, hdrLen: ihl + (pkt[ihl + 12] >> 4) * 4, csumStart: ihl, csumOffset: 16 });
}

test('a TSO super-packet is cut into MSS segments as the kernel would: ids, seqs, flags, checksums', () => {
  const mss = 1448;
  const sp = superPacket(10 * mss + 7);
  const hdr = 52;
  const headroom = 5;
  const { bytes, lengths } = binding.tsoSegment(tsoHeader(sp, mss), sp, headroom, 1500);
  assert.deepEqual(lengths, [...Array(10).fill(hdr + mss), hdr + 7]);
  let offset = 0;
  lengths.forEach((length, k) => {
    const seg = Buffer.from(bytes.subarray(offset + headroom, offset + headroom + length));
    offset += headroom + length;
    assert.equal(seg.readUInt16BE(2), length, `segment ${k}: IPv4 total length`);
    assert.equal(seg.readUInt16BE(4), (0xfffe + k) & 0xffff, `segment ${k}: IP id`);
    assert.ok(ipChecksumValid(seg), `segment ${k}: IPv4 checksum`);
    assert.ok(transportChecksumValid(seg), `segment ${k}: TCP checksum`);
    assert.equal(seg.readUInt32BE(24), (0xfffff000 + k * mss) >>> 0, `segment ${k}: sequence number`);
    const last = k === lengths.length - 1;
    assert.equal(seg[33], ACK | (k === 0 ? CWR : 0) | (last ? PSH | FIN : 0), `segment ${k}: flags`);
    assert.deepEqual(seg.subarray(0, 2), sp.subarray(0, 2));
    assert.deepEqual(seg.subarray(6, 10), sp.subarray(6, 10));
    assert.deepEqual(seg.subarray(12, 24), sp.subarray(12, 24), 'addresses, ports');
    assert.deepEqual(seg.subarray(28, 33), sp.subarray(28, 33), 'ACK number, data offset');
    assert.deepEqual(seg.subarray(34, 36), sp.subarray(34, 36), 'window');
    assert.deepEqual(seg.subarray(40, hdr), Buffer.from(TIMESTAMPS), 'options on every segment');
    assert.deepEqual(seg.subarray(hdr), sp.subarray(hdr + k * mss, hdr + k * mss + length - hdr), 'payload');
  });
  assert.equal(offset, bytes.length);
});

test('a payload that is a multiple of the MSS leaves no empty segment; ECN and IP options are kept', () => {
  const sp = superPacket(4 * 1000);
  assert.deepEqual(segmentsOf(tsoHeader(sp, 1000), sp).map((s) => s.length), Array(4).fill(1052));
  const ecn = segmentsOf(tsoHeader(sp, 1000, GSO_TCPV4 | GSO_ECN), sp);
  assert.equal(ecn.length, 4);
  const withIpOptions = superPacket(2501, { ipOptions: [1, 1, 1, 0] });
  const segs = segmentsOf(tsoHeader(withIpOptions, 1000), withIpOptions);
  assert.deepEqual(segs.map((s) => s.length), [1056, 1056, 557]);
  for (const seg of segs) {
    assert.equal(seg[0], 0x46);
    assert.deepEqual(seg.subarray(20, 24), Buffer.from([1, 1, 1, 0]));
    assert.ok(ipChecksumValid(seg) && transportChecksumValid(seg));
  }
  // A super-packet of a single segment still comes out whole and valid, with every flag.
  const one = superPacket(300);
  const single = segmentsOf(tsoHeader(one, 1448), one);
  assert.equal(single.length, 1);
  assert.ok(transportChecksumValid(single[0]));
  assert.equal(single[0][33], ACK | PSH | FIN | CWR);
});

test('super-packets that cannot be cut are dropped, never passed on half-done', () => {
  const sp = superPacket(3000);
  assert.deepEqual(segmentsOf(tsoHeader(sp, 1000, GSO_UDP), sp), [], 'UDP fragmentation offload');
  assert.deepEqual(segmentsOf(tsoHeader(sp, 1000, GSO_TCPV6), sp), [], 'TCPv6');
  assert.deepEqual(segmentsOf(tsoHeader(sp, 0), sp), [], 'gso_size 0');
  const udp = superPacket(3000, { protocol: 17 });
  assert.deepEqual(segmentsOf(tsoHeader(udp, 1000), udp), [], 'not TCP');
  const v6 = Buffer.from(sp);
  v6[0] = 0x65;
  assert.deepEqual(segmentsOf(tsoHeader(sp, 1000), v6), [], 'not IPv4');
  assert.deepEqual(segmentsOf(tsoHeader(sp, 1000), sp.subarray(0, 39)), [], 'runt');
  const badOffset = Buffer.from(sp);
  badOffset[32] = 0x40; // a TCP header of 16 bytes
  assert.deepEqual(segmentsOf(tsoHeader(sp, 1000), badOffset), [], 'TCP data offset < 5');
  // More segments than a batch has room for after one read (TSO_MAX_SEGMENTS).
  const many = superPacket(TSO_MAX_SEGMENTS + 1);
  assert.deepEqual(segmentsOf(tsoHeader(many, 1), many), [], `${TSO_MAX_SEGMENTS + 1} segments`);
  assert.equal(segmentsOf(tsoHeader(many, 2), many).length, TSO_MAX_SEGMENTS / 2 + 1);
  const fits = superPacket(TSO_MAX_SEGMENTS);
  assert.equal(segmentsOf(tsoHeader(fits, 1), fits).length, TSO_MAX_SEGMENTS);
});

test('a plain read with NEEDS_CSUM gets its checksum completed; without it the bytes are untouched', () => {
  for (const size of [0, 1, 2, 333, 1400]) {
    const udp = packet({ protocol: 17, payload: payload(size, 4) });
    udp.writeUInt16BE(8 + size, 24); // UDP length
    udp.writeUInt16BE(fold(pseudoSum(udp)), 26); // the pseudo-header sum, as CHECKSUM_PARTIAL leaves it
    const header = vnetBytes({ flags: VNET_F_NEEDS_CSUM, csumStart: 20, csumOffset: 6 });
    const [out] = segmentsOf(header, udp);
    assert.ok(transportChecksumValid(out), `UDP, ${size} bytes`);
    assert.deepEqual(out.subarray(0, 26), udp.subarray(0, 26));
    assert.deepEqual(out.subarray(28), udp.subarray(28));
  }
  const tcp = packet({ payload: payload(901, 5) });
  tcp.writeUInt16BE(fold(pseudoSum(tcp)), 36);
  const [completed] = segmentsOf(vnetBytes({ flags: VNET_F_NEEDS_CSUM, csumStart: 20, csumOffset: 16 }), tcp);
  assert.ok(transportChecksumValid(completed), 'TCP');
  const wrong = packet({ payload: payload(100, 6) });
  wrong.writeUInt16BE(0x1234, 36);
  assert.deepEqual(segmentsOf(vnetBytes({}), wrong), [wrong], 'no NEEDS_CSUM: passed as it is');
  // A checksum offset past the end is not written.
  const short = packet({ payload: payload(10, 7) });
  assert.deepEqual(segmentsOf(vnetBytes({ flags: VNET_F_NEEDS_CSUM, csumStart: 20, csumOffset: 40 }), short), [short]);
});

test('a plain read longer than maxPacketBytes is dropped; one of exactly maxPacketBytes is kept', () => {
  const pkt = packet({ payload: payload(1460, 8) });
  assert.equal(segmentsOf(vnetBytes({}), pkt, 5, 1500).length, 1);
  assert.deepEqual(segmentsOf(vnetBytes({}), pkt, 5, 1499), []);
});

test('the test entries check their arguments', () => {
  assert.throws(() => binding.groPlan('x' as never), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => binding.groPlan([new Uint16Array(4) as never]), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => binding.tsoSegment(new Uint8Array(9), new Uint8Array(40), 0, 1500), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => binding.tsoSegment(new Uint8Array(10), new Uint8Array(70000), 0, 1500), { code: 'ERR_INVALID_ARG_TYPE' });
});

// ---- the real kernel: coalesced writes, forwarded, read back as TSO super-packets -----------------

test('through a real vnet TUN: GSO writes the kernel forwards come back as the same segments (TTL - 1)', { skip: skipUnless(needsRoot()) }, async (t) => {
  const ns = `${TEST_NETNS_PREFIX}${process.pid}-gso`; // the test prefix: a crashed run's namespace is removed by the next
  execFileSync('ip', ['netns', 'add', ns]);
  t.after(() => execFileSync('ip', ['netns', 'del', ns]));
  const flow = { src: '198.18.8.1', dst: '198.18.8.2', tcpOptions: TIMESTAMPS };
  // A run that coalesces (odd sizes, a short last with PSH), a lone FIN, then a run of another flow.
  const sent = [
    ...run([1200, 1200, 1200, 1200, 777], { ...flow, seq: 5000, id: 300 }, ACK | PSH),
    packet({ ...flow, seq: 9577, id: 305, flags: ACK | FIN, payload: payload(10, 9) }),
    ...run([999, 999, 999], { ...flow, sport: 40002, seq: 77, id: 400 }),
  ];
  assert.deepEqual(counts(sent), [5, 1, 3]);
  const { stdout } = await promisify(execFile)(
    'ip', ['netns', 'exec', ns, process.execPath, join(__dirname, 'gso-hairpin.js'), ...sent.map((p) => p.toString('hex'))],
    { timeout: 30_000 },
  );
  const result = JSON.parse(stdout) as { why: string; packets: string[] };
  assert.equal(result.why, 'complete');
  const expected = sent.map((p) => {
    const q = Buffer.from(p);
    q[8]--; // forwarded: TTL - 1, and the IPv4 checksum with it
    q.writeUInt16BE(0, 10);
    q.writeUInt16BE(0xffff ^ fold(sum16(q.subarray(0, 20))), 10);
    return q;
  });
  // Each flow keeps its order; the two flows may interleave.
  const back = result.packets.map((hex) => Buffer.from(hex, 'hex'));
  for (const seg of back) assert.ok(ipChecksumValid(seg) && transportChecksumValid(seg), 'checksums valid');
  const byPort = (list: Buffer[], port: number) => list.filter((p) => p.readUInt16BE(20) === port);
  assert.deepEqual(byPort(back, 40000), byPort(expected, 40000));
  assert.deepEqual(byPort(back, 40002), byPort(expected, 40002));
  assert.equal(back.length, expected.length);
});

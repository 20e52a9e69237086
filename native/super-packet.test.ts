// Super-packet regions (4-byte header + a whole TCP/IPv4 TSO packet) through the addon, byte by
// byte: segmentSuperPacket (how a gateway cuts one for a legacy peer), the write path with kinds
// (one GSO write per region, seed recomputed, never merged with neighbours) and the read path with
// kinds (a TSO read delivered whole), the last two on a FIFO, which gives byte-exact control over
// what the read loop "reads" and shows exactly what each write sent. Every checksum is recomputed
// in JS. The real kernel runs in super-packet-kernel.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import {
  ACK,
  CWR,
  ECE,
  FIN,
  GSO_ECN,
  GSO_TCPV4,
  GSO_UDP,
  PSH,
  type Segment,
  TIMESTAMPS,
  TSO_MAX_SEGMENTS,
  VNET_F_NEEDS_CSUM,
  fold,
  ipChecksumValid,
  ipHeaderBytes,
  packet,
  parseVnet,
  payload,
  pseudoSum,
  sum16,
  transportChecksumValid,
  vnetBytes,
} from './test-packets';
import { nativeBinding, PACKET_KIND, segmentSuperPacket, SUPER_PACKET_HEADER_BYTES, TunDevice, TunError } from './tun';

const binding = nativeBinding();
const VNET_HEADER_BYTES = 10;

// ---- building regions -----------------------------------------------------------------------------

/** The CHECKSUM_PARTIAL seed of a TCP/IPv4 packet: folded pseudo-header sum, not complemented. */
function seedOf(pkt: Uint8Array): number {
  return fold(pseudoSum(pkt));
}

/** A TCP/IPv4 super-packet of `size` payload bytes with its seed in the checksum field. */
function superPacket(size: number, base: Partial<Segment> = {}): Buffer {
  const pkt = packet({ seq: 0xfffff000, id: 0xfffe, flags: ACK | PSH, tcpOptions: TIMESTAMPS, ...base, payload: payload(size, 11) });
  pkt.writeUInt16BE(seedOf(pkt), ipHeaderBytes(pkt) + 16);
  return pkt;
}

function region(pkt: Uint8Array, gsoSize: number, flags = 0, reserved = 0): Buffer {
  const r = Buffer.alloc(SUPER_PACKET_HEADER_BYTES + pkt.length);
  r.writeUInt16LE(gsoSize, 0);
  r[2] = flags;
  r[3] = reserved;
  r.set(pkt, SUPER_PACKET_HEADER_BYTES);
  return r;
}

interface Cut {
  count: number;
  segments: Buffer[];
  dst: Buffer;
  used: number;
}

/** segmentSuperPacket into a dst of `room` bytes (default: plenty), split out of the batch layout. */
function cut(r: Uint8Array, headroom = 5, room = 200_000, lengthSlots = TSO_MAX_SEGMENTS): Cut {
  const dst = Buffer.alloc(room, 0xee);
  const lengths = new Int32Array(lengthSlots).fill(-7);
  const count = segmentSuperPacket(r, dst, headroom, lengths);
  const segments: Buffer[] = [];
  let offset = 0;
  for (let k = 0; k < count; k++) {
    assert.equal(dst.subarray(offset, offset + headroom).every((b) => b === 0xee), true, `headroom ${k} untouched`);
    segments.push(Buffer.from(dst.subarray(offset + headroom, offset + headroom + lengths[k]!)));
    offset += headroom + lengths[k]!;
  }
  assert.ok(dst.subarray(offset).every((b) => b === 0xee), 'nothing written past the last segment');
  assert.ok(lengths.subarray(count).every((n) => n === -7), 'no lengths past the count');
  return { count, segments, dst, used: offset };
}

// ---- segmentSuperPacket ---------------------------------------------------------------------------

test('segmentSuperPacket cuts gso_size segments: lengths, ids, seqs, flags, options, payload, both checksums', () => {
  const gso = 1449; // odd, and the last segment short and odd
  const sp = superPacket(10 * gso + 7, { flags: ACK | PSH | FIN | CWR | ECE });
  const hdr = 20 + 20 + TIMESTAMPS.length;
  const { count, segments } = cut(region(sp, gso));
  assert.equal(count, 11);
  assert.deepEqual(segments.map((s) => s.length), [...Array(10).fill(hdr + gso), hdr + 7]);
  segments.forEach((seg, k) => {
    const last = k === count - 1;
    assert.equal(seg.readUInt16BE(2), seg.length, `segment ${k}: IPv4 total length`);
    assert.equal(seg.readUInt16BE(4), (0xfffe + k) & 0xffff, `segment ${k}: IP id counts up (and wraps)`);
    assert.ok(ipChecksumValid(seg), `segment ${k}: IPv4 checksum`);
    assert.ok(transportChecksumValid(seg), `segment ${k}: TCP checksum`);
    assert.equal(seg.readUInt32BE(24), (0xfffff000 + k * gso) >>> 0, `segment ${k}: sequence number (wraps)`);
    assert.equal(seg[33], ACK | ECE | (k === 0 ? CWR : 0) | (last ? PSH | FIN : 0), `segment ${k}: flags`);
    assert.deepEqual(seg.subarray(12, 24), sp.subarray(12, 24), 'addresses, ports');
    assert.deepEqual(seg.subarray(28, 33), sp.subarray(28, 33), 'ACK number, data offset');
    assert.deepEqual(seg.subarray(34, 36), sp.subarray(34, 36), 'window');
    assert.deepEqual(seg.subarray(40, hdr), Buffer.from(TIMESTAMPS), 'options on every segment');
    assert.deepEqual(seg.subarray(hdr), sp.subarray(hdr + k * gso, hdr + k * gso + seg.length - hdr), 'payload');
  });
});

test('segmentSuperPacket ignores the seed it is given and the ECN flag; IP options are copied', () => {
  const sp = superPacket(3001, { ipOptions: [1, 1, 1, 0] });
  const bogusSeed = Buffer.from(sp);
  bogusSeed.writeUInt16BE(0xbeef, 24 + 16);
  const a = cut(region(sp, 1000));
  assert.deepEqual(cut(region(bogusSeed, 1000)).segments, a.segments);
  assert.deepEqual(cut(region(sp, 1000, 0x01)).segments, a.segments);
  assert.deepEqual(a.segments.map((s) => s.length), [1056, 1056, 1056, 57]);
  for (const seg of a.segments) {
    assert.equal(seg[0], 0x46);
    assert.deepEqual(seg.subarray(20, 24), Buffer.from([1, 1, 1, 0]));
    assert.ok(ipChecksumValid(seg) && transportChecksumValid(seg));
  }
  // A payload that is a multiple of gso_size leaves no empty segment; a single segment is the packet.
  assert.deepEqual(cut(region(superPacket(4000), 1000)).segments.map((s) => s.length - 52), [1000, 1000, 1000, 1000]);
  const one = superPacket(300);
  const [single] = cut(region(one, 1448)).segments;
  assert.ok(single && transportChecksumValid(single));
  const expected = Buffer.from(one);
  expected.writeUInt16BE(0, 36);
  expected.writeUInt16BE(0xffff ^ fold(sum16(expected.subarray(20), pseudoSum(expected))), 36);
  assert.deepEqual(single, expected, 'one segment: the packet with its checksum completed');
});

test('segmentSuperPacket with headroom 0 and the exact room needed; one byte or one length less is 0', () => {
  const sp = superPacket(2 * 700 + 1);
  const r = region(sp, 700);
  const need = 3 * 52 + 1401;
  assert.equal(cut(r, 0, need).count, 3);
  assert.equal(cut(r, 0, need - 1).count, 0, 'dst one byte short');
  assert.equal(cut(r, 3, need + 9).count, 3);
  assert.equal(cut(r, 3, need + 8).count, 0, 'headroom counted');
  assert.equal(cut(r, 0, need, 3).count, 3);
  assert.equal(cut(r, 0, need, 2).count, 0, 'lengths one short');
});

test('segmentSuperPacket refuses what is not a valid TCP/IPv4 super-packet region (returns 0)', () => {
  const sp = superPacket(3000);
  const ok = region(sp, 1000);
  assert.equal(cut(ok).count, 3, 'control');
  const edit = (f: (r: Buffer) => void): Buffer => {
    const r = Buffer.from(ok);
    f(r);
    return r;
  };
  const cases: [string, Uint8Array][] = [
    ['not TCP (UDP)', region(superPacket(3000, { protocol: 17 }), 1000)],
    ['not IPv4', edit((r) => (r[4] = 0x65))],
    ['IHL 4', edit((r) => (r[4] = 0x44))],
    ['IHL beyond the packet', (() => {
      const r = region(superPacket(20), 1000); // 72 bytes: an IHL of 60 leaves no room for TCP
      r[4] = 0x4f;
      return r;
    })()],
    ['TCP data offset 4', edit((r) => (r[4 + 32] = 0x40))],
    ['TCP header beyond the packet', region(superPacket(0, { tcpOptions: TIMESTAMPS }), 1000)],
    ['no payload', region(packet({ payload: new Uint8Array(0) }), 1000)],
    ['gso_size 0', region(sp, 0)],
    [`more than ${TSO_MAX_SEGMENTS} segments`, region(superPacket(TSO_MAX_SEGMENTS + 1), 1)],
    ['IPv4 total length longer than the region', edit((r) => r.writeUInt16BE(sp.length + 1, 6))],
    ['IPv4 total length shorter than the region', Buffer.concat([ok, Buffer.from([0])])],
    ['a fragment (MF)', edit((r) => r.writeUInt16BE(0x2000, 10))],
    ['a fragment (offset)', edit((r) => r.writeUInt16BE(0x0001, 10))],
    ['an unknown flag bit', region(sp, 1000, 0x02)],
    ['the reserved byte set', region(sp, 1000, 0, 1)],
    ['shorter than header + 40', ok.subarray(0, 43)],
    ['empty', new Uint8Array(0)],
  ];
  for (const [name, r] of cases) assert.equal(cut(r).count, 0, name);
  // The limits themselves are accepted.
  assert.equal(cut(region(superPacket(TSO_MAX_SEGMENTS), 1)).count, TSO_MAX_SEGMENTS);
  assert.equal(cut(region(superPacket(65535 - 52), 65535)).count, 1, 'largest IPv4 packet');
});

test('segmentSuperPacket: wrong argument types throw TypeError', () => {
  const r = region(superPacket(2000), 1000);
  const bad = segmentSuperPacket as unknown as (...args: unknown[]) => number;
  const dst = new Uint8Array(10_000);
  const lengths = new Int32Array(8);
  for (const args of [
    [],
    [[1, 2], dst, 0, lengths],
    [r, new Uint16Array(10), 0, lengths],
    [r, dst, -1, lengths],
    [r, dst, 1.5, lengths],
    [r, dst, 0, new Uint32Array(8)],
    [r, r, 0, lengths], // overlapping
  ]) {
    assert.throws(() => bad(...args), (err: unknown) => err instanceof TypeError && /segmentSuperPacket/.test(err.message), String(args.length));
  }
  assert.equal(bad(r, dst, 0, lengths), 2);
});

test('property: any super-packet cut by the sender is re-assembled bit-identical by GRO (groPlan)', () => {
  const MAX_PACKET = 65535;
  const arbitrary = fc
    .record({
      optionWords: fc.integer({ min: 0, max: 10 }),
      optionSeed: fc.integer({ min: 0, max: 255 }),
      payloadSeed: fc.integer({ min: 0, max: 1 << 20 }),
      size: fc.integer({ min: 2, max: MAX_PACKET - 40 }),
      segments: fc.integer({ min: 2, max: TSO_MAX_SEGMENTS }),
      push: fc.boolean(),
      seq: fc.integer({ min: 0, max: 0xffffffff }),
      ack: fc.integer({ min: 0, max: 0xffffffff }),
      id: fc.integer({ min: 0, max: 0xffff }),
      window: fc.integer({ min: 0, max: 0xffff }),
      tos: fc.integer({ min: 0, max: 255 }),
    })
    .map((c) => {
      const tcpOptions = Array.from({ length: c.optionWords * 4 }, (_, j) => (c.optionSeed + j * 13) & 0xff);
      const size = Math.min(c.size, MAX_PACKET - 40 - tcpOptions.length); // payload 1..65495 (fewer with options)
      // gso_size gives at least 2 and at most 128 segments (2 <= size).
      const gso = Math.max(Math.ceil(size / c.segments), Math.ceil(size / TSO_MAX_SEGMENTS));
      return { ...c, tcpOptions, size, gso: Math.min(gso, size - 1) };
    });
  fc.assert(
    fc.property(arbitrary, (c) => {
      const pkt = packet({
        seq: c.seq, ack: c.ack, id: c.id, window: c.window, tos: c.tos, flags: ACK | (c.push ? PSH : 0),
        tcpOptions: c.tcpOptions, payload: payload(c.size, c.payloadSeed),
      });
      pkt.writeUInt16BE(seedOf(pkt), 36);
      const r = region(pkt, c.gso);
      const { count, segments } = cut(r, 5, 65536 + TSO_MAX_SEGMENTS * 125);
      assert.equal(count, Math.ceil(c.size / c.gso));
      for (const seg of segments) assert.ok(ipChecksumValid(seg) && transportChecksumValid(seg));
      const plan = binding.groPlan(segments);
      assert.equal(plan.length, 1, 'one group');
      assert.equal(plan[0]!.count, count);
      assert.deepEqual(Buffer.from(plan[0]!.packet), pkt, 'bit-identical');
      const vnet = parseVnet(plan[0]!.vnetHeader);
      assert.equal(vnet.gsoSize, c.gso);
      assert.equal(vnet.gsoType, GSO_TCPV4);
      assert.equal(vnet.hdrLen, 40 + c.tcpOptions.length);
    }),
    { numRuns: 300 },
  );
});

// ---- writePackets with kinds: what each write sends (on a FIFO) ------------------------------------

/** A FIFO opened read-write and non-blocking: what is written to it becomes readable on it. */
function fifo(t: TestContext): number {
  const dir = mkdtempSync(join(tmpdir(), '4o6-super-'));
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  // Room for one largest vnet "read" (10 + 65535 bytes) in the pipe: F_SETPIPE_SZ, which Node lacks.
  // The pipe's size is the pipe's own, so setting it through a second open of the path is enough
  // (handing our fd to a child would have libuv make it blocking).
  execFileSync('python3', ['-c', 'import fcntl, os, sys; fcntl.fcntl(os.open(sys.argv[1], os.O_RDWR | os.O_NONBLOCK), 1031, 1 << 18)', path]);
  t.after(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  return fd;
}

/** Splits what vnet writes put into a FIFO: each is a 10-byte header + an IPv4 packet. */
function vnetWrites(fd: number): { header: ReturnType<typeof parseVnet>; packet: Buffer }[] {
  const buf = Buffer.alloc(1 << 17);
  let n = 0;
  try {
    n = readSync(fd, buf);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EAGAIN') throw err;
  }
  const out = [];
  for (let at = 0; at < n;) {
    const header = parseVnet(buf.subarray(at, at + VNET_HEADER_BYTES));
    const length = buf.readUInt16BE(at + VNET_HEADER_BYTES + 2);
    out.push({ header, packet: Buffer.from(buf.subarray(at + VNET_HEADER_BYTES, at + VNET_HEADER_BYTES + length)) });
    at += VNET_HEADER_BYTES + length;
  }
  return out;
}

test('writePackets writes a super-packet region as one GSO packet with the seed recomputed, caller bytes untouched', (t) => {
  const fd = fifo(t);
  const sp = superPacket(5 * 1448 + 3, { ipOptions: [1, 1, 1, 0] });
  sp.writeUInt16BE(0x1234, 24 + 16); // a peer's arbitrary seed
  const r = region(sp, 1448, 0x01);
  const before = Buffer.from(r);
  assert.equal(binding.writePackets(fd, [r], 1, true, new Uint8Array([PACKET_KIND.superPacket])), 1);
  assert.deepEqual(r, before, 'the region is not modified');
  const [write, ...rest] = vnetWrites(fd);
  assert.deepEqual(rest, []);
  assert.deepEqual(write!.header, {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: GSO_TCPV4 | GSO_ECN,
    hdrLen: 24 + 32,
    gsoSize: 1448,
    csumStart: 24,
    csumOffset: 16,
  });
  const expected = Buffer.from(sp);
  expected.writeUInt16BE(seedOf(sp), 24 + 16);
  assert.deepEqual(write!.packet, expected);
  // Without the ECN flag, no GSO_ECN.
  assert.equal(binding.writePackets(fd, [region(sp, 1000)], 1, true, new Uint8Array([1])), 1);
  assert.equal(vnetWrites(fd)[0]!.header.gsoType, GSO_TCPV4);
});

test('writePackets never coalesces a run across a super-packet region; kinds 0 entries coalesce as before', (t) => {
  const fd = fifo(t);
  // Four in-sequence segments of one flow: coalesced into one write without the region between.
  const segs = [0, 1, 2, 3].map((k) => packet({ seq: 1000 + k * 500, id: 10 + k, payload: payload(500, k) }));
  assert.deepEqual(binding.groPlan(segs).map((g) => g.count), [4], 'control: one group');
  const sp = superPacket(3000);
  const r = region(sp, 1000);
  const kinds = new Uint8Array([0, 0, 1, 0, 0]);
  assert.equal(binding.writePackets(fd, [segs[0]!, segs[1]!, r, segs[2]!, segs[3]!], 5, true, kinds), 5);
  const writes = vnetWrites(fd);
  assert.deepEqual(writes.map((w) => [w.header.gsoType, w.header.gsoSize, w.packet.length]), [
    [GSO_TCPV4, 500, 40 + 1000],
    [GSO_TCPV4, 1000, sp.length],
    [GSO_TCPV4, 500, 40 + 1000],
  ]);
  // Regions back to back, first and last: each its own write.
  assert.equal(binding.writePackets(fd, [r, r, segs[0]!], 3, true, new Uint8Array([1, 1, 0])), 3);
  assert.deepEqual(vnetWrites(fd).map((w) => w.packet.length), [sp.length, sp.length, 540]);
});

test('writePackets skips regions C cannot use, writes the rest, never reads out of bounds', (t) => {
  const fd = fifo(t);
  const good = region(superPacket(2000), 1000);
  const plain = packet({ payload: payload(100, 1) });
  const bogus: Uint8Array[] = [
    region(superPacket(2000), 0), // bad gso
    good.subarray(0, 43), // short
    new Uint8Array(0),
    region(superPacket(2000), 1000, 0x80),
    region(superPacket(2000, { protocol: 17 }), 1000),
    Buffer.concat([good, Buffer.from([1, 2, 3])]), // total length disagrees
    region(superPacket(129), 1), // 129 segments
  ];
  // An IHL that points past a short region: the bytes after it must never be looked at.
  const ihlPastEnd = Buffer.from(good.subarray(0, 48));
  ihlPastEnd[4] = 0x4f;
  bogus.push(ihlPastEnd);
  const packets = [...bogus, plain, good];
  const kinds = new Uint8Array(packets.length).fill(1);
  kinds[bogus.length] = 0;
  assert.equal(binding.writePackets(fd, packets, packets.length, true, kinds), 2);
  const writes = vnetWrites(fd);
  assert.deepEqual(writes.map((w) => w.packet.length), [plain.length, good.length - 4]);
});

test('kinds: usage errors, on the raw binding and through TunDevice', (t) => {
  const fd = fifo(t);
  const r = region(superPacket(2000), 1000);
  const usage = (fn: () => unknown, detail: RegExp) =>
    assert.throws(fn, (err: unknown) => err instanceof TypeError && detail.test(err.message));
  usage(() => binding.writePackets(fd, [r], 1, false, new Uint8Array([1])), /kinds needs a vnetHdr device/);
  usage(() => binding.writePackets(fd, [r, r], 2, true, new Uint8Array([1])), /at least count/);
  usage(() => binding.writePackets(fd, [r], 1, true, new Uint8Array([2])), /kinds\[i\]/);
  usage(() => binding.writePackets(fd, [r], 1, true, [1] as unknown as Uint8Array), /kinds/);
  assert.deepEqual(vnetWrites(fd), [], 'a rejected call writes nothing');
  const scratch = new Uint8Array(1 << 18);
  const lengths = new Int32Array(200);
  usage(() => binding.startReading(fd, scratch, lengths, 0, 1500, () => {}, false, new Uint8Array(200)), /kinds needs a vnetHdr/);
  usage(() => binding.startReading(fd, scratch, lengths, 0, 1500, () => {}, true, new Uint8Array(199)), /as long as lengths/);
  usage(() => binding.startReading(fd, new Uint8Array(80_000), lengths, 0, 1500, () => {}, true), /scratch is smaller/);
  const dev = TunDevice.fromFd(fd, 'fifo'); // not a coalescing device
  const noOffload = (fn: () => unknown) =>
    assert.throws(fn, (err: unknown) => err instanceof TunError && err.code === 'ERR_TUN_NO_OFFLOAD');
  noOffload(() => dev.startReading(() => {}, { superPackets: true }));
  noOffload(() => dev.writePackets([r], 1, new Uint8Array([1])));
  assert.equal(dev.reading, false);
});

// ---- the read path with kinds (on a FIFO standing in for a vnet TUN) --------------------------------

interface Batch {
  entries: { kind: number; bytes: Buffer }[];
}

/** Starts the raw vnet read loop with kinds on `fd`; each batch is copied out as it arrives. */
function superReader(t: TestContext, fd: number, headroom: number, maxPacketBytes = 1500) {
  const scratch = Buffer.alloc(4 * (headroom + 65539) + 65536 + TSO_MAX_SEGMENTS * (headroom + 120), 0xee);
  const lengths = new Int32Array(4 + TSO_MAX_SEGMENTS);
  const kinds = new Uint8Array(lengths.length).fill(9);
  const batches: Batch[] = [];
  let wake: (() => void) | undefined;
  const poller = binding.startReading(fd, scratch, lengths, headroom, maxPacketBytes, (count) => {
    assert.ok(count > 0, `read error ${count}`);
    const entries = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      entries.push({ kind: kinds[i]!, bytes: Buffer.from(scratch.subarray(p + headroom, p + headroom + lengths[i]!)) });
      p += headroom + lengths[i]!;
    }
    batches.push({ entries });
    wake?.();
  }, true, kinds);
  t.after(() => poller.stop());
  /** Writes one "vnet read" into the FIFO and waits (bounded) for the batch it becomes. */
  const read = async (header: Uint8Array, pkt: Uint8Array): Promise<Batch | undefined> => {
    const seen = batches.length;
    writeSync(fd, Buffer.concat([header, pkt]));
    const deadline = Date.now() + 2000;
    while (batches.length === seen && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 20);
      });
    }
    // A dropped read gives no batch: the FIFO must then be empty again.
    if (batches.length === seen) assert.throws(() => readSync(fd, Buffer.alloc(1)), { code: 'EAGAIN' });
    return batches[seen];
  };
  return { read };
}

function tsoHeader(pkt: Uint8Array, gsoSize: number, gsoType = GSO_TCPV4): Uint8Array {
  const ihl = ipHeaderBytes(pkt);
  return vnetBytes({ flags: VNET_F_NEEDS_CSUM, gsoType, gsoSize, hdrLen: ihl + (pkt[ihl + 12]! >> 4) * 4, csumStart: ihl, csumOffset: 16 });
}

test('reading with kinds: a TSO read is one super-packet region, seed rewritten; ordinary packets as before', async (t) => {
  const fd = fifo(t);
  const { read } = superReader(t, fd, 5);
  const sp = superPacket(20 * 1448 + 99);
  const garbled = Buffer.from(sp);
  garbled.writeUInt16BE(0xdead, 36); // whatever the kernel left in the field
  const whole = await read(tsoHeader(garbled, 1448), garbled);
  assert.deepEqual(whole?.entries, [{ kind: PACKET_KIND.superPacket, bytes: region(sp, 1448) }]);
  const ecn = await read(tsoHeader(sp, 1448, GSO_TCPV4 | GSO_ECN), sp);
  assert.deepEqual(ecn?.entries, [{ kind: 1, bytes: region(sp, 1448, 0x01) }]);
  // An ordinary packet (moved down over the 4 bytes a region header would take), with NEEDS_CSUM completed.
  const plain = packet({ payload: payload(999, 3) });
  const partial = Buffer.from(plain);
  partial.writeUInt16BE(seedOf(plain), 36);
  const ordinary = await read(vnetBytes({ flags: VNET_F_NEEDS_CSUM, csumStart: 20, csumOffset: 16 }), partial);
  assert.deepEqual(ordinary?.entries, [{ kind: PACKET_KIND.packet, bytes: plain }]);
  // Longer than maxPacketBytes is dropped for ordinary packets only.
  assert.equal(await read(vnetBytes({}), packet({ payload: payload(1461, 4) })), undefined);
  // A TSO read that cannot travel whole is cut as without kinds (an IPv4 fragment here: MF set).
  const odd = superPacket(3000, { fragment: 0x2000 });
  const cutBatch = await read(tsoHeader(odd, 1000), odd);
  assert.deepEqual(cutBatch?.entries.map((e) => [e.kind, e.bytes.length]), [[0, 1052], [0, 1052], [0, 1052]]);
  for (const e of cutBatch!.entries) assert.ok(ipChecksumValid(e.bytes) && transportChecksumValid(e.bytes));
  // Other GSO types are dropped, as without kinds.
  assert.equal(await read(tsoHeader(sp, 1448, GSO_UDP), sp), undefined);
  // The reader is still alive.
  assert.deepEqual((await read(vnetBytes({}), plain))?.entries, [{ kind: 0, bytes: plain }]);
});

test('reading with kinds: the largest super-packet region fits, one byte more is dropped, not cut', async (t) => {
  const fd = fifo(t);
  const { read } = superReader(t, fd, 0);
  const largest = superPacket(65535 - 52);
  const batch = await read(tsoHeader(largest, 1448), largest);
  assert.equal(batch?.entries[0]?.bytes.length, 4 + 65535);
  assert.deepEqual(batch?.entries[0]?.bytes, region(largest, 1448));
});

test('property: any bytes as a region: skipped or written consistently, cut or refused, never out of bounds', (t) => {
  const fd = fifo(t);
  const base = region(superPacket(600, { tcpOptions: TIMESTAMPS }), 200);
  const mutated = fc
    .record({
      edits: fc.array(fc.record({ at: fc.nat(base.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
      length: fc.integer({ min: 0, max: base.length }),
    })
    .map(({ edits, length }) => {
      const r = Buffer.from(base);
      for (const { at, value } of edits) r[at] = value;
      return r.subarray(0, length);
    });
  fc.assert(
    fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 120 })), (r) => {
      // The region in a larger buffer whose other bytes must never matter.
      const holder = Buffer.alloc(r.length + 64, 0x45);
      holder.set(r, 32);
      const view = holder.subarray(32, 32 + r.length);
      const written = binding.writePackets(fd, [view], 1, true, new Uint8Array([1]));
      const writes = vnetWrites(fd);
      assert.equal(writes.length, written);
      const segments = cut(view).segments;
      if (written === 0) {
        assert.equal(segments.length, 0, 'what writePackets skips, segmentSuperPacket refuses too');
        return;
      }
      const pkt = Buffer.from(view.subarray(4));
      const ihl = ipHeaderBytes(pkt);
      pkt.writeUInt16BE(seedOf(pkt), ihl + 16);
      assert.deepEqual(writes[0]!.packet, pkt, 'the packet as given, with its own seed');
      assert.equal(writes[0]!.header.gsoSize, view.readUInt16LE(0));
      assert.equal(writes[0]!.header.csumStart, ihl);
      assert.ok(segments.length >= 1);
      for (const seg of segments) assert.ok(ipChecksumValid(seg) && transportChecksumValid(seg));
      assert.equal(segments.reduce((n, s) => n + s.length - writes[0]!.header.hdrLen, 0), pkt.length - writes[0]!.header.hdrLen);
    }),
    { numRuns: 500 },
  );
});

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { FrameCipher, parseUuid } from '../protocol/crypto';
import { FRAME_HEADER_BYTES, FrameReader, MAX_NEGOTIATED_FRAME_BYTES, MessageType } from '../protocol/frame';
import { superPacketRegion, tcpPacket } from '../test/support/fake-tun';
import { waitFor } from '../test/support/netns';
import {
  LinkBatch, PACKET_KIND_SUPER, TUN_HEADROOM_BYTES, TunWrites, inboundProblem, maxOrdinaryPacketBytes, outboundProblem, tunnelTcpMss,
} from './data-path';
import { FrameLink } from './frame-link';
import type { PacketDevice } from './packet-device';

const cleanups: Array<() => unknown> = [];
after(() => {
  for (const c of cleanups.reverse()) c();
});

test('the MSS cap: 1456 (legacy peers cut at 1496) unless the MTU is smaller', () => {
  assert.equal(tunnelTcpMss(1500), 1456);
  assert.equal(tunnelTcpMss(1497), 1456);
  assert.equal(tunnelTcpMss(1495), 1455);
  assert.equal(tunnelTcpMss(1280), 1240);
});

test('outbound: ordinary packets must be IPv4 and fit a legacy frame (2048 plain, 2003 sealed); super-packets always have a way', () => {
  assert.equal(maxOrdinaryPacketBytes(false), 2048);
  assert.equal(maxOrdinaryPacketBytes(true), 2003);
  const at = (len: number) => {
    const b = Buffer.alloc(len + 10);
    b[3] = 0x45;
    return b;
  };
  assert.equal(outboundProblem(at(2003), 3, 2003, 0, true), null);
  assert.equal(outboundProblem(at(2004), 3, 2004, 0, true), 'tooLarge');
  assert.equal(outboundProblem(at(2048), 3, 2048, 0, false), null);
  assert.equal(outboundProblem(at(2049), 3, 2049, 0, false), 'tooLarge');
  const v6 = at(100);
  v6[3] = 0x60;
  assert.equal(outboundProblem(v6, 3, 100, 0, false), 'notIpv4');
  assert.equal(outboundProblem(v6, 3, 100, PACKET_KIND_SUPER, true), null, 'the addon vouches for a super region');
});

test('inbound: whole IPv4 packets; super regions checked as regions', () => {
  const packet = tcpPacket('198.18.0.2', '198.18.0.1', 100);
  assert.equal(inboundProblem(packet, 0), null);
  assert.equal(inboundProblem(packet.subarray(0, 120), 0), 'badLength');
  const v6 = Buffer.from(packet);
  v6[0] = 0x60;
  assert.equal(inboundProblem(v6, 0), 'notIpv4');
  const region = superPacketRegion('198.18.0.2', '198.18.0.1', 5000, 1400);
  assert.equal(inboundProblem(region, PACKET_KIND_SUPER), null);
  assert.equal(inboundProblem(region, 0), 'notIpv4', 'a region is not a packet');
  assert.equal(inboundProblem(region.subarray(0, 4000), PACKET_KIND_SUPER), 'badSuperPacket');
  assert.equal(inboundProblem(packet, PACKET_KIND_SUPER), 'badSuperPacket');
});

/** A FrameLink over a real TCP connection on [::1], and a reader of what its peer receives. */
async function linkPair(cipher: FrameCipher | null) {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen({ host: '::1', port: 0 }, r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const socket = net.connect({ host: '::1', port: (server.address() as net.AddressInfo).port });
  const peer = await accepted;
  const link = new FrameLink(socket, { cipher, encryptOutgoing: cipher !== null, highWaterBytes: 1 << 22 }, {
    onFrame: () => undefined, onClose: () => undefined,
  });
  const reader = new FrameReader();
  reader.maxFrameBytes = MAX_NEGOTIATED_FRAME_BYTES;
  const frames: { type: number; payload: Buffer }[] = [];
  peer.on('data', (chunk: Buffer) => {
    for (const f of reader.push(chunk)) {
      if (f.type === MessageType.Encrypted && cipher) {
        const inner = cipher.open(Buffer.from(f.payload));
        frames.push({ type: inner[4], payload: Buffer.from(inner.subarray(FRAME_HEADER_BYTES)) });
      } else {
        frames.push({ type: f.type, payload: Buffer.from(f.payload) });
      }
    }
  });
  cleanups.push(() => {
    link.close('test over');
    peer.destroy();
    server.close();
  });
  return { link, frames };
}

/** The bytes of each write the link is given, in order. */
function recordWrites(link: FrameLink): number[] {
  const writes: number[] = [];
  const send = link.sendPackets.bind(link);
  link.sendPackets = (type, scratch, starts, lengths, count, kinds) => {
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += lengths[i];
    writes.push(bytes);
    return send(type, scratch, starts, lengths, count, kinds);
  };
  return writes;
}

/** Lays regions out as a TUN read does: a frame header's room before each. */
function tunBatch(regions: Buffer[]) {
  const scratch = Buffer.alloc(regions.reduce((n, r) => n + TUN_HEADROOM_BYTES + r.length, 0));
  const starts: number[] = [];
  let p = 0;
  for (const r of regions) {
    starts.push(p + TUN_HEADROOM_BYTES);
    r.copy(scratch, p + TUN_HEADROOM_BYTES);
    p += TUN_HEADROOM_BYTES + r.length;
  }
  return { scratch, starts };
}

for (const sealed of [false, true]) {
  test(`${sealed ? 'sealed' : 'plain'}: a batch goes out in order; a super-packet whole where agreed, cut where not`, async () => {
    const cipher = sealed ? new FrameCipher(parseUuid('bbde0d1c-083b-4f20-9cce-799367ba1a5a')) : null;
    for (const agreed of [true, false]) {
      const { link, frames } = await linkPair(cipher);
      if (agreed) link.enableSuperPackets();
      const before = tcpPacket('198.18.0.2', '198.18.0.1', 300, 1);
      const region = superPacketRegion('198.18.0.2', '198.18.0.1', 6001, 1448, 2000);
      const afterwards = tcpPacket('198.18.0.2', '198.18.0.1', 10, 3);
      const { scratch, starts } = tunBatch([before, region, afterwards]);
      const batch = new LinkBatch(MessageType.DataUp, 1456);
      batch.add(scratch, starts[0], before.length, 0, link);
      batch.add(scratch, starts[1], region.length, PACKET_KIND_SUPER, link);
      batch.add(scratch, starts[2], afterwards.length, 0, link);
      const totals = batch.finish(scratch, link);
      const segments = agreed ? 1 : 5; // 6,001 bytes in 1,448-byte segments
      assert.deepEqual(totals, { packets: 2 + segments, bytes: before.length + afterwards.length + (agreed ? region.length - 4 : 6001 + 5 * 40), dropped: 0 });
      await waitFor(() => frames.length >= 2 + segments, { timeoutMs: 5000, what: 'the frames' });
      const types = frames.map((f) => f.type);
      if (agreed) {
        assert.deepEqual(types, [MessageType.DataUp, MessageType.SuperPacket, MessageType.DataUp]);
        assert.ok(frames[1].payload.equals(region), 'the region as it was read');
      } else {
        assert.deepEqual(types, Array(7).fill(MessageType.DataUp));
        const payload = Buffer.concat(frames.slice(1, 6).map((f) => f.payload.subarray(40)));
        assert.ok(payload.equals(region.subarray(44)), 'the segments carry the payload in order');
        assert.deepEqual(frames.slice(1, 6).map((f) => f.payload.readUInt32BE(24)), [2000, 3448, 4896, 6344, 7792]);
      }
      assert.ok(frames[0].payload.equals(before) && frames.at(-1)!.payload.equals(afterwards), 'order kept around the super-packet');
    }
  });
}

test('a super-packet never goes as a 106 to a link that did not agree (a bug would be a protocol error on the peer)', async () => {
  const { link } = await linkPair(null);
  const region = superPacketRegion('198.18.0.2', '198.18.0.1', 3000, 1000);
  const { scratch, starts } = tunBatch([region]);
  assert.throws(() => link.sendPackets(MessageType.DataUp, scratch, starts, [region.length], 1, [PACKET_KIND_SUPER]), /did not negotiate/);
});

test('TUN writes: kinds go with their packets, SYNs get the MSS cap, regions keep their bytes; totals count IPv4 bytes', () => {
  const writes = new TunWrites(1400);
  const syn = tcpPacket('198.18.0.1', '198.18.0.2', 0);
  syn[32] = 6 << 4; // one option: MSS
  syn.writeUInt16BE(44, 2);
  const synWithMss = Buffer.concat([syn, Buffer.from([2, 4, 0x05, 0xb4])]); // MSS 1460
  synWithMss[33] = 0x02;
  const region = superPacketRegion('198.18.0.1', '198.18.0.2', 9000, 1400);
  const regionCopy = Buffer.from(region);
  const seen: { packets: Buffer[]; kinds: number[] }[] = [];
  const tun: PacketDevice = {
    name: 't', startReading: () => undefined, stopReading: () => undefined, close: () => undefined,
    writePackets: (packets, count = packets.length, kinds?: Uint8Array) => {
      seen.push({ packets: packets.slice(0, count).map((p) => Buffer.from(p)), kinds: kinds ? [...kinds.subarray(0, count)] : [] });
      return count - 1; // the kernel refuses the last one
    },
  };
  writes.push(synWithMss, 0);
  writes.push(region, PACKET_KIND_SUPER);
  writes.push(tcpPacket('198.18.0.1', '198.18.0.2', 10), 0);
  const t = writes.flush(tun);
  assert.deepEqual(seen[0].kinds, [0, 1, 0]);
  assert.equal(seen[0].packets[0].readUInt16BE(42), 1400, 'the SYN was clamped');
  assert.ok(seen[0].packets[1].equals(regionCopy), 'the region is not touched');
  assert.deepEqual(t, { written: 2, bytes: 44 + 9040, failed: 1 });
  // Without super-packets in a flush no kinds go down (legacy-only devices never see the argument).
  writes.push(tcpPacket('198.18.0.1', '198.18.0.2', 10), 0);
  writes.flush(tun);
  assert.deepEqual(seen[1].kinds, []);
  assert.deepEqual(writes.flush(tun), { written: 0, bytes: 0, failed: 0 }, 'an empty flush writes nothing');
  assert.equal(seen.length, 2);
});

test('a batch of super-packets goes to the link in pieces of at most 256 KiB, each meeting the queue bound anew', async () => {
  const { link, frames } = await linkPair(null);
  link.enableSuperPackets();
  const writes = recordWrites(link);
  const regions = Array.from({ length: 10 }, (_, i) => superPacketRegion('198.18.0.2', '198.18.0.1', 60_000, 1448, i * 60_000));
  const { scratch, starts } = tunBatch(regions);
  const batch = new LinkBatch(MessageType.DataUp, 1456);
  regions.forEach((r, i) => batch.add(scratch, starts[i], r.length, PACKET_KIND_SUPER, link));
  assert.equal(batch.finish(scratch, link).packets, 10);
  assert.deepEqual(writes, [4 * 60_044, 4 * 60_044, 2 * 60_044]);
  await waitFor(() => frames.length === 10, { timeoutMs: 5000, what: 'ten 106 frames' });
  frames.forEach((f, i) => assert.ok(f.payload.equals(regions[i]), `region ${i}`));
});

test('batches longer than their first arrays: 100 packets and a region at index 80 keep their order and kinds', async () => {
  const { link, frames } = await linkPair(null);
  link.enableSuperPackets();
  const packets = Array.from({ length: 100 }, (_, i) => i === 80
    ? superPacketRegion('198.18.0.2', '198.18.0.1', 3000, 1000, i)
    : tcpPacket('198.18.0.2', '198.18.0.1', i, i));
  const { scratch, starts } = tunBatch(packets);
  const batch = new LinkBatch(MessageType.DataUp, 1456);
  packets.forEach((p, i) => batch.add(scratch, starts[i], p.length, i === 80 ? PACKET_KIND_SUPER : 0, link));
  assert.equal(batch.finish(scratch, link).packets, 100);
  await waitFor(() => frames.length === 100, { timeoutMs: 5000, what: '100 frames' });
  frames.forEach((f, i) => {
    assert.equal(f.type, i === 80 ? MessageType.SuperPacket : MessageType.DataUp, `frame ${i}`);
    assert.ok(f.payload.equals(packets[i]), `frame ${i}`);
  });

  const writes = new TunWrites(1456);
  const seen: number[][] = [];
  const tun: PacketDevice = {
    name: 't', startReading: () => undefined, stopReading: () => undefined, close: () => undefined,
    writePackets: (p, count = p.length, kinds?: Uint8Array) => {
      seen.push(kinds ? [...kinds.subarray(0, count)] : []);
      return count;
    },
  };
  packets.forEach((p, i) => writes.push(p, i === 80 ? PACKET_KIND_SUPER : 0));
  assert.equal(writes.flush(tun).written, 100);
  assert.deepEqual(seen[0], packets.map((_, i) => (i === 80 ? 1 : 0)));
});

test('what cannot go is counted as dropped: a peer past its queue bound, a region the addon cannot cut', async () => {
  const { link } = await linkPair(null);
  const packet = tcpPacket('198.18.0.2', '198.18.0.1', 100);
  const { scratch, starts } = tunBatch([packet, Buffer.alloc(60, 0x45)]);
  const batch = new LinkBatch(MessageType.DataUp, 1456);
  // Not a TCP/IPv4 super-packet (zero segment size, no TCP header): nothing to cut, nothing sent.
  batch.add(scratch, starts[1], 60, PACKET_KIND_SUPER, link);
  assert.deepEqual(batch.finish(scratch, link), { packets: 0, bytes: 0, dropped: 1 });
  // A link whose queue is past its bound takes no data.
  Object.defineProperty(link.socket, 'writableLength', { get: () => (1 << 22) + 1 });
  batch.add(scratch, starts[0], packet.length, 0, link);
  assert.deepEqual(batch.finish(scratch, link), { packets: 0, bytes: 0, dropped: 1 });
  assert.deepEqual(batch.finish(scratch, link), { packets: 0, bytes: 0, dropped: 0 }, 'totals start afresh');
});

test('totals stay exact when a batch is reused, and the largest super-packet is cut for a legacy link', async () => {
  const { link, frames } = await linkPair(null);
  const batch = new LinkBatch(MessageType.DataUp, 1456);
  const three = [300, 200, 100].map((n) => tcpPacket('198.18.0.2', '198.18.0.1', n));
  let b = tunBatch(three);
  three.forEach((p, i) => batch.add(b.scratch, b.starts[i], p.length, 0, link));
  assert.deepEqual(batch.finish(b.scratch, link), { packets: 3, bytes: 340 + 240 + 140, dropped: 0 });
  const one = tcpPacket('198.18.0.2', '198.18.0.1', 10);
  b = tunBatch([one]);
  batch.add(b.scratch, b.starts[0], one.length, 0, link);
  assert.deepEqual(batch.finish(b.scratch, link), { packets: 1, bytes: 50, dropped: 0 }, 'nothing of the longer batch before counts');

  // The largest region there is (65,539 bytes) to a link that did not agree: 46 segments, then a smaller one.
  const big = superPacketRegion('198.18.0.2', '198.18.0.1', 65_495, 1448, 1);
  const small = superPacketRegion('198.18.0.2', '198.18.0.1', 1000, 500, 2);
  b = tunBatch([big, small]);
  batch.add(b.scratch, b.starts[0], big.length, PACKET_KIND_SUPER, link);
  assert.deepEqual(batch.finish(b.scratch, link), { packets: 46, bytes: 65_495 + 46 * 40, dropped: 0 });
  batch.add(b.scratch, b.starts[1], small.length, PACKET_KIND_SUPER, link);
  assert.deepEqual(batch.finish(b.scratch, link), { packets: 2, bytes: 1000 + 2 * 40, dropped: 0 }, 'the longer cut before does not count');
  await waitFor(() => frames.length === 4 + 46 + 2, { timeoutMs: 5000, what: 'all frames' });
  assert.ok(Buffer.concat(frames.slice(4, 50).map((f) => f.payload.subarray(40))).equals(big.subarray(44)));

  // Segments for a peer past its queue bound are dropped and counted, each.
  Object.defineProperty(link.socket, 'writableLength', { get: () => (1 << 22) + 1 });
  batch.add(b.scratch, b.starts[1], small.length, PACKET_KIND_SUPER, link);
  assert.deepEqual(batch.finish(b.scratch, link), { packets: 0, bytes: 0, dropped: 2 });
});

test('a link write holds up to exactly 256 KiB: four 64 KiB regions go together, the fifth after', async () => {
  const { link } = await linkPair(null);
  link.enableSuperPackets();
  const writes = recordWrites(link);
  const regions = Array.from({ length: 5 }, (_, i) => superPacketRegion('198.18.0.2', '198.18.0.1', 65_536 - 44, 1448, i));
  const { scratch, starts } = tunBatch(regions);
  const batch = new LinkBatch(MessageType.DataUp, 1456);
  regions.forEach((r, i) => batch.add(scratch, starts[i], r.length, PACKET_KIND_SUPER, link));
  batch.finish(scratch, link);
  assert.deepEqual(writes, [4 * 65_536, 65_536]);
});

test('upstream SYNs get the MSS cap; a fresh TUN writer without super-packets passes no kinds', async () => {
  const { link, frames } = await linkPair(null);
  const syn = tcpPacket('198.18.0.2', '198.18.0.1', 0);
  const withMss = Buffer.concat([syn, Buffer.from([2, 4, 0x05, 0xb4])]);
  withMss[32] = 6 << 4;
  withMss[33] = 0x02;
  withMss.writeUInt16BE(44, 2);
  const { scratch, starts } = tunBatch([withMss]);
  const batch = new LinkBatch(MessageType.DataUp, 1400);
  batch.add(scratch, starts[0], withMss.length, 0, link);
  batch.finish(scratch, link);
  await waitFor(() => frames.length === 1, { timeoutMs: 5000, what: 'the SYN' });
  assert.equal(frames[0].payload.readUInt16BE(42), 1400);

  const seen: (Uint8Array | undefined)[] = [];
  const tun: PacketDevice = {
    name: 't', startReading: () => undefined, stopReading: () => undefined, close: () => undefined,
    writePackets: (p, count = p.length, kinds?: Uint8Array) => {
      seen.push(kinds);
      return count;
    },
  };
  const writes = new TunWrites(1400);
  writes.push(tcpPacket('198.18.0.1', '198.18.0.2', 10), 0);
  writes.flush(tun);
  assert.deepEqual(seen, [undefined], 'a device that knows nothing of super-packets never sees the argument');
});

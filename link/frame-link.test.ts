// FrameLink's bound on what it queues toward a peer that does not read, over a real loopback TCP
// connection whose reading end is paused: data packets are dropped at the bound, control frames
// count against it too, and a control frame past bound + headroom closes the link.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { FRAME_HEADER_BYTES, MessageType, encodeFrame } from '../protocol/frame';
import { FrameLink, type LinkCloseKind, SendQueueFullError } from './frame-link';

const PACKET = 1400;
const BATCH = 64;

async function stalledPair(highWaterBytes: number, controlHeadroomBytes: number) {
  const listener = net.createServer({ pauseOnConnect: true }); // the peer never reads
  await new Promise<void>((resolve) => listener.listen(0, '::1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const socket = net.connect({ host: '::1', port: (listener.address() as net.AddressInfo).port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const peer = await accepted;
  const closes: Array<{ reason: string; err?: Error; kind: LinkCloseKind }> = [];
  const link = new FrameLink(socket, { cipher: null, encryptOutgoing: false, highWaterBytes, controlHeadroomBytes }, {
    onFrame: () => undefined,
    onClose: (reason, err, kind) => closes.push({ reason, err, kind }),
  });
  // One batch of BATCH packets of PACKET bytes, each with room for its header before it.
  const stride = FRAME_HEADER_BYTES + PACKET;
  const scratch = Buffer.alloc(BATCH * stride);
  const starts = Array.from({ length: BATCH }, (_, i) => i * stride + FRAME_HEADER_BYTES);
  const lengths = new Array<number>(BATCH).fill(PACKET);
  const sendBatch = () => link.sendPackets(MessageType.DataDown, scratch, starts, lengths, BATCH);
  /** Sends batches until the kernel's buffers are full and bytes wait in the socket's own queue. */
  const fillKernel = async () => {
    for (let i = 0; i < 10_000 && link.queuedBytes === 0; i++) {
      sendBatch();
      if (i % 16 === 15) await new Promise((r) => setImmediate(r));
    }
    assert.ok(link.queuedBytes > 0, 'the kernel buffers filled up');
  };
  return {
    link, closes, sendBatch, fillKernel,
    close: () => {
      socket.destroy();
      peer.destroy();
      listener.close();
    },
  };
}

test('data packets are dropped once the queue is past the bound; control frames still go out within the headroom', async (t) => {
  const p = await stalledPair(16 * 1024, 1024 * 1024);
  t.after(p.close);
  await p.fillKernel();
  while (p.link.queuedBytes <= 16 * 1024) assert.equal(p.sendBatch(), true, 'under the bound, data goes out');
  const queued = p.link.queuedBytes;
  assert.ok(queued <= 16 * 1024 + BATCH * (PACKET + FRAME_HEADER_BYTES), 'past the bound by at most one batch');
  assert.equal(p.link.stats.packetsDroppedQueueFull, 0);
  assert.equal(p.sendBatch(), false);
  assert.equal(p.link.stats.packetsDroppedQueueFull, BATCH);
  assert.equal(p.link.queuedBytes, queued, 'nothing of the dropped batch was queued');
  assert.equal(p.link.sendFrame(encodeFrame(MessageType.Heartbeat)), true);
  assert.equal(p.link.queuedBytes, queued + 5);
  assert.equal(p.link.isClosed, false);
});

test('control frames count against the bound: queued control bytes make data packets drop', async (t) => {
  const highWater = 1024 * 1024;
  const p = await stalledPair(highWater, 1024 * 1024);
  t.after(p.close);
  await p.fillKernel();
  assert.ok(p.link.queuedBytes < highWater, 'data alone left the queue under the bound');
  assert.equal(p.link.stats.packetsDroppedQueueFull, 0);
  const answer = encodeFrame(MessageType.IpResponse, Buffer.alloc(2000, 0x20));
  while (p.link.queuedBytes <= highWater) assert.equal(p.link.sendFrame(answer), true);
  assert.equal(p.sendBatch(), false, 'the control frames filled the queue');
  assert.equal(p.link.stats.packetsDroppedQueueFull, BATCH);
});

test('a peer that does not read is closed when control frames pass bound + headroom, and never queued beyond it', async (t) => {
  const highWater = 16 * 1024;
  const headroom = 128 * 1024;
  const p = await stalledPair(highWater, headroom);
  t.after(p.close);
  await p.fillKernel();
  const answer = encodeFrame(MessageType.IpResponse, Buffer.alloc(1000, 0x20));
  let sent = 0;
  let maxQueued = 0;
  while (p.link.sendFrame(answer)) {
    sent++;
    maxQueued = Math.max(maxQueued, p.link.queuedBytes);
    assert.ok(sent < 10_000, 'closed long before 10,000 frames');
  }
  assert.ok(maxQueued <= highWater + headroom, `queued ${maxQueued} bytes`);
  assert.ok(maxQueued + answer.length > highWater + headroom, 'closed only when the next frame would not fit');
  assert.equal(p.link.isClosed, true);
  assert.equal(p.closes.length, 1);
  assert.ok(p.closes[0].err instanceof SendQueueFullError);
  assert.equal(p.closes[0].kind, 'queueFull');
  assert.match(p.closes[0].reason, /send queue full: \d+ bytes queued and the peer is not reading/);
  assert.equal(p.link.sendPlainFrame(encodeFrame(MessageType.Unsupported)), false, 'nothing more once closed');
});

/** A link over a loopback connection whose other end the test drives with raw bytes. */
async function rawPair() {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '::1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const socket = net.connect({ host: '::1', port: (listener.address() as net.AddressInfo).port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const peer = await accepted;
  let onClosed: (c: { reason: string; err?: Error; kind: LinkCloseKind }) => void = () => undefined;
  const closed = new Promise<{ reason: string; err?: Error; kind: LinkCloseKind }>((resolve) => (onClosed = resolve));
  const link = new FrameLink(socket, { cipher: null, encryptOutgoing: false, highWaterBytes: 1 << 20 }, {
    onFrame: () => undefined,
    onClose: (reason, err, kind) => onClosed({ reason, err, kind }),
  });
  return {
    link, peer, closed,
    close: () => {
      socket.destroy();
      peer.destroy();
      listener.close();
    },
  };
}

test('the link tells its owner why it closed as a kind: malformed, peer, local', async (t) => {
  const malformed = await rawPair();
  t.after(malformed.close);
  malformed.peer.write(Buffer.from([0xff, 0xff, 0, 0, MessageType.DataUp])); // length 65535 > 2053
  const m = await malformed.closed;
  assert.equal(m.kind, 'malformed');
  assert.match(m.reason, /malformed frame: length field 65535/);

  const peerGone = await rawPair();
  t.after(peerGone.close);
  peerGone.peer.end();
  assert.equal((await peerGone.closed).kind, 'peer');

  const local = await rawPair();
  t.after(local.close);
  local.link.close('shutting down');
  const l = await local.closed;
  assert.deepEqual([l.kind, l.reason, l.err], ['local', 'shutting down', undefined]);
});

// FrameLink's bound on what it queues toward a peer that does not read, over a real loopback TCP
// connection whose reading end is paused: data packets are dropped at the bound, control frames
// count against it too, and a control frame past bound + headroom closes the link.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { FrameCipher, parseUuid } from '../protocol/crypto';
import { FRAME_HEADER_BYTES, MessageType, encodeFrame } from '../protocol/frame';
import { FrameLink, type FrameLinkOptions, type LinkCloseKind, SendQueueFullError } from './frame-link';

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

/** Both ends of a TCP connection over loopback, and the listener that accepted it. */
async function loopbackSockets(): Promise<{ listener: net.Server; socket: net.Socket; peer: net.Socket }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '::1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const socket = net.connect({ host: '::1', port: (listener.address() as net.AddressInfo).port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const peer = await accepted;
  return { listener, socket, peer };
}

/** A link over a loopback connection whose other end the test drives with raw bytes. */
async function rawPair() {
  const { listener, socket, peer } = await loopbackSockets();
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

// ---- Frames across a real connection: what each end receives, its counters, and how links close. ----

const KEY_A = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const KEY_B = '0b9f3c3e-5d6a-4c1b-9d7e-2f4a6b8c0d1e';

interface End {
  link: FrameLink;
  frames: string[];
  closes: string[];
  decryptFailures: string[];
}

/** Waits for `condition`, failing with `what` after 5 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function linkedPair(t: { after(fn: () => void): void }, a: Partial<FrameLinkOptions>, b: Partial<FrameLinkOptions>) {
  const { listener, socket, peer } = await loopbackSockets();
  t.after(() => {
    socket.destroy();
    peer.destroy();
    listener.close();
  });
  const end = (s: net.Socket, opts: Partial<FrameLinkOptions>): End => {
    const e: End = { link: undefined as unknown as FrameLink, frames: [], closes: [], decryptFailures: [] };
    e.link = new FrameLink(s, { cipher: null, encryptOutgoing: false, highWaterBytes: 1 << 20, ...opts }, {
      onFrame: (type, payload, encrypted) => e.frames.push(`${type} ${payload.toString('hex')}${encrypted ? ' sealed' : ''}`),
      onDecryptFailed: (err) => e.decryptFailures.push(err.name),
      onClose: (reason, err, kind) => e.closes.push(`${kind}: ${reason}${err ? ` (${err.name})` : ''}`),
    });
    return e;
  };
  return { a: end(socket, a), b: end(peer, b), rawA: socket };
}

function packets(payloads: string[]): { scratch: Buffer; starts: number[]; lengths: number[] } {
  const scratch = Buffer.alloc(payloads.length * 64);
  const starts = payloads.map((_, i) => i * 64 + FRAME_HEADER_BYTES);
  payloads.forEach((p, i) => scratch.write(p, starts[i], 'hex'));
  return { scratch, starts, lengths: payloads.map((p) => p.length / 2) };
}

test('plain frames cross both ways with their type and payload, and both ends count them', async (t) => {
  const { a, b } = await linkedPair(t, {}, {});
  assert.equal(a.link.sendFrame(encodeFrame(MessageType.Heartbeat)), true);
  assert.equal(a.link.sendPlainFrame(encodeFrame(MessageType.IpRequest, Buffer.from('0102', 'hex'))), true);
  const { scratch, starts, lengths } = packets(['450000', 'aabbccdd']);
  assert.equal(a.link.sendPackets(MessageType.DataUp, scratch, starts, lengths, 2), true);
  await until(() => b.frames.length === 4, 'four frames');
  assert.deepEqual(b.frames, ['104 ', '100 0102', '102 450000', '102 aabbccdd']);
  const bytes = 5 + 7 + 8 + 9;
  assert.deepEqual({ ...a.link.stats }, { bytesIn: 0, bytesOut: bytes, framesIn: 0, framesOut: 4, packetsDroppedQueueFull: 0, decryptFailures: 0 });
  assert.deepEqual({ ...b.link.stats }, { bytesIn: bytes, bytesOut: 0, framesIn: 4, framesOut: 0, packetsDroppedQueueFull: 0, decryptFailures: 0 });
  assert.equal(b.link.sendFrame(encodeFrame(MessageType.IpResponse, Buffer.from('ff', 'hex'))), true);
  await until(() => a.frames.length === 1, 'the answer');
  assert.deepEqual(a.frames, ['101 ff']);
  assert.equal(a.link.stats.framesIn, 1);
  assert.equal(a.link.sendPackets(MessageType.DataUp, scratch, starts, lengths, 0), false, 'nothing to send');
  assert.deepEqual([a.closes, b.closes], [[], []]);
});

test('an encrypting end seals every frame but the plain ones; the other end opens them and says they were sealed', async (t) => {
  const { a, b } = await linkedPair(t, { cipher: new FrameCipher(parseUuid(KEY_A)), encryptOutgoing: true }, { cipher: new FrameCipher(parseUuid(KEY_A)) });
  a.link.sendFrame(encodeFrame(MessageType.Heartbeat));
  const { scratch, starts, lengths } = packets(['4500', '45000001']);
  a.link.sendPackets(MessageType.DataUp, scratch, starts, lengths, 2);
  a.link.sendPlainFrame(encodeFrame(MessageType.Unsupported));
  await until(() => b.frames.length === 4, 'four frames');
  assert.deepEqual(b.frames, ['104  sealed', '102 4500 sealed', '102 45000001 sealed', '199 ']);
  const sealed = (inner: number) => FrameCipher.sealedBytes(inner);
  assert.equal(a.link.stats.bytesOut, sealed(5) + sealed(7) + sealed(9) + 5);
  assert.equal(b.link.stats.bytesIn, a.link.stats.bytesOut);
  assert.deepEqual([a.link.stats.framesOut, b.link.stats.framesIn, b.link.stats.decryptFailures], [4, 4, 0]);
  // The receiving end does not encrypt: its answers go plain, and the encrypting end takes them as such.
  b.link.sendFrame(encodeFrame(MessageType.Heartbeat));
  await until(() => a.frames.length === 1, 'the answer');
  assert.deepEqual(a.frames, ['104 ']);
});

test('frames sealed with another key are counted and reported, not delivered, and the link stays up', async (t) => {
  const { a, b } = await linkedPair(t, { cipher: new FrameCipher(parseUuid(KEY_B)), encryptOutgoing: true }, { cipher: new FrameCipher(parseUuid(KEY_A)) });
  a.link.sendFrame(encodeFrame(MessageType.Heartbeat));
  a.link.sendFrame(encodeFrame(MessageType.Heartbeat));
  await until(() => b.link.stats.decryptFailures === 2, 'two failures');
  assert.deepEqual(b.decryptFailures, ['AuthenticationError', 'AuthenticationError']);
  assert.deepEqual(b.frames, []);
  assert.equal(b.link.stats.framesIn, 2);
  assert.equal(b.link.isClosed, false);
  // Without a cipher a sealed frame is handed on as it came (type 200), for the owner to refuse.
  const plain = await linkedPair(t, { cipher: new FrameCipher(parseUuid(KEY_A)), encryptOutgoing: true }, {});
  plain.a.link.sendFrame(encodeFrame(MessageType.Heartbeat));
  await until(() => plain.b.frames.length === 1, 'the sealed frame');
  assert.match(plain.b.frames[0], /^200 [0-9a-f]+$/);
});

test('how links close: locally, by the peer, on a malformed length, and after a last plain frame', async (t) => {
  const first = await linkedPair(t, {}, {});
  first.a.link.close('profile switched');
  await until(() => first.b.closes.length === 1, 'the peer to see the close');
  assert.deepEqual(first.a.closes, ['local: profile switched']);
  assert.deepEqual(first.b.closes, ['peer: connection closed by peer']);
  assert.equal(first.a.link.sendFrame(encodeFrame(MessageType.Heartbeat)), false, 'closed: nothing is sent');
  assert.equal(first.a.link.sendPlainFrame(encodeFrame(MessageType.Heartbeat)), false);
  assert.equal(first.a.link.isClosed, true);
  first.a.link.close('again');
  assert.deepEqual(first.a.closes, ['local: profile switched'], 'onClose is called once');

  const second = await linkedPair(t, {}, {});
  second.rawA.write(Buffer.from([0x01, 0x00, 0x00, 0x00, 100])); // length 1 (little-endian): below the header's own 5 bytes
  await until(() => second.b.closes.length === 1, 'the malformed frame');
  assert.match(second.b.closes[0], /^malformed: malformed frame: length field 1 is outside 5\.\.\d+ \(MalformedFrameError\)$/);

  const third = await linkedPair(t, {}, {});
  third.a.link.closeAfterPlainFrame(encodeFrame(MessageType.Unsupported), 'refused: no key');
  await until(() => third.b.closes.length === 1, 'the peer to see the close');
  assert.deepEqual(third.b.frames, ['199 '], 'the last frame arrived before the close');
  assert.deepEqual(third.a.closes, ['local: refused: no key']);
  assert.deepEqual(third.b.closes, ['peer: connection closed by peer']);
  assert.equal(third.a.link.sendFrame(encodeFrame(MessageType.Heartbeat)), false);
});

// ---- The link's bounds at their edges, with bytes fed to its read handler directly. ----

/** A link on a connected socket; the test feeds its read handler by emitting 'data' itself. */
async function fedLink(t: { after(fn: () => void): void }, opts: Partial<FrameLinkOptions> = {}) {
  const { a, b, rawA } = await linkedPair(t, opts, {});
  const chunks: number[] = [];
  const calls: string[] = [];
  const pause = rawA.pause.bind(rawA);
  const resume = rawA.resume.bind(rawA);
  rawA.pause = () => { calls.push('pause'); return pause(); };
  rawA.resume = () => { calls.push('resume'); return resume(); };
  return { link: a.link, frames: a.frames, closes: a.closes, peer: b, socket: rawA, calls, chunks };
}

test('a link reads at most 256 KiB per event-loop turn: it pauses past that and resumes on the next turn', async (t) => {
  const f = await fedLink(t);
  const frame = encodeFrame(MessageType.DataUp, Buffer.alloc(2000, 1));
  const chunkOf = (n: number) => Buffer.concat(Array(n).fill(frame));
  f.socket.emit('data', chunkOf(66)); // 132,330 bytes: under the budget
  assert.deepEqual(f.calls, []);
  f.socket.emit('data', chunkOf(66)); // 264,660 in this turn: past 262,144
  assert.deepEqual(f.calls, ['pause']);
  f.socket.emit('data', chunkOf(1));
  assert.deepEqual(f.calls, ['pause'], 'paused once, not again');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(f.calls, ['pause', 'resume']);
  f.socket.emit('data', chunkOf(66));
  assert.deepEqual(f.calls, ['pause', 'resume'], 'a new turn starts from zero');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(f.calls, ['pause', 'resume'], 'not paused, so not resumed');
  assert.equal(f.frames.length, 199);
  // Exactly the budget (128 frames of 2,048 bytes = 262,144) pauses; closed before the turn ends, no resume.
  f.socket.emit('data', Buffer.concat(Array(128).fill(encodeFrame(MessageType.DataUp, Buffer.alloc(2043, 2)))));
  assert.deepEqual(f.calls, ['pause', 'resume', 'pause']);
  f.link.close('done');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(f.calls, ['pause', 'resume', 'pause'], 'a closed link is not resumed');
  f.socket.emit('data', chunkOf(1));
  assert.equal(f.frames.length, 327, 'nothing is delivered after close');
});

test('sealed frames of one 360 KiB chunk are all opened; sealed batches beyond the seal arena all sent', async (t) => {
  const cipher = new FrameCipher(parseUuid(KEY_A));
  const f = await fedLink(t, { cipher });
  f.link.enableSuperPackets();
  const inners = Array.from({ length: 6 }, (_, i) => encodeFrame(MessageType.SuperPacket, Buffer.alloc(60_000, i + 1), 65_589));
  f.socket.emit('data', Buffer.concat(inners.map((inner) => cipher.seal(inner, 65_544)))); // 360 KiB in one chunk
  assert.equal(f.frames.length, 6);
  f.frames.forEach((fr, i) => assert.equal(fr, `${MessageType.SuperPacket} ${Buffer.alloc(60_000, i + 1).toString('hex')} sealed`));

  // 10 sealed 60 KB regions in one call: 600 KB of sealed frames, past the 512 KiB seal arena.
  const out = await linkedPair(t, { cipher, encryptOutgoing: true }, { cipher });
  out.a.link.enableSuperPackets();
  out.b.link.enableSuperPackets();
  const stride = FRAME_HEADER_BYTES + 60_000;
  const scratch = Buffer.alloc(10 * stride);
  const starts = Array.from({ length: 10 }, (_, i) => i * stride + FRAME_HEADER_BYTES);
  starts.forEach((s, i) => scratch.fill(i + 1, s, s + 60_000));
  assert.equal(out.a.link.sendPackets(MessageType.DataUp, scratch, starts, Array(10).fill(60_000), 10, Array(10).fill(1)), true);
  await until(() => out.b.frames.length === 10, 'ten sealed super-packet frames');
  out.b.frames.forEach((fr, i) => assert.equal(fr, `${MessageType.SuperPacket} ${Buffer.alloc(60_000, i + 1).toString('hex')} sealed`));

  // 600 plain packets in one call: more regions than the link's first region arrays hold.
  const many = packets(Array.from({ length: 600 }, (_, i) => (i % 256).toString(16).padStart(2, '0').repeat(3)));
  assert.equal(out.b.link.sendPackets(MessageType.DataDown, many.scratch, many.starts, many.lengths, 600), true);
  await until(() => out.a.frames.length === 600, '600 frames');
  assert.equal(out.a.frames[599], `${MessageType.DataDown} ${(599 % 256).toString(16).padStart(2, '0').repeat(3)}`);
});

test('the queue bounds at their edges: data at exactly the bound goes; a control frame that ends exactly at bound + headroom goes, one byte more closes', async (t) => {
  for (const sealed of [false, true]) {
    const cipher = sealed ? new FrameCipher(parseUuid(KEY_A)) : null;
    const f = await fedLink(t, { cipher, encryptOutgoing: sealed, highWaterBytes: 100_000 });
    let queued = 100_000;
    Object.defineProperty(f.socket, 'writableLength', { get: () => queued, configurable: true });
    const p = packets(['45']);
    assert.equal(f.link.sendPackets(MessageType.DataUp, p.scratch, p.starts, p.lengths, 1), true, 'at the bound: sent');
    queued = 100_001;
    assert.equal(f.link.sendPackets(MessageType.DataUp, p.scratch, p.starts, p.lengths, 1), false, 'past it: dropped');
    const frame = encodeFrame(MessageType.Heartbeat);
    const bytes = frame.length + (sealed ? 45 : 0);
    queued = 100_000 + 512 * 1024 - bytes; // the default headroom
    assert.equal(f.link.sendFrame(frame), true, 'ends exactly at the limit');
    queued += 1;
    assert.equal(f.link.sendFrame(frame), false);
    await until(() => f.closes.length === 1, 'the close');
    assert.match(f.closes[0], /^queueFull: send queue full: .* \(SendQueueFullError\)$/);
  }
});

test('socket errors and a peer that goes away close the link with their own kind and words; a last plain frame lingers, then the socket goes', async (t) => {
  const broken = await fedLink(t);
  broken.socket.emit('error', new Error('boom'));
  assert.deepEqual(broken.closes, ['socketError: socket error: boom (Error)']);

  const gone = await fedLink(t);
  gone.socket.emit('end');
  assert.deepEqual(gone.closes, ['peer: connection closed by peer']);
  const closed = await fedLink(t);
  closed.socket.emit('close');
  assert.deepEqual(closed.closes, ['peer: connection closed by peer']);

  // The peer neither reads to the end nor closes: the socket is destroyed after the linger time.
  const lingering = await fedLink(t);
  lingering.link.closeAfterPlainFrame(encodeFrame(MessageType.Unsupported), 'refused', 100);
  lingering.link.closeAfterPlainFrame(encodeFrame(MessageType.Unsupported), 'again', 100);
  assert.deepEqual(lingering.closes, ['local: refused'], 'closed once');
  await until(() => lingering.socket.destroyed, 'the lingering socket to be destroyed');
});

test('tunnel sockets run without Nagle', async (t) => {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '::1', resolve));
  const socket = net.connect({ host: '::1', port: (listener.address() as net.AddressInfo).port });
  t.after(() => {
    socket.destroy();
    listener.close();
  });
  const noDelay: unknown[] = [];
  const set = socket.setNoDelay.bind(socket);
  socket.setNoDelay = (v?: boolean) => { noDelay.push(v); return set(v); };
  new FrameLink(socket, { cipher: null, encryptOutgoing: false, highWaterBytes: 1 }, { onFrame: () => undefined, onClose: () => undefined });
  assert.deepEqual(noDelay, [true]);
});

test('a last plain frame lingers for a peer that never closes: the socket is destroyed at the linger time, and the timer goes when the peer closes first', async (t) => {
  // A peer that keeps its half open after our FIN: only the linger timer can end the connection.
  const listener = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => listener.listen(0, '::1', resolve));
  const accepted: net.Socket[] = [];
  listener.on('connection', (s) => accepted.push(s));
  t.after(() => {
    for (const s of accepted) s.destroy();
    listener.close();
  });
  const connect = async () => {
    const socket = net.connect({ host: '::1', port: (listener.address() as net.AddressInfo).port });
    t.after(() => socket.destroy());
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    await until(() => accepted.length > 0 && accepted.every((s) => s.remotePort !== undefined), 'the peer to be accepted');
    const peer = accepted[accepted.length - 1];
    const got: Buffer[] = [];
    let ended = false;
    peer.on('data', (d: Buffer) => got.push(d)).on('end', () => (ended = true));
    const closes: string[] = [];
    const link = new FrameLink(socket, { cipher: null, encryptOutgoing: false, highWaterBytes: 1 << 20 }, {
      onFrame: () => undefined,
      onClose: (reason, _err, kind) => closes.push(`${kind}: ${reason}`),
    });
    return { socket, peer, link, closes, got: () => Buffer.concat(got), ended: () => ended };
  };

  const silent = await connect();
  const started = Date.now();
  silent.link.closeAfterPlainFrame(encodeFrame(MessageType.Unsupported), 'refused', 300);
  assert.deepEqual(silent.closes, ['local: refused']);
  assert.equal(silent.socket.destroyed, false, 'lingering, not reset');
  await until(() => silent.ended(), 'the peer to read the frame and our FIN');
  assert.deepEqual(silent.got(), encodeFrame(MessageType.Unsupported));
  assert.equal(silent.socket.destroyed, false, 'still lingering while the peer keeps its half open');
  await until(() => silent.socket.destroyed, 'the linger timer to destroy the socket');
  assert.ok(Date.now() - started >= 250, `destroyed after the linger time, not at once (${Date.now() - started} ms)`);

  // The peer closes first: the socket goes with it, and no linger timer is left behind.
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const polite = await connect();
  const before = timers();
  polite.link.closeAfterPlainFrame(encodeFrame(MessageType.Unsupported), 'refused', 60_000);
  assert.equal(timers(), before + 1, 'the linger timer runs');
  await until(() => polite.ended(), 'the peer to read our FIN');
  polite.peer.end();
  await new Promise<void>((resolve) => (polite.socket.closed ? resolve() : polite.socket.once('close', () => resolve())));
  assert.equal(timers(), before, 'the linger timer is cleared when the socket closes');
});

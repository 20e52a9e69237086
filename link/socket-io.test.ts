// Real loopback TCP connections: batched sends straight from a reused buffer (socket-send.ts), reads
// into the shared buffer (socket-read.ts), and FrameLink over both, plain and encrypted.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { test } from 'node:test';
import { FrameCipher, parseUuid } from '../protocol/crypto';
import { FrameLink } from './frame-link';
import { adoptWithSharedReads, connectWithSharedReads, onSocketChunks } from './socket-read';
import { sendRegions } from './socket-send';
import { waitFor } from '../test/support/netns';

interface Pair {
  client: net.Socket;
  server: net.Socket;
  close(): void;
}

/** A connected pair on ::1; the server side comes from a pauseOnConnect server, as in the gateway. */
async function connectedPair(opts: { adopt: boolean; sharedClient: boolean }): Promise<Pair> {
  const listener = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => listener.listen(0, '::1', resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = opts.sharedClient ? connectWithSharedReads({ host: '::1', port }) : net.connect({ host: '::1', port });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const raw = await accepted;
  const server = opts.adopt ? adoptWithSharedReads(raw) : (raw.resume(), raw);
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

function collect(socket: net.Socket, bytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    onSocketChunks(socket, (chunk) => {
      parts.push(Buffer.from(chunk)); // the shared buffer is reused after we return
      got += chunk.length;
      if (got >= bytes) resolve(Buffer.concat(parts));
    });
    socket.once('error', reject);
  });
}

test('sendRegions delivers regions in order, gaps skipped, and the buffer is reusable at once', async () => {
  const pair = await connectedPair({ adopt: true, sharedClient: true });
  try {
    // Regions of varied sizes with gaps between them, sent from one scratch buffer that is
    // scribbled over after every call: what arrives must be what was there at call time.
    const scratch = Buffer.alloc(64 * 1024);
    const expected: Buffer[] = [];
    const rounds = 200;
    let total = 0;
    const starts = new Int32Array(40);
    const lengths = new Int32Array(40);
    for (let round = 0; round < rounds; round++) {
      randomBytes(scratch.length).copy(scratch);
      let at = 3;
      let sum = 0;
      for (let i = 0; i < starts.length; i++) {
        const len = 1 + ((round * 7 + i * 131) % 1400);
        starts[i] = at;
        lengths[i] = len;
        expected.push(Buffer.from(scratch.subarray(at, at + len)));
        sum += len;
        at += len + (i % 3); // adjacent (merged into one iovec) or with a gap
      }
      sendRegions(pair.client, scratch, starts, lengths, starts.length, sum);
      total += sum;
      scratch.fill(0xee);
    }
    const received = await collect(pair.server, total);
    assert.equal(received.length, total);
    assert.ok(received.equals(Buffer.concat(expected)), 'byte stream differs from the regions sent');
  } finally {
    pair.close();
  }
});

test('when the peer stops reading, the unsent rest is queued on the socket and order is kept', async () => {
  const pair = await connectedPair({ adopt: true, sharedClient: false });
  try {
    pair.server.pause(); // the kernel buffers fill up; sendRegions must fall back to net.Socket's queue
    const scratch = Buffer.alloc(256 * 1024);
    const hash = createHash('sha256');
    const starts = new Int32Array([0, 100_000]);
    const lengths = new Int32Array([90_000, 150_000]);
    let total = 0;
    let queuedSeen = false;
    for (let round = 0; round < 60; round++) {
      scratch.fill(round & 0xff);
      scratch.writeUInt32BE(round, 0);
      hash.update(scratch.subarray(0, 90_000)).update(scratch.subarray(100_000, 250_000));
      sendRegions(pair.client, scratch, starts, lengths, 2, 240_000);
      total += 240_000;
      if (pair.client.writableLength > 0) queuedSeen = true;
    }
    assert.ok(queuedSeen, 'the test never filled the socket buffer: it does not exercise the queued path');
    const done = collect(pair.server, total);
    pair.server.resume();
    const received = await done;
    assert.equal(received.length, total);
    assert.equal(createHash('sha256').update(received).digest('hex'), hash.digest('hex'));
  } finally {
    pair.close();
  }
});

test('an adopted connection keeps its peer address, keeps early chunks, and closes cleanly', async () => {
  const pair = await connectedPair({ adopt: true, sharedClient: true });
  try {
    assert.equal(pair.server.remoteAddress, '::1');
    assert.equal(pair.server.remotePort, pair.client.localPort);
    pair.client.write('early bytes');
    // Wait until the adopted socket has read them, before anyone listens: the path under test.
    await waitFor(() => pair.server.bytesRead >= 'early bytes'.length, { timeoutMs: 5000, what: 'the early bytes to be read' });
    // Another socket's read reuses the shared buffer meanwhile: the early bytes must have been kept.
    const other = collect(pair.client, 20);
    pair.server.write('X'.repeat(20));
    assert.equal((await other).toString(), 'X'.repeat(20));
    const got = collect(pair.server, 'early bytes and late'.length);
    pair.client.write(' and late');
    assert.equal((await got).toString(), 'early bytes and late');
    const closed = new Promise((resolve) => pair.server.once('close', resolve));
    pair.client.end();
    await closed;
  } finally {
    pair.close();
  }
});

for (const encrypted of [false, true]) {
  test(`FrameLink sends packet batches from a reader's scratch layout (${encrypted ? 'encrypted' : 'plain'})`, async () => {
    const pair = await connectedPair({ adopt: true, sharedClient: true });
    const cipher = encrypted ? new FrameCipher(parseUuid('bbde0d1c-083b-4f20-9cce-799367ba1a5a')) : null;
    const received: Buffer[] = [];
    let closeReason = '';
    const receiver = new FrameLink(pair.server, { cipher, encryptOutgoing: false, highWaterBytes: 1 << 24 }, {
      onFrame: (type, payload) => {
        assert.equal(type, 102);
        received.push(Buffer.from(payload));
      },
      onClose: (reason) => (closeReason = reason),
    });
    const sender = new FrameLink(pair.client, { cipher, encryptOutgoing: encrypted, highWaterBytes: 1 << 24 }, {
      onFrame: () => {},
      onClose: () => {},
    });
    try {
      // The TUN reader's layout: packet i at p_i + 5, p_{i+1} = p_i + 5 + len_i.
      const scratch = Buffer.alloc(200 * 1505);
      const sent: Buffer[] = [];
      for (let batch = 0; batch < 50; batch++) {
        const starts: number[] = [];
        const lengths: number[] = [];
        let at = 0;
        for (let i = 0; i < 1 + (batch % 37); i++) {
          const len = 20 + ((batch * 53 + i * 97) % 1480);
          randomBytes(len).copy(scratch, at + 5);
          starts.push(at + 5);
          lengths.push(len);
          sent.push(Buffer.from(scratch.subarray(at + 5, at + 5 + len)));
          at += 5 + len;
        }
        assert.equal(sender.sendPackets(102, scratch, starts, lengths, starts.length), true);
        scratch.fill(0);
      }
      await waitFor(() => received.length >= sent.length || closeReason !== '', { timeoutMs: 10_000, what: `${sent.length} packets (have ${received.length})` });
      assert.equal(closeReason, '');
      assert.equal(received.length, sent.length);
      for (let i = 0; i < sent.length; i++) assert.ok(received[i].equals(sent[i]), `packet ${i} differs`);
      assert.equal(receiver.stats.decryptFailures, 0);
    } finally {
      pair.close();
    }
  });
}

// Real devices, real packets. Every device lives in a fresh network namespace owned by a fixture
// process (tun-fixture.ts), so the host's interfaces are never touched. Needs root.
// Generic fd behaviour (layout, batching limits, stop, errors) is also checked on FIFOs, which
// need no namespace and give byte-exact control over what is "read".
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { BatchEvent, FixtureConfig, FixtureStats } from './tun-fixture';
import { nativeBinding, peerCredentials, TunDevice, TunError } from './tun';

const execFileP = promisify(execFile);
const FIXTURE = join(__dirname, 'tun-fixture.js');
const WRITE_USAGE = 'writePackets(fd: number, packets: Uint8Array[], count: number, vnetHdr?: boolean, kinds?: Uint8Array)';
const PEER = '198.18.5.2'; // the fixture's interface is 198.18.5.1/24; it answers for the rest
let nsCounter = 0;

// ---- helpers ---------------------------------------------------------------------------------

/** A fresh namespace, deleted when the test ends however it ends. */
function netns(t: TestContext): string {
  const ns = `4o6-native-${process.pid}-${nsCounter++}`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.after(() => execFileSync('ip', ['netns', 'del', ns]));
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}

interface FixtureEvent {
  event: string;
  [key: string]: unknown;
}

interface Fixture {
  next(event: string, timeoutMs?: number): Promise<FixtureEvent>;
  send(command: string): void;
  stats(): Promise<FixtureStats>;
}

function startFixture(t: TestContext, ns: string, config: FixtureConfig): Fixture {
  const child: ChildProcessWithoutNullStreams = spawn(
    'ip', ['netns', 'exec', ns, process.execPath, FIXTURE, JSON.stringify(config)],
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const queue: FixtureEvent[] = [];
  const waiters: Array<() => void> = [];
  let exited = false;
  createInterface({ input: child.stdout }).on('line', (line) => {
    queue.push(JSON.parse(line) as FixtureEvent);
    waiters.splice(0).forEach((wake) => wake());
  });
  child.on('exit', () => {
    exited = true;
    waiters.splice(0).forEach((wake) => wake());
  });
  const next = async (event: string, timeoutMs = 10_000): Promise<FixtureEvent> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const fatal = queue.find((e) => e.event === 'fatal');
      if (fatal) assert.fail(`fixture failed: ${String(fatal.message)}`);
      const index = queue.findIndex((e) => e.event === event);
      if (index >= 0) return queue.splice(index, 1)[0]!;
      if (exited) assert.fail(`fixture exited before "${event}"; stderr: ${stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`no "${event}" from the fixture within ${timeoutMs} ms; stderr: ${stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  const send = (command: string) => child.stdin.write(`${command}\n`);
  return {
    next,
    send,
    stats: async () => {
      send('stats');
      return (await next('stats')).stats as FixtureStats;
    },
  };
}

/** Runs ping inside the namespace; never throws (a failed ping is an assertion, not a crash). */
async function ping(ns: string, args: string[]): Promise<{ ok: boolean; transmitted: number; received: number; output: string }> {
  let output: string;
  let ok = true;
  try {
    output = (await execFileP('ip', ['netns', 'exec', ns, 'ping', '-n', ...args], { maxBuffer: 1 << 20 })).stdout;
  } catch (err) {
    ok = false;
    output = String((err as { stdout?: string }).stdout ?? '') + String((err as { stderr?: string }).stderr ?? '');
  }
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  return { ok, transmitted: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), output };
}

function linkExists(ns: string, name: string): boolean {
  try {
    execFileSync('ip', ['-n', ns, 'link', 'show', 'dev', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A FIFO opened read-write and non-blocking: everything written to it becomes readable on it. */
function fifo(t: TestContext, autoClose = true): { fd: number; path: string } {
  const dir = mkdtempSync(join(tmpdir(), '4o6-native-'));
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  t.after(() => {
    if (autoClose) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  return { fd, path };
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- real TUN devices ------------------------------------------------------------------------

test('a ping from the namespace is answered through real TUN reads and writes', async (t) => {
  const ns = netns(t);
  const fixture = startFixture(t, ns, { name: '4o6t0', address: '198.18.5.1/24' });
  assert.equal((await fixture.next('ready')).name, '4o6t0');

  const result = await ping(ns, ['-c', '3', '-i', '0.2', '-W', '2', PEER]);
  assert.ok(result.ok, result.output);
  assert.equal(result.received, 3, result.output);

  const stats = await fixture.stats();
  assert.ok(stats.echoRequests >= 3, JSON.stringify(stats));
  assert.equal(stats.repliesWritten, stats.echoRequests);
  assert.deepEqual(stats.layoutErrors, []);
  fixture.send('exit');
});

test('bursts arrive as multi-packet batches with the exact headroom layout', async (t) => {
  const ns = netns(t);
  // The stall in the first batch lets the preloaded burst queue up in the device.
  const fixture = startFixture(t, ns, {
    name: '4o6t1', address: '198.18.5.1/24', headroom: 5, maxBatch: 8, stallFirstMs: 100,
  });
  await fixture.next('ready');

  const result = await ping(ns, ['-f', '-l', '20', '-c', '200', '-W', '2', '-w', '30', PEER]);
  // Flood ping stops once 200 replies are in, counting the requests still in flight as lost.
  assert.ok(result.received >= 200, result.output);

  const stats = await fixture.stats();
  assert.deepEqual(stats.layoutErrors, []);
  assert.ok(stats.multiPacketBatches > 0, `no batch had more than one packet: ${JSON.stringify(stats)}`);
  assert.ok(stats.maxCount > 1 && stats.maxCount <= 8, `maxCount ${stats.maxCount} outside 2..8`);
  assert.equal(stats.framesChecked, stats.packets, 'every packet sits in a valid back-to-back frame');
  assert.equal(stats.repliesWritten, stats.echoRequests);
  fixture.send('exit');
});

/** Batch events until `packets` packets have been seen. */
async function batches(fixture: Fixture, packets: number): Promise<BatchEvent[]> {
  const seen: BatchEvent[] = [];
  for (let n = 0; n < packets; n += seen[seen.length - 1]!.count) {
    const { count, lengths, errors } = (await fixture.next('batch')) as unknown as BatchEvent;
    seen.push({ count, lengths, errors });
  }
  return seen;
}

async function inject(fixture: Fixture, sizes: number[]): Promise<void> {
  fixture.send(`inject ${sizes.join(' ')}`);
  assert.equal((await fixture.next('injected')).written, sizes.length);
}

test('a queued burst is one batch, packet i exactly at p_i + headroom', async (t) => {
  const ns = netns(t);
  const fixture = startFixture(t, ns, { name: '4o6t2', headroom: 5, maxBatch: 8, logBatches: true });
  await fixture.next('ready');
  // The kernel answers each injected request with a reply of the same size, in order.
  const sizes = [60, 100, 1500, 28, 333];
  await inject(fixture, sizes);
  assert.deepEqual(await batches(fixture, sizes.length), [{ count: 5, lengths: sizes, errors: [] }]);
  const stats = await fixture.stats();
  assert.equal(stats.framesChecked, 5);
  assert.equal(stats.batches, 1);
  fixture.send('exit');
});

test('a batch ends at maxBatch packets; the rest comes on the next loop turns', async (t) => {
  const ns = netns(t);
  const fixture = startFixture(t, ns, { name: '4o6t3', maxBatch: 3, logBatches: true });
  await fixture.next('ready');
  await inject(fixture, Array(7).fill(100));
  const seen = await batches(fixture, 7);
  assert.deepEqual(seen.map((b) => b.count), [3, 3, 1]);
  assert.deepEqual(seen.flatMap((b) => b.errors), []);
  fixture.send('exit');
});

test('a batch ends when less than headroom + maxPacketBytes of scratch is left', async (t) => {
  const ns = netns(t);
  // Raw binding: 3100 bytes of scratch, 1500-byte slots. After two 1000-byte packets only
  // 1100 bytes are left, so each batch holds two.
  const fixture = startFixture(t, ns, {
    name: '4o6t4', rawScratchBytes: 3100, maxPacketBytes: 1500, maxBatch: 16, logBatches: true,
  });
  await fixture.next('ready');
  await inject(fixture, Array(5).fill(1000));
  const seen = await batches(fixture, 5);
  assert.deepEqual(seen.map((b) => b.count), [2, 2, 1]);
  assert.deepEqual(seen.flatMap((b) => b.lengths), Array(5).fill(1000));
  assert.deepEqual(seen.flatMap((b) => b.errors), []);
  fixture.send('exit');
});

test('packets longer than maxPacketBytes are dropped, not cut', async (t) => {
  const ns = netns(t);
  const fixture = startFixture(t, ns, { name: '4o6t5', maxPacketBytes: 200, logBatches: true });
  await fixture.next('ready');
  await inject(fixture, [100, 500, 201, 200, 150]);
  assert.deepEqual(await batches(fixture, 3), [{ count: 3, lengths: [100, 200, 150], errors: [] }]);
  fixture.send('exit');
});

test('an exception thrown by onBatch is uncaught, and reading continues', async (t) => {
  const ns = netns(t);
  const fixture = startFixture(t, ns, { name: '4o6t6', throwOnce: true });
  await fixture.next('ready');

  const result = await ping(ns, ['-c', '3', '-i', '0.2', '-W', '2', PEER]);
  assert.equal(result.received, 3, result.output);
  const stats = await fixture.stats();
  assert.equal(stats.uncaught, 1);
  fixture.send('exit');
});

test('close() releases the device, and closing twice is harmless', async (t) => {
  const ns = netns(t);
  const fixture = startFixture(t, ns, { name: '4o6t7' });
  await fixture.next('ready');
  assert.ok(linkExists(ns, '4o6t7'));

  fixture.send('close');
  const closed = await fixture.next('closed');
  assert.equal(closed.closed, true);
  assert.equal(closed.reading, false);
  // The fixture process is still alive: only close() can have released the device.
  assert.equal(linkExists(ns, '4o6t7'), false);
  fixture.send('exit');
});

test('deleting the interface under a reader reports a read error', async (t) => {
  const ns = netns(t);
  const fixture = startFixture(t, ns, { name: '4o6t8' });
  await fixture.next('ready');

  execFileSync('ip', ['-n', ns, 'link', 'del', 'dev', '4o6t8']);
  const error = await fixture.next('readError');
  assert.equal(error.errorName, 'TunError');
  assert.match(String(error.code), /^EBADFD?$/);
  assert.match(String(error.message), /4o6t8.*removed/);
  fixture.send('exit');
});

test('open() reports kernel refusals with the errno and a hint', async (t) => {
  const ns = netns(t);
  const fixture = startFixture(t, ns, { probe: ['lo', '4o6dup', '4o6dup', '4o6p%d'] });
  const { results } = (await fixture.next('probe')) as unknown as {
    results: Array<{ ok: boolean; name?: string; errorName?: string; code?: string; message?: string }>;
  };
  const [lo, first, second, pattern] = results;
  assert.equal(lo?.ok, false);
  assert.equal(lo?.errorName, 'TunError');
  assert.equal(lo?.code, 'EINVAL');
  assert.match(lo?.message ?? '', /TUNSETIFF.*not a TUN/);
  assert.equal(first?.ok, true);
  assert.equal(second?.ok, false);
  assert.equal(second?.code, 'EBUSY');
  assert.match(second?.message ?? '', /already in use/);
  assert.equal(pattern?.ok, true);
  assert.match(pattern?.name ?? '', /^4o6p\d+$/);
});

// ---- without a device ------------------------------------------------------------------------

test('open() rejects invalid names before asking the kernel', () => {
  for (const name of ['this-name-is-too-long', 'bad name', 'semi;colon', 'a/b', 'a%b', 'a%d%d', '.', '..']) {
    assert.throws(() => TunDevice.open(name), (err: unknown) => {
      assert.ok(err instanceof TunError, String(err));
      assert.equal(err.code, 'EINVAL');
      assert.match(err.message, /invalid TUN interface name/);
      assert.ok(err.message.includes(JSON.stringify(name)), err.message);
      return true;
    });
  }
});

test('writePackets validates its arguments and writes nothing on a bad call', (t) => {
  const { fd } = fifo(t);
  const binding = nativeBinding();
  const usage = (fn: () => unknown, detail?: RegExp) =>
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof TypeError, String(err));
      assert.ok(err.message.startsWith(WRITE_USAGE), err.message);
      if (detail) assert.match(err.message, detail);
      return true;
    });
  const bad = binding as unknown as { writePackets(...args: unknown[]): number };
  const packet = Buffer.from('abc');
  usage(() => bad.writePackets());
  usage(() => bad.writePackets('3', [packet], 1));
  usage(() => bad.writePackets(-1, [packet], 1));
  usage(() => bad.writePackets(fd, packet, 1), /not an array/);
  usage(() => bad.writePackets(fd, [packet], 2), /count/);
  usage(() => bad.writePackets(fd, [packet], -1), /count/);
  usage(() => bad.writePackets(fd, [packet], 0.5), /count/);
  usage(() => bad.writePackets(fd, [packet, 'x'], 2), /packets\[1\]/);
  usage(() => bad.writePackets(fd, [packet, new Uint16Array(2)], 2), /packets\[1\]/);
  // Through the wrapper too.
  const dev = TunDevice.fromFd(fd, 'fifo');
  usage(() => dev.writePackets([packet, 'x' as unknown as Uint8Array]), /packets\[1\]/);
  // The valid first packet was not written by any of the rejected calls.
  assert.throws(() => readSync(fd, Buffer.alloc(16)), { code: 'EAGAIN' });

  assert.equal(binding.writePackets(fd, [packet, Buffer.from('de')], 1), 1);
  assert.equal(dev.writePackets([Buffer.from('fg'), new Uint8Array([0x68])]), 2);
  const got = Buffer.alloc(16);
  assert.equal(got.toString('latin1', 0, readSync(fd, got)), 'abcfgh');
});

test('stop() inside onBatch takes effect at once and is idempotent; microtasks run after onBatch', async (t) => {
  // A FIFO stands in for the device: each read takes all that is buffered (at most 64 bytes here).
  const { fd } = fifo(t);
  const order: string[] = [];
  const dev = TunDevice.fromFd(fd, 'fifo');
  dev.startReading((scratch, lengths, count) => {
    order.push(`batch ${count}: ${scratch.toString('latin1', 0, lengths[0])}`);
    queueMicrotask(() => order.push('microtask'));
    setImmediate(() => order.push('immediate'));
    dev.stopReading();
    dev.stopReading();
    assert.equal(dev.reading, false);
  }, { maxPacketBytes: 64 });
  writeSync(fd, 'abcd');
  await tick(50);
  writeSync(fd, 'efgh'); // nobody is reading any more
  await tick(50);
  assert.deepEqual(order, ['batch 1: abcd', 'microtask', 'immediate']);

  // Reading can start again on the same fd, and the data is still there.
  const rest: string[] = [];
  dev.startReading((scratch, lengths) => rest.push(scratch.toString('latin1', 3, 3 + lengths[0]!)), { headroom: 3 });
  await tick(50);
  dev.stopReading();
  assert.deepEqual(rest, ['efgh']);
});

test('a read error stops reading and reaches onError as a TunError', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), '4o6-native-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  const readEnd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeEnd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  // Polling a write-only end for input: once the reader is gone the fd reports an error.
  const dev = TunDevice.fromFd(writeEnd, 'fifo-writer');
  t.after(() => dev.close());
  const errors: Error[] = [];
  dev.startReading(() => assert.fail('no data can be read here'), { onError: (err) => errors.push(err) });
  closeSync(readEnd);
  await tick(50);
  assert.equal(errors.length, 1);
  const [err] = errors;
  assert.ok(err instanceof TunError);
  assert.equal(err.code, 'EBADF');
  assert.equal(err.errno, osConstants.errno.EBADF);
  assert.equal(dev.reading, false);
  dev.stopReading(); // harmless after the addon stopped itself
});

test('startReading checks its state and its arguments', (t) => {
  const { fd } = fifo(t, false); // dev.close() below closes it
  const binding = nativeBinding();
  const dev = TunDevice.fromFd(fd, 'fifo');
  dev.startReading(() => {});
  assert.throws(() => dev.startReading(() => {}), { code: 'ERR_TUN_READING' });
  dev.stopReading();
  assert.throws(() => dev.startReading(() => {}, { maxBatch: 0 }), RangeError);
  assert.throws(() => dev.startReading(() => {}, { headroom: -1 }), RangeError);
  assert.throws(() => dev.startReading(() => {}, { maxPacketBytes: 70000 }), RangeError);
  const usage = { name: 'TypeError', message: /^startReading\(fd: number/ };
  assert.throws(() => binding.startReading(fd, Buffer.alloc(8), new Int32Array(0), 0, 4, () => {}), usage);
  assert.throws(() => binding.startReading(fd, Buffer.alloc(8), new Int32Array(1), 5, 4, () => {}), usage);
  assert.throws(() => binding.startReading(fd, Buffer.alloc(8), new Uint32Array(1) as never, 0, 4, () => {}), usage);
  assert.throws(() => binding.startReading(fd, Buffer.alloc(8), new Int32Array(1), 0, 4, 'x' as never), usage);

  // A blocking fd would hang the event loop in the read loop: refused.
  const dir = mkdtempSync(join(tmpdir(), '4o6-native-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('mkfifo', [join(dir, 'blocking')]);
  const blocking = openSync(join(dir, 'blocking'), constants.O_RDWR);
  t.after(() => closeSync(blocking));
  assert.throws(() => binding.startReading(blocking, Buffer.alloc(8), new Int32Array(1), 0, 4, () => {}),
    { message: /not non-blocking/ });

  dev.close();
  dev.close();
  assert.equal(dev.closed, true);
  assert.throws(() => dev.startReading(() => {}), { code: 'ERR_TUN_CLOSED' });
  assert.throws(() => dev.writePackets([]), { code: 'ERR_TUN_CLOSED' });
});

test('peerCredentials returns the pid, uid and gid at the other end of a Unix socket', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), '4o6-native-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'sock');
  const accepted = new Promise<Socket>((resolve) => {
    const server = createServer((socket) => resolve(socket));
    t.after(() => server.close());
    server.listen(path);
  });
  const client = createConnection(path);
  t.after(() => client.destroy());
  const socket = await accepted;
  t.after(() => socket.destroy());
  const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
  assert.deepEqual(peerCredentials(fd), { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });

  const file = openSync(join(dir, 'file'), 'w');
  t.after(() => closeSync(file));
  assert.throws(() => peerCredentials(file), { code: 'ENOTSOCK', syscall: 'getsockopt' });
});

// The whole packet pipeline without root: our gateway and our client engine over real TCP on [::1],
// each with a queue-backed fake TUN. Real frames, real encryption, real timers (shortened).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger } from '../log/logger';
import { type ServerConfig, parseServerConfig } from '../protocol/config';
import { FrameCipher, parseUuid } from '../protocol/crypto';
import { FrameReader, MessageType, encodeFrame } from '../protocol/frame';
import { HEARTBEAT_FRAME, IP_REQUEST_FRAME, encodeDataUp, encodeIpResponse, parseIpResponse } from '../protocol/messages';
import { explainFailure } from '../contract/failure-advice';
import { Gateway } from '../server/gateway';
import { serveMetrics } from '../server/metrics';
import { type TunnelProfile, TunnelEngine, connectTcpOverIpv6, systemClock } from '../helper/tunnel-engine';
import type { TunnelState } from '../contract/tunnel-state';
import { FakeTun, ipv4Packet } from './support/fake-tun';
import { waitFor } from './support/netns';
import { RawClient, type SeenFrame, WireTap } from './support/raw-peer';
import { testGatewayYaml } from './support/gateway-config';

const UUID = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const quiet = createLogger({ level: 'error' });
const cleanups: Array<() => Promise<unknown> | unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Each gateway writes its lease file in a directory of its own under this one. */
const stateRoot = mkdtempSync(join(tmpdir(), '4o6-pipeline-'));
cleanups.unshift(() => rmSync(stateRoot, { recursive: true, force: true }));

function serverConfig(extra = '', pk: string | null = UUID): ServerConfig {
  const { config } = parseServerConfig(testGatewayYaml({
    listen: '::1', dns: ['198.18.0.1', '198.18.0.53', '0.0.0.0'], key: pk, stateDir: mkdtempSync(join(stateRoot, 'gateway-')), extra: [extra],
  }));
  config.port = 0; // let the kernel choose
  return config;
}

const OTHER_UUID = 'bbde0d1c-083b-4f20-9cce-000000000000';
const isType = (type: number) => (f: SeenFrame) => f.type === type;

async function startGateway(config: ServerConfig, now?: () => number) {
  const tun = new FakeTun('srv0');
  const gateway = new Gateway({ config, tun, log: quiet, now });
  const address = await gateway.listen();
  cleanups.push(() => gateway.close());
  return { gateway, tun, port: address.port };
}

class RecordingNet {
  readonly calls: string[] = [];
  async addAddress(dev: string, a: string, p: number) { this.calls.push(`addr ${dev} ${a}/${p}`); }
  async replaceAddress(dev: string, old: string, a: string, p: number) { this.calls.push(`replace ${dev} ${old} ${a}/${p}`); }
  async setSysctl(key: string, value: string) { this.calls.push(`sysctl ${key}=${value}`); }
  async setMtu(dev: string, mtu: number) { this.calls.push(`mtu ${dev} ${mtu}`); }
  async setUp(dev: string) { this.calls.push(`up ${dev}`); }
  async addDefaultRoute(dev: string) { this.calls.push(`default ${dev}`); }
  async setDns(dev: string, servers: string[]) { this.calls.push(`dns ${dev} ${servers.join(',')}`); }
  async undoTunnel() { this.calls.push('undo'); }
}

function startClient(port: number, overrides: Partial<TunnelProfile> = {}) {
  const tun = new FakeTun('cli0');
  const netcfg = new RecordingNet();
  const profile: TunnelProfile = {
    server: '::1', port, key: parseUuid(UUID), allowPlaintext: false, mtu: 1500, prefixLength: 24,
    defaultRoute: true, dns: true, tunName: 'cli0', autoReconnect: false, ...overrides,
  };
  const engine = new TunnelEngine(profile, {
    openTun: () => tun, net: netcfg, resolveHost: async () => '::1', connectTcp: connectTcpOverIpv6,
    clock: systemClock, log: quiet,
  }, { ipRequestIntervalMs: 300, tickMs: 100 });
  const states: TunnelState[] = [];
  engine.on('state', (s) => states.push(s));
  engine.connect();
  cleanups.push(() => engine.disconnect());
  return { engine, tun, netcfg, states };
}

async function connected(engine: TunnelEngine) {
  const s = await engine.settled();
  assert.equal(s.kind, 'connected', JSON.stringify(s));
  if (s.kind !== 'connected') throw new Error('unreachable');
  return s;
}

for (const encrypted of [false, true]) {
  test(`${encrypted ? 'encrypted' : 'plain'}: lease, configure, forward both ways, disconnect undoes`, async () => {
    const { gateway, tun: serverTun, port: gatewayPort } = await startGateway(serverConfig('', encrypted ? UUID : null));
    const tap = await WireTap.start(gatewayPort, parseUuid(UUID));
    cleanups.push(() => tap.close());
    const { engine, tun, netcfg, states } = startClient(tap.port, { key: encrypted ? parseUuid(UUID) : null });
    const s = await connected(engine);
    assert.deepEqual(states.map((x) => x.kind === 'connecting' ? `connecting:${x.phase}` : x.kind),
      ['connecting:resolving', 'connecting:tcp', 'connecting:awaiting-ip', 'connected']);
    assert.equal(s.lease.address, '198.18.0.2');
    assert.deepEqual(s.lease.dns, ['198.18.0.1', '198.18.0.53']);
    assert.deepEqual(netcfg.calls, ['sysctl net.ipv6.conf.cli0.disable_ipv6=1', 'sysctl net.ipv4.conf.cli0.promote_secondaries=1', 'addr cli0 198.18.0.2/24', 'mtu cli0 1500', 'up cli0', 'default cli0', 'dns cli0 198.18.0.1,198.18.0.53']);

    // Upstream: a batch of 100 packets, sizes up to the MTU, arrives in order at the server TUN.
    const up = Array.from({ length: 100 }, (_, i) => ipv4Packet('198.18.0.2', '198.18.0.1', (i * 37) % 1472, i));
    tun.inject(up);
    const got = await serverTun.waitForWritten(100);
    assert.deepEqual(got.map((p) => p.toString('hex')), up.map((p) => p.toString('hex')));

    // Downstream: to the lease goes to this client; to an unleased address is dropped and counted.
    const down = Array.from({ length: 70 }, (_, i) => ipv4Packet('198.18.0.1', '198.18.0.2', 1472 - i, 255 - i));
    serverTun.inject([...down, ipv4Packet('198.18.0.1', '198.18.0.99')]);
    const recv = await tun.waitForWritten(70);
    assert.deepEqual(recv.map((p) => p.toString('hex')), down.map((p) => p.toString('hex')));
    const m = gateway.metrics();
    assert.equal(m.packetsUp, 100);
    assert.equal(m.packetsDown, 70);
    assert.equal(m.drops.noSession, 1);

    // What crossed the wire: with a key every frame both ways is type 200 and opens with that key
    // (no packet's bytes in the clear); without, plain 100/101/102/103 frames.
    const upTypes = new Set(tap.up.map((f) => f.type));
    const downTypes = new Set(tap.down.map((f) => f.type));
    if (encrypted) {
      assert.deepEqual([...upTypes], [MessageType.Encrypted]);
      assert.deepEqual([...downTypes], [MessageType.Encrypted]);
      assert.equal(tap.up.filter((f) => f.inner === MessageType.DataUp).length, 100);
      assert.equal(tap.down.filter((f) => f.inner === MessageType.DataDown).length, 70);
      assert.equal(tap.up[0].inner, MessageType.IpRequest);
      const upstream = Buffer.concat(tap.upBytes);
      assert.equal(upstream.indexOf(up[50].subarray(20)), -1, 'a packet\'s bytes are visible on the wire');
    } else {
      assert.equal(tap.up[0].type, MessageType.IpRequest);
      assert.equal(tap.up.filter((f) => f.type === MessageType.DataUp).length, 100);
      assert.equal(tap.down.filter((f) => f.type === MessageType.DataDown).length, 70);
      assert.ok(!upTypes.has(MessageType.Encrypted) && !downTypes.has(MessageType.Encrypted));
    }

    await engine.disconnect();
    assert.equal(engine.state.kind, 'idle');
    assert.equal(netcfg.calls.at(-1), 'undo');
    assert.ok(tun.closed);
  });
}

test('a spoofed source address is dropped and counted, the session keeps working', async () => {
  const { gateway, tun: serverTun, port } = await startGateway(serverConfig());
  const { engine, tun } = startClient(port);
  await connected(engine);
  const valid = ipv4Packet('198.18.0.2', '198.18.0.1', 32, 0x42);
  tun.inject([ipv4Packet('198.18.0.77', '198.18.0.1'), valid]);
  // One batch, one write, handled in order: once the valid packet is out, the spoofed one was seen.
  await serverTun.waitForWritten(1);
  assert.deepEqual(serverTun.written, [valid]);
  assert.equal(gateway.metrics().drops.spoofedSource, 1);
});

test('anti-spoofing with two leased clients: one sending from the other\'s lease is dropped', async () => {
  const { gateway, tun: serverTun, port } = await startGateway(serverConfig('', null));
  const a = startClient(port, { key: null });
  const sa = await connected(a.engine);
  const b = startClient(port, { key: null });
  const sb = await connected(b.engine);
  assert.notEqual(sa.lease.address, sb.lease.address);
  // a claims b's address (a lease, just not a's), then sends one packet of its own.
  const own = ipv4Packet(sa.lease.address, '198.18.0.1', 32, 0xa1);
  a.tun.inject([ipv4Packet(sb.lease.address, '198.18.0.1', 32, 0xbb), own]);
  await serverTun.waitForWritten(1);
  assert.deepEqual(serverTun.written, [own]);
  assert.equal(gateway.metrics().drops.spoofedSource, 1);
  // b's own packets still pass, and so do a's.
  const fromB = ipv4Packet(sb.lease.address, '198.18.0.1', 32, 0xb2);
  b.tun.inject([fromB]);
  await serverTun.waitForWritten(2);
  assert.deepEqual(serverTun.written, [own, fromB]);
  assert.equal(gateway.metrics().drops.spoofedSource, 1);
});

test('a packet with bytes after its IPv4 length, or cut short, is dropped both ways and counted', async () => {
  const { gateway, tun: serverTun, port } = await startGateway(serverConfig('', null));
  const raw = await RawClient.connect(port);
  cleanups.push(() => raw.close());
  raw.send(IP_REQUEST_FRAME);
  await raw.waitForFrames(isType(MessageType.IpResponse), 1, 'the IP response');
  const lease = parseIpResponse(raw.frames.find(isType(MessageType.IpResponse))!.payload).address;
  const packet = ipv4Packet(lease, '198.18.0.1', 40, 0x33);
  raw.send(Buffer.concat([
    encodeDataUp(Buffer.concat([packet, Buffer.from([0, 0, 0])])), // 3 trailing bytes
    encodeDataUp(packet.subarray(0, packet.length - 1)), // one byte short
    encodeDataUp(packet),
  ]));
  await serverTun.waitForWritten(1);
  assert.deepEqual(serverTun.written, [packet]);
  assert.equal(gateway.metrics().drops.badLength, 2);
  raw.close();

  // Downstream, the client engine drops such packets from a server in the same way.
  const server = net.createServer((s) => {
    const reader = new FrameReader();
    s.on('data', (c) => reader.push(c).forEach((f) => {
      if (f.type !== MessageType.IpRequest) return;
      s.write(encodeIpResponse({ address: '198.18.0.9', route: '0.0.0.0', dns: [] }));
      const down = ipv4Packet('198.18.0.1', '198.18.0.9', 40, 0x44);
      s.write(Buffer.concat([
        encodeFrame(MessageType.DataDown, Buffer.concat([down, Buffer.from([9])])),
        encodeFrame(MessageType.DataDown, down.subarray(0, 30)),
        encodeFrame(MessageType.DataDown, down),
      ]));
    }));
  });
  await new Promise<void>((r) => server.listen({ host: '::1', port: 0 }, r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const c = startClient((server.address() as net.AddressInfo).port, { key: null });
  await connected(c.engine);
  const got = await c.tun.waitForWritten(1);
  assert.deepEqual(got, [ipv4Packet('198.18.0.1', '198.18.0.9', 40, 0x44)]);
  assert.equal(c.engine.stats.droppedBadLength, 2);
  await c.engine.disconnect();
});

test('IPv6 packets from the client TUN are not sent (the tunnel carries IPv4 only)', async () => {
  const { tun: serverTun, port } = await startGateway(serverConfig());
  const { engine, tun } = startClient(port);
  await connected(engine);
  const v6 = Buffer.alloc(60);
  v6[0] = 0x60;
  tun.inject([v6, ipv4Packet('198.18.0.2', '198.18.0.1')]);
  await serverTun.waitForWritten(1);
  assert.equal(engine.stats.droppedNotIpv4, 1);
});

test('wrong key: reported as a wrong key, quickly, not a hang', async () => {
  const { port } = await startGateway(serverConfig());
  const started = Date.now();
  const { engine } = startClient(port, { key: parseUuid('bbde0d1c-083b-4f20-9cce-000000000000') });
  const s = await engine.settled();
  assert.equal(s.kind, 'failed');
  if (s.kind === 'failed') {
    assert.equal(s.failure.reason, 'wrong-key');
    assert.match(s.failure.message, /another key/);
  }
  assert.ok(Date.now() - started < 5000);
});

test('wrong key from the server side: a server whose frames do not decrypt with our key', async () => {
  // A fake legacy server with another key: it cannot read our IP request, and answers with an IP
  // response sealed with its own key (as a legacy server does once it has a type-200 frame).
  const theirs = new FrameCipher(parseUuid(OTHER_UUID));
  const received: number[] = [];
  const server = net.createServer((s) => {
    const reader = new FrameReader();
    s.on('data', (c) => reader.push(c).forEach((f) => {
      received.push(f.type);
      s.write(theirs.seal(encodeIpResponse({ address: '198.18.0.9', route: '0.0.0.0', dns: [] })));
    }));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen({ host: '::1', port: 0 }, r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const started = Date.now();
  const { engine } = startClient((server.address() as net.AddressInfo).port);
  const s = await engine.settled();
  assert.equal(s.kind, 'failed', JSON.stringify(s));
  if (s.kind !== 'failed') return;
  assert.equal(s.failure.reason, 'wrong-key');
  assert.match(s.failure.message, /do not decrypt with our key/);
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  assert.ok(received.length >= 1 && received.every((t) => t === MessageType.Encrypted), `client sent ${received.join(',')}`);
  assert.equal(engine.stats.decryptFailures >= 1, true);
});

test('keyed client against a keyless server: wrong key, from the 199 answer', async () => {
  const { port } = await startGateway(serverConfig('', null));
  const { engine } = startClient(port);
  const s = await engine.settled();
  assert.equal(s.kind === 'failed' && s.failure.reason, 'wrong-key');
});

test('keyed client against a keyless server with allow_plaintext: falls back to plaintext on the wire', async () => {
  const { tun: serverTun, port } = await startGateway(serverConfig('', null));
  const tap = await WireTap.start(port, parseUuid(UUID));
  cleanups.push(() => tap.close());
  const { engine, tun } = startClient(tap.port, { allowPlaintext: true });
  await connected(engine);
  const packet = ipv4Packet('198.18.0.2', '198.18.0.1', 64, 0x5a);
  tun.inject([packet]);
  assert.deepEqual(await serverTun.waitForWritten(1), [packet]);
  // First an encrypted IP request, the gateway's plain 199, then the request again in the clear,
  // and the packet as a plain type-102 frame.
  assert.equal(tap.up[0].type, MessageType.Encrypted);
  assert.equal(tap.up[0].inner, MessageType.IpRequest);
  assert.equal(tap.down[0].type, MessageType.Unsupported);
  const firstPlain = tap.up.findIndex((f) => f.type === MessageType.IpRequest);
  assert.ok(firstPlain > 0, tap.up.map((f) => f.type).join(','));
  assert.ok(tap.up.slice(firstPlain).every((f) => f.type !== MessageType.Encrypted), 'encrypted frames after the fallback');
  assert.deepEqual(tap.up.filter((f) => f.type === MessageType.DataUp).map((f) => f.payload), [packet]);
  assert.ok(tap.down.every((f) => f.type !== MessageType.Encrypted));
});

test('plaintext client against a server that requires encryption: refused, with that reason', async () => {
  const { gateway, port } = await startGateway(serverConfig());
  const { engine } = startClient(port, { key: null });
  const s = await engine.settled();
  assert.equal(s.kind === 'failed' && s.failure.reason, 'plaintext-refused');
  // The gateway said why (a plain 199 before it closed), so the client knows, rather than guesses.
  assert.match(s.kind === 'failed' ? s.failure.message : '', /requires encryption: it answered our plaintext with 199/);
  assert.equal(explainFailure(s.kind === 'failed' ? s.failure : { reason: 'connection-lost', message: '' }).summary, 'The server accepts only encrypted connections.');
  assert.equal(gateway.metrics().plaintextRefused, 1);
});

test('require_encryption: false lets plaintext clients in beside encrypted ones, each answered in kind', async () => {
  const { tun: serverTun, port } = await startGateway(serverConfig('require_encryption: false'));
  const plainTap = await WireTap.start(port, parseUuid(UUID));
  const sealedTap = await WireTap.start(port, parseUuid(UUID));
  cleanups.push(() => plainTap.close(), () => sealedTap.close());
  const a = startClient(plainTap.port, { key: null });
  const sa = await connected(a.engine);
  const b = startClient(sealedTap.port);
  const sb = await connected(b.engine);
  a.tun.inject([ipv4Packet(sa.lease.address, '198.18.0.1')]);
  b.tun.inject([ipv4Packet(sb.lease.address, '198.18.0.1')]);
  await serverTun.waitForWritten(2);
  assert.ok(plainTap.up.every((f) => f.type !== MessageType.Encrypted) && plainTap.down.every((f) => f.type !== MessageType.Encrypted));
  assert.ok(sealedTap.up.every((f) => f.type === MessageType.Encrypted) && sealedTap.down.every((f) => f.type === MessageType.Encrypted));
  assert.ok(sealedTap.down.some((f) => f.inner === MessageType.IpResponse));
});

/** A type-200 frame that no key opens: a nonce and bytes of the right sizes. */
function undecryptable(i: number): Buffer {
  return encodeFrame(MessageType.Encrypted, Buffer.alloc(24 + 5 + 16 + (i % 7), 0x30 + i));
}

test('keyless gateway, 20 type-200 frames a burst: at most one 199 a second, counted from the raw bytes', async () => {
  let nowMs = 1_000_000;
  const { gateway, port } = await startGateway(serverConfig('', null), () => nowMs);
  const raw = await RawClient.connect(port);
  cleanups.push(() => raw.close());
  const UNSUPPORTED_BYTES = Buffer.from('05000000c7', 'hex');
  const count199 = () => {
    const bytes = raw.bytes();
    let n = 0;
    for (let at = bytes.indexOf(UNSUPPORTED_BYTES); at !== -1; at = bytes.indexOf(UNSUPPORTED_BYTES, at + 1)) n++;
    assert.equal(n, raw.count(isType(MessageType.Unsupported)), 'frames and raw bytes agree');
    return n;
  };
  // Each burst ends with an IP request: the gateway handles a connection's frames in order, so once
  // it is answered (or, within a second of the last answer, counted as dropped) every frame of the
  // burst has been handled.
  const burst = async (answers: number, dropped: number) => {
    raw.send(Buffer.concat([...Array.from({ length: 20 }, (_, i) => undecryptable(i)), IP_REQUEST_FRAME]));
    await waitFor(() => raw.count(isType(MessageType.IpResponse)) === answers && gateway.metrics().ipResponsesDropped === dropped,
      { timeoutMs: 5000, what: `IP response ${answers}, ${dropped} dropped` });
  };
  await burst(1, 0);
  assert.equal(count199(), 1);
  nowMs += 999;
  await burst(1, 1);
  assert.equal(count199(), 1, 'a second 199 within the same second');
  nowMs += 1;
  await burst(2, 1);
  assert.equal(count199(), 2, 'a second later, one more');
  assert.equal(raw.closed, false);
  assert.equal(gateway.metrics().sessions, 1);
});

test('keyed gateway, 20 frames sealed with another key: dropped, counted, one 199; the session goes on', async () => {
  let nowMs = 1_000_000;
  const { gateway, port } = await startGateway(serverConfig(), () => nowMs);
  const wrong = await RawClient.connect(port, parseUuid(OTHER_UUID));
  const right = await RawClient.connect(port, parseUuid(UUID));
  cleanups.push(() => wrong.close(), () => right.close());
  const other = new FrameCipher(parseUuid(OTHER_UUID));
  wrong.send(Buffer.concat(Array.from({ length: 20 }, () => other.seal(HEARTBEAT_FRAME))));
  // The good client's answer is the sync point for its own connection only: wait on the counter.
  right.sendSealed(IP_REQUEST_FRAME);
  await right.waitForFrames((f) => f.inner === MessageType.IpResponse, 1, 'the good client\'s IP response');
  await waitFor(() => gateway.metrics().decryptFailures === 20, { timeoutMs: 5000, what: '20 decrypt failures' });
  await wrong.waitForFrames(isType(MessageType.Unsupported), 1, 'the 199 answer');
  nowMs += 500;
  wrong.send(other.seal(HEARTBEAT_FRAME));
  await waitFor(() => gateway.metrics().decryptFailures === 21, { timeoutMs: 5000, what: 'the 21st failure' });
  assert.equal(wrong.count(isType(MessageType.Unsupported)), 1);
  assert.equal(wrong.frames.length, 1, 'nothing but the one plain 199');
  assert.equal(wrong.closed, false);
  assert.equal(right.count((f) => f.type !== MessageType.Encrypted), 0, 'the good client hears only encrypted frames');
  assert.equal(gateway.metrics().sessions, 1, 'the good client has its lease');
  assert.equal(gateway.metrics().unleased, 1, 'the wrong key got none, and its connection is still open');
});

test('a legacy-style client heartbeating every 20 s outlives the 60 s timeout; the gateway heartbeats it, encrypted', async () => {
  // Default timing (20 s / 60 s); the gateway's clock is driven by the test, its 1 s sweep is real.
  let nowMs = 1_000_000;
  const { gateway, port } = await startGateway(serverConfig(), () => nowMs);
  const legacy = await RawClient.connect(port, parseUuid(UUID));
  cleanups.push(() => legacy.close());
  legacy.sendSealed(IP_REQUEST_FRAME);
  await legacy.waitForFrames((f) => f.inner === MessageType.IpResponse, 1, 'the IP response');
  const heartbeats = (f: SeenFrame) => f.inner === MessageType.Heartbeat;
  for (let k = 1; k <= 4; k++) { // 80 s of virtual time: past the 60 s timeout
    nowMs += 20_000;
    legacy.sendSealed(HEARTBEAT_FRAME);
    await legacy.waitForFrames(heartbeats, k, `the gateway's heartbeat ${k}`, 3000);
  }
  const m = gateway.metrics();
  assert.equal(m.heartbeatEvictions, 0);
  assert.equal(m.sessions, 1);
  assert.equal(legacy.closed, false);
  assert.equal(legacy.count(heartbeats), 4, 'one heartbeat per 20 s');
  assert.ok(legacy.frames.every((f) => f.type === MessageType.Encrypted), 'every frame to an encrypting client is sealed');
  // Silent from now on: past 60 s without a heartbeat the session is evicted and the lease returned.
  nowMs += 60_001;
  await waitFor(() => legacy.closed, { timeoutMs: 3000, what: 'the eviction of a silent client' });
  assert.equal(gateway.metrics().heartbeatEvictions, 1);
});

test('a malformed frame closes that one connection; another client keeps working', async () => {
  const { gateway, tun: serverTun, port } = await startGateway(serverConfig('', null));
  const good = startClient(port, { key: null });
  await connected(good.engine);
  const bad = net.connect({ host: '::1', port });
  await new Promise((r) => bad.once('connect', r));
  bad.resume(); // read the IP response, so the server's close is seen
  const closed = new Promise((r) => bad.once('close', r));
  bad.write(IP_REQUEST_FRAME);
  bad.write(Buffer.from('ffff000066', 'hex'));
  await closed;
  assert.equal(gateway.metrics().malformedFrames, 1);
  assert.equal(gateway.metrics().closedBy.malformed, 1, 'the link\'s close kind counted as the cause');
  good.tun.inject([ipv4Packet('198.18.0.2', '198.18.0.1')]);
  await serverTun.waitForWritten(1);
  assert.equal(gateway.metrics().sessions, 1);
});

test('pool of 2, three clients: the third is refused, the first two keep working', async () => {
  const config = serverConfig('', null);
  config.poolLast = config.poolFirst + 1;
  const { gateway, tun: serverTun, port } = await startGateway(config);
  const a = startClient(port, { key: null });
  const b = startClient(port, { key: null });
  const sa = await connected(a.engine);
  const sb = await connected(b.engine);
  const c = startClient(port, { key: null });
  const sc = await c.engine.settled();
  assert.equal(sc.kind, 'failed');
  assert.equal(gateway.metrics().poolExhausted, 1);
  a.tun.inject([ipv4Packet(sa.lease.address, '198.18.0.1')]);
  b.tun.inject([ipv4Packet(sb.lease.address, '198.18.0.1')]);
  await serverTun.waitForWritten(2);
});

test('a client that never sends an IP request holds no lease and is closed after ip_request_timeout', async () => {
  const { gateway, port } = await startGateway(serverConfig('ip_request_timeout: 1', null));
  const silent = net.connect({ host: '::1', port });
  await new Promise((r) => silent.once('connect', r));
  silent.resume();
  const free = gateway.metrics().leasesFree;
  await waitFor(() => gateway.metrics().unleased === 1, { timeoutMs: 2000, what: 'the gateway to accept' });
  assert.equal(gateway.metrics().leasesInUse, 0);
  await new Promise((r) => silent.once('close', r));
  const m = gateway.metrics();
  assert.equal(m.ipRequestTimeouts, 1);
  assert.equal(m.closedBy.ipRequestTimeout, 1);
  assert.equal(m.unleased, 0);
  assert.equal(m.leasesFree, free);
});

test('the server sends heartbeats; the legacy byte format is what arrives on the wire', async () => {
  const { port } = await startGateway(serverConfig('heartbeat_interval: 1\nheartbeat_timeout: 5', null));
  const sock = net.connect({ host: '::1', port });
  const reader = new FrameReader();
  const seen: number[] = [];
  let lease = '';
  const raw: Buffer[] = [];
  sock.on('data', (c) => raw.push(Buffer.from(c)) && reader.push(c).forEach((f) => {
    seen.push(f.type);
    if (f.type === MessageType.IpResponse) lease = parseIpResponse(f.payload).address;
  }));
  await new Promise((r) => sock.once('connect', r));
  sock.write(encodeFrame(MessageType.IpRequest));
  // The first heartbeat comes 1-2 s after accept (1 s sweep).
  await waitFor(() => seen.includes(MessageType.Heartbeat), { timeoutMs: 5000, what: 'a heartbeat from the server' });
  sock.destroy();
  assert.equal(lease, '198.18.0.2');
  assert.ok(seen.includes(MessageType.Heartbeat), `saw ${seen.join(',')}`);
  assert.ok(Buffer.concat(raw).includes(Buffer.from('0500000068', 'hex')));
});

test('the client notices a silent server (heartbeat timeout) and reconnects when allowed', async () => {
  const { port } = await startGateway(serverConfig('heartbeat_interval: 60\nheartbeat_timeout: 120', null));
  const tun = new FakeTun('cli0');
  const engine = new TunnelEngine({
    server: '::1', port, key: null, allowPlaintext: false, mtu: 1500, prefixLength: 24,
    defaultRoute: false, dns: false, tunName: 'cli0', autoReconnect: true,
  }, {
    openTun: () => tun, net: new RecordingNet(), resolveHost: async () => '::1', connectTcp: connectTcpOverIpv6,
    clock: systemClock, log: quiet,
  }, { tickMs: 100, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 400 });
  cleanups.push(() => engine.disconnect());
  const kinds: string[] = [];
  engine.on('state', (s) => kinds.push(s.kind === 'reconnecting' ? `reconnecting:${s.lastFailure.reason}` : s.kind));
  engine.connect();
  await connected(engine);
  // Server heartbeats come every 60 s: the client gives up after 0.4 s and reconnects (1 s backoff).
  await waitFor(() => kinds.includes('reconnecting:heartbeat-lost') && kinds.lastIndexOf('connected') > kinds.indexOf('reconnecting:heartbeat-lost'),
    { timeoutMs: 5000, what: `a reconnect after the heartbeat timeout (states: ${kinds.join(' ')})` });
  assert.ok(kinds.includes('reconnecting:heartbeat-lost'), kinds.join(' '));
  assert.ok(kinds.lastIndexOf('connected') > kinds.indexOf('reconnecting:heartbeat-lost'), kinds.join(' '));
  assert.equal(engine.stats.reconnects >= 1, true);
});

test('no IP response: the client resends and gives up after 5 tries with a clear error', async () => {
  const silentServer = net.createServer((s) => s.on('data', () => undefined));
  await new Promise<void>((r) => silentServer.listen({ host: '::1', port: 0 }, r));
  cleanups.push(() => new Promise((r) => silentServer.close(r)));
  const requests: number[] = [];
  silentServer.on('connection', (s) => {
    const reader = new FrameReader();
    s.on('data', (c) => reader.push(c).forEach((f) => requests.push(f.type)));
  });
  const { engine } = startClient((silentServer.address() as net.AddressInfo).port, { key: null });
  const s = await engine.settled();
  assert.equal(s.kind === 'failed' && s.failure.reason, 'no-ipv4-offered');
  assert.deepEqual(requests, [100, 100, 100, 100, 100]);
});

test('server unreachable: refused connection is reported as unreachable', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen({ host: '::1', port: 0 }, r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const { engine } = startClient(port);
  const s = await engine.settled();
  assert.equal(s.kind === 'failed' && s.failure.reason, 'server-unreachable');
});

test('metrics endpoint serves JSON and Prometheus text with live counters', async () => {
  const { gateway, tun: serverTun, port } = await startGateway(serverConfig('', null));
  const { engine, tun } = startClient(port, { key: null });
  await connected(engine);
  tun.inject([ipv4Packet('198.18.0.2', '198.18.0.1', 100)]);
  await serverTun.waitForWritten(1);
  const http = await serveMetrics('127.0.0.1:0', () => gateway.metrics());
  cleanups.push(() => new Promise((r) => http.close(r)));
  const base = `http://127.0.0.1:${(http.address() as net.AddressInfo).port}`;
  const json = await (await fetch(`${base}/metrics.json`)).json() as { sessions: number; packetsUp: number; bytesUp: number };
  assert.equal(json.sessions, 1);
  assert.equal(json.packetsUp, 1);
  assert.equal(json.bytesUp, 128);
  const text = await (await fetch(`${base}/metrics`)).text();
  assert.match(text, /^fourover6_sessions 1$/m);
  assert.match(text, /^fourover6_packets_total\{direction="up"\} 1$/m);
  assert.match(text, /^# TYPE fourover6_dropped_packets_total counter$/m);
  assert.equal((await fetch(`${base}/other`)).status, 404);
});

/** A client whose wall clock can jump (a suspend) and whose address-removal feed the test drives. */
function startWatchedClient(port: number, logs: string[]) {
  let skewMs = 0;
  let removed: ((address: string) => void) | null = null;
  let watches = 0;
  let stops = 0;
  const tun = new FakeTun('cli0');
  const profile: TunnelProfile = {
    server: '::1', port, key: parseUuid(UUID), allowPlaintext: false, mtu: 1500, prefixLength: 24,
    defaultRoute: true, dns: true, tunName: 'cli0', autoReconnect: true,
  };
  const engine = new TunnelEngine(profile, {
    openTun: () => tun, net: new RecordingNet(), resolveHost: async () => '::1', connectTcp: connectTcpOverIpv6,
    clock: { ...systemClock, wallNow: () => Date.now() + skewMs },
    log: createLogger({ level: 'info', write: () => {}, onEvent: (_level, msg) => logs.push(msg) }),
    watchNetwork: (onEvent) => {
      watches++;
      removed = (address) => onEvent({ kind: 'address-removed', address });
      return { stop: () => { stops++; } };
    },
  }, { ipRequestIntervalMs: 300, tickMs: 100 });
  const states: TunnelState[] = [];
  engine.on('state', (s) => states.push(s));
  engine.connect();
  cleanups.push(() => engine.disconnect());
  return {
    engine, states,
    suspend: (ms: number) => { skewMs += ms; },
    removeAddress: (a: string) => removed?.(a),
    watchCounts: () => ({ watches, stops }),
  };
}

async function waitForState(states: TunnelState[], from: number, kind: TunnelState['kind'], timeoutMs = 5000): Promise<TunnelState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = states.slice(from).find((x) => x.kind === kind);
    if (s) return s;
    if (Date.now() > deadline) throw new Error(`no ${kind} state within ${timeoutMs} ms: ${states.slice(from).map((x) => x.kind).join(' → ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('after a suspend longer than the server waits for heartbeats, the client reconnects at once', async () => {
  const { gateway, port } = await startGateway(serverConfig());
  const logs: string[] = [];
  const c = startWatchedClient(port, logs);
  await connected(c.engine);
  // A short nap: the link is checked with a heartbeat, the tunnel stays up.
  c.suspend(10_000);
  await waitFor(() => logs.some((l) => /asleep for 10 s: checking the link/.test(l)), { timeoutMs: 2000, what: 'the suspend to be noticed' });
  assert.equal(c.engine.state.kind, 'connected');
  // Two minutes asleep: the gateway has long evicted us (60 s); waiting for our own timeout, which
  // stood still with the monotonic clock, would take another minute.
  const from = c.states.length;
  c.suspend(120_000);
  const failed = await waitForState(c.states, from, 'reconnecting', 2000);
  assert.match(JSON.stringify(failed), /asleep for 120 s/);
  await waitForState(c.states, from, 'connected', 5000);
  assert.equal(gateway.metrics().accepted, 2);
});

test('when the local address of the connection goes away, the client reconnects at once', async () => {
  const { gateway, port } = await startGateway(serverConfig());
  const logs: string[] = [];
  const c = startWatchedClient(port, logs);
  await connected(c.engine);
  assert.deepEqual(c.watchCounts(), { watches: 1, stops: 0 });
  // The engine handles a removal synchronously, so "nothing happened" needs no wait.
  c.removeAddress('fd00:99::1'); // some other address: nothing happens
  assert.equal(c.engine.state.kind, 'connected');
  const from = c.states.length;
  c.removeAddress('0:0:0:0:0:0:0:1'); // ::1, spelled out: compared as addresses, not strings
  const lost = await waitForState(c.states, from, 'reconnecting', 2000);
  assert.match(JSON.stringify(lost), /address ::1 went away \(network change\)/);
  await waitForState(c.states, from, 'connected', 5000);
  assert.deepEqual(c.watchCounts(), { watches: 1, stops: 0 }, 'one watch for the tunnel, through its reconnects');
  assert.equal(gateway.metrics().accepted, 2);
  await c.engine.disconnect();
  assert.deepEqual(c.watchCounts(), { watches: 1, stops: 1 }, 'stopped with the tunnel');
});

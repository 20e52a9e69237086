// The engine's reconnect behaviour on its injected clock (no sleeps): backoff, the network coming
// back, what stays on the system while reconnecting, the IP request's extension, the reconnect
// queue, and the kill switch waited for before a teardown. Real TCP on [::1] to a scripted gateway
// that reads our frames and answers as a gateway would; a queue-backed fake TUN.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import type { TunnelState } from '../contract/tunnel-state';
import { createLogger } from '../log/logger';
import type { NetworkEvent } from '../netconfig/address-watch';
import { FrameReader, MessageType, encodeFrame } from '../protocol/frame';
import { encodeIpResponse } from '../protocol/messages';
import { FakeTun, ipv4Packet } from '../test/support/fake-tun';
import { waitFor } from '../test/support/netns';
import { type Clock, type TunnelProfile, TunnelEngine, connectTcpOverIpv6 } from './tunnel-engine';

const CLIENT_ID = '0123456789abcdef0123456789abcdef';
const quiet = createLogger({ level: 'error', write: () => {} });
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Time moves only when the test says so; timers run in order of their due time. */
class ManualClock implements Clock {
  private t = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void; every: number | null }>();
  now(): number { return this.t; }
  wallNow(): number { return 1.7e12 + this.t; }
  setTimeout(fn: () => void, ms: number): unknown { return this.add(fn, ms, null); }
  setInterval(fn: () => void, ms: number): unknown { return this.add(fn, ms, ms); }
  clearTimeout(h: unknown): void { this.timers.delete(h as number); }
  clearInterval(h: unknown): void { this.timers.delete(h as number); }
  /** Moves time forward by ms, running each timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void; every: number | null }] | null = null;
      for (const entry of this.timers) if (entry[1].at <= end && (due === null || entry[1].at < due[1].at)) due = entry;
      if (due === null) break;
      const [id, timer] = due;
      this.t = timer.at;
      if (timer.every === null) this.timers.delete(id);
      else timer.at += timer.every;
      timer.fn();
    }
    this.t = end;
  }
  private add(fn: () => void, ms: number, every: number | null): number {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn, every });
    return id;
  }
}

/** A gateway reduced to what these tests need: it records IP requests and data, and grants `nextAddress`. */
class ScriptedGateway {
  readonly requests: string[] = [];
  readonly dataUp: Buffer[] = [];
  readonly sockets = new Set<net.Socket>();
  nextAddress = '198.18.0.2';
  dns = ['198.18.0.53'];
  private server = net.createServer((s) => this.accept(s));
  port = 0;

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen({ host: '::1', port: 0 }, r));
    this.port = (this.server.address() as net.AddressInfo).port;
    cleanups.push(() => this.close());
  }
  /** The connection drops (a gateway restart, a network gone). */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }
  async close(): Promise<void> {
    this.dropAll();
    await new Promise((r) => this.server.close(r));
  }
  private accept(s: net.Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    const reader = new FrameReader();
    s.on('data', (chunk) => {
      for (const f of reader.push(chunk)) {
        if (f.type === MessageType.IpRequest) {
          this.requests.push(Buffer.from(f.payload).toString('latin1'));
          s.write(encodeIpResponse({ address: this.nextAddress, route: '0.0.0.0', dns: this.dns }));
        } else if (f.type === MessageType.DataUp) {
          this.dataUp.push(Buffer.from(f.payload));
        } else if (f.type === MessageType.Heartbeat) {
          s.write(encodeFrame(MessageType.Heartbeat));
        }
      }
    });
  }
}

class RecordingNet {
  readonly calls: string[] = [];
  async addAddress(dev: string, a: string, p: number) { this.calls.push(`addr ${dev} ${a}/${p}`); }
  async replaceAddress(dev: string, old: string, a: string, p: number) { this.calls.push(`replace ${dev} ${old} -> ${a}/${p}`); }
  async setSysctl(key: string, value: string) { this.calls.push(`sysctl ${key}=${value}`); }
  async setMtu(dev: string, mtu: number) { this.calls.push(`mtu ${dev} ${mtu}`); }
  async setUp(dev: string) { this.calls.push(`up ${dev}`); }
  async addDefaultRoute(dev: string) { this.calls.push(`default ${dev}`); }
  async setDns(dev: string, servers: string[]) { this.calls.push(`dns ${dev} ${servers.join(',')}`); }
  async undoTunnel() { this.calls.push('undo'); }
}

async function setup(opts: { queue?: number; guard?: (s: TunnelState) => Promise<void> } = {}) {
  const gateway = new ScriptedGateway();
  await gateway.listen();
  const clock = new ManualClock();
  const tun = new FakeTun('cli0');
  const netcfg = new RecordingNet();
  let connects = 0;
  let onNetwork: ((e: NetworkEvent) => void) | null = null;
  const profile: TunnelProfile = {
    server: '::1', port: gateway.port, key: null, allowPlaintext: false, mtu: 1500, prefixLength: 24,
    defaultRoute: true, dns: true, tunName: 'cli0', autoReconnect: true, clientId: CLIENT_ID,
  };
  const engine = new TunnelEngine(profile, {
    openTun: () => tun, net: netcfg, resolveHost: async () => '::1', clock, log: quiet,
    connectTcp: (address, port) => { connects++; return connectTcpOverIpv6(address, port); },
    watchNetwork: (fn) => { onNetwork = fn; return { stop: () => { onNetwork = null; } }; },
    ...(opts.guard ? { guard: { follow: (s: TunnelState) => opts.guard!(s) } } : {}),
  }, { tickMs: 1000, reconnectQueuePackets: opts.queue ?? 64 });
  const states: TunnelState[] = [];
  engine.on('state', (s) => states.push(s));
  cleanups.push(() => engine.disconnect());
  const reached = async (pred: (s: TunnelState) => boolean, what: string, from = 0) =>
    waitFor(() => states.slice(from).some(pred), { timeoutMs: 5000, what });
  return {
    gateway, clock, tun, netcfg, engine, states, reached,
    connects: () => connects,
    network: (e: NetworkEvent) => onNetwork?.(e),
    watching: () => onNetwork !== null,
  };
}

const isConnected = (s: TunnelState) => s.kind === 'connected';

test('a lost session: reconnecting at once keeps address, routes and DNS; the same address back changes nothing', async () => {
  const c = await setup();
  c.engine.connect();
  await c.reached(isConnected, 'connected');
  const configured = [...c.netcfg.calls];
  assert.deepEqual(c.gateway.requests, [`4o6/1 id=${CLIENT_ID}`], 'the first request names this client, no previous address');

  const from = c.states.length;
  c.gateway.dropAll();
  await c.reached((s) => s.kind === 'reconnecting', 'reconnecting', from);
  const r = c.states.find((s, i) => i >= from && s.kind === 'reconnecting');
  assert.equal(r?.kind === 'reconnecting' && r.retryInMs, 1000);
  assert.equal(r?.kind === 'reconnecting' && r.held.address, '198.18.0.2');
  assert.equal(c.tun.closed, false, 'the TUN device stays');
  assert.deepEqual(c.netcfg.calls, configured, 'nothing undone while reconnecting');

  const before = c.connects();
  c.clock.advance(999);
  assert.equal(c.connects(), before, 'no attempt before the backoff is over');
  c.clock.advance(1);
  assert.equal(c.connects(), before + 1, 'the attempt starts when the engine\'s clock says so');
  await c.reached(isConnected, 'connected again', from);
  assert.deepEqual(c.gateway.requests.at(-1), `4o6/1 id=${CLIENT_ID} addr=198.18.0.2`, 'the reconnect asks for its address back');
  assert.deepEqual(c.netcfg.calls, configured, 'the same address back: no system change at all');
  const back = c.states.at(-1);
  assert.equal(back?.kind === 'connected' && back.previousAddress, null);
  assert.equal(c.engine.stats.reconnects, 1);
});

test('backoff: a failed reconnect attempt waits 2 s, the next 4 s, on the engine\'s clock', async () => {
  const c = await setup();
  c.engine.connect();
  await c.reached(isConnected, 'connected');
  await c.gateway.close(); // gone: every attempt is refused
  let from = c.states.length - 1;
  await c.reached((s) => s.kind === 'reconnecting', 'reconnecting', from);
  for (const expected of [1000, 2000, 4000, 8000]) {
    const r = c.states.slice(from).find((s) => s.kind === 'reconnecting');
    assert.equal(r?.kind === 'reconnecting' && r.retryInMs, expected);
    from = c.states.length;
    const before = c.connects();
    c.clock.advance(expected - 1);
    assert.equal(c.connects(), before);
    c.clock.advance(1);
    assert.equal(c.connects(), before + 1);
    await c.reached((s) => s.kind === 'reconnecting', `reconnecting after the attempt at ${expected} ms`, from);
  }
});

test('the network coming back starts the next attempt at once, not when the backoff ends', async () => {
  const c = await setup();
  c.engine.connect();
  await c.reached(isConnected, 'connected');
  c.gateway.dropAll();
  const from = c.states.length;
  await c.reached((s) => s.kind === 'reconnecting', 'reconnecting', from);
  const before = c.connects();
  c.network({ kind: 'link-up', dev: 'eth0' });
  c.network({ kind: 'address-added', dev: 'eth0', address: 'fd00::9' }); // a burst: one reaction
  c.clock.advance(100);
  assert.equal(c.connects(), before + 1, 'one attempt for the burst, 100 ms after it, long before the 1 s backoff');
  await c.reached(isConnected, 'connected', from);
  c.network({ kind: 'default-route', dev: 'eth0' });
  c.clock.advance(1000);
  assert.equal(c.connects(), before + 1, 'while connected, the network coming back changes nothing');
  assert.equal(c.watching(), true);
  await c.engine.disconnect();
  assert.equal(c.watching(), false, 'the watch ends with the tunnel');
});

test('another address from the gateway: swapped in place and said so; DNS rewritten only when it changed', async () => {
  const c = await setup();
  c.engine.connect();
  await c.reached(isConnected, 'connected');
  const configured = c.netcfg.calls.length;
  c.gateway.nextAddress = '198.18.0.7';
  c.gateway.dns = ['198.18.0.54'];
  const from = c.states.length;
  c.gateway.dropAll();
  await c.reached((s) => s.kind === 'reconnecting', 'reconnecting', from);
  c.clock.advance(1000);
  await c.reached(isConnected, 'connected', from);
  assert.deepEqual(c.netcfg.calls.slice(configured), ['replace cli0 198.18.0.2 -> 198.18.0.7/24', 'dns cli0 198.18.0.54']);
  const s = c.states.at(-1);
  assert.equal(s?.kind === 'connected' && s.previousAddress, '198.18.0.2');
  assert.equal(s?.kind === 'connected' && s.lease.address, '198.18.0.7');
});

test('packets sent while reconnecting: the newest wait (up to the queue size) and go out first when back', async () => {
  const c = await setup({ queue: 4 });
  c.engine.connect();
  await c.reached(isConnected, 'connected');
  const from = c.states.length;
  c.gateway.dropAll();
  await c.reached((s) => s.kind === 'reconnecting', 'reconnecting', from);
  c.tun.inject(Array.from({ length: 6 }, (_, i) => ipv4Packet('198.18.0.2', '198.18.0.1', 20, 0x30 + i)));
  assert.equal(c.engine.stats.droppedReconnecting, 2);
  c.clock.advance(1000);
  await c.reached(isConnected, 'connected', from);
  await waitFor(() => c.gateway.dataUp.length >= 4, { timeoutMs: 5000, what: 'the queued packets at the gateway' });
  assert.deepEqual(c.gateway.dataUp.map((p) => p[30]), [0x32, 0x33, 0x34, 0x35], 'the newest four, in order');
  assert.equal(c.engine.stats.packetsUp, 4);
});

test('without a queue, packets while reconnecting are dropped and counted', async () => {
  const c = await setup({ queue: 0 });
  c.engine.connect();
  await c.reached(isConnected, 'connected');
  c.gateway.dropAll();
  await c.reached((s) => s.kind === 'reconnecting', 'reconnecting');
  c.tun.inject([ipv4Packet('198.18.0.2', '198.18.0.1')]);
  assert.equal(c.engine.stats.droppedReconnecting, 1);
});

test('silence past the heartbeat timeout, on the engine\'s clock, is a loss; the tunnel stays while reconnecting', async () => {
  const c = await setup();
  c.engine.connect();
  await c.reached(isConnected, 'connected');
  // The scripted gateway answers heartbeats: silence it by pausing its sockets.
  for (const s of c.gateway.sockets) s.pause();
  const from = c.states.length;
  for (let i = 0; i < 60; i++) c.clock.advance(1000);
  assert.equal(c.engine.state.kind, 'connected', '60 s of silence is still within the timeout');
  c.clock.advance(1000);
  assert.equal(c.engine.state.kind, 'reconnecting');
  const r = c.states.slice(from).find((s) => s.kind === 'reconnecting');
  assert.equal(r?.kind === 'reconnecting' && r.lastFailure.reason, 'heartbeat-lost');
  assert.equal(c.netcfg.calls.includes('undo'), false);
});

test('disconnect while reconnecting: the kill switch is set for disconnecting before anything is undone, and all is undone once', async () => {
  const order: string[] = [];
  let release: () => void = () => undefined;
  const c = await setup({
    guard: async (s) => {
      order.push(`guard ${s.kind}`);
      if (s.kind === 'disconnecting') await new Promise<void>((r) => (release = r));
      order.push(`guard ${s.kind} done`);
    },
  });
  c.engine.connect();
  await c.reached(isConnected, 'connected');
  c.gateway.dropAll();
  await c.reached((s) => s.kind === 'reconnecting', 'reconnecting');
  const origUndo = c.netcfg.undoTunnel.bind(c.netcfg);
  c.netcfg.undoTunnel = async () => { order.push('undo'); await origUndo(); };
  const done = c.engine.disconnect();
  await waitFor(() => order.includes('guard disconnecting'), { timeoutMs: 2000, what: 'the guard told' });
  assert.equal(order.includes('undo'), false, 'nothing undone before the kill switch is in place');
  release();
  await done;
  assert.deepEqual(order.slice(order.indexOf('guard disconnecting')), ['guard disconnecting', 'guard disconnecting done', 'undo', 'guard idle', 'guard idle done']);
  assert.equal(c.netcfg.calls.filter((x) => x === 'undo').length, 1);
  assert.equal(c.tun.closed, true);
  assert.equal(c.engine.state.kind, 'idle');
});

test('"connected" is said only once the kill switch lets the tunnel through', async () => {
  const order: string[] = [];
  const c = await setup({
    guard: async (s) => {
      order.push(`guard ${s.kind}`);
      await new Promise((r) => setImmediate(r)); // an nft run takes a while
      order.push(`guard ${s.kind} done`);
    },
  });
  c.engine.on('state', (s) => order.push(`state ${s.kind}`));
  c.engine.connect();
  await c.reached(isConnected, 'connected');
  const said = order.indexOf('state connected');
  assert.ok(said > order.indexOf('guard connected done') && order.includes('guard connected done'), order.join(', '));
});

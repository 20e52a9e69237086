// The client tunnel engine: one connection to a gateway, driven by the state machine in
// contract/tunnel-state.ts. Used by the headless CLI (`4over6 connect`) and by the root helper.
//
// Lifecycle: connect() -> resolve AAAA -> TCP over IPv6 -> IP request (every 3 s, 5 tries) ->
// on the IP response: TUN device, address, MTU, routes, DNS -> forward both ways + heartbeats ->
// on loss: undo every system change, then reconnect with backoff (if the profile says so) or fail.
// Every clock and side effect comes in through EngineEnvironment, so tests can drive it.
// By hand: `sudo node dist/helper/cli.js connect -c client_config.yaml` against `npm run server`.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { TrafficCounters } from '../contract/helper-api';
import { emptyTrafficCounters } from '../contract/stats';
import {
  FAILURE_TEXT, IDLE, type Failure, type FailureReason, type LeaseInfo, type TunnelEvent, type TunnelState,
  transition,
} from '../contract/tunnel-state';
import { FrameLink } from '../link/frame-link';
import { connectWithSharedReads } from '../link/socket-read';
import { TUNNEL_TCP_MSS, clampTcpMss, ipv4LengthMatches, isIPv4Packet } from '../link/ipv4';
import type { PacketDevice } from '../link/packet-device';
import type { Logger } from '../log/logger';
import type { TrafficGuard } from './kill-switch';
import { FrameCipher, MAX_INNER_FRAME_BYTES } from '../protocol/crypto';
import { FRAME_HEADER_BYTES, MessageType } from '../protocol/frame';
import { HEARTBEAT_FRAME, IP_REQUEST_FRAME, IpResponseError, UNSUPPORTED_FRAME, parseIpResponse } from '../protocol/messages';

export interface TunnelProfile {
  /** IPv6 literal or a host name with an AAAA record. */
  server: string;
  port: number;
  /** 16 UUID bytes; null = no encryption. */
  key: Buffer | null;
  /** Fall back to plaintext when the server answers 199 (off: report a wrong key). */
  allowPlaintext: boolean;
  mtu: number;
  prefixLength: number;
  defaultRoute: boolean;
  dns: boolean;
  tunName: string;
  autoReconnect: boolean;
}

/** The system changes the engine makes; netconfig/NetConfigurator implements it. */
export interface NetworkConfigurator {
  addAddress(dev: string, address: string, prefixLength: number): Promise<void>;
  setSysctl(key: string, value: string): Promise<void>;
  setMtu(dev: string, mtu: number): Promise<void>;
  setUp(dev: string): Promise<void>;
  addDefaultRoute(dev: string): Promise<void>;
  setDns(dev: string, servers: string[], opts: { resolvConfPath?: string }): Promise<void>;
  /** Undoes every change but the kill switch's guard table (that one follows the kill switch). */
  undoTunnel(): Promise<unknown>;
}

export interface Clock {
  /** Monotonic milliseconds; they stand still while the system is suspended. */
  now(): number;
  /** Wall-clock milliseconds; they keep counting through a suspend (how we notice one). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

export interface EngineEnvironment {
  openTun(name: string): PacketDevice;
  net: NetworkConfigurator;
  resolveHost(host: string): Promise<string>;
  connectTcp(address: string, port: number): net.Socket;
  clock: Clock;
  log: Logger;
  /** Write DNS here instead of the system resolver (tests, namespaces). */
  resolvConfPath?: string;
  /** The kill switch; told every state entered. Optional (tests without one). */
  guard?: TrafficGuard;
  /** Reports IPv6 addresses removed from this host (netconfig/address-watch); optional. */
  watchRemovedAddresses?(onRemoved: (address: string) => void): { stop(): void };
}

/** protocol.md "Session behaviour", client side. */
export interface EngineTiming {
  ipRequestIntervalMs: number;
  ipRequestTries: number;
  tickMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  connectTimeoutMs: number;
}

export const DEFAULT_TIMING: EngineTiming = {
  ipRequestIntervalMs: 3000,
  ipRequestTries: 5,
  tickMs: 1000,
  heartbeatIntervalMs: 20_000,
  heartbeatTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
};

export interface TunnelStats extends TrafficCounters {
  droppedNotIpv4: number;
  /** From the server, not a whole IPv4 packet (e.g. cut at 1496 bytes by a legacy server). */
  droppedBadLength: number;
  droppedPeerTooSlow: number;
  droppedTooLarge: number;
  droppedTunWrite: number;
  decryptFailures: number;
}

const TUN_BATCH_PACKETS = 64;
/** Wall time beyond monotonic time between two ticks that means the system was suspended. */
const SUSPEND_DETECT_MS = 5000;
const TUN_READ_PACKET_BYTES = 2048;
const SOCKET_HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** Resources of one connection attempt; torn down as a whole. */
interface Attempt {
  generation: number;
  socket: net.Socket | null;
  link: FrameLink | null;
  tun: PacketDevice | null;
  timers: unknown[];
  intervals: unknown[];
  addressWatch: { stop(): void } | null;
  /** Wall and monotonic clocks at the last tick: a suspend shows as wall time the monotonic clock lacks. */
  lastTickWallMs: number;
  lastTickMonoMs: number;
  receivedValidFrame: boolean;
  lastHeartbeatReceivedMs: number;
  lastHeartbeatSentMs: number;
}

export interface TunnelEngineEvents {
  state: [TunnelState];
  stats: [TunnelStats];
}

export class TunnelEngine extends EventEmitter<TunnelEngineEvents> {
  private current: TunnelState = IDLE;
  private attempt: Attempt | null = null;
  private generation = 0;
  private retryTimer: unknown = null;
  private teardown: Promise<void> = Promise.resolve();
  /** The kill switch's work for the latest state: a teardown waits for it (lockdown blocks before routes go). */
  private guardFollowed: Promise<void> = Promise.resolve();
  private readonly timing: EngineTiming;
  private readonly cipher: FrameCipher | null;
  /** SYNs both ways get at most this MSS, so TCP packets fit our MTU and legacy servers' buffers. */
  private readonly tcpMss: number;
  private readonly counters: TunnelStats = emptyStats();
  private lastRateSample = { atMs: 0, up: 0, down: 0 };
  // Reused per TUN batch: packet starts/lengths of the IPv4 packets to send (grown when a batch
  // is larger, e.g. a TSO super-packet cut into segments).
  private batchStarts = new Int32Array(TUN_BATCH_PACKETS);
  private batchLengths = new Int32Array(TUN_BATCH_PACKETS);
  private readonly tunWrites: Buffer[] = [];

  constructor(readonly profile: TunnelProfile, private readonly env: EngineEnvironment, timing: Partial<EngineTiming> = {}) {
    super();
    this.timing = { ...DEFAULT_TIMING, ...timing };
    this.cipher = profile.key ? new FrameCipher(profile.key) : null;
    this.tcpMss = Math.min(TUNNEL_TCP_MSS, profile.mtu - 40);
  }

  get state(): TunnelState {
    return this.current;
  }

  get stats(): TunnelStats {
    return { ...this.counters };
  }

  /** Starts connecting; watch 'state' (or await settled()). */
  connect(): void {
    if (this.current.kind !== 'idle' && this.current.kind !== 'failed') return;
    this.apply({ type: 'connect', server: this.profile.server, onLoss: this.profile.autoReconnect ? 'reconnect' : 'stop' });
    void this.runAttempt();
  }

  /** Disconnects from any state and resolves once every system change is undone. */
  async disconnect(): Promise<void> {
    if (this.current.kind === 'idle') return this.teardown;
    if (this.retryTimer !== null) {
      this.env.clock.clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.apply({ type: 'disconnect' });
    await this.tearDownAttempt();
    if (this.current.kind === 'disconnecting') this.apply({ type: 'torndown' });
    await this.guardFollowed;
  }

  /** Resolves with the next state that is connected, failed or idle. */
  settled(): Promise<TunnelState> {
    const done = (s: TunnelState) => s.kind === 'connected' || s.kind === 'failed' || s.kind === 'idle';
    if (done(this.current)) return Promise.resolve(this.current);
    return new Promise((resolve) => {
      const on = (s: TunnelState) => {
        if (!done(s)) return;
        this.off('state', on);
        resolve(s);
      };
      this.on('state', on);
    });
  }

  private apply(event: TunnelEvent): void {
    const next = transition(this.current, event);
    if (next === this.current) return;
    this.current = next;
    if (this.env.guard) {
      this.guardFollowed = this.env.guard.follow(next, this.profile.port).catch((err: Error) => {
        this.env.log.error(`the kill switch could not be set: ${err.message}`);
        if (this.attempt && (next.kind === 'connecting' || next.kind === 'connected')) {
          this.fail(this.attempt, 'system-config-failed', `the kill switch could not be set (${err.message}); install nftables, or turn the kill switch off`);
        }
      });
    }
    this.emit('state', next);
  }

  // ---- one connection attempt --------------------------------------------------------------------

  private async runAttempt(): Promise<void> {
    await this.teardown; // the previous attempt's system changes are undone first
    const a: Attempt = {
      generation: ++this.generation, socket: null, link: null, tun: null, timers: [], intervals: [],
      addressWatch: null, lastTickWallMs: 0, lastTickMonoMs: 0, receivedValidFrame: false, lastHeartbeatReceivedMs: 0, lastHeartbeatSentMs: 0,
    };
    this.attempt = a;
    const live = () => this.attempt === a && this.current.kind === 'connecting';

    const { server, port } = this.profile;
    let address: string;
    if (this.current.kind === 'connecting' && this.current.serverAddress !== null) {
      address = this.current.serverAddress; // a reconnect: the address the name had
    } else if (ipaddr.IPv6.isValid(server)) {
      address = server;
    } else {
      try {
        address = await this.env.resolveHost(server);
      } catch (err) {
        if (live()) this.fail(a, 'dns-failed', `cannot resolve ${server} to an IPv6 address: ${(err as Error).message}`);
        return;
      }
    }
    if (!live()) return;
    if (this.current.kind === 'connecting' && this.current.phase === 'resolving') this.apply({ type: 'resolved', serverAddress: address });

    const socket = this.env.connectTcp(address, port);
    a.socket = socket;
    const connected = await new Promise<Error | null>((resolve) => {
      const timer = this.env.clock.setTimeout(() => resolve(new Error(`no answer within ${this.timing.connectTimeoutMs / 1000} s`)), this.timing.connectTimeoutMs);
      socket.once('connect', () => { this.env.clock.clearTimeout(timer); resolve(null); });
      socket.once('error', (err) => { this.env.clock.clearTimeout(timer); resolve(err); });
    });
    if (!live()) return;
    if (connected) {
      this.fail(a, 'server-unreachable', `cannot connect to [${address}]:${port}: ${connected.message}`);
      return;
    }
    this.apply({ type: 'tcpConnected' });
    this.watchLocalAddress(a, socket.localAddress);

    a.link = new FrameLink(socket, {
      cipher: this.cipher,
      encryptOutgoing: this.cipher !== null,
      highWaterBytes: SOCKET_HIGH_WATER_BYTES,
    }, {
      onFrame: (type, payload, encrypted) => this.onFrame(a, type, payload, encrypted),
      onChunkEnd: () => this.flushTunWrites(a),
      onDecryptFailed: (err) => {
        this.counters.decryptFailures++;
        if (!a.receivedValidFrame) this.fail(a, 'wrong-key', `the server's frames do not decrypt with our key (${err.message})`);
      },
      onClose: (reason, err) => this.onLinkClosed(a, reason, err),
    });
    this.sendIpRequests(a);
  }

  private sendIpRequests(a: Attempt): void {
    let tries = 0;
    const send = () => {
      if (this.attempt !== a || this.current.kind !== 'connecting') return;
      if (tries >= this.timing.ipRequestTries) {
        this.fail(a, 'no-ipv4-offered', `no answer to ${tries} IP requests over ${(tries * this.timing.ipRequestIntervalMs) / 1000} s`);
        return;
      }
      tries++;
      a.link?.sendFrame(IP_REQUEST_FRAME);
      a.timers.push(this.env.clock.setTimeout(send, this.timing.ipRequestIntervalMs));
    };
    send();
  }

  private onFrame(a: Attempt, type: number, payload: Buffer, encrypted: boolean): void {
    if (this.attempt !== a) return;
    if (encrypted) a.receivedValidFrame = true;
    switch (type) {
      case MessageType.DataDown:
        if (!isIPv4Packet(payload, 0, payload.length) || !ipv4LengthMatches(payload, 0, payload.length)) {
          this.counters.droppedBadLength++;
          return;
        }
        clampTcpMss(payload, 0, payload.length, this.tcpMss);
        this.tunWrites.push(payload);
        return;
      case MessageType.Heartbeat:
        a.lastHeartbeatReceivedMs = this.env.clock.now();
        return;
      case MessageType.IpResponse:
        this.onIpResponse(a, payload);
        return;
      case MessageType.Unsupported:
        this.onUnsupported(a);
        return;
      case MessageType.Encrypted:
        // We have no key: say so, as legacy peers do.
        a.link?.sendPlainFrame(UNSUPPORTED_FRAME);
        return;
      default:
        return;
    }
  }

  private onUnsupported(a: Attempt): void {
    if (!this.cipher || !a.link?.encryptOutgoing) return;
    if (this.profile.allowPlaintext) {
      this.env.log.warn('the server cannot decrypt our frames; continuing WITHOUT encryption (profile allows plaintext)');
      a.link.encryptOutgoing = false;
      if (this.current.kind === 'connecting') a.link.sendFrame(IP_REQUEST_FRAME);
      return;
    }
    this.fail(a, 'wrong-key', 'the server answered 199: it has no key or a different key');
  }

  private onIpResponse(a: Attempt, payload: Buffer): void {
    if (this.current.kind !== 'connecting' || this.current.phase !== 'awaiting-ip') return; // a late resend's answer
    let offer;
    try {
      offer = parseIpResponse(payload);
    } catch (err) {
      if (err instanceof IpResponseError) {
        this.fail(a, 'bad-ip-response', err.message);
        return;
      }
      throw err;
    }
    for (const t of a.timers) this.env.clock.clearTimeout(t);
    a.timers = [];
    const lease: LeaseInfo = {
      address: offer.address,
      prefixLength: this.profile.prefixLength,
      route: offer.route,
      dns: this.profile.dns ? offer.dns : [],
      tunName: this.profile.tunName,
      mtu: this.profile.mtu,
    };
    void this.bringUp(a, lease);
  }

  private async bringUp(a: Attempt, lease: LeaseInfo): Promise<void> {
    const { net: netcfg, log } = this.env;
    let tun: PacketDevice;
    try {
      tun = this.env.openTun(lease.tunName);
    } catch (err) {
      this.fail(a, 'tun-failed', (err as Error).message);
      return;
    }
    if (this.attempt !== a) {
      tun.close();
      return;
    }
    a.tun = tun;
    const dev = tun.name;
    lease.tunName = dev;
    try {
      // The tunnel carries IPv4 only: without IPv6 on the device the kernel sends nothing it must drop.
      await netcfg.setSysctl(`net.ipv6.conf.${dev}.disable_ipv6`, '1').catch((err: Error) => log.debug(`IPv6 stays on ${dev}: ${err.message}`));
      await netcfg.addAddress(dev, lease.address, lease.prefixLength);
      await netcfg.setMtu(dev, lease.mtu);
      await netcfg.setUp(dev);
      if (this.profile.defaultRoute && lease.route === '0.0.0.0') await netcfg.addDefaultRoute(dev);
      else if (lease.route !== '0.0.0.0') log.warn(`server offered route ${lease.route}; only 0.0.0.0 (default route) is understood, ignored`);
      if (lease.dns.length > 0) await netcfg.setDns(dev, lease.dns, { resolvConfPath: this.env.resolvConfPath });
    } catch (err) {
      if (this.attempt === a) this.fail(a, 'system-config-failed', (err as Error).message);
      return;
    }
    if (this.attempt !== a || this.current.kind !== 'connecting') return;

    const now = this.env.clock.now();
    a.lastHeartbeatReceivedMs = now;
    a.lastHeartbeatSentMs = -Infinity; // first heartbeat at the first tick, as the legacy Linux client
    this.lastRateSample = { atMs: now, up: this.counters.bytesUp, down: this.counters.bytesDown };
    tun.startReading((scratch, lengths, count) => this.onTunBatch(a, scratch, lengths, count), {
      headroom: FRAME_HEADER_BYTES,
      maxBatch: TUN_BATCH_PACKETS,
      maxPacketBytes: TUN_READ_PACKET_BYTES,
      onError: (err) => this.fail(a, 'tun-failed', `reading the TUN device failed: ${err.message}`),
    });
    a.lastTickWallMs = this.env.clock.wallNow();
    a.lastTickMonoMs = this.env.clock.now();
    a.intervals.push(this.env.clock.setInterval(() => this.tick(a), this.timing.tickMs));
    this.apply({ type: 'leaseReceived', lease, nowMs: this.env.clock.wallNow() });
  }

  // ---- data path ---------------------------------------------------------------------------------

  private onTunBatch(a: Attempt, scratch: Buffer, lengths: Int32Array, count: number): void {
    const link = a.link;
    if (!link) return;
    if (count > this.batchStarts.length) {
      this.batchStarts = new Int32Array(count);
      this.batchLengths = new Int32Array(count);
    }
    const limit = this.cipher && link.encryptOutgoing ? MAX_INNER_FRAME_BYTES - FRAME_HEADER_BYTES : 2048;
    let p = 0;
    let n = 0;
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const len = lengths[i];
      const start = p + FRAME_HEADER_BYTES;
      p = start + len;
      if (!isIPv4Packet(scratch, start, len)) {
        this.counters.droppedNotIpv4++; // the tunnel carries IPv4 only (protocol.md "Transport")
        continue;
      }
      if (len > limit) {
        this.counters.droppedTooLarge++;
        continue;
      }
      clampTcpMss(scratch, start, len, this.tcpMss);
      this.batchStarts[n] = start;
      this.batchLengths[n] = len;
      bytes += len;
      n++;
    }
    if (n === 0) return;
    if (link.sendPackets(MessageType.DataUp, scratch, this.batchStarts, this.batchLengths, n)) {
      this.counters.packetsUp += n;
      this.counters.bytesUp += bytes;
    } else {
      this.counters.droppedPeerTooSlow += n;
    }
  }

  private flushTunWrites(a: Attempt): void {
    const n = this.tunWrites.length;
    if (n === 0) return;
    if (a.tun && this.attempt === a) {
      const written = a.tun.writePackets(this.tunWrites, n);
      for (let i = 0; i < written; i++) this.counters.bytesDown += this.tunWrites[i].length;
      this.counters.packetsDown += written;
      this.counters.droppedTunWrite += n - written;
    }
    this.tunWrites.length = 0;
  }

  private tick(a: Attempt): void {
    if (this.attempt !== a || this.current.kind !== 'connected') return;
    const now = this.env.clock.now();
    const wall = this.env.clock.wallNow();
    const asleepMs = wall - a.lastTickWallMs - (now - a.lastTickMonoMs);
    a.lastTickWallMs = wall;
    a.lastTickMonoMs = now;
    if (asleepMs >= SUSPEND_DETECT_MS) {
      // The server kept counting while we slept: past its heartbeat timeout the session is gone, and
      // waiting for ours (monotonic, so it stood still too) would leave the user without a tunnel.
      if (asleepMs + (now - a.lastHeartbeatReceivedMs) > this.timing.heartbeatTimeoutMs) {
        this.fail(a, 'connection-lost', `this computer was asleep for ${Math.round(asleepMs / 1000)} s, longer than the server waits for a heartbeat`);
        return;
      }
      this.env.log.info(`this computer was asleep for ${Math.round(asleepMs / 1000)} s: checking the link with a heartbeat`);
      a.lastHeartbeatSentMs = -Infinity; // a dead connection then fails at once instead of in 20 s
    }
    if (now - a.lastHeartbeatReceivedMs > this.timing.heartbeatTimeoutMs) {
      this.fail(a, 'heartbeat-lost', `no heartbeat from the server for ${Math.round((now - a.lastHeartbeatReceivedMs) / 1000)} s`);
      return;
    }
    if (now - a.lastHeartbeatSentMs >= this.timing.heartbeatIntervalMs) {
      a.lastHeartbeatSentMs = now;
      a.link?.sendFrame(HEARTBEAT_FRAME);
    }
    const elapsed = Math.max(1, now - this.lastRateSample.atMs) / 1000;
    this.counters.rateUp = (this.counters.bytesUp - this.lastRateSample.up) / elapsed;
    this.counters.rateDown = (this.counters.bytesDown - this.lastRateSample.down) / elapsed;
    this.counters.lastHeartbeatAgoMs = now - a.lastHeartbeatReceivedMs;
    this.lastRateSample = { atMs: now, up: this.counters.bytesUp, down: this.counters.bytesDown };
    this.emit('stats', this.stats);
  }

  // ---- failure, reconnect, teardown ----------------------------------------------------------------

  private onLinkClosed(a: Attempt, reason: string, err?: Error): void {
    if (this.attempt !== a) return;
    if (this.current.kind === 'disconnecting' || this.current.kind === 'idle') return;
    if (err?.name === 'MalformedFrameError') {
      this.fail(a, 'protocol-error', reason);
    } else if (this.current.kind === 'connecting' && !a.receivedValidFrame) {
      // Closed before any answer: our server does this when it requires encryption and we sent plaintext.
      this.fail(a, this.cipher ? 'connection-lost' : 'plaintext-refused', `the server closed the connection before offering an address (${reason})`);
    } else {
      this.fail(a, 'connection-lost', reason);
    }
  }

  private fail(a: Attempt, reason: FailureReason, message: string): void {
    if (this.attempt !== a) return;
    const failure: Failure = { reason, message: `${FAILURE_TEXT[reason]}: ${message}` };
    this.env.log.warn(failure.message);
    this.apply({ type: 'failed', failure });
    const torn = this.tearDownAttempt();
    if (this.current.kind === 'reconnecting') {
      this.counters.reconnects++;
      const delay = this.current.retryInMs;
      this.retryTimer = this.env.clock.setTimeout(() => {
        this.retryTimer = null;
        if (this.current.kind !== 'reconnecting') return;
        this.apply({ type: 'retry' });
        void this.runAttempt();
      }, delay);
    } else {
      void torn.then(() => {
        if (this.current.kind === 'disconnecting') this.apply({ type: 'torndown' });
      });
    }
  }

  /**
   * A connection is bound to its local address: when that address goes away (a network change), the
   * connection is dead though nothing tells the socket. Reconnect at once instead of after the
   * heartbeat timeout.
   */
  private watchLocalAddress(a: Attempt, local: string | undefined): void {
    if (!this.env.watchRemovedAddresses || !local) return;
    const ours = normalizeIpv6(local);
    if (ours === null) return;
    a.addressWatch = this.env.watchRemovedAddresses((removed) => {
      if (normalizeIpv6(removed) !== ours || this.attempt !== a) return;
      this.fail(a, 'network-changed', `this computer's address ${local} went away (network change)`);
    });
  }

  /** Stops I/O at once, then undoes system changes; concurrent callers share one teardown. */
  private tearDownAttempt(): Promise<void> {
    const a = this.attempt;
    this.attempt = null;
    if (a) {
      a.addressWatch?.stop();
      for (const t of a.timers) this.env.clock.clearTimeout(t);
      for (const t of a.intervals) this.env.clock.clearInterval(t);
      a.tun?.stopReading();
      a.link?.close('disconnecting');
      if (!a.link) a.socket?.destroy();
      this.tunWrites.length = 0;
    }
    const tun = a?.tun ?? null;
    this.teardown = this.teardown.then(async () => {
      await this.guardFollowed;
      try {
        await this.env.net.undoTunnel();
      } catch (err) {
        this.env.log.error(`restoring network settings failed: ${(err as Error).message}`);
      }
      tun?.close();
      this.counters.lastHeartbeatAgoMs = null;
      this.counters.rateUp = 0;
      this.counters.rateDown = 0;
    });
    return this.teardown;
  }
}

function emptyStats(): TunnelStats {
  return {
    ...emptyTrafficCounters(), droppedNotIpv4: 0, droppedBadLength: 0, droppedPeerTooSlow: 0, droppedTooLarge: 0,
    droppedTunWrite: 0, decryptFailures: 0,
  };
}

/** Default environment pieces for a real system. */
export async function resolveAaaa(host: string): Promise<string> {
  const { lookup } = await import('node:dns/promises');
  const { address } = await lookup(host, { family: 6 });
  return address;
}

export function connectTcpOverIpv6(address: string, port: number): net.Socket {
  return connectWithSharedReads({ host: address, port, family: 6, noDelay: true });
}

function normalizeIpv6(address: string): string | null {
  try {
    return ipaddr.IPv6.parse(address).toNormalizedString();
  } catch {
    return null;
  }
}

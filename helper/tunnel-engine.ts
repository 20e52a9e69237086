// The client tunnel engine: one tunnel to a gateway, driven by the state machine in
// contract/tunnel-state.ts. Used by the headless CLI (`4over6 connect`) and by the root helper.
//
// transition() decides; the engine carries it out on leaving and entering states:
//   connecting     a TunnelAttempt (helper/tunnel-attempt.ts): lookup, TCP, IP requests
//   (offer)        first session: TUN device, address, MTU, routes, DNS; a reconnect: nothing, or
//                  the address swapped in place when the gateway gave another one
//   connected      ticks (helper/liveness.ts: heartbeats, suspend and silence), packets both ways
//                  (helper/packet-path.ts), the reconnect queue sent first
//   reconnecting   the attempt closed; device, address, routes and DNS stay; a timer for retryInMs,
//                  or the network coming back (netconfig/address-watch.ts), starts the next attempt
//   disconnecting  every system change undone (the kill switch's table follows its own rules)
// Every clock and side effect comes in through EngineEnvironment (helper/engine-environment.ts).
// By hand: `sudo node dist/helper/cli.js connect -c client_config.yaml` against `npm run server`.
import { EventEmitter } from 'node:events';
import ipaddr from 'ipaddr.js';
import {
  FAILURE_TEXT, IDLE, type FailureReason, type LeaseInfo, type TunnelEvent, type TunnelState, transition,
} from '../contract/tunnel-state';
import type { PacketDevice } from '../link/packet-device';
import type { NetworkEvent } from '../netconfig/address-watch';
import { frameAead } from '../protocol/aead-engine';
import { FrameCipher } from '../protocol/crypto';
import { TUN_HEADROOM_BYTES } from '../link/data-path';
import { MessageType, encodeFrame } from '../protocol/frame';
import type { IpLease } from '../protocol/messages';
import { DEFAULT_TIMING, type EngineEnvironment, type EngineTiming, type TunnelProfile, type TunnelStats } from './engine-environment';
import { type SessionTimes, checkLiveness } from './liveness';
import { PacketPath, TUN_BATCH_PACKETS, TUN_READ_PACKET_BYTES } from './packet-path';
import { TunnelAttempt } from './tunnel-attempt';

export {
  type Clock, DEFAULT_TIMING, type EngineEnvironment, type EngineTiming, type NetworkConfigurator, type TunnelProfile,
  type TunnelStats, connectTcpOverIpv6, resolveAaaa, systemClock,
} from './engine-environment';

const HEARTBEAT_FRAME = encodeFrame(MessageType.Heartbeat);
/** Network changes come in bursts (address, route, link): one reaction per burst. */
const NETWORK_SETTLE_MS = 100;

/** The TUN device and the lease configured on it; kept across reconnects. */
interface Device {
  tun: PacketDevice;
  lease: LeaseInfo;
}

export interface TunnelEngineEvents {
  state: [TunnelState];
  stats: [TunnelStats];
}

export class TunnelEngine extends EventEmitter<TunnelEngineEvents> {
  private current: TunnelState = IDLE;
  private attempt: TunnelAttempt | null = null;
  /** The local address of the attempt's TCP connection (its removal means a network change). */
  private localAddress: { text: string; normalized: string } | null = null;
  private device: Device | null = null;
  private session: SessionTimes | null = null;
  private tickTimer: unknown = null;
  private retryTimer: unknown = null;
  private networkTimer: unknown = null;
  private networkWatch: { stop(): void } | null = null;
  private teardown: Promise<void> = Promise.resolve();
  /** System changes for an offer still being made: a teardown waits for them, then undoes them. */
  private configuring: Promise<void> = Promise.resolve();
  /** The kill switch's work for the latest state: a teardown waits for it (the block goes up before routes go). */
  private guardFollowed: Promise<void> = Promise.resolve();
  private readonly timing: EngineTiming;
  private readonly cipher: FrameCipher | null;
  private readonly packets: PacketPath;
  private lastRateSample = { atMs: 0, up: 0, down: 0 };

  constructor(readonly profile: TunnelProfile, private readonly env: EngineEnvironment, timing: Partial<EngineTiming> = {}) {
    super();
    this.timing = { ...DEFAULT_TIMING, ...timing };
    this.cipher = profile.key ? new FrameCipher(profile.key) : null;
    const fallback = frameAead().fallbackReason;
    if (this.cipher && fallback) env.log.warn(`sealing with libsodium, which is slower: OpenSSL's libcrypto is not used (${fallback})`);
    this.packets = new PacketPath(profile.mtu, this.timing.reconnectQueuePackets, () => this.cipher !== null);
  }

  get state(): TunnelState {
    return this.current;
  }

  get stats(): TunnelStats {
    return { ...this.packets.counters };
  }

  /** Starts connecting; watch 'state' (or await settled()). */
  connect(): void {
    this.apply({ type: 'connect', server: this.profile.server, onLoss: this.profile.autoReconnect ? 'reconnect' : 'stop' });
  }

  /** Disconnects from any state and resolves once every system change is undone. */
  async disconnect(): Promise<void> {
    this.apply({ type: 'disconnect' });
    await this.teardown;
    await this.guardFollowed;
  }

  /** Resolves once the system is in line with the current state (teardown and kill switch done). */
  async systemSettled(): Promise<void> {
    await this.teardown;
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

  // ---- the state machine: exit actions, the new state, entry actions ------------------------------

  private apply(event: TunnelEvent): void {
    const prev = this.current;
    const next = transition(prev, event);
    if (next === prev) return;
    this.leave(prev, next);
    this.current = next;
    if (this.env.guard) this.guardFollowed = this.followGuard(next);
    this.emit('state', next);
    if (this.current === next) this.enter(prev, next);
  }

  private leave(prev: TunnelState, next: TunnelState): void {
    const sameAttempt = next.kind === 'connected' ||
      (next.kind === 'connecting' && prev.kind === 'connecting' && next.attempt === prev.attempt);
    if ((prev.kind === 'connecting' || prev.kind === 'connected') && !sameAttempt) this.closeAttempt();
    if (prev.kind === 'connected') this.stopSession();
    if (prev.kind === 'reconnecting') this.cancelTimer('retryTimer');
  }

  private enter(prev: TunnelState, next: TunnelState): void {
    switch (next.kind) {
      case 'connecting':
        if (prev.kind === 'idle' || prev.kind === 'failed') this.startNetworkWatch();
        if (this.attempt === null) this.startAttempt(next);
        return;
      case 'connected':
        this.startSession();
        return;
      case 'reconnecting':
        this.packets.counters.reconnects++;
        this.retryTimer = this.env.clock.setTimeout(() => {
          this.retryTimer = null;
          this.apply({ type: 'retry' });
        }, next.retryInMs);
        return;
      case 'disconnecting':
        this.teardown = this.tearDown().then(() => this.apply({ type: 'torndown' }));
        return;
      case 'idle':
      case 'failed':
        this.stopNetworkWatch();
        return;
    }
  }

  private fail(reason: FailureReason, message: string): void {
    const failure = { reason, message: `${FAILURE_TEXT[reason]}: ${message}` };
    this.env.log.warn(failure.message);
    this.apply({ type: 'failed', failure });
  }

  private followGuard(state: TunnelState): Promise<void> {
    return this.env.guard!.follow(state, this.profile.port).catch((err: Error) => {
      this.env.log.error(`the kill switch could not be set: ${err.message}`);
      if (this.current === state && (state.kind === 'connecting' || state.kind === 'connected' || state.kind === 'reconnecting')) {
        this.fail('system-config-failed', `the kill switch could not be set (${err.message}); install nftables, or turn the kill switch off`);
      }
    });
  }

  // ---- connecting: one attempt ----------------------------------------------------------------------

  private startAttempt(s: Extract<TunnelState, { kind: 'connecting' }>): void {
    const attempt = new TunnelAttempt({
      profile: this.profile, env: this.env, timing: this.timing, cipher: this.cipher, previousAddress: s.held?.address ?? null,
      offerSuperPackets: this.env.superPackets === true,
    }, {
      resolved: (serverAddress) => this.ifCurrent(attempt, () => this.apply({ type: 'resolved', serverAddress })),
      tcpConnected: (local) => this.ifCurrent(attempt, () => {
        const normalized = local === null ? null : normalizeIpv6(local);
        this.localAddress = local !== null && normalized !== null ? { text: local, normalized } : null;
        this.apply({ type: 'tcpConnected' });
      }),
      offered: (offer) => this.ifCurrent(attempt, () => void this.onOffer(attempt, offer)),
      packetDown: (packet, kind) => this.packets.downstream(packet, kind),
      chunkEnd: () => this.packets.flush(this.attempt === attempt ? this.device?.tun ?? null : null),
      heartbeat: () => {
        if (this.session && this.attempt === attempt) this.session.lastHeartbeatReceivedMs = this.env.clock.now();
      },
      decryptFailed: () => this.packets.counters.decryptFailures++,
      failed: (reason, message) => this.ifCurrent(attempt, () => this.fail(reason, message)),
    });
    this.attempt = attempt;
    void attempt.start(s.serverAddress);
  }

  private ifCurrent(attempt: TunnelAttempt, fn: () => void): void {
    if (this.attempt === attempt) fn();
  }

  private closeAttempt(): void {
    this.attempt?.close();
    this.attempt = null;
    this.localAddress = null;
  }

  /** The gateway offered an address: configure it (or keep the held one), then connected. */
  private async onOffer(attempt: TunnelAttempt, offer: IpLease): Promise<void> {
    const lease: LeaseInfo = {
      address: offer.address,
      prefixLength: this.profile.prefixLength,
      route: offer.route,
      dns: this.profile.dns ? offer.dns : [],
      tunName: this.device?.lease.tunName ?? this.profile.tunName,
      mtu: this.profile.mtu,
    };
    const work = this.device === null ? this.bringUp(lease, attempt) : this.adopt(lease);
    this.configuring = work.then(() => undefined, () => undefined);
    try {
      await work;
    } catch (err) {
      if (this.attempt === attempt) this.fail((err as { tunFailed?: boolean }).tunFailed ? 'tun-failed' : 'system-config-failed', (err as Error).message);
      return;
    }
    if (this.attempt !== attempt) return;
    const event: TunnelEvent = { type: 'leaseReceived', lease: this.device!.lease, nowMs: this.env.clock.wallNow() };
    const next = transition(this.current, event);
    // "Connected" means traffic flows: the kill switch lets the tunnel through first. (Its failure,
    // if any, is handled when the state is entered.)
    if (this.env.guard && next.kind === 'connected') await this.env.guard.follow(next, this.profile.port).catch(() => undefined);
    if (this.attempt !== attempt) return;
    this.apply(event);
  }

  /** The first session: the TUN device and every system change for the lease. */
  private async bringUp(lease: LeaseInfo, attempt: TunnelAttempt): Promise<void> {
    const { net: netcfg, log } = this.env;
    // Given up meanwhile (a disconnect): make no further change; the teardown undoes the ones made.
    const stillWanted = (): void => {
      if (this.attempt !== attempt) throw new Error('the attempt ended while the tunnel was being set up');
    };
    let tun: PacketDevice;
    try {
      tun = this.env.openTun(lease.tunName);
    } catch (err) {
      throw Object.assign(new Error((err as Error).message), { tunFailed: true });
    }
    const device: Device = { tun, lease: { ...lease, tunName: tun.name } };
    this.device = device; // from here on a teardown closes it
    const dev = tun.name;
    // The tunnel carries IPv4 only: without IPv6 on the device the kernel sends nothing it must drop.
    await netcfg.setSysctl(`net.ipv6.conf.${dev}.disable_ipv6`, '1').catch((err: Error) => log.debug(`IPv6 stays on ${dev}: ${err.message}`));
    // A reconnect may bring another address in the same subnet: the new one then must survive the
    // old (primary) one's removal, as a secondary promoted to primary.
    await netcfg.setSysctl(`net.ipv4.conf.${dev}.promote_secondaries`, '1').catch((err: Error) => log.debug(`promote_secondaries not set on ${dev}: ${err.message}`));
    stillWanted();
    await netcfg.addAddress(dev, lease.address, lease.prefixLength);
    stillWanted();
    await netcfg.setMtu(dev, lease.mtu);
    stillWanted();
    await netcfg.setUp(dev);
    stillWanted();
    if (this.profile.defaultRoute && lease.route === '0.0.0.0') await netcfg.addDefaultRoute(dev);
    else if (lease.route !== '0.0.0.0') log.warn(`server offered route ${lease.route}; only 0.0.0.0 (default route) is understood, ignored`);
    stillWanted();
    if (lease.dns.length > 0) await netcfg.setDns(dev, lease.dns, { resolvConfPath: this.env.resolvConfPath });
    stillWanted();
    tun.startReading((scratch, lengths, count, kinds) => this.onTunBatch(scratch, lengths, count, kinds ?? null), {
      headroom: TUN_HEADROOM_BYTES,
      superPackets: this.env.superPackets === true,
      maxBatch: TUN_BATCH_PACKETS,
      maxPacketBytes: TUN_READ_PACKET_BYTES,
      onError: (err) => {
        if (this.device === device) this.fail('tun-failed', `reading the TUN device failed: ${err.message}`);
      },
    });
  }

  /** A reconnect: the held device carries on; only what the gateway changed is changed. */
  private async adopt(lease: LeaseInfo): Promise<void> {
    const device = this.device!;
    const held = device.lease;
    const { net: netcfg, log } = this.env;
    if (lease.address !== held.address) {
      log.warn(`the gateway gave another address: ${lease.address} instead of ${held.address}; connections from ${held.address} end`);
      await netcfg.replaceAddress(held.tunName, held.address, lease.address, held.prefixLength);
    }
    if (lease.dns.join() !== held.dns.join()) {
      if (lease.dns.length > 0) await netcfg.setDns(held.tunName, lease.dns, { resolvConfPath: this.env.resolvConfPath });
      else log.warn(`the gateway offered no DNS servers this time; ${held.dns.join(', ')} stay in use`);
    }
    device.lease = { ...held, address: lease.address, route: lease.route, dns: lease.dns.length > 0 ? lease.dns : held.dns };
    if (lease.address === held.address) log.info(`the gateway gave ${lease.address} back: nothing on this system changes`);
  }

  // ---- connected: the session -------------------------------------------------------------------------

  private startSession(): void {
    const now = this.env.clock.now();
    this.session = {
      nowMs: now, wallMs: this.env.clock.wallNow(), lastTickMonoMs: now, lastTickWallMs: this.env.clock.wallNow(),
      lastHeartbeatReceivedMs: now,
      lastHeartbeatSentMs: -Infinity, // first heartbeat at the first tick, as the legacy Linux client
    };
    this.lastRateSample = { atMs: now, up: this.packets.counters.bytesUp, down: this.packets.counters.bytesDown };
    const link = this.attempt?.link;
    if (link) this.packets.releaseHeld(link);
    this.tickTimer = this.env.clock.setInterval(() => this.tick(), this.timing.tickMs);
  }

  private stopSession(): void {
    if (this.tickTimer !== null) this.env.clock.clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.session = null;
    this.packets.counters.lastHeartbeatAgoMs = null;
    this.packets.counters.rateUp = 0;
    this.packets.counters.rateDown = 0;
  }

  private onTunBatch(scratch: Buffer, lengths: Int32Array, count: number, kinds: Uint8Array | null): void {
    const link = this.current.kind === 'connected' ? this.attempt?.link ?? null : null;
    this.packets.upstream(scratch, lengths, count, kinds, link);
  }

  private tick(): void {
    const s = this.session;
    if (s === null || this.current.kind !== 'connected') return;
    s.nowMs = this.env.clock.now();
    s.wallMs = this.env.clock.wallNow();
    const verdict = checkLiveness(s, this.timing);
    s.lastTickMonoMs = s.nowMs;
    s.lastTickWallMs = s.wallMs;
    if (verdict.kind === 'lost') {
      this.fail(verdict.reason, verdict.message);
      return;
    }
    if (verdict.sleptMs !== null) this.env.log.info(`this computer was asleep for ${Math.round(verdict.sleptMs / 1000)} s: checking the link with a heartbeat`);
    if (verdict.sendHeartbeat) {
      s.lastHeartbeatSentMs = s.nowMs;
      this.attempt?.sendFrame(HEARTBEAT_FRAME);
    }
    const c = this.packets.counters;
    const elapsed = Math.max(1, s.nowMs - this.lastRateSample.atMs) / 1000;
    c.rateUp = (c.bytesUp - this.lastRateSample.up) / elapsed;
    c.rateDown = (c.bytesDown - this.lastRateSample.down) / elapsed;
    c.lastHeartbeatAgoMs = s.nowMs - s.lastHeartbeatReceivedMs;
    this.lastRateSample = { atMs: s.nowMs, up: c.bytesUp, down: c.bytesDown };
    this.emit('stats', this.stats);
  }

  // ---- the network: lost addresses, and the network coming back ------------------------------------

  private startNetworkWatch(): void {
    if (!this.env.watchNetwork || this.networkWatch) return;
    this.networkWatch = this.env.watchNetwork((event) => this.onNetworkEvent(event));
  }

  private stopNetworkWatch(): void {
    this.networkWatch?.stop();
    this.networkWatch = null;
    this.cancelTimer('networkTimer');
  }

  private onNetworkEvent(event: NetworkEvent): void {
    if (event.kind === 'address-removed') {
      // A connection is bound to its local address: when it goes away the connection is dead, though
      // nothing tells the socket.
      if (this.localAddress !== null && normalizeIpv6(event.address) === this.localAddress.normalized) {
        this.fail('network-changed', `this computer's address ${this.localAddress.text} went away (network change)`);
      }
      return;
    }
    if (this.current.kind !== 'reconnecting' && !(this.current.kind === 'connecting' && this.current.held !== null)) return;
    if (this.networkTimer !== null) return;
    this.networkTimer = this.env.clock.setTimeout(() => {
      this.networkTimer = null;
      this.env.log.info('the network is back: reconnecting now');
      this.apply({ type: 'networkUp' });
    }, NETWORK_SETTLE_MS);
  }

  // ---- disconnecting --------------------------------------------------------------------------------

  /** Undoes every system change (after the kill switch blocked, if it does) and closes the device. */
  private async tearDown(): Promise<void> {
    this.stopNetworkWatch();
    this.packets.dropHeld();
    await this.configuring;
    const device = this.device;
    this.device = null;
    device?.tun.stopReading();
    await this.guardFollowed;
    try {
      await this.env.net.undoTunnel();
    } catch (err) {
      this.env.log.error(`restoring network settings failed: ${(err as Error).message}`);
    }
    device?.tun.close();
  }

  private cancelTimer(which: 'retryTimer' | 'networkTimer'): void {
    if (this[which] !== null) this.env.clock.clearTimeout(this[which]);
    this[which] = null;
  }
}

function normalizeIpv6(address: string): string | null {
  try {
    return ipaddr.IPv6.parse(address).toNormalizedString();
  } catch {
    return null;
  }
}

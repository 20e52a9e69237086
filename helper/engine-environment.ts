// What the tunnel engine is given: the profile, the timings, and every clock and side effect
// (TUN devices, system configuration, name lookups, TCP, network events, the kill switch), so tests
// can drive it. helper/system-environment.ts is the real one.
import type net from 'node:net';
import type { TrafficCounters } from '../contract/helper-api';
import { emptyTrafficCounters } from '../contract/stats';
import type { PacketDevice } from '../link/packet-device';
import { connectWithSharedReads } from '../link/socket-read';
import type { Logger } from '../log/logger';
import type { NetworkEvent } from '../netconfig/address-watch';
import type { TrafficGuard } from './kill-switch';

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
  /**
   * This client's identity toward this gateway (32 lowercase hex digits, helper/client-ids.ts), sent
   * in the IP request so the gateway gives the same address back; null: send the legacy empty request.
   */
  clientId?: string | null;
}

/** The system changes the engine makes; netconfig/NetConfigurator implements it. */
export interface NetworkConfigurator {
  addAddress(dev: string, address: string, prefixLength: number): Promise<void>;
  /** A reconnect that got another address: the new one in, the old one out, routes kept. */
  replaceAddress(dev: string, oldAddress: string, newAddress: string, prefixLength: number): Promise<void>;
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
  /**
   * The TUN devices openTun makes read and write whole TCP super-packets (a vnet device with TSO):
   * the engine offers super-packets to the gateway (docs/protocol.md "Super-packets"). Default off.
   */
  superPackets?: boolean;
  /** Reports this host's network changes (netconfig/address-watch); optional. */
  watchNetwork?(onEvent: (event: NetworkEvent) => void): { stop(): void };
}

/** protocol.md "Session behaviour", client side, and the reconnect queue. */
export interface EngineTiming {
  ipRequestIntervalMs: number;
  ipRequestTries: number;
  tickMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  connectTimeoutMs: number;
  /**
   * Packets from applications kept while reconnecting (the newest ones; 0: drop them all) and sent
   * once the tunnel is back: a TCP sender's last retransmission then goes out at once instead of at
   * its next, backed-off timeout (docs/performance.md, "Roaming").
   */
  reconnectQueuePackets: number;
}

export const DEFAULT_TIMING: EngineTiming = {
  ipRequestIntervalMs: 3000,
  ipRequestTries: 5,
  tickMs: 1000,
  heartbeatIntervalMs: 20_000,
  heartbeatTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  reconnectQueuePackets: 64,
};

export interface TunnelStats extends TrafficCounters {
  droppedNotIpv4: number;
  /** From the server, not a whole IPv4 packet (e.g. cut at 1496 bytes by a legacy server). */
  droppedBadLength: number;
  droppedPeerTooSlow: number;
  droppedTooLarge: number;
  droppedTunWrite: number;
  /** From applications while the tunnel was reconnecting, beyond what the reconnect queue keeps. */
  droppedReconnecting: number;
  decryptFailures: number;
}

export function emptyTunnelStats(): TunnelStats {
  return {
    ...emptyTrafficCounters(), droppedNotIpv4: 0, droppedBadLength: 0, droppedPeerTooSlow: 0, droppedTooLarge: 0,
    droppedTunWrite: 0, droppedReconnecting: 0, decryptFailures: 0,
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

// The kill switch: which guard table (netconfig/guard-table.ts) the tunnel's state calls for under the
// user's mode, and keeping the system in line with it. One per process (the CLI, the root helper),
// outliving any one engine: lockdown blocks before the first connect and after the last disconnect.
//
//   mode      idle, failed   connecting (first)        connected   reconnecting /   disconnecting
//                            resolving | tcp, awaiting             connecting (held)
//   off       -              -         | -               -           -                -
//   on        -              -         | block           tunnel      tunnel (held)    block
//   lockdown  block          block     | block           tunnel      tunnel (held)    block
//
// "block": IPv4 leaves only to loopback (and the LAN with allowLan); DNS is not restricted further,
// so the gateway's name can still be looked up over IPv6. "tunnel": IPv4 leaves only through the
// tunnel device, DNS goes only to the tunnel's DNS servers. While reconnecting the device is still
// there but carries nothing, so both block; "tunnel" keeps DNS pinned to the tunnel's servers.
// A first connect in mode `on` lets the name lookup happen before blocking (the system's resolver may
// be an IPv4 one that "block" would cut off).
import type { GuardStatus, KillSwitchMode } from '../contract/helper-api';
import { IDLE, type LeaseInfo, type TunnelState } from '../contract/tunnel-state';
import type { Logger } from '../log/logger';
import { runCommand } from '../netconfig/command';
import { type GuardSpec, localIpv4Networks } from '../netconfig/guard-table';

/** What the kill switch needs from the system (netconfig/NetConfigurator implements it). */
export interface GuardTableControl {
  setGuard(spec: GuardSpec): Promise<void>;
  removeGuard(): Promise<unknown>;
}

/** What the engine tells the kill switch: each state it enters, and the gateway port it uses. */
export interface TrafficGuard {
  follow(state: TunnelState, gatewayPort: number): Promise<void>;
}

/** The guard table the state calls for under mode (null: none). Pure. */
export function guardSpecFor(mode: KillSwitchMode, state: TunnelState, gatewayPort: number | null, lanNetworks: string[]): GuardSpec | null {
  if (mode === 'off') return null;
  const block = (gatewayAddress: string | null): GuardSpec => ({
    tunnelDev: null, dnsServers: null, lanNetworks,
    gateway: gatewayAddress !== null && gatewayPort !== null ? { address: gatewayAddress, port: gatewayPort } : null,
  });
  const tunnel = (lease: LeaseInfo, gatewayAddress: string | null): GuardSpec => ({
    ...block(gatewayAddress),
    tunnelDev: lease.tunName,
    // Without the server's DNS (the profile's choice) the system's own servers stay in use.
    dnsServers: lease.dns.length > 0 ? lease.dns : null,
  });
  switch (state.kind) {
    case 'idle':
    case 'failed':
      return mode === 'lockdown' ? block(null) : null;
    case 'connecting':
      if (state.held !== null) return tunnel(state.held, state.serverAddress);
      return state.phase === 'resolving' && mode === 'on' ? null : block(state.serverAddress);
    case 'connected':
      return tunnel(state.lease, state.serverAddress);
    case 'reconnecting':
      return tunnel(state.held, state.serverAddress);
    case 'disconnecting':
      return block(null);
  }
}

/** The tunnel device a state has on the system (left out of the LAN). */
function tunnelDevOf(state: TunnelState): string | null {
  if (state.kind === 'connected') return state.lease.tunName;
  if (state.kind === 'reconnecting') return state.held.tunName;
  if (state.kind === 'connecting') return state.held?.tunName ?? null;
  return null;
}

export interface KillSwitchOptions {
  mode: KillSwitchMode;
  allowLan: boolean;
  log: Logger;
  /**
   * Called after each change of what status() says (the table set, changed or lifted). The table's
   * own change notice comes while the table is changed, before status() is updated: a report taken
   * then (the helper's `system` event) still says the old state, and this one follows it.
   */
  onStatusChange?: () => void;
  /** The IPv4 networks of this computer's interfaces but the excluded ones; default: `ip -j -4 addr show`. */
  readLanNetworks?: (excludeDevs: string[]) => Promise<string[]>;
}

export class KillSwitch implements TrafficGuard {
  private mode: KillSwitchMode;
  private allowLan: boolean;
  private state: TunnelState = IDLE;
  private gatewayPort: number | null = null;
  /** The spec in place (as JSON), null when there is no table. */
  private applied: string | null = null;
  private queue: Promise<void> = Promise.resolve();
  private readonly readLanNetworks: (excludeDevs: string[]) => Promise<string[]>;

  constructor(private readonly table: GuardTableControl, private readonly opts: KillSwitchOptions) {
    this.mode = opts.mode;
    this.allowLan = opts.allowLan;
    this.readLanNetworks = opts.readLanNetworks ?? readLocalIpv4Networks;
  }

  /** Changes the mode; resolves once the system is in line with it (rejects if the table cannot be set). */
  set(mode: KillSwitchMode, allowLan: boolean): Promise<void> {
    this.mode = mode;
    this.allowLan = allowLan;
    return this.sync();
  }

  follow(state: TunnelState, gatewayPort: number): Promise<void> {
    this.state = state;
    this.gatewayPort = gatewayPort;
    return this.sync();
  }

  status(): GuardStatus {
    const active = this.applied !== null;
    return { mode: this.mode, allowLan: this.allowLan, active, blocking: active && this.state.kind !== 'connected' };
  }

  /** Applies what the latest mode and state call for; calls run one after another. */
  private sync(): Promise<void> {
    const run = async (): Promise<void> => {
      const lan = this.allowLan && this.mode !== 'off'
        ? await this.readLanNetworks([tunnelDevOf(this.state)].filter((d): d is string => d !== null))
        : [];
      const spec = guardSpecFor(this.mode, this.state, this.gatewayPort, lan);
      const key = spec === null ? null : JSON.stringify(spec);
      if (key === this.applied) return;
      if (spec === null) {
        await this.table.removeGuard();
        this.opts.log.info('kill switch: lifted');
      } else {
        await this.table.setGuard(spec);
        if (this.applied === null) this.opts.log.info(`kill switch (${this.mode}): IPv4 ${spec.tunnelDev ? `only through ${spec.tunnelDev}` : 'blocked'}`);
      }
      this.applied = key;
      this.opts.onStatusChange?.();
    };
    const result = this.queue.then(run);
    this.queue = result.catch(() => {});
    return result;
  }
}

/** The LAN as `ip -j -4 addr show` lists it (loopback and excludeDevs left out). */
export async function readLocalIpv4Networks(excludeDevs: string[]): Promise<string[]> {
  return localIpv4Networks(await runCommand('ip', ['-j', '-4', 'addr', 'show']), excludeDevs);
}

// The engine's environment on a real system: TUN devices from the addon, `ip`/`nft` through the
// given NetConfigurator, AAAA lookups, TCP over IPv6, the system clock, and the address watch.
// The CLI and the root helper both run the engine on it; tests build their own.
import { TunDevice } from '../native/tun';
import { watchNetwork } from '../netconfig/address-watch';
import type { Logger } from '../log/logger';
import type { TrafficGuard } from './kill-switch';
import { type EngineEnvironment, type NetworkConfigurator, connectTcpOverIpv6, resolveAaaa, systemClock } from './engine-environment';

export function systemEnvironment(opts: {
  net: NetworkConfigurator;
  log: Logger;
  /** TSO reads and GSO writes on the TUN device (see native/README.md). */
  tunOffload: boolean;
  /** Offer whole TCP super-packets to the gateway (needs tunOffload). Default: whenever tunOffload. */
  superPackets?: boolean;
  resolvConfPath?: string;
  guard?: TrafficGuard;
}): EngineEnvironment {
  const { log } = opts;
  return {
    openTun: (name) => TunDevice.open(name, { coalesce: opts.tunOffload }),
    net: opts.net,
    resolveHost: resolveAaaa,
    connectTcp: connectTcpOverIpv6,
    clock: systemClock,
    log,
    watchNetwork: (onEvent) => watchNetwork(onEvent, (err) =>
      log.warn(`cannot watch for network changes (${err.message}): a lost network is noticed by the heartbeat timeout`)),
    resolvConfPath: opts.resolvConfPath,
    guard: opts.guard,
    superPackets: opts.tunOffload && opts.superPackets !== false,
  };
}

// Tells the engine when this computer's network changes, from `ip -o monitor address link route`
// (argv, no shell), one line per change:
// - an IPv6 address went away (Wi-Fi to Ethernet, a new prefix, a dropped lease): a TCP connection
//   bound to it is dead, but nothing tells the socket; without this the client would wait for the
//   60 s heartbeat timeout;
// - the network came back (a usable global IPv6 address, a link with carrier, a default route):
//   a reconnect need not wait for its backoff timer.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface AddressWatch {
  stop(): void;
}

export type NetworkEvent =
  | { kind: 'address-removed'; address: string }
  /** A global IPv6 address that is usable now (duplicate address detection is over). */
  | { kind: 'address-added'; address: string; dev: string }
  /** A link that is up and has carrier. */
  | { kind: 'link-up'; dev: string }
  | { kind: 'default-route'; dev: string | null };

/** "Deleted 2: eth0    inet6 fd00::1/64 scope ...". */
const DELETED = /^Deleted\s+\d+:\s+\S+\s+inet6\s+([0-9A-Fa-f:.]+)\/\d+/;
/** "2: eth0    inet6 fd00::1/64 scope global nodad \ ..." (an address added or updated). */
const ADDED = /^\d+:\s+(\S+)\s+inet6\s+([0-9A-Fa-f:.]+)\/\d+\s+scope\s+global\b([^\\]*)/;
/** "3: v0@v1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu ..." */
const LINK = /^\d+:\s+([^:@\s]+)(?:@\S+)?:\s+<([A-Z0-9_,-]*)>/;
/** "default via fd00::1 dev eth0 ..." (either family; "Deleted default ..." does not match). */
const DEFAULT_ROUTE = /^default\s/;
/** Address flags that mean "not usable yet, or never". */
const UNUSABLE = /\b(tentative|dadfailed)\b/;

/** The address an `ip -o monitor` line says was removed, or null. */
export function removedAddress(line: string): string | null {
  return DELETED.exec(line)?.[1]?.toLowerCase() ?? null;
}

/** What an `ip -o monitor address link route` line tells about the network, or null (most lines). */
export function parseMonitorLine(line: string): NetworkEvent | null {
  const removed = removedAddress(line);
  if (removed !== null) return { kind: 'address-removed', address: removed };
  const added = ADDED.exec(line);
  if (added) return UNUSABLE.test(added[3]!) ? null : { kind: 'address-added', dev: added[1]!, address: added[2]!.toLowerCase() };
  const link = LINK.exec(line);
  if (link) {
    const flags = link[2]!.split(',');
    return flags.includes('UP') && flags.includes('LOWER_UP') && !flags.includes('NO-CARRIER') ? { kind: 'link-up', dev: link[1]! } : null;
  }
  if (DEFAULT_ROUTE.test(line)) return { kind: 'default-route', dev: /\bdev\s+(\S+)/.exec(line)?.[1] ?? null };
  return null;
}

/**
 * Calls onEvent for each network change on this host, until stop(). If `ip` cannot be started,
 * onError says so once and nothing is watched (the heartbeat timeout and the backoff still work).
 */
export function watchNetwork(onEvent: (event: NetworkEvent) => void, onError: (err: Error) => void = () => {}): AddressWatch {
  let child: ChildProcess | null = null;
  let stopped = false;
  const start = (file: string, args: string[], fallback: (() => void) | null): void => {
    const proc = spawn(file, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    child = proc;
    proc.once('error', (err) => {
      if (child === proc) child = null;
      if (stopped) return;
      if (fallback && (err as NodeJS.ErrnoException).code === 'ENOENT') fallback();
      else onError(err);
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const event = parseMonitorLine(line);
      if (event !== null && !stopped) onEvent(event);
    });
  };
  const monitor = ['-o', 'monitor', 'address', 'link', 'route'];
  // setpriv (util-linux) gives `ip` a parent-death signal, so a client killed with -9 leaves no
  // `ip monitor` behind; without setpriv, plain `ip` (it exits at the next change it cannot report).
  start('setpriv', ['--pdeathsig', 'TERM', 'ip', ...monitor], () => start('ip', monitor, null));
  return {
    stop: () => {
      stopped = true;
      child?.kill();
      child = null;
    },
  };
}

/** Calls onRemoved(address) for each IPv6 address removed from any interface, until stop(). */
export function watchRemovedAddresses(onRemoved: (address: string) => void, onError: (err: Error) => void = () => {}): AddressWatch {
  return watchNetwork((e) => {
    if (e.kind === 'address-removed') onRemoved(e.address);
  }, onError);
}

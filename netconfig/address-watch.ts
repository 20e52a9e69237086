// Tells the engine when an IPv6 address of this host goes away (Wi-Fi to Ethernet, a new prefix, a
// dropped lease). A TCP connection bound to that address is dead, but nothing tells the socket: without
// this the client would wait for the 60 s heartbeat timeout. Watches `ip -6 -o monitor address`
// (argv, no shell), one line per change.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface AddressWatch {
  stop(): void;
}

/** An `ip -o monitor` line for a removed IPv6 address: "Deleted 2: eth0    inet6 fd00::1/64 scope ...". */
const DELETED = /^Deleted\s+\d+:\s+\S+\s+inet6\s+([0-9A-Fa-f:.]+)\/\d+/;

/** The address an `ip -6 -o monitor address` line says was removed, or null. */
export function removedAddress(line: string): string | null {
  return DELETED.exec(line)?.[1]?.toLowerCase() ?? null;
}

/**
 * Calls onRemoved(address) for each IPv6 address removed from any interface, until stop(). If `ip`
 * cannot be started, onError says so once and nothing is watched (the heartbeat timeout still works).
 */
export function watchRemovedAddresses(onRemoved: (address: string) => void, onError: (err: Error) => void = () => {}): AddressWatch {
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
      const address = removedAddress(line);
      if (address !== null && !stopped) onRemoved(address);
    });
  };
  const monitor = ['-6', '-o', 'monitor', 'address'];
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

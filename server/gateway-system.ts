// The gateway's changes to the system: its TUN device, the device's address, MTU and sysctls, NAT (the
// `inet fourover6` table and net.ipv4.ip_forward with its original value). Each is journalled in
// <state_dir>/journal.jsonl before it is made, so a start after kill -9, or `4over6-server --cleanup`,
// undoes what a killed gateway left. A pid file in the same directory keeps two gateways (or a cleanup
// and a running gateway) from undoing each other's changes.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { UsageError } from '../log/cli-exit';
import type { Logger } from '../log/logger';
import { describeChange } from '../netconfig/changes';
import { ChangeJournal } from '../netconfig/journal';
import { NetConfigurator, type UndoReport } from '../netconfig/net-config';
import { TunDevice } from '../native/tun';
import type { ServerConfig } from '../protocol/config';

export const JOURNAL_FILE = 'journal.jsonl';
export const PID_FILE = 'gateway.pid';

/** Holds <state_dir>/gateway.pid while this process owns the state directory. */
export class StateDirLock {
  private released = false;

  private constructor(readonly path: string) {}

  /** Takes the directory (creating it), or throws a UsageError naming the live gateway that has it. */
  static acquire(stateDir: string): StateDirLock {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const path = join(stateDir, PID_FILE);
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        try {
          writeSync(fd, `${process.pid}\n`);
        } finally {
          closeSync(fd);
        }
        return new StateDirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      }
      const holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(holder) && isGatewayProcess(holder)) {
        throw new UsageError(`a gateway (pid ${holder}) is running with state directory ${stateDir}: stop it first`);
      }
      unlinkSync(path); // left by a gateway that was killed; try once more
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      unlinkSync(this.path);
    } catch {
      // already removed by hand
    }
  }
}

/** Whether pid is a live 4over6-server (a pid file can outlive its process, and pids are reused). */
function isGatewayProcess(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((arg) => /(?:^|\/)4over6-server$|server\/main\.js$/.test(arg));
  } catch {
    return false; // no such process
  }
}

export interface RecoveryResult {
  report: UndoReport;
  /** How many changes the journal listed. */
  listed: number;
}

/**
 * Undoes what the journal in stateDir lists (changes of a gateway that did not stop cleanly). Logs one
 * line saying what was undone, plus one per failure. Returns null when there was nothing to undo.
 */
export async function undoLeftovers(stateDir: string, log: Logger): Promise<RecoveryResult | null> {
  const journal = new ChangeJournal(join(stateDir, JOURNAL_FILE));
  const { entries, skipped } = await journal.read();
  if (entries.length === 0 && skipped.length === 0) return null;
  const report = await NetConfigurator.replayJournal(journal, { log: (line) => log.debug(line) });
  const undid = report.undone.filter((c) => !report.alreadyGone.includes(c));
  const parts = [`undid what a gateway that did not stop cleanly left: ${undid.length > 0 ? undid.map(describeChange).join(', ') : 'nothing still in place'}`];
  if (report.alreadyGone.length > 0) parts.push(`; ${report.alreadyGone.length} more already gone with its TUN device`);
  if (report.kept.length > 0) parts.push(`; left ${report.kept.length} on a device that belongs to another process now`);
  if (report.failed.length > 0) parts.push(`; ${report.failed.length} failed (below)`);
  if (skipped.length > 0) parts.push(`; ${skipped.length} unreadable journal line(s) ignored`);
  log.warn(parts.join(''));
  for (const f of report.failed) log.error(`could not undo ${describeChange(f.change)}: ${f.error}`);
  return { report, listed: entries.length };
}

/** The gateway's TUN device and network setup, journalled; tearDown() undoes it all. */
export class GatewaySystem {
  private readonly net: NetConfigurator;
  private tun: TunDevice | null = null;

  constructor(stateDir: string, private readonly log: Logger) {
    this.net = new NetConfigurator({ journal: new ChangeJournal(join(stateDir, JOURNAL_FILE)), log: (line) => log.info(line) });
  }

  async setUp(config: ServerConfig): Promise<TunDevice> {
    const tun = TunDevice.open(config.tunName, { coalesce: config.tunOffload });
    this.tun = tun;
    await this.net.recordTunDevice(tun.name);
    // IPv4 only: no router solicitations from the kernel into the tunnel.
    await this.net.setSysctl(`net.ipv6.conf.${tun.name}.disable_ipv6`, '1').catch((err: Error) => this.log.debug(`IPv6 stays on: ${err.message}`));
    await this.net.addAddress(tun.name, config.gateway, config.prefixLength);
    await this.net.setMtu(tun.name, config.mtu);
    await this.net.setUp(tun.name);
    if (config.nat && config.natInterface) {
      const network = ipaddr.IPv4.networkAddressFromCIDR(`${config.gateway}/${config.prefixLength}`).toString();
      await this.net.enableNat(tun.name, config.natInterface, `${network}/${config.prefixLength}`);
    }
    return tun;
  }

  /** Closes the TUN device (the kernel removes it with its address) and undoes the rest, newest first. */
  async tearDown(): Promise<void> {
    try {
      this.tun?.close();
    } catch (err) {
      this.log.error((err as Error).message);
    }
    const report = await this.net.undoAll();
    for (const f of report.failed) this.log.error(`could not undo ${describeChange(f.change)}: ${f.error}`);
  }
}

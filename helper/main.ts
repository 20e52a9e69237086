#!/usr/bin/env node
// 4over6-helper: the root helper process. Two ways to run it:
//   service: started by systemd at boot; socket /run/4over6/helper.sock, root:4over6, 0660: members of
//            group 4over6 use the VPN with no password prompt.
//   spawned: started by the app through pkexec; it reads a token from stdin, serves only the invoking
//            user (PKEXEC_UID / SUDO_UID) on a 0600 socket, and exits when the app is gone for good.
// Either way every connection's peer is checked with SO_PEERCRED, and at start the change journal
// of a previous run that was killed is undone before anything else.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { PKEXEC_REFUSED_HELPER_OPTIONS, SERVICE_GROUP, SERVICE_SOCKET_PATH, type HelperTunnelProfile } from '../contract/helper-api';
import { exitWith, packageVersion } from '../log/cli-exit';
import { createLogger } from '../log/logger';
import type { LogLevel } from '../protocol/config';
import { peerCredentials } from '../native/tun';
import { describeChange } from '../netconfig/changes';
import { ChangeJournal } from '../netconfig/journal';
import { isGuardTable } from '../netconfig/guard-table';
import { NetConfigurator } from '../netconfig/net-config';
import { parseUuid } from '../protocol/crypto';
import { HelperService, type KillSwitchControl, type PeerCredentials } from './helper-service';
import { clientIdFor, defaultClientIdsPath } from './client-ids';
import { KillSwitch } from './kill-switch';
import { defaultKillSwitchSettingPath, loadKillSwitchSetting, saveKillSwitchSetting } from './kill-switch-setting';
import { TunnelEngine } from './tunnel-engine';
import { systemEnvironment } from './system-environment';

interface HelperOptions {
  mode: 'service' | 'spawned';
  socket?: string;
  group: string;
  allowUid?: number;
  journal: string;
  clientIds?: string;
  resolvConf?: string;
  tunName: string;
  appGoneSeconds: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

function groupId(name: string): number | null {
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name) return Number(gid);
  }
  return null;
}

/** Supplementary groups of a live process, from /proc (SO_PEERCRED carries only the primary gid). */
function groupsOf(pid: number): number[] {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Groups:'));
    return line ? line.slice(7).trim().split(/\s+/).filter(Boolean).map(Number) : [];
  } catch {
    return [];
  }
}

/** A uid's account name (NSS included, through getent), or null. */
function accountName(uid: number): string | null {
  try {
    const line = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
    const name = line.split(':')[0];
    return /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}\$?$/.test(name) ? name : null;
  } catch {
    return null;
  }
}

async function readToken(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('no token on stdin within 10 s')), 10_000);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline >= 0 || text.length > 200) {
        clearTimeout(timer);
        process.stdin.pause();
        resolve(text.slice(0, newline >= 0 ? newline : undefined).trim());
      }
    });
    process.stdin.on('end', () => {
      clearTimeout(timer);
      resolve(text.trim());
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('4over6-helper')
    .description('4over6 root helper: runs tunnels for the desktop app')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .option('--mode <mode>', 'service (systemd) or spawned (by the app, through pkexec)', 'service')
    .option('--socket <path>', `control socket (service default ${SERVICE_SOCKET_PATH})`)
    .option('--group <name>', 'service mode: the group allowed to use the socket', SERVICE_GROUP)
    .option('--allow-uid <uid>', 'spawned mode: the user allowed (default: PKEXEC_UID or SUDO_UID)', (v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a numeric uid');
      return Number(v);
    })
    .option('--journal <path>', 'journal of system changes, replayed after a crash', '/var/lib/4over6/journal.jsonl')
    .option('--client-ids <path>', 'where the helper keeps its identity per gateway (to get its address back) (default: client-ids.json beside the journal)')
    .option('--resolv-conf <path>', 'write DNS to this file instead of the system resolver (tests)')
    .option('--tun-name <name>', 'TUN device name', '4over6')
    .option('--app-gone-seconds <s>', 'spawned mode: exit this long after the app disconnected', (v) => Number(v), 10)
    .option('--log-level <level>', 'debug, info, warn or error', 'info');
  program.parse(argv);
  const opts = program.opts<HelperOptions>();
  // Subscribers see the helper's log lines too (the app's connection details view).
  let publishLog: ((level: LogLevel, msg: string) => void) | null = null;
  const log = createLogger({ name: 'helper', level: opts.logLevel, onEvent: (level, msg) => publishLog?.(level, msg) });

  if (process.getuid?.() !== 0) {
    log.error('the helper must run as root (it creates TUN devices and changes routes and DNS)');
    return 2;
  }
  if (opts.mode !== 'service' && opts.mode !== 'spawned') {
    log.error(`--mode: expected service or spawned, got ${opts.mode}`);
    return 2;
  }
  // Through pkexec a user (an admin, per our polkit policy) chooses our argv: options that pick files
  // or who may drive us are for root's own use (tests, the demo), never for a pkexec'd helper. Such a
  // helper serves its invoking user only: spawned mode, that user's own socket.
  const pkexecUid = process.env.PKEXEC_UID;
  if (pkexecUid !== undefined && pkexecUid !== '0') {
    const rootOnly = PKEXEC_REFUSED_HELPER_OPTIONS.filter((flag) =>
      program.getOptionValueSource(flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())) === 'cli');
    if (rootOnly.length > 0) {
      log.error(`through pkexec these options are not accepted: ${rootOnly.join(', ')}`);
      return 2;
    }
    if (opts.mode !== 'spawned') {
      log.error(`through pkexec the helper runs only in spawned mode (for the invoking user), not --mode ${opts.mode}`);
      return 2;
    }
  }
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(opts.tunName)) {
    log.error('--tun-name: expected an interface name');
    return 2;
  }

  // Who may drive us.
  let allowUid: number | null = null;
  let allowGid: number | null = null;
  let token: string | null = null;
  if (opts.mode === 'spawned') {
    const fromEnv = process.env.PKEXEC_UID ?? process.env.SUDO_UID;
    allowUid = opts.allowUid ?? (fromEnv && /^\d+$/.test(fromEnv) ? Number(fromEnv) : null);
    if (allowUid === null) {
      log.error('spawned mode needs the invoking user: run through pkexec or sudo, or pass --allow-uid');
      return 2;
    }
    token = await readToken().catch((err: Error) => {
      log.error(err.message);
      return '';
    });
    if (!TOKEN_PATTERN.test(token)) {
      log.error('spawned mode needs a 64-hex-digit token on stdin');
      return 2;
    }
  } else {
    allowGid = groupId(opts.group);
    if (allowGid === null) log.warn(`group ${opts.group} does not exist: only root can use the helper`);
  }
  const socketPath = opts.socket ?? (opts.mode === 'service' ? SERVICE_SOCKET_PATH : `/run/4over6/user-${allowUid}/helper.sock`);

  // Undo what a helper killed with -9 left behind, before anything else.
  mkdirSync(dirname(opts.journal), { recursive: true, mode: 0o755 });
  const journal = new ChangeJournal(opts.journal);
  // The kill switch's mode the app set last (kill-switch.json): in lockdown, the block a previous run
  // left stays through the replay (no window without it) and is adopted below.
  const settingPath = defaultKillSwitchSettingPath(opts.journal);
  const saved = loadKillSwitchSetting(settingPath, (m) => log.warn(m));
  const keepGuard = saved.mode === 'lockdown';
  const leftovers = (await journal.entries()).filter((change) => !(keepGuard && isGuardTable(change)));
  if (leftovers.length > 0) {
    log.warn(`undoing ${leftovers.length} change(s) left by a helper that did not exit cleanly${keepGuard ? ' (the kill switch\'s lockdown block stays)' : ''}`);
    const replay = new NetConfigurator({ journal, log: (l) => log.info(l) });
    const report = keepGuard ? await replay.undoTunnel() : await replay.undoAll();
    for (const f of report.failed) log.error(`could not undo ${describeChange(f.change)}: ${f.error}`);
  }

  // One configurator for the process: the tunnels' changes and the kill switch's table, in one journal.
  let publishSystem: () => void = () => undefined;
  const netcfg = new NetConfigurator({ journal, log: (l) => log.info(l), onChange: () => publishSystem() });
  // The mode the app set last, kept across restarts: lockdown blocks again before the app is back.
  const killSwitch = new KillSwitch(netcfg, { mode: saved.mode, allowLan: saved.allowLan, log, onStatusChange: () => publishSystem() });
  if (saved.mode === 'lockdown') {
    await killSwitch.set(saved.mode, saved.allowLan).then(
      () => log.info(`kill switch: lockdown kept from the last run (${settingPath}); the app's settings change it`),
      (err: Error) => log.error(`the kill switch's lockdown could not be set again: ${err.message}`));
  }
  const killSwitchControl: KillSwitchControl = {
    set: async (mode, allowLan) => {
      await killSwitch.set(mode, allowLan);
      try {
        saveKillSwitchSetting(settingPath, { mode, allowLan });
      } catch (err) {
        log.error(`cannot save the kill switch setting ${settingPath}: ${(err as Error).message}`);
      }
    },
    status: () => killSwitch.status(),
  };
  const authorize = (peer: PeerCredentials): string | null => {
    if (peer.uid === 0) return null;
    if (allowUid !== null && peer.uid === allowUid) return null;
    if (allowGid !== null && (peer.gid === allowGid || groupsOf(peer.pid).includes(allowGid))) return null;
    return opts.mode === 'spawned' ? `only uid ${allowUid} may use this helper` : `not root and not in group ${opts.group}`;
  };

  let exiting = false;
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));

  const service: HelperService = new HelperService({
    mode: opts.mode,
    token,
    authorize,
    peerOf: (socket) => {
      const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (typeof fd !== 'number' || fd < 0) throw new Error('no file descriptor');
      return peerCredentials(fd);
    },
    createEngine: (profile: HelperTunnelProfile) => {
      return new TunnelEngine({
        server: profile.server,
        port: profile.port,
        key: profile.uuid ? parseUuid(profile.uuid) : null,
        allowPlaintext: profile.allowPlaintext,
        mtu: profile.mtu,
        prefixLength: 24,
        defaultRoute: profile.defaultRoute,
        dns: profile.dns,
        tunName: opts.tunName,
        autoReconnect: profile.autoReconnect,
        clientId: clientIdFor(opts.clientIds ?? defaultClientIdsPath(opts.journal), profile.server, profile.port, (m) => log.warn(m)),
      }, systemEnvironment({ net: netcfg, log, tunOffload: true, resolvConfPath: opts.resolvConf, guard: killSwitch }));
    },
    userName: accountName,
    describeChanges: () => netcfg.changes.map(describeChange),
    killSwitch: killSwitchControl,
    log,
    appGoneMs: opts.appGoneSeconds * 1000,
    onAppGone: () => resolveExit(0),
    onShutdown: () => resolveExit(0),
  });
  publishLog = (level, msg) => service.publishLog(level, msg);
  publishSystem = () => service.publishSystem();

  // The socket: a root-owned directory; the socket itself owned by the allowed user or group.
  const dir = dirname(socketPath);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const dirStat = lstatSync(dir);
  if (dirStat.uid !== 0 || (dirStat.mode & 0o022) !== 0) {
    log.error(`${dir} must be owned by root and not writable by others`);
    return 2;
  }
  if (existsSync(socketPath)) unlinkSync(socketPath); // a stale socket of a killed helper
  const server = net.createServer((socket) => service.accept(socket));
  const oldUmask = process.umask(0o177); // the socket is born 0600, never briefly open to all
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  process.umask(oldUmask);
  if (opts.mode === 'service') {
    chownSync(socketPath, 0, allowGid ?? 0);
    chmodSync(socketPath, 0o660);
  } else {
    chownSync(socketPath, allowUid ?? 0, 0);
    chmodSync(socketPath, 0o600);
  }
  log.info(`listening on ${socketPath} (${opts.mode} mode${opts.mode === 'spawned' ? `, for uid ${allowUid}` : `, group ${opts.group}`})`);
  process.stdout.write(`READY ${socketPath}\n`);

  const onSignal = (signal: string) => {
    log.info(`${signal}: disconnecting and exiting`);
    resolveExit(0);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const code = await exited;
  if (!exiting) {
    exiting = true;
    await service.stop();
    server.close();
    try {
      unlinkSync(socketPath);
    } catch {
      // already gone
    }
    if (killSwitch.status().active) {
      // Lockdown outlives the helper: journalled, and its next start sets it again (kill-switch.json).
      log.info(`stopped; every change undone but the kill switch's block (lockdown), which the next start keeps`);
    } else {
      log.info('stopped; every change undone');
    }
  }
  return code;
}

exitWith('4over6-helper', main(process.argv));

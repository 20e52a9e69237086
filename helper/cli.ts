#!/usr/bin/env node
// `4over6 connect`: the headless Linux client, on the same engine the root helper runs for the GUI.
// Prints state changes and a rate line every few seconds; Ctrl-C restores every system change (but
// the kill switch's block, in lockdown: `4over6 cleanup` or the next connect lifts it).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_KILL_SWITCH, KILL_SWITCH_MODES, type KillSwitchMode } from '../contract/helper-api';
import type { TunnelState } from '../contract/tunnel-state';
import { exitWith, packageVersion, readUserFile } from '../log/cli-exit';
import { createLogger, type Logger } from '../log/logger';
import { runCommand } from '../netconfig/command';
import { GUARD_TABLE, isGuardTable } from '../netconfig/guard-table';
import { ChangeJournal } from '../netconfig/journal';
import { NetConfigurator } from '../netconfig/net-config';
import { type ClientConfig, parseClientConfig } from '../protocol/config';
import { parseUuid } from '../protocol/crypto';
import { isServerHost } from '../protocol/names';
import { formatBytes, formatRate } from '../contract/format';
import { type EngineTiming, type TunnelProfile, TunnelEngine } from './tunnel-engine';
import { clientIdFor, defaultClientIdsPath } from './client-ids';
import { KillSwitch } from './kill-switch';
import { systemEnvironment } from './system-environment';

interface ConnectOptions {
  config?: string;
  server?: string;
  port?: number;
  uuid?: string;
  mtu?: number;
  prefixLength?: number;
  defaultRoute: boolean;
  dns: boolean;
  allowPlaintext?: boolean;
  tunName?: string;
  resolvConf?: string;
  reconnect: boolean;
  statsInterval: number;
  journal: string;
  heartbeatInterval?: number;
  heartbeatTimeout?: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  tunOffload: boolean;
  superPackets: boolean;
  killSwitch: KillSwitchMode;
  allowLan: boolean;
  clientIds?: string;
  reconnectQueue: number;
}

const intArg = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number ${min}-${max}`);
  return n;
};

function profileFrom(opts: ConnectOptions, log: Logger): TunnelProfile {
  let base: ClientConfig | null = null;
  if (opts.config) {
    const { config, warnings } = parseClientConfig(readUserFile(opts.config), opts.config);
    warnings.forEach((w) => console.error(`warning: ${w}`));
    base = config;
  }
  const server = opts.server ?? base?.server;
  const port = opts.port ?? base?.port;
  if (!server || !port) throw new InvalidArgumentError('give -c client_config.yaml, or --server and --port');
  if (!isServerHost(server)) {
    throw new InvalidArgumentError(`--server: expected an IPv6 address or a host name, got "${server}"`);
  }
  return {
    server,
    port,
    key: opts.uuid !== undefined ? parseUuid(opts.uuid) : base?.key ?? null,
    allowPlaintext: opts.allowPlaintext ?? base?.allowPlaintext ?? false,
    mtu: opts.mtu ?? base?.mtu ?? 1500,
    prefixLength: opts.prefixLength ?? base?.prefixLength ?? 24,
    defaultRoute: opts.defaultRoute && (base?.defaultRoute ?? true),
    dns: opts.dns && (base?.dns ?? true),
    tunName: opts.tunName ?? base?.tunName ?? '4over6',
    autoReconnect: opts.reconnect,
    clientId: clientIdFor(opts.clientIds ?? defaultClientIdsPath(opts.journal), server, port, (m) => log.warn(m)),
  };
}

function describe(s: TunnelState): string {
  switch (s.kind) {
    case 'idle': return 'disconnected';
    case 'connecting':
      return `connecting (${s.phase === 'resolving' ? `resolving ${s.server}` : s.phase === 'tcp' ? `TCP to [${s.serverAddress}]` : 'waiting for an address'})${s.attempt > 1 ? `, attempt ${s.attempt}` : ''}`;
    case 'connected':
      return `connected: ${s.lease.address}/${s.lease.prefixLength} on ${s.lease.tunName} via [${s.serverAddress}]` +
        `${s.lease.dns.length ? `, DNS ${s.lease.dns.join(' ')}` : ''}` +
        `${s.previousAddress ? ` (a new address: it was ${s.previousAddress})` : ''}`;
    case 'reconnecting':
      return `reconnecting ${s.retryInMs === 0 ? 'now' : `in ${(s.retryInMs / 1000).toFixed(0)} s`} (${s.lastFailure.message}); ` +
        `${s.held.address} stays on ${s.held.tunName}`;
    case 'disconnecting': return 'disconnecting: restoring routes, addresses and DNS';
    case 'failed': return `failed: ${s.failure.message}`;
  }
}

async function connect(opts: ConnectOptions, log: Logger): Promise<number> {
  mkdirSync(dirname(opts.journal), { recursive: true, mode: 0o755 });
  const profile = profileFrom(opts, log);
  const journal = new ChangeJournal(opts.journal);
  const net = new NetConfigurator({ journal, log: (l) => log.debug(l) });
  // A previous run killed with -9 may have left routes or DNS behind: undo them first. A lockdown
  // block left by the last run stays when this run is in lockdown too (the new one replaces it).
  const leftovers = await journal.entries();
  if (leftovers.length > 0) {
    log.warn(`undoing ${leftovers.length} change(s) left by a previous run that did not exit cleanly`);
    const undo = opts.killSwitch === 'lockdown' && leftovers.some(isGuardTable) ? net.undoTunnel() : net.undoAll();
    for (const f of (await undo).failed) log.error(`could not undo: ${f.error}`);
  }
  const killSwitch = new KillSwitch(net, { mode: 'off', allowLan: opts.allowLan, log });
  await killSwitch.set(opts.killSwitch, opts.allowLan);
  const timing: Partial<EngineTiming> = { reconnectQueuePackets: opts.reconnectQueue };
  if (opts.heartbeatInterval) timing.heartbeatIntervalMs = opts.heartbeatInterval * 1000;
  if (opts.heartbeatTimeout) timing.heartbeatTimeoutMs = opts.heartbeatTimeout * 1000;
  const engine = new TunnelEngine(profile, systemEnvironment({
    net, log, tunOffload: opts.tunOffload, superPackets: opts.superPackets, resolvConfPath: opts.resolvConf, guard: killSwitch,
  }), timing);

  engine.on('state', (s) => log.info(describe(s)));
  let lastSummary = 0;
  engine.on('stats', (st) => {
    if (Date.now() - lastSummary < opts.statsInterval * 1000) return;
    lastSummary = Date.now();
    log.info(`up ${formatRate(st.rateUp)} (${formatBytes(st.bytesUp)})  down ${formatRate(st.rateDown)} (${formatBytes(st.bytesDown)})` +
      `  heartbeat ${st.lastHeartbeatAgoMs === null ? '-' : `${Math.round(st.lastHeartbeatAgoMs / 1000)} s ago`}` +
      `${st.reconnects ? `  reconnects ${st.reconnects}` : ''}`);
  });

  let stopping = false;
  const finished = new Promise<number>((resolve) => {
    engine.on('state', (s) => {
      if (s.kind === 'failed') resolve(1);
      if (s.kind === 'idle' && stopping) resolve(0);
    });
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info(`${signal}: disconnecting`);
      void engine.disconnect().then(() => resolve(0));
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  engine.connect();
  const code = await finished;
  if (engine.state.kind !== 'failed') await engine.disconnect(); // 'failed' is only entered once torn down
  await engine.systemSettled();
  if (killSwitch.status().active) {
    log.warn(`IPv4 stays blocked (kill switch ${opts.killSwitch}): \`4over6 cleanup\` lifts the block`);
  } else {
    await journal.clear();
  }
  if (code !== 0 && engine.state.kind === 'failed') {
    const f = engine.state.failure;
    console.error(`4over6: ${f.message}`);
    if (f.reason === 'wrong-key') console.error('check the UUID (pk) on both sides, or connect without one if the server has none');
  }
  return code;
}

async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command().name('4over6').description('4over6 VPN client: IPv4 through one TCP connection over IPv6')
    .version(packageVersion(), '-V, --version', 'print the version and exit');
  program.command('connect')
    .description('connect to a gateway and route IPv4 through it until Ctrl-C')
    .option('-c, --config <file>', 'client_config.yaml (legacy format accepted as it is)')
    .option('-s, --server <host>', 'gateway: IPv6 address or host name with an AAAA record')
    .option('-p, --port <port>', 'gateway port', intArg(1, 65535))
    .option('-u, --uuid <uuid>', 'shared key (canonical UUID); enables encryption')
    .option('--allow-plaintext', 'fall back to plaintext if the server does not encrypt')
    .option('--mtu <bytes>', 'TUN MTU (default 1500)', intArg(576, 2003))
    .option('--prefix-length <n>', 'netmask of the leased address (default 24)', intArg(1, 32))
    .option('--no-default-route', 'do not route all IPv4 through the tunnel')
    .option('--no-dns', "do not use the server's DNS servers")
    .option('--tun-name <name>', 'TUN device name (default 4over6)')
    .option('--resolv-conf <path>', 'write DNS to this resolv.conf instead of the system resolver')
    .option('--no-reconnect', 'exit when the connection is lost instead of reconnecting')
    .option('--no-tun-offload', 'write packets to the TUN one by one (no GSO coalescing, no super-packets)')
    .option('--no-super-packets', 'send every packet in its own frame, as to a legacy gateway (no 64 KiB super-packet frames)')
    .option('--stats-interval <s>', 'seconds between rate lines', intArg(1, 3600), 5)
    .option('--journal <path>', 'where system changes are journalled for crash recovery', '/var/lib/4over6/cli-journal.jsonl')
    .option('--heartbeat-interval <s>', 'seconds between heartbeats (default 20)', intArg(1, 3600))
    .option('--heartbeat-timeout <s>', 'seconds of server silence before giving up (default 60)', intArg(2, 3600))
    .addOption(new Option('--kill-switch <mode>', 'off; on: IPv4 only through the tunnel while connected or reconnecting; ' +
      'lockdown: also while disconnected, until `4over6 cleanup`').choices(KILL_SWITCH_MODES).default(DEFAULT_KILL_SWITCH))
    .option('--allow-lan', 'with the kill switch, let IPv4 reach the local networks outside the tunnel', false)
    .option('--client-ids <path>', 'where this client keeps its identity per gateway (to get its address back) (default: client-ids.json beside the journal)')
    .option('--reconnect-queue <packets>', 'packets kept while reconnecting and sent when the tunnel is back (0: drop them)', intArg(0, 4096), 64)
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (opts: ConnectOptions) => {
      // Config, key, argument and file errors reach exitWith: one line, exit code 2.
      exitCode = await connect(opts, createLogger({ level: opts.logLevel }));
    });
  program.command('cleanup')
    .description('undo what a client left behind (killed with -9, a power loss, or the kill switch in lockdown): routes, addresses, DNS, the kill switch\'s table')
    .option('--journal <path>', 'the journal the client wrote', '/var/lib/4over6/cli-journal.jsonl')
    .action(async (opts: { journal: string }) => {
      const log = createLogger({ level: 'info' });
      const journal = new ChangeJournal(opts.journal);
      const leftovers = await journal.entries();
      // The kill switch's table goes even when its journal was lost: its name is ours alone.
      const guardLeft = await runCommand('nft', ['list', 'table', GUARD_TABLE.family, GUARD_TABLE.name]).then(() => true, () => false);
      if (leftovers.length === 0 && !guardLeft) {
        console.log('nothing to undo');
        return;
      }
      const report = await NetConfigurator.replayJournal(journal, { log: (l) => log.info(l) });
      for (const f of report.failed) log.error(`could not undo: ${f.error}`);
      if (guardLeft && !report.undone.some(isGuardTable)) {
        await runCommand('nft', ['delete', 'table', GUARD_TABLE.family, GUARD_TABLE.name]).catch((err: Error) => log.error(err.message));
        log.info(`removed the kill switch's table ${GUARD_TABLE.family} ${GUARD_TABLE.name}`);
      }
      console.log(`undid ${leftovers.length - report.failed.length} of ${leftovers.length} change(s)`);
      exitCode = report.failed.length > 0 ? 1 : 0;
    });
  await program.parseAsync(argv);
  return exitCode;
}

exitWith('4over6', main(process.argv));

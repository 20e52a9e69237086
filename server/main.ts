#!/usr/bin/env node
// 4over6-server: the gateway process. Reads the (legacy) server_config.yaml, undoes what a killed run left
// (its journal in state_dir), creates and configures the TUN device and optional NAT, serves clients until
// SIGINT/SIGTERM, then removes everything it added. `--cleanup` only does the undoing.
import type http from 'node:http';
import { Command } from 'commander';
import { exitWith, packageVersion, readUserFile, UsageError } from '../log/cli-exit';
import { createLogger } from '../log/logger';
import { DEFAULT_SERVER_STATE_DIR, LOG_LEVELS, type LogLevel, parseServerConfig } from '../protocol/config';
import { Gateway } from './gateway';
import { GatewaySystem, StateDirLock, undoLeftovers } from './gateway-system';
import { serveMetrics } from './metrics';
import { ProcessMonitor } from './process-metrics';

interface ServerOptions {
  config?: string;
  logLevel?: string;
  cleanup?: boolean;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('4over6-server')
    .description('4over6 gateway: IPv4 over one TCP connection over IPv6')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .option('-c, --config <file>', 'server_config.yaml (the legacy format is accepted as it is)')
    .option('--cleanup', `undo what a gateway killed with -9 left (TUN device, NAT, ip_forward), then exit; its state_dir is read from -c, default ${DEFAULT_SERVER_STATE_DIR}`)
    .option('--log-level <level>', `override log_level (${LOG_LEVELS.join(', ')})`)
    .showHelpAfterError();
  program.parse(argv);
  const opts = program.opts<ServerOptions>();
  if (opts.logLevel !== undefined && !LOG_LEVELS.includes(opts.logLevel as LogLevel)) {
    throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got "${opts.logLevel}"`);
  }
  if (!opts.config && !opts.cleanup) program.error("error: required option '-c, --config <file>' not specified");

  const log = createLogger({ name: 'server' });
  // A config that cannot be read or is invalid ends here, as one line and exit code 2 (exitWith).
  const parsed = opts.config ? parseServerConfig(readUserFile(opts.config), opts.config) : null;
  log.level = (opts.logLevel as LogLevel | undefined) ?? parsed?.config.logLevel ?? 'info';
  parsed?.warnings.forEach((w) => log.warn(w));
  const stateDir = parsed?.config.stateDir ?? DEFAULT_SERVER_STATE_DIR;

  // Held until exit: no second gateway, and no --cleanup, undoes the changes of a running one.
  const lock = StateDirLock.acquire(stateDir);
  try {
    if (opts.cleanup) return await cleanup(stateDir, log);
    if (!parsed) return 2; // unreachable: checked above
    return await serve(parsed.config, log);
  } finally {
    lock.release();
  }
}

async function cleanup(stateDir: string, log: ReturnType<typeof createLogger>): Promise<number> {
  const result = await undoLeftovers(stateDir, log);
  if (!result) {
    log.info(`nothing to undo (no journal of changes in ${stateDir})`);
    return 0;
  }
  return result.report.failed.length > 0 ? 1 : 0;
}

async function serve(config: ReturnType<typeof parseServerConfig>['config'], log: ReturnType<typeof createLogger>): Promise<number> {
  // A signal during start-up must still lead to a clean stop, not to the default exit.
  let stopRequested: (signal: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (stopRequested = resolve));
  process.once('SIGINT', () => stopRequested('SIGINT'));
  process.once('SIGTERM', () => stopRequested('SIGTERM'));

  // What a gateway killed with -9 left behind goes first (one log line says what).
  await undoLeftovers(config.stateDir, log);

  const system = new GatewaySystem(config.stateDir, log);
  const monitor = new ProcessMonitor();
  let gateway: Gateway | null = null;
  let metricsServer: http.Server | null = null;
  const tearDown = async () => {
    await gateway?.close();
    metricsServer?.close();
    monitor.stop();
    await system.tearDown().catch((err: Error) => log.error(`undo failed: ${err.message}`));
  };

  try {
    const tun = await system.setUp(config);
    // Super-packets need a TUN device that reads and writes them (tun_offload: a vnet device with TSO).
    gateway = new Gateway({ config, tun, log, superPackets: config.tunOffload });
    await gateway.listen();
    if (config.metricsListen) {
      const g = gateway;
      metricsServer = await serveMetrics(config.metricsListen, () => g.metrics(), () => monitor.read());
      log.info(`metrics on ${config.metricsListen} (/metrics, /metrics.json)`);
    }
  } catch (err) {
    log.error(`cannot start: ${(err as Error).message}`);
    await tearDown();
    return 1;
  }

  log.info(`${await stopped}: shutting down`);
  await tearDown();
  log.info('stopped; TUN device, addresses and NAT rules removed');
  return 0;
}

exitWith('4over6-server', main(process.argv));

#!/usr/bin/env node
// 4over6-server: the gateway process. Reads the (legacy) server_config.yaml, creates and configures the
// TUN device, optional NAT, serves clients until SIGINT/SIGTERM, then removes everything it added.
import { Command } from 'commander';
import ipaddr from 'ipaddr.js';
import { exitWith, packageVersion, readUserFile } from '../log/cli-exit';
import { createLogger } from '../log/logger';
import { NetConfigurator } from '../netconfig/net-config';
import { TunDevice } from '../native/tun';
import { LOG_LEVELS, type LogLevel, parseServerConfig } from '../protocol/config';
import { Gateway } from './gateway';
import { serveMetrics } from './metrics';

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('4over6-server')
    .description('4over6 gateway: IPv4 over one TCP connection over IPv6')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .requiredOption('-c, --config <file>', 'server_config.yaml (the legacy format is accepted as it is)')
    .option('--log-level <level>', `override log_level (${LOG_LEVELS.join(', ')})`)
    .showHelpAfterError();
  program.parse(argv);
  const opts = program.opts<{ config: string; logLevel?: string }>();

  const log = createLogger({ name: 'server' });
  // A config that cannot be read or is invalid ends here, as one line and exit code 2 (exitWith).
  const { config, warnings } = parseServerConfig(readUserFile(opts.config), opts.config);
  log.level = (opts.logLevel as LogLevel | undefined) ?? config.logLevel;
  if (opts.logLevel && !LOG_LEVELS.includes(opts.logLevel as LogLevel)) {
    log.error(`--log-level: expected one of ${LOG_LEVELS.join(', ')}`);
    return 2;
  }
  warnings.forEach((w) => log.warn(w));

  const netcfg = new NetConfigurator({ log: (line) => log.info(line) });
  let tun: TunDevice | null = null;
  let gateway: Gateway | null = null;
  let metricsServer: import('node:http').Server | null = null;
  const cleanup = async () => {
    await gateway?.close();
    metricsServer?.close();
    await netcfg.undoAll().catch((err: Error) => log.error(`undo failed: ${err.message}`));
    tun?.close();
  };

  try {
    tun = TunDevice.open(config.tunName, { coalesce: config.tunOffload });
    // IPv4 only: no router solicitations from the kernel into the tunnel.
    await netcfg.setSysctl(`net.ipv6.conf.${tun.name}.disable_ipv6`, '1').catch((err: Error) => log.debug(`IPv6 stays on: ${err.message}`));
    await netcfg.addAddress(tun.name, config.gateway, config.prefixLength);
    await netcfg.setMtu(tun.name, config.mtu);
    await netcfg.setUp(tun.name);
    if (config.nat && config.natInterface) {
      const network = ipaddr.IPv4.networkAddressFromCIDR(`${config.gateway}/${config.prefixLength}`).toString();
      await netcfg.enableNat(tun.name, config.natInterface, `${network}/${config.prefixLength}`);
    }
    gateway = new Gateway({ config, tun, log });
    await gateway.listen();
    if (config.metricsListen) {
      const g = gateway;
      metricsServer = await serveMetrics(config.metricsListen, () => g.metrics());
      log.info(`metrics on ${config.metricsListen} (/metrics, /metrics.json)`);
    }
  } catch (err) {
    log.error(`cannot start: ${(err as Error).message}`);
    await cleanup();
    return 1;
  }

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal}: shutting down`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await cleanup();
  log.info('stopped; TUN device, addresses and NAT rules removed');
  return 0;
}

exitWith('4over6-server', main(process.argv));

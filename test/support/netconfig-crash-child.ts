// Child process for the crash-recovery test: makes journaled network changes in a namespace, says "ready", then waits to be killed -9.
import { ChangeJournal } from '../../netconfig/journal';
import { NetConfigurator } from '../../netconfig/net-config';

async function main(): Promise<void> {
  const [journalPath, netns, dev, resolvConfPath] = process.argv.slice(2);
  if (!journalPath || !netns || !dev || !resolvConfPath) throw new Error('usage: netconfig-crash-child <journal> <netns> <dev> <resolv.conf>');
  const net = new NetConfigurator({ journal: new ChangeJournal(journalPath), netns });
  await net.addAddress(dev, '198.18.7.1', 24);
  await net.setMtu(dev, 1400);
  await net.setUp(dev);
  await net.addDefaultRoute(dev);
  await net.addRoute('198.19.0.0/16', dev);
  await net.setDns(dev, ['198.18.7.53'], { resolvConfPath });
  await net.enableNat(dev, 'veth-out', '198.18.7.0/24');
  process.stdout.write('ready\n');
  setInterval(() => {}, 60_000); // stay alive until the test kills us with SIGKILL
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

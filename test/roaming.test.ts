// Connections survive a reconnect: one 50 MiB TCP transfer through the tunnel per disturbance, its
// SHA-256 checked, while (a) the client's IPv6 address is removed for 5 s and put back, (b) the
// gateway process is stopped and started again (its leases file brings the address back), (c) the
// client's IPv6 address changes to another in the same prefix. Each time the tunnel address stays
// the same, and the longest pause in the transfer (how long traffic stopped) is printed for
// docs/performance.md. Real processes in namespaces; needs root.
//
//   [ns client] cli.js, TUN 4o6r0 198.18.0.2        [ns server] main.js :5555, TUN 4o6s0 198.18.0.1/24
//        veth0 fd00:..::1 (then ::3) ============== veth0 fd00:..::2
//        paced source ---------- through the tunnel ----------> sink on 198.18.1.1 (lo: outlives the TUN)
//
// ROAMING_RECONNECT_QUEUE=0 runs the client without its reconnect queue (for the comparison in
// docs/performance.md).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Proc } from './support/proc';
import { type TwoHostNet, cleanupStaleNamespaces, createTwoHostNet, waitFor } from './support/netns';
import { needsProgram, needsRoot, skipUnless } from './support/requirements';
import { testGatewayYaml } from './support/gateway-config';

const DIST = join(__dirname, '..');
const SERVER = join(DIST, 'server', 'main.js');
const CLI = join(DIST, 'helper', 'cli.js');
const TRANSFER = join(DIST, 'test', 'support', 'paced-transfer.js');
const MIB = 1024 * 1024;
const TRANSFER_BYTES = 50 * MIB;
/** Slow enough that the transfer is still running when the network is disturbed, fast enough to end soon. */
const PACE_BYTES_PER_S = 6 * MIB;
const SINK = '198.18.1.1';
const QUEUE = process.env.ROAMING_RECONNECT_QUEUE ?? '64';
const skip = skipUnless(needsRoot(), needsProgram('nft', 'apt-get install nftables'));

describe('roaming: a TCP transfer survives reconnects with the same tunnel address', { skip, timeout: 300_000 }, () => {
  let net: TwoHostNet;
  let dir: string;
  let server: Proc;
  let client: Proc;
  let port = 9400;
  const procs: Proc[] = [];
  const stopped: string[] = [];

  before(async () => {
    await cleanupStaleNamespaces();
    net = await createTwoHostNet('roam');
    dir = mkdtempSync(join(tmpdir(), '4o6-roam-'));
    await net.exec(net.server, 'ip', ['addr', 'add', `${SINK}/32`, 'dev', 'lo']);
    server = await startServer();
    client = new Proc(net.spawn(net.client, process.execPath, [
      CLI, 'connect', '--server', net.serverAddress, '--port', '5555', '--tun-name', '4o6r0', '--no-dns',
      '--journal', join(dir, 'journal.jsonl'), '--client-ids', join(dir, 'client-ids.json'), '--reconnect-queue', QUEUE,
      '--stats-interval', '3600',
    ]), 'client');
    procs.push(client);
    await client.waitFor(/connected: 198\.18\.0\.2\/24 on 4o6r0/);
  });
  after(async () => {
    if (stopped.length) console.log(`# traffic stopped (reconnect queue ${QUEUE}): ${stopped.join('; ')}`);
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await net?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startServer(): Promise<Proc> {
    const config = join(dir, 'server.yaml');
    writeFileSync(config, testGatewayYaml({ stateDir: join(dir, 'gateway-state') }));
    const p = new Proc(net.spawn(net.server, process.execPath, [SERVER, '-c', config]), 'server');
    procs.push(p);
    await p.waitFor(/listening on/);
    return p;
  }

  async function tunnelAddress(): Promise<string[]> {
    const [link] = JSON.parse(await net.exec(net.client, 'ip', ['-j', '-4', 'addr', 'show', 'dev', '4o6r0'])) as Array<{ addr_info: Array<{ local: string }> }>;
    return link?.addr_info.map((a) => a.local) ?? [];
  }

  /** Runs one paced transfer, disturbing the network once 8 MiB have arrived; returns the longest pause. */
  async function transferThrough(what: string, disturb: () => Promise<void>): Promise<number> {
    port++;
    const sink = new Proc(net.spawn(net.server, process.execPath, [TRANSFER, 'sink', SINK, String(port)]), 'sink');
    procs.push(sink);
    await sink.waitFor(/listening/);
    const source = new Proc(net.spawn(net.client, process.execPath, [TRANSFER, 'source', SINK, String(port), String(TRANSFER_BYTES), String(PACE_BYTES_PER_S)]), 'source');
    procs.push(source);
    await sink.waitFor(/received 8 MiB/, 20_000);
    const reconnectsBefore = (client.out.match(/ connected: /g) ?? []).length;
    await disturb();
    // 50 MiB at the pace take under 10 s; a transfer whose connection died would hang: bounded.
    await waitFor(() => !source.alive, { timeoutMs: 60_000, what: `the transfer to end (${what})` }).catch((err: Error) => {
      throw new Error(`${err.message}; the client's log:\n${client.out.slice(-4000)}`);
    });
    assert.equal(source.exitCode, 0, `the source failed (${what}):\n${source.out}`);
    const sent = /^sent (\d+) ([0-9a-f]{64})$/m.exec(source.out);
    const done = /^sink says done (\d+) ([0-9a-f]{64}) maxgap=(\d+) at=(\d+)$/m.exec(source.out);
    assert.ok(sent && done, source.out);
    assert.equal(done[1], String(TRANSFER_BYTES));
    assert.equal(done[2], sent[2], 'the bytes that arrived differ from the bytes sent');
    assert.ok((client.out.match(/ connected: /g) ?? []).length > reconnectsBefore, `the tunnel did reconnect (${what})`);
    assert.deepEqual(await tunnelAddress(), ['198.18.0.2'], 'the tunnel address stayed the same');
    await sink.stop();
    const gap = Number(done[3]);
    stopped.push(`${what}: ${gap} ms`);
    return gap;
  }

  const addr = (a: string) => [`${a}/64`, 'dev', net.clientDev];

  test('(a) the client\'s IPv6 address removed for 5 s, then back', async () => {
    const gap = await transferThrough('address removed for 5 s', async () => {
      await net.exec(net.client, 'ip', ['-6', 'addr', 'del', ...addr(net.clientAddress)]);
      await client.waitFor(/went away \(network change\)/, 5000);
      const removedAt = Date.now();
      await waitFor(() => Date.now() - removedAt >= 5000, { timeoutMs: 6000, what: '5 s without the address' });
      await net.exec(net.client, 'ip', ['-6', 'addr', 'add', ...addr(net.clientAddress), 'nodad']);
    });
    assert.ok(gap >= 4500, `traffic stopped ${gap} ms: it must have stopped while the address was gone`);
    assert.match(client.out, /the network is back: reconnecting now/);
  });

  test('(b) the gateway stopped and started again', async () => {
    await transferThrough('gateway restarted', async () => {
      assert.equal(await server.stop(), 0);
      server = await startServer();
    });
  });

  test('(c) the client\'s IPv6 address changes to another in the same prefix', async () => {
    const next = net.clientAddress.replace(/::1$/, '::3');
    try {
      await transferThrough('address changed', async () => {
        await net.exec(net.client, 'ip', ['-6', 'addr', 'add', ...addr(next), 'nodad']);
        await net.exec(net.client, 'ip', ['-6', 'addr', 'del', ...addr(net.clientAddress)]);
      });
    } finally {
      await net.exec(net.client, 'ip', ['-6', 'addr', 'del', ...addr(next)]).catch(() => {});
      await net.exec(net.client, 'ip', ['-6', 'addr', 'add', ...addr(net.clientAddress), 'nodad']).catch(() => {});
    }
  });

  test('disconnect leaves nothing behind', async () => {
    assert.equal(await client.stop(), 0);
    assert.equal((await net.exec(net.client, 'nft', ['list', 'tables'])).trim(), '');
    assert.equal((await net.exec(net.client, 'ip', ['-4', 'route', 'show'])).trim(), '');
    await server.stop();
  });
});

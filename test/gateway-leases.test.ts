// The same address back (protocol.md 6.3), with real processes in namespaces: our gateway
// (dist/server/main.js) in one; raw protocol clients (test/support/lease-client.js) from several IPv6
// source addresses, and our CLI client, in the other. Needs root.
//
//   [ns client] veth0 fd00:<n>::1/64, ::b1, ::b2 (deprecated: used only when bound)
//   [ns server] veth0 fd00:<n>::2/64       main.js :5555, metrics on 127.0.0.1:9605, TUN 4o6s0 198.18.0.1/24
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Proc } from './support/proc';
import { needsProgram, needsRoot, skipUnless } from './support/requirements';
import { type TwoHostNet, cleanupStaleNamespaces, createTwoHostNet, waitFor } from './support/netns';

const DIST = join(__dirname, '..');
const SERVER = join(DIST, 'server', 'main.js');
const CLI = join(DIST, 'helper', 'cli.js');
const LEASE_CLIENT = join(DIST, 'test', 'support', 'lease-client.js');
const UUID = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const skip = skipUnless(needsRoot(), needsProgram('ping', 'apt-get install iputils-ping'));
const ID_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const ID_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const ID_C = 'cccccccccccccccccccccccccccccccc';
const ID_D = 'dddddddddddddddddddddddddddddddd';

interface Metrics {
  sessions: number;
  leasesFree: number;
  leasesReserved: number;
  leasesInUse: number;
  leaseGrants: Record<string, number>;
  closedBy: Record<string, number>;
}

describe('the same address back: reservations, takeover, restart', { skip }, () => {
  let net: TwoHostNet;
  let dir: string;
  let fromB1: string;
  let fromB2: string;
  const procs: Proc[] = [];
  let servers = 0;

  before(async () => {
    await cleanupStaleNamespaces();
    net = await createTwoHostNet('leases');
    dir = mkdtempSync(join(tmpdir(), '4o6-leases-'));
    const prefix = net.clientAddress.replace(/::1$/, '');
    fromB1 = `${prefix}::b1`;
    fromB2 = `${prefix}::b2`;
    for (const a of [fromB1, fromB2]) {
      await net.exec(net.client, 'ip', ['-6', 'addr', 'add', `${a}/64`, 'dev', net.clientDev, 'nodad', 'preferred_lft', '0']);
    }
  });
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
  });
  after(async () => {
    await net?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Writes a config; the same stateDir across restarts of one test's gateway. */
  function serverConfig(stateDir: string, range: string, extra = ''): string {
    const path = join(dir, `server-${servers++}.yaml`);
    writeFileSync(path, `listen_address: "::"
port: 5555
gateway: "198.18.0.1"
address_range: "${range}"
netmask: "255.255.255.0"
dns0: "198.18.0.53"
dns1: "0.0.0.0"
dns2: "0.0.0.0"
tun_name: "4o6s0"
metrics_listen: "127.0.0.1:9605"
state_dir: "${stateDir}"
${extra}
`);
    return path;
  }

  async function startServer(config: string): Promise<Proc> {
    const p = new Proc(net.spawn(net.server, process.execPath, [SERVER, '-c', config]), 'server');
    procs.push(p);
    await p.waitFor(/metrics on/);
    return p;
  }

  async function metrics(): Promise<Metrics> {
    const script = "require('http').get('http://127.0.0.1:9605/metrics.json',r=>{let d='';r.on('data',c=>d+=c);" +
      "r.on('end',()=>process.stdout.write(d))}).on('error',e=>{console.error(e.message);process.exit(1)})";
    return JSON.parse(await net.exec(net.server, process.execPath, ['-e', script])) as Metrics;
  }

  /** A raw client; resolves with it once it has its lease. */
  async function lease(label: string, opts: { id?: string; addr?: string; from?: string } = {}): Promise<{ proc: Proc; address: string }> {
    const args = [LEASE_CLIENT, net.serverAddress, '5555'];
    if (opts.from) args.push('--from', opts.from);
    if (opts.id) args.push('--id', opts.id);
    if (opts.addr) args.push('--addr', opts.addr);
    const proc = new Proc(net.spawn(net.client, process.execPath, args), label);
    procs.push(proc);
    const m = await proc.waitFor(/"event":"lease","address":"([\d.]+)"/);
    return { proc, address: m[1] };
  }

  /** Kills a raw client (its connection closes at once) and waits until the gateway has reserved its address. */
  async function leave(c: { proc: Proc }, reservedAfter: number): Promise<void> {
    await c.proc.stop('SIGKILL');
    await waitFor(async () => (await metrics()).leasesReserved === reservedAfter, { timeoutMs: 5000, what: `${reservedAfter} reservation(s)` });
  }

  test('a client id gets its address back from another IPv6 source; others do not get it, even by asking', async () => {
    const server = await startServer(serverConfig(join(dir, 'state-id'), '198.18.0.2-198.18.0.20'));
    const a = await lease('a', { id: ID_A });
    assert.equal(a.address, '198.18.0.2');
    // While A is connected, B naming A's address gets another one, and A is left alone.
    const b = await lease('b', { id: ID_B, addr: a.address });
    assert.equal(b.address, '198.18.0.3');
    await leave(a, 1);
    // Reserved for A: C (asking for it) and D (not asking) get other addresses.
    assert.equal((await lease('c', { id: ID_C, addr: a.address })).address, '198.18.0.4');
    assert.equal((await lease('d', { id: ID_D })).address, '198.18.0.5');
    // A from a new source address, asking and not asking.
    const a2 = await lease('a from b1', { id: ID_A, addr: a.address, from: fromB1 });
    assert.equal(a2.address, a.address);
    await leave(a2, 1);
    assert.equal((await lease('a from b2', { id: ID_A, from: fromB2 })).address, a.address);
    const m = await metrics();
    assert.deepEqual(m.leaseGrants, { takeover: 0, requested: 1, reserved: 1, free: 4, reclaimed: 0 });
    assert.match(server.out, /leased 198\.18\.0\.2 \(as it asked\)/);
    assert.match(server.out, /leased 198\.18\.0\.3 \(asked for 198\.18\.0\.2\)/);
    assert.match(server.out, /lease returned, reserved for this client for 600 s/);
  });

  test('a legacy client (no id) is known by its IPv6 source: same source, same address; another source, another', async () => {
    await startServer(serverConfig(join(dir, 'state-legacy'), '198.18.0.2-198.18.0.20'));
    const x = await lease('legacy b1', { from: fromB1 });
    await leave(x, 1);
    assert.equal((await lease('legacy b2', { from: fromB2 })).address, '198.18.0.3');
    assert.equal((await lease('legacy b1 again', { from: fromB1 })).address, x.address);
  });

  test('the same id while its old connection is still open: the old one is closed, the new one has the address and its traffic', async () => {
    const server = await startServer(serverConfig(join(dir, 'state-takeover'), '198.18.0.2-198.18.0.20'));
    const old = await lease('old', { id: ID_A });
    const other = await lease('other', { id: ID_B });
    // The network changed: A comes from another address; its old connection still looks alive.
    const fresh = await lease('new', { id: ID_A, addr: old.address, from: fromB1 });
    assert.equal(fresh.address, old.address);
    await old.proc.waitFor(/"event":"closed","leased":true/, 5000);
    assert.match(server.out, /closed session 1 .*replaced by session 3 of the same client, which keeps 198\.18\.0\.2.*its address went with the client/);
    const m = await metrics();
    assert.equal(m.closedBy.replaced, 1);
    assert.equal(m.leaseGrants.takeover, 1);
    assert.equal(m.sessions, 2);
    assert.equal(m.leasesReserved, 0, 'nothing was released');
    // Traffic to the address goes to the new connection.
    await net.exec(net.server, 'ping', ['-c', '2', '-i', '0.2', '-W', '1', old.address]).catch(() => '');
    await fresh.proc.waitFor(/"event":"data","frames":[1-9]/, 5000);
    assert.ok(other.proc.alive);
    assert.doesNotMatch(other.proc.out, /"event":"data"/);
  });

  test('reserved addresses go to others only when nothing else is left, the oldest reservation first', async () => {
    await startServer(serverConfig(join(dir, 'state-last'), '198.18.0.2-198.18.0.4'));
    const a = await lease('a', { id: ID_A });
    const b = await lease('b', { id: ID_B });
    await leave(a, 1);
    await leave(b, 2);
    assert.equal((await lease('c', { id: ID_C })).address, '198.18.0.4', 'the free one first');
    assert.equal((await lease('d', { id: ID_D })).address, a.address, 'then A\'s (the older reservation)');
    const m = await metrics();
    assert.equal(m.leaseGrants.reclaimed, 1);
    assert.equal(m.leasesReserved, 1);
    assert.equal((await lease('b again', { id: ID_B })).address, b.address, 'B\'s reservation held');
  });

  for (const how of ['SIGTERM', 'SIGKILL'] as const) {
    test(`a gateway restart (${how}): clients get their addresses back from the lease file, newcomers do not get them`, async () => {
      const stateDir = join(dir, `state-restart-${how}`);
      const config = serverConfig(stateDir, '198.18.0.2-198.18.0.20');
      let server = await startServer(config);
      const b = await lease('b', { id: ID_B }); // .2
      const a = await lease('a', { id: ID_A }); // .3
      const legacy = await lease('legacy', { from: fromB1 }); // .4
      const leaseFile = join(stateDir, 'leases.json');
      // The lease file is written within a second of a change: what a kill -9 leaves behind.
      await waitFor(() => existsSync(leaseFile) && (readFileSync(leaseFile, 'utf8').match(/null\]/g) ?? []).length === 3,
        { timeoutMs: 5000, what: 'three leases in use in the lease file' });
      if (how === 'SIGTERM') assert.equal(await server.stop('SIGTERM'), 0);
      else await server.stop('SIGKILL');
      await Promise.all([a, b, legacy].map((c) => c.proc.exited));
      const text = readFileSync(leaseFile, 'utf8');
      assert.match(text, new RegExp(`"198\\.18\\.0\\.3","id:${ID_A}",${how === 'SIGTERM' ? '\\d+' : 'null'}\\]`));
      assert.match(text, /"198\.18\.0\.4","src:fd00:[0-9a-f]+::b1",/);

      server = await startServer(config);
      assert.match(server.out, /lease file .*: 3 address\(es\) reserved for their clients/);
      assert.equal((await metrics()).leasesReserved, 3);
      assert.equal((await lease('newcomer', { id: ID_C })).address, '198.18.0.5');
      assert.equal((await lease('a back', { id: ID_A, addr: a.address, from: fromB2 })).address, a.address);
      assert.equal((await lease('legacy back', { from: fromB1 })).address, legacy.address);
      assert.equal((await lease('b back', { id: ID_B })).address, b.address);
      assert.equal(await server.stop(), 0);
    });
  }

  test('a corrupt lease file is ignored with one line, and replaced', async () => {
    const stateDir = join(dir, 'state-corrupt');
    const config = serverConfig(stateDir, '198.18.0.2-198.18.0.20');
    let server = await startServer(config);
    await server.stop();
    writeFileSync(join(stateDir, 'leases.json'), '{"version":1,"leases":[["198.18.0.2"');
    server = await startServer(config);
    assert.match(server.out, /ignored the lease file .*leases\.json: not JSON .*every address starts free/);
    assert.equal((await lease('a', { id: ID_A })).address, '198.18.0.2');
    await waitFor(() => /"198\.18\.0\.2","id:a{32}",null\]/.test(readFileSync(join(stateDir, 'leases.json'), 'utf8')),
      { timeoutMs: 5000, what: 'the lease file rewritten' });
  });

  test('our CLI client gets its address back after a gateway restart; a client arriving meanwhile does not take it', async () => {
    const config = serverConfig(join(dir, 'state-cli'), '198.18.0.2-198.18.0.20', `pk: "${UUID}"`);
    let server = await startServer(config);
    const cli = new Proc(net.spawn(net.client, process.execPath, [
      CLI, 'connect', '--server', net.serverAddress, '--port', '5555', '--uuid', UUID, '--tun-name', '4o6c0', '--no-dns',
      '--journal', join(dir, 'journal-cli.jsonl'), '--client-ids', join(dir, 'client-ids.json'),
    ]), 'cli');
    procs.push(cli);
    await cli.waitFor(/connected: 198\.18\.0\.2\/24 on 4o6c0/);
    assert.match(await net.exec(net.client, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '198.18.0.1']), / 0% packet loss/);
    assert.equal(await server.stop('SIGTERM'), 0);
    server = await startServer(config);
    // A legacy-style client without a key would be refused (require_encryption): use an encrypted raw one.
    const newcomer = new Proc(net.spawn(net.client, process.execPath, [LEASE_CLIENT, net.serverAddress, '5555', '--from', fromB1, '--pk', UUID]), 'newcomer');
    procs.push(newcomer);
    const got = (await newcomer.waitFor(/"event":"lease","address":"([\d.]+)"/))[1];
    assert.notEqual(got, '198.18.0.2');
    await waitFor(() => (cli.out.match(/connected: 198\.18\.0\.2\/24 on 4o6c0/g) ?? []).length >= 2, { timeoutMs: 40_000, what: 'the CLI back with 198.18.0.2' });
    assert.match(await net.exec(net.client, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '198.18.0.1']), / 0% packet loss/);
    assert.equal(await cli.stop(), 0);
    assert.equal(await server.stop(), 0);
  });
});

// End to end with real devices: our gateway (dist/server/main.js) and our CLI client (dist/helper/cli.js)
// in two network namespaces joined by a veth pair. Needs root.
//
//   [ns client]  4o6<x> (TUN, 198.18.0.x)         [ns server]  4o6s<n> (TUN, 198.18.0.1/24)
//        cli.js ---- veth0 fd00:..::1 ======= veth0 fd00:..::2 ---- main.js :5555+n
//
// Ping and TCP transfers go through the TUN devices; DNS is written to a file the test passes.
// Each test stops what it started (t.after) and gives its gateway a TUN name and port of its own, so
// one failing test cannot leave a process holding a device or port that the next test needs.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, after, before, describe, test } from 'node:test';
import { Proc } from './support/proc';
import { needsProgram, needsRoot, skipUnless } from './support/requirements';
import { type TwoHostNet, cleanupStaleNamespaces, createTwoHostNet, waitFor } from './support/netns';

const DIST = join(__dirname, '..');
const SERVER = join(DIST, 'server', 'main.js');
const CLI = join(DIST, 'helper', 'cli.js');
const TRANSFER = join(DIST, 'test', 'support', 'transfer.js');
const UUID = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const MB = 1024 * 1024;
const skip = skipUnless(needsRoot(), needsProgram('ping', 'apt-get install iputils-ping'), needsProgram('nft', 'apt-get install nftables'));

/** A child process with its output collected, for waiting on log lines. */
describe('tunnel through real TUN devices in namespaces', { skip }, () => {
  let net: TwoHostNet;
  let dir: string;
  let started = 0;

  before(async () => {
    await cleanupStaleNamespaces();
    net = await createTwoHostNet('tun');
    dir = mkdtempSync(join(tmpdir(), '4o6-e2e-'));
    // A host name for the gateway, seen only inside the client namespace (ip netns exec bind-mounts it).
    mkdirSync(`/etc/netns/${net.client}`, { recursive: true });
    writeFileSync(`/etc/netns/${net.client}/hosts`, `${net.serverAddress} gateway.test\n`);
  });
  after(async () => {
    await net?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A process in one of the namespaces, killed when the test `t` ends however it ends. */
  function spawn(t: TestContext, ns: string, args: string[], label: string): Proc {
    const p = new Proc(net.spawn(ns, process.execPath, args), label);
    t.after(() => p.stop('SIGKILL'));
    return p;
  }

  function writeServerConfig(name: string, port: number, tun: string, extra: string, pk: string | null, range: string): string {
    const path = join(dir, name);
    writeFileSync(path, `listen_address: "::"
port: ${port}
gateway: "198.18.0.1"
address_range: "${range}"
netmask: "255.255.255.0"
dns0: "198.18.0.53"
dns1: "198.18.0.54"
dns2: "0.0.0.0"
tun_name: "${tun}"
state_dir: "${path}.state"
${pk ? `pk: "${pk}"` : ''}
${extra}
`);
    return path;
  }

  type Server = Proc & { port: number; tun: string };

  async function startServer(t: TestContext, extra = '', pk: string | null = UUID, range = '198.18.0.2-198.18.0.250'): Promise<Server> {
    const n = ++started;
    const port = 5555 + n;
    const tun = `4o6s${n}`;
    const config = writeServerConfig(`server-${n}.yaml`, port, tun, extra, pk, range);
    const p = Object.assign(spawn(t, net.server, [SERVER, '-c', config], `server ${tun}`), { port, tun });
    await p.waitFor(/listening on/);
    return p;
  }

  function startClient(t: TestContext, server: Server, args: string[], tag: string): Proc {
    return spawn(t, net.client, [
      CLI, 'connect', '--server', net.serverAddress, '--port', String(server.port),
      '--journal', join(dir, `journal-${tag}.jsonl`), '--client-ids', join(dir, `client-ids-${tag}.json`), '--stats-interval', '1', ...args,
    ], `client ${tag}`);
  }

  async function ping(ns: string, target: string, extra: string[] = []): Promise<string> {
    return net.exec(ns, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', ...extra, target]);
  }

  async function transfer(t: TestContext, bytes: number): Promise<void> {
    const port = String(9000 + started);
    const sink = spawn(t, net.server, [TRANSFER, 'sink', '198.18.0.1', port], 'sink');
    await sink.waitFor(/listening/);
    const out = await net.exec(net.client, process.execPath, [TRANSFER, 'source', '198.18.0.1', port, String(bytes)], { timeoutMs: 120_000 });
    const [sent, sinkSays] = out.trim().split('\n');
    assert.match(sent, new RegExp(`^${bytes} [0-9a-f]{64}$`));
    assert.equal(sinkSays, `sink says ${sent}`, 'the bytes that arrived differ from the bytes sent');
    await sink.stop();
  }

  async function leftovers(): Promise<string[]> {
    const found: string[] = [];
    for (const ns of [net.client, net.server]) {
      const links = JSON.parse(await net.exec(ns, 'ip', ['-j', 'link', 'show'])) as Array<{ ifname: string }>;
      for (const l of links) if (l.ifname.startsWith('4o6')) found.push(`${ns}: link ${l.ifname}`);
      const routes = JSON.parse(await net.exec(ns, 'ip', ['-j', '-4', 'route', 'show'])) as Array<{ dst: string; dev: string }>;
      for (const r of routes) found.push(`${ns}: route ${r.dst} dev ${r.dev}`);
      const tables = await net.exec(ns, 'nft', ['list', 'tables']);
      if (tables.trim()) found.push(`${ns}: nft ${tables.trim()}`);
    }
    return found;
  }

  for (const encrypted of [false, true]) {
    const mode = encrypted ? 'encrypted' : 'plain';
    test(`${mode}: ping both ways, 50 MB TCP transfer each way with checksums, DNS, then SIGTERM leaves nothing`, async (t) => {
      const resolvConf = join(dir, `resolv-${mode}.conf`);
      writeFileSync(resolvConf, 'nameserver 198.18.9.9\n');
      const server = await startServer(t, `nat: true\nnat_interface: ${net.serverDev}`, encrypted ? UUID : null);
      const tun = encrypted ? '4o6e0' : '4o6p0';
      const client = startClient(t, server, ['--tun-name', tun, '--resolv-conf', resolvConf, ...(encrypted ? ['--uuid', UUID] : [])], mode);
      await client.waitFor(new RegExp(`connected: 198\\.18\\.0\\.2/24 on ${tun}`));

      assert.match(await ping(net.client, '198.18.0.1'), / 0% packet loss/);
      assert.match(await ping(net.server, '198.18.0.2'), / 0% packet loss/);
      assert.match(readFileSync(resolvConf, 'utf8'), /nameserver 198\.18\.0\.53\nnameserver 198\.18\.0\.54/);
      const routes = await net.exec(net.client, 'ip', ['-4', 'route', 'show']);
      assert.match(routes, new RegExp(`0\\.0\\.0\\.0/1 dev ${tun}`));
      assert.match(routes, new RegExp(`128\\.0\\.0\\.0/1 dev ${tun}`));
      assert.match(await net.exec(net.server, 'nft', ['list', 'tables']), /inet fourover6/);

      await transfer(t, 50 * MB);
      // And the other way: the sink in the client namespace, the source at the gateway.
      const port = '9100';
      const sink = spawn(t, net.client, [TRANSFER, 'sink', '198.18.0.2', port], 'client sink');
      await sink.waitFor(/listening/);
      const out = await net.exec(net.server, process.execPath, [TRANSFER, 'source', '198.18.0.2', port, String(50 * MB)], { timeoutMs: 120_000 });
      const [sent, sinkSays] = out.trim().split('\n');
      assert.equal(sinkSays, `sink says ${sent}`);
      await sink.stop();
      await client.waitFor(/up .*\(\d+(\.\d+)? MiB\)/);

      assert.equal(await client.stop(), 0);
      assert.equal(await server.stop(), 0);
      assert.deepEqual(await leftovers(), []);
      assert.equal(readFileSync(resolvConf, 'utf8'), 'nameserver 198.18.9.9\n', 'resolv.conf restored byte for byte');
    });
  }

  test('TCP through the tunnel settles on an MSS of 1456, so its packets fit legacy peers (1496 bytes)', async (t) => {
    const server = await startServer(t, '', null);
    const client = startClient(t, server, ['--tun-name', '4o6m0', '--no-dns'], 'mss');
    await client.waitFor(/connected: 198\.18\.0\.2\/24 on 4o6m0/);
    // Both kernels advertise 1460 (MTU 1500); the engine and the gateway lower it in the SYN and the SYN-ACK.
    const sink = spawn(t, net.server, [TRANSFER, 'sink', '198.18.0.1', '9300'], 'sink');
    await sink.waitFor(/listening/);
    const holder = spawn(t, net.client, ['-e',
      "const s = require('net').connect({ host: '198.18.0.1', port: 9300 }, () => { console.log('connected'); setTimeout(() => s.end(), 3000); }); s.resume();"], 'holder');
    await holder.waitFor(/connected/);
    for (const [ns, filter] of [[net.client, ['dst', '198.18.0.1:9300']], [net.server, ['src', '198.18.0.1:9300']]] as const) {
      const info = await net.exec(ns, 'ss', ['-tin', 'state', 'established', ...filter]);
      const mss = /\bmss:(\d+)/.exec(info)?.[1];
      // 1456, or 1444 when TCP timestamps take 12 bytes of each segment; unclamped it is 1460 or 1448.
      assert.ok([1456, 1456 - 12].includes(Number(mss)), `send MSS in ${ns === net.client ? 'the client' : 'the server'} namespace:\n${info}`);
    }
    await holder.exited;
    await sink.stop();
    assert.equal(await client.stop(), 0);
    assert.equal(await server.stop(), 0);
  });

  test('a network change (the client\'s IPv6 address replaced) reconnects within seconds, not after the heartbeat timeout', async (t) => {
    const server = await startServer(t, '', null);
    const client = startClient(t, server, ['--tun-name', '4o6n0', '--no-dns'], 'roam');
    await client.waitFor(/connected: 198\.18\.0\.2\/24 on 4o6n0/);
    const newAddress = net.clientAddress.replace(/::1$/, '::3');
    const t0 = Date.now();
    try {
      await net.exec(net.client, 'ip', ['-6', 'addr', 'del', `${net.clientAddress}/64`, 'dev', net.clientDev]);
      await net.exec(net.client, 'ip', ['-6', 'addr', 'add', `${newAddress}/64`, 'dev', net.clientDev, 'nodad']);
      await client.waitFor(/went away \(network change\)/, 5000);
      // Up again from the new address (the heartbeat timeout is 60 s: this must come long before).
      await waitFor(() => (client.out.match(/connected: 198\.18\.0\.\d+\/24 on 4o6n0/g) ?? []).length >= 2, { timeoutMs: 10_000, what: 'the client to reconnect' });
      assert.ok(Date.now() - t0 < 15_000);
      assert.match(await ping(net.client, '198.18.0.1'), / 0% packet loss/);
    } finally {
      await net.exec(net.client, 'ip', ['-6', 'addr', 'del', `${newAddress}/64`, 'dev', net.clientDev]).catch(() => {});
      await net.exec(net.client, 'ip', ['-6', 'addr', 'add', `${net.clientAddress}/64`, 'dev', net.clientDev, 'nodad']).catch(() => {});
    }
    assert.equal(await client.stop(), 0);
    assert.equal(await server.stop(), 0);
  });

  test('two clients from the same IPv6 address, pool of 2: both work, a third is refused', async (t) => {
    const server = await startServer(t, '', null, '198.18.0.2-198.18.0.3');
    // Two tunnels at once: a kill switch of one would block the other's device.
    const quiet = ['--no-default-route', '--no-dns', '--no-reconnect', '--kill-switch', 'off'];
    // Client a finds the gateway by name (AAAA from the namespace's hosts file).
    // Client a also takes the plain TUN path (no virtio header, no coalescing, no TSO).
    const a = startClient(t, server, ['--tun-name', '4o6a', ...quiet, '--server', 'gateway.test', '--no-tun-offload'], 'a');
    await a.waitFor(/connecting \(TCP to \[fd00:[0-9a-f:]+\]\)/);
    await a.waitFor(/connected: 198\.18\.0\.2\/24 on 4o6a/);
    const b = startClient(t, server, ['--tun-name', '4o6b', ...quiet], 'b');
    await b.waitFor(/connected: 198\.18\.0\.3\/24 on 4o6b/);
    const c = startClient(t, server, ['--tun-name', '4o6c', ...quiet], 'c');
    assert.equal(await c.exited, 1);
    assert.match(c.out, /without offering an address/);
    assert.match(server.out, /address pool exhausted/);
    assert.match(await ping(net.client, '198.18.0.1', ['-I', '4o6a']), / 0% packet loss/);
    assert.match(await ping(net.client, '198.18.0.1', ['-I', '4o6b']), / 0% packet loss/);
    assert.equal(await a.stop(), 0);
    assert.equal(await b.stop(), 0);
    await server.stop();
    assert.deepEqual(await leftovers(), []);
  });

  test('a peer sending a malformed frame is cut off while a transfer through the tunnel goes on unharmed', async (t) => {
    // The gateway writes segments one by one here (tun_offload: false), so its kernel checks the IPv4
    // and TCP checksums of every segment our client cut from TSO super-packets.
    const server = await startServer(t, 'tun_offload: false', null);
    const client = startClient(t, server, ['--tun-name', '4o6v0', '--no-dns'], 'victim');
    await client.waitFor(/connected: 198\.18\.0\.2/);
    const sink = spawn(t, net.server, [TRANSFER, 'sink', '198.18.0.1', '9200'], 'sink');
    await sink.waitFor(/listening/);
    // A transfer that goes on until the test ends it: the garbage certainly arrives in its middle.
    const source = spawn(t, net.client, [TRANSFER, 'source', '198.18.0.1', '9200', 'stream'], 'source');
    await source.waitFor(/flowing/);
    const garbage = `const s=require('net').connect({host:'${net.serverAddress}',port:${server.port}},()=>{s.write(Buffer.from('0500000064','hex'));setTimeout(()=>s.write(Buffer.from('0600100066ff','hex')),100)});s.resume();s.on('close',()=>{console.log('closed by server');process.exit(0)});setTimeout(()=>process.exit(3),5000)`;
    assert.match(await net.exec(net.client, process.execPath, ['-e', garbage]), /closed by server/);
    assert.equal(source.alive, true);
    source.child.stdin?.end();
    assert.equal(await source.exited, 0);
    const [sent, sinkSays] = source.out.trim().split('\n').filter((l) => l !== 'flowing');
    assert.match(sent, /^\d{7,} [0-9a-f]{64}$/, 'megabytes went through');
    assert.equal(sinkSays, `sink says ${sent}`);
    assert.match(server.out, /closed session 2 .*length field 1048582 is outside 5\.\.2053/);
    assert.equal(await client.stop(), 0);
    await sink.stop();
    await server.stop();
  });

  test('heartbeat eviction with shortened intervals returns the lease', async (t) => {
    // A pool of one address: the next client can only get in if the lease really came back.
    const server = await startServer(t, 'heartbeat_interval: 1\nheartbeat_timeout: 3', null, '198.18.0.2-198.18.0.2');
    // The client heartbeats once at its first tick, then not for an hour.
    const client = startClient(t, server, ['--tun-name', '4o6h0', '--no-dns', '--no-reconnect', '--heartbeat-interval', '3600'], 'silent');
    await client.waitFor(/connected: 198\.18\.0\.2/);
    await server.waitFor(/no heartbeat for \d+ s \(timeout 3 s\).*lease returned/, 10_000);
    assert.equal(await client.exited, 1);
    assert.match(client.out, /connection to the server was lost/);
    // The lease is free again: the next client gets the same address.
    const next = startClient(t, server, ['--tun-name', '4o6h1', '--no-dns'], 'next');
    await next.waitFor(/connected: 198\.18\.0\.2/);
    await next.stop();
    await server.stop();
    assert.deepEqual(await leftovers(), []);
  });

  test('wrong UUID: the client says so within seconds and exits', async (t) => {
    const server = await startServer(t, '', UUID);
    const startedAt = Date.now();
    const client = startClient(t, server, ['--tun-name', '4o6w0', '--uuid', 'bbde0d1c-083b-4f20-9cce-000000000000', '--no-dns'], 'wrongkey');
    const code = await client.exited;
    assert.equal(code, 1);
    assert.match(client.out, /does not use encryption, or uses another key/);
    assert.ok(Date.now() - startedAt < 5000, `took ${Date.now() - startedAt} ms`);
    await server.stop();
    assert.deepEqual(await leftovers(), []);
  });

  test('a client killed with -9 leaves DNS rewritten; `4over6 cleanup` (or the next connect) undoes it from the journal', async (t) => {
    const server = await startServer(t, '', null);
    const resolvConf = join(dir, 'resolv-kill.conf');
    writeFileSync(resolvConf, 'nameserver 198.18.9.9\n');
    const client = startClient(t, server, ['--tun-name', '4o6k0', '--resolv-conf', resolvConf], 'killed');
    await client.waitFor(/connected: 198\.18\.0\.2/);
    assert.match(readFileSync(resolvConf, 'utf8'), /198\.18\.0\.53/);
    await client.stop('SIGKILL');
    assert.match(readFileSync(resolvConf, 'utf8'), /198\.18\.0\.53/, 'nobody cleaned up yet');
    const out = await net.exec(net.client, process.execPath, [CLI, 'cleanup', '--journal', join(dir, 'journal-killed.jsonl')]);
    assert.match(out, /undid \d+ of \d+ change\(s\)/);
    assert.equal(readFileSync(resolvConf, 'utf8'), 'nameserver 198.18.9.9\n');
    assert.match(await net.exec(net.client, process.execPath, [CLI, 'cleanup', '--journal', join(dir, 'journal-killed.jsonl')]), /nothing to undo/);
    await server.stop();
    assert.deepEqual(await leftovers(), []);
  });
});

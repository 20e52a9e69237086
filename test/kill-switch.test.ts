// The kill switch with real processes and real nftables: our CLI client and gateway in namespaces,
// and a second, native IPv4 path from the client to a third namespace that nothing must reach while
// the kill switch holds. Needs root.
//
//   [ns lan]  veth1 198.18.77.2/24 ---- veth1 198.18.77.1/24  [ns client]  cli.js, TUN 4o6k0 198.18.0.x
//             TCP :8080, UDP :53                                 | veth0 fd00:..::1
//                                                                |
//   [ns server]  veth0 fd00:..::2, main.js :5555, TUN 4o6s0 198.18.0.1/24, lo 198.18.0.99; UDP :53
//
// The tunnel's DNS server is the gateway itself (198.18.0.1); 198.18.0.99 is reachable through the
// tunnel but is not one of its DNS servers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Proc } from './support/proc';
import { type TestNamespace, type TwoHostNet, cleanupStaleNamespaces, createTestNamespace, createTwoHostNet } from './support/netns';
import { needsProgram, needsRoot, skipUnless } from './support/requirements';
import { testGatewayYaml } from './support/gateway-config';

const DIST = join(__dirname, '..');
const SERVER = join(DIST, 'server', 'main.js');
const CLI = join(DIST, 'helper', 'cli.js');
const LAN_PEER = '198.18.77.2';
const skip = skipUnless(needsRoot(), needsProgram('ping', 'apt-get install iputils-ping'), needsProgram('nft', 'apt-get install nftables'));

// Listens on TCP 8080 (answers "hi") and UDP 53 (prints each datagram's text), on every address.
const LISTENER = `
const net = require('net'), dgram = require('dgram');
net.createServer((s) => s.end('hi')).listen(8080, '::');
const u = dgram.createSocket('udp6');
u.on('message', (m) => console.log('dns ' + m.toString()));
u.bind(53, '::', () => console.log('listening'));`;

describe('kill switch: nothing leaves outside the tunnel', { skip, timeout: 240_000 }, () => {
  let net: TwoHostNet;
  let lan: TestNamespace;
  let dir: string;
  const procs: Proc[] = [];
  let dnsSeen: Proc;
  let lanDns: Proc;

  before(async () => {
    await cleanupStaleNamespaces();
    net = await createTwoHostNet('ks');
    lan = await createTestNamespace('kslan');
    dir = mkdtempSync(join(tmpdir(), '4o6-ks-'));
    // The native IPv4 path: client <-> lan, a /24 apart from the tunnel's.
    await net.exec(net.client, 'ip', ['link', 'add', 'veth1', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', lan.name]);
    await net.exec(net.client, 'ip', ['addr', 'add', '198.18.77.1/24', 'dev', 'veth1']);
    await lan.exec('ip', ['addr', 'add', `${LAN_PEER}/24`, 'dev', 'veth1']);
    await net.exec(net.client, 'ip', ['link', 'set', 'veth1', 'up']);
    await lan.exec('ip', ['link', 'set', 'veth1', 'up']);
    await net.exec(net.server, 'ip', ['addr', 'add', '198.18.0.99/32', 'dev', 'lo']);
    lanDns = new Proc(lan.spawn(process.execPath, ['-e', LISTENER]), 'lan listener');
    dnsSeen = new Proc(net.spawn(net.server, process.execPath, ['-e', LISTENER]), 'server listener');
    procs.push(lanDns, dnsSeen);
    await lanDns.waitFor(/listening/);
    await dnsSeen.waitFor(/listening/);
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await net?.cleanup();
    await lan?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startServer(): Promise<Proc> {
    const config = join(dir, `server-${procs.length}.yaml`);
    writeFileSync(config, testGatewayYaml({ stateDir: `${config}.state`, dns: ['198.18.0.1', '0.0.0.0', '0.0.0.0'] }));
    const p = new Proc(net.spawn(net.server, process.execPath, [SERVER, '-c', config]), 'server');
    procs.push(p);
    await p.waitFor(/listening on/);
    return p;
  }

  function startClient(args: string[], tag: string): Proc {
    const p = new Proc(net.spawn(net.client, process.execPath, [
      CLI, 'connect', '--server', net.serverAddress, '--port', '5555', '--tun-name', '4o6k0',
      '--journal', join(dir, `journal-${tag}.jsonl`), '--client-ids', join(dir, 'client-ids.json'),
      '--resolv-conf', join(dir, `resolv-${tag}.conf`), ...args,
    ]), `client ${tag}`);
    procs.push(p);
    return p;
  }

  /** Whether one ping from the client namespace gets an answer (1 s). */
  async function pings(target: string): Promise<boolean> {
    return net.exec(net.client, 'ping', ['-c', '1', '-W', '1', target]).then(() => true, () => false);
  }

  /** Whether a TCP connection from the client namespace gets the listener's "hi" (2 s). */
  async function tcpWorks(target: string): Promise<boolean> {
    const script = `const s=require('net').connect({host:'${target}',port:8080});let got='';s.on('data',d=>got+=d);` +
      `s.on('close',()=>{console.log(got==='hi'?'ok':'closed');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)});` +
      `setTimeout(()=>{console.log('timeout');process.exit(0)},2000)`;
    return (await net.exec(net.client, process.execPath, ['-e', script])).trim() === 'ok';
  }

  async function nativeReachable(): Promise<{ ping: boolean; tcp: boolean }> {
    return { ping: await pings(LAN_PEER), tcp: await tcpWorks(LAN_PEER) };
  }

  async function guardTables(): Promise<string> {
    return (await net.exec(net.client, 'nft', ['list', 'tables'])).trim();
  }

  /** UDP datagrams to port 53 from the client namespace, one per target, tagged; the last one is the control. */
  async function sendDns(targets: Array<[string, string]>): Promise<void> {
    const script = `const d=require('dgram');const list=${JSON.stringify(targets)};(async()=>{for(const[tag,host]of list){` +
      `const s=d.createSocket(host.includes(':')?'udp6':'udp4');await new Promise(r=>s.send(tag,53,host,()=>{s.close();r()}));}})()`;
    await net.exec(net.client, process.execPath, ['-e', script]);
  }

  test('on: native IPv4 and stray DNS are blocked while connected and while reconnecting; all open again after disconnect', async () => {
    assert.deepEqual(await nativeReachable(), { ping: true, tcp: true }, 'the native path works before any tunnel (else this test proves nothing)');
    let server = await startServer();
    const client = startClient(['--kill-switch', 'on'], 'on');
    await client.waitFor(/connected: 198\.18\.0\.\d+\/24 on 4o6k0/);
    assert.match(await guardTables(), /table inet fourover6-guard/);
    assert.equal(await pings('198.18.0.1'), true, 'the tunnel itself works as soon as it says "connected"');
    assert.deepEqual(await nativeReachable(), { ping: false, tcp: false }, 'connected: the native path is blocked');

    // DNS: only to the tunnel's server, only through the tunnel. The control goes last; once it has
    // arrived the others, sent before it, would have too.
    await sendDns([['v6-native', net.serverAddress], ['v4-native', LAN_PEER], ['v4-tunnel-not-dns', '198.18.0.99'], ['control', '198.18.0.1']]);
    await dnsSeen.waitFor(/dns control/, 5000);
    assert.doesNotMatch(dnsSeen.out, /dns v6-native|dns v4-tunnel-not-dns/);
    assert.doesNotMatch(lanDns.out, /dns v4-native/);
    assert.equal(await pings('198.18.0.99'), true, '198.18.0.99 is reachable through the tunnel: only its DNS is refused');

    // Reconnecting: the gateway is gone; the tunnel device stays, and so does the block.
    await server.stop();
    await client.waitFor(/reconnecting/, 10_000);
    assert.deepEqual(await nativeReachable(), { ping: false, tcp: false }, 'reconnecting: the native path is still blocked');
    assert.match(await guardTables(), /fourover6-guard/);

    // Back, then disconnected: everything open again, the table gone.
    server = await startServer();
    await client.waitFor(/connected: 198[^]*connected: 198/, 15_000);
    assert.equal(await client.stop(), 0);
    assert.equal(await guardTables(), '');
    assert.deepEqual(await nativeReachable(), { ping: true, tcp: true }, 'after disconnect with "on" the native path works again');
    await server.stop();
  });

  test('lockdown: still blocked after disconnect, until `4over6 cleanup`', async () => {
    const server = await startServer();
    const client = startClient(['--kill-switch', 'lockdown'], 'lockdown');
    await client.waitFor(/connected: 198\.18\.0\.\d+\/24 on 4o6k0/);
    assert.deepEqual(await nativeReachable(), { ping: false, tcp: false });
    assert.equal(await client.stop(), 0);
    assert.match(client.out, /IPv4 stays blocked \(kill switch lockdown\)/);
    assert.match(await guardTables(), /table inet fourover6-guard/);
    assert.deepEqual(await nativeReachable(), { ping: false, tcp: false }, 'lockdown: blocked after disconnect too');
    // The next run in lockdown takes the block over from the journal (no gap while it starts).
    const again = startClient(['--kill-switch', 'lockdown'], 'lockdown');
    await again.waitFor(/undoing \d+ change\(s\) left by a previous run/);
    assert.deepEqual(await nativeReachable(), { ping: false, tcp: false }, 'still blocked while the next run connects');
    await again.waitFor(/connected: 198\.18\.0\.\d+\/24 on 4o6k0/);
    assert.equal(await again.stop(), 0);
    assert.deepEqual(await nativeReachable(), { ping: false, tcp: false });
    const out = await net.exec(net.client, process.execPath, [CLI, 'cleanup', '--journal', join(dir, 'journal-lockdown.jsonl')]);
    assert.match(out, /undid 1 of 1 change/);
    assert.equal(await guardTables(), '');
    assert.deepEqual(await nativeReachable(), { ping: true, tcp: true });
    await server.stop();
  });

  test('allow LAN: the local network stays reachable outside the tunnel, nothing else', async () => {
    const server = await startServer();
    const client = startClient(['--kill-switch', 'on', '--allow-lan'], 'lan');
    await client.waitFor(/connected: 198\.18\.0\.\d+\/24 on 4o6k0/);
    assert.match(await net.exec(net.client, 'nft', ['list', 'table', 'inet', 'fourover6-guard']), /ip daddr 198\.18\.77\.0\/24 accept/);
    assert.deepEqual(await nativeReachable(), { ping: true, tcp: true });
    await sendDns([['lan-dns', LAN_PEER], ['control2', '198.18.0.1']]);
    await dnsSeen.waitFor(/dns control2/, 5000);
    assert.doesNotMatch(lanDns.out, /dns lan-dns/, 'DNS to the LAN is still not the tunnel\'s');
    assert.equal(await client.stop(), 0);
    assert.equal(await guardTables(), '');
    await server.stop();
  });
});

// The gateway under hostile clients, with real processes in namespaces: our gateway (dist/server/main.js)
// in one, abusive raw-byte peers (test/support/hostile-client.js) and our CLI client in the other.
// Needs root.
//
//   [ns client] veth0 fd00:<n>::1/64 (our CLI), fd00:<n>::a1, ::a2 /64 (attackers), fd00:<n>:1::a3/64
//   [ns server] veth0 fd00:<n>::2/64, fd00:<n>:1::2/64      main.js :5555, metrics on 127.0.0.1:9605
//
// The attackers' addresses are deprecated (preferred_lft 0): the kernel never picks them as a source
// on its own, so our CLI always connects from ::1 and only the attackers, which bind them, use them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Proc } from './support/proc';
import { needsProgram, needsRoot, skipUnless } from './support/requirements';
import { type TwoHostNet, cleanupStaleNamespaces, createTwoHostNet, waitFor } from './support/netns';
import { MAX_UNANSWERED_IP_REQUESTS } from '../server/gateway';

const DIST = join(__dirname, '..');
const SERVER = join(DIST, 'server', 'main.js');
const CLI = join(DIST, 'helper', 'cli.js');
const HOSTILE = join(DIST, 'test', 'support', 'hostile-client.js');
const UUID = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const skip = skipUnless(needsRoot(), needsProgram('ping', 'apt-get install iputils-ping'));
const MiB = 1024 * 1024;

interface Metrics {
  sessions: number;
  unleased: number;
  leasesInUse: number;
  accepted: number;
  refused: Record<string, number>;
  closedBy: Record<string, number>;
  ipRequestTimeouts: number;
  ipResponsesDropped: number;
  poolExhausted: number;
}

describe('gateway under hostile clients', { skip }, () => {
  let net: TwoHostNet;
  let dir: string;
  let attackerA1: string;
  let attackerA2: string;
  let attackerOtherPrefix: string;
  const procs: Proc[] = [];
  let serverCount = 0;

  before(async () => {
    await cleanupStaleNamespaces();
    net = await createTwoHostNet('hostile');
    dir = mkdtempSync(join(tmpdir(), '4o6-hostile-'));
    const prefix = net.clientAddress.replace(/::1$/, '');
    attackerA1 = `${prefix}::a1`;
    attackerA2 = `${prefix}::a2`;
    attackerOtherPrefix = `${prefix}:1::a3`;
    for (const a of [attackerA1, attackerA2, attackerOtherPrefix]) {
      await net.exec(net.client, 'ip', ['-6', 'addr', 'add', `${a}/64`, 'dev', net.clientDev, 'nodad', 'preferred_lft', '0']);
    }
    await net.exec(net.server, 'ip', ['-6', 'addr', 'add', `${prefix}:1::2/64`, 'dev', net.serverDev, 'nodad']);
  });
  // Each test's processes go with it, passed or failed, so the next one finds the TUN name and port free.
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
  });
  after(async () => {
    await net?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function startServer(extra: string, opts: { pk?: string; range?: string } = {}): Promise<Proc> {
    const n = serverCount++;
    const config = join(dir, `server-${n}.yaml`);
    writeFileSync(config, `listen_address: "::"
port: 5555
gateway: "198.18.0.1"
address_range: "${opts.range ?? '198.18.0.2-198.18.0.250'}"
netmask: "255.255.255.0"
dns0: "198.18.0.53"
dns1: "0.0.0.0"
dns2: "0.0.0.0"
tun_name: "4o6s0"
metrics_listen: "127.0.0.1:9605"
state_dir: "${join(dir, `state-${n}`)}"
${opts.pk ? `pk: "${opts.pk}"` : ''}
${extra}
`);
    const p = new Proc(net.spawn(net.server, process.execPath, [SERVER, '-c', config]), 'server');
    procs.push(p);
    await p.waitFor(/listening on/);
    await p.waitFor(/metrics on/);
    return p;
  }

  async function metrics(): Promise<Metrics> {
    const script = "require('http').get('http://127.0.0.1:9605/metrics.json',r=>{let d='';r.on('data',c=>d+=c);" +
      "r.on('end',()=>process.stdout.write(d))}).on('error',e=>{console.error(e.message);process.exit(1)})";
    return JSON.parse(await net.exec(net.server, process.execPath, ['-e', script], { timeoutMs: 30_000 })) as Metrics;
  }

  function hostile(args: string[], label: string): Proc {
    const p = new Proc(net.spawn(net.client, process.execPath, [HOSTILE, ...args]), label);
    procs.push(p);
    return p;
  }

  function startClient(tag: string, extra: string[] = []): Proc {
    const p = new Proc(net.spawn(net.client, process.execPath, [
      CLI, 'connect', '--server', net.serverAddress, '--port', '5555', '--tun-name', '4o6c0', '--no-dns', '--no-reconnect',
      '--journal', join(dir, `journal-${tag}.jsonl`), '--client-ids', join(dir, `client-ids-${tag}.json`), ...extra,
    ]), `client ${tag}`);
    procs.push(p);
    return p;
  }

  function rssBytes(p: Proc): number {
    const status = readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) * 1024;
  }

  const lastJson = (p: Proc, event: string) => p.out.split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string } & Record<string, unknown>).filter((e) => e.event === event).at(-1);

  test('slowloris and idle floods hold no lease: a new client still gets an address, the floods are closed after ip_request_timeout', async () => {
    // A pool of 4: on a gateway that leased on accept, the first 4 attackers would take it all.
    const server = await startServer('ip_request_timeout: 3\nmax_unleased_per_address: 1000\nmax_unleased_per_prefix: 1000\nmax_unleased: 1000',
      { range: '198.18.0.2-198.18.0.5' });
    const slow = hostile(['slowloris', net.serverAddress, '5555', '200', '--from', attackerA1, '--every-ms', '500'], 'slowloris');
    const idle = hostile(['idle', net.serverAddress, '5555', '200', '--from', attackerA2], 'idle');
    await slow.waitFor(/"event":"ready"/);
    await idle.waitFor(/"event":"ready"/);
    await waitFor(async () => (await metrics()).accepted === 400, { timeoutMs: 10_000, what: '400 accepted connections' });
    const during = await metrics();
    assert.equal(during.leasesInUse, 0, 'no attacker holds a lease');
    assert.equal(during.unleased + during.ipRequestTimeouts, 400, 'each is waiting for its deadline or was closed at it');

    const client = startClient('legit');
    await client.waitFor(/connected: 198\.18\.0\.2\/24 on 4o6c0/);
    assert.match(await net.exec(net.client, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '198.18.0.1']), / 0% packet loss/);

    // Every attacker is closed by the gateway (3 s deadline, checked on a 1 s tick) and counted.
    await waitFor(async () => (await metrics()).ipRequestTimeouts === 400, { timeoutMs: 15_000, what: '400 IP-request timeouts' });
    const m = await metrics();
    assert.equal(m.unleased, 0);
    assert.equal(m.closedBy.ipRequestTimeout, 400);
    assert.equal(m.sessions, 1, 'the legitimate session is still there');
    await waitFor(() => /"closed":200/.test(slow.out) && /"closed":200/.test(idle.out), { timeoutMs: 5000, what: 'the attackers to see their connections closed' });
    assert.match(await net.exec(net.client, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '198.18.0.1']), / 0% packet loss/);
    // 400 closes in about one second: a handful of log lines, and a count of the rest.
    const closeLines = server.out.split('\n').filter((l) => /closed session \d+ .*no valid IP request/.test(l));
    assert.ok(closeLines.length <= 40, `${closeLines.length} close lines logged for 400 closes`);
    await waitFor(() => /suppressed \d+ more like: closed session/.test(server.out), { timeoutMs: 5000, what: 'a line counting the suppressed close lines' });
    assert.equal(await client.stop(), 0);
    await slow.stop('SIGKILL');
    await idle.stop('SIGKILL');
    assert.equal(await server.stop(), 0);
  });

  test('per-source limits: unleased connections beyond them are refused at accept and counted per reason', async () => {
    const server = await startServer('ip_request_timeout: 60\nmax_unleased_per_address: 2\nmax_unleased_per_prefix: 3\nmax_unleased: 4');
    // ::a1 gets 2 (the third: per address); ::a2 one more in the /64 (the second: per prefix);
    // another /64 one more (total 4; the second: total).
    const a1 = hostile(['idle', net.serverAddress, '5555', '3', '--from', attackerA1], 'a1');
    await a1.waitFor(/"event":"ready"/);
    await waitFor(async () => (await metrics()).refused.perAddress === 1, { timeoutMs: 5000, what: 'a refusal per address' });
    const a2 = hostile(['idle', net.serverAddress, '5555', '2', '--from', attackerA2], 'a2');
    await a2.waitFor(/"event":"ready"/);
    await waitFor(async () => (await metrics()).refused.perPrefix === 1, { timeoutMs: 5000, what: 'a refusal per prefix' });
    const a3 = hostile(['idle', `${net.serverAddress.replace(/::2$/, '')}:1::2`, '5555', '2', '--from', attackerOtherPrefix], 'a3');
    await a3.waitFor(/"event":"ready"/);
    await waitFor(async () => (await metrics()).refused.total === 1, { timeoutMs: 5000, what: 'a refusal for the total' });
    const m = await metrics();
    assert.equal(m.unleased, 4);
    assert.deepEqual(m.refused, { perAddress: 1, perPrefix: 1, total: 1 });
    assert.match(server.out, /refused \[fd00:[0-9a-f:]+::a1\]:\d+: 2 connections from this address have not asked for an address yet/);

    // Once they are gone, a legitimate client gets in.
    for (const p of [a1, a2, a3]) await p.stop('SIGKILL');
    await waitFor(async () => (await metrics()).unleased === 0, { timeoutMs: 5000, what: 'the unleased connections to close' });
    const client = startClient('after-limits');
    await client.waitFor(/connected: 198\.18\.0\.2\/24 on 4o6c0/);
    assert.equal(await client.stop(), 0);
    assert.equal(await server.stop(), 0);
  });

  test('1,000 idle connections from one address, default limits: 16 admitted, 984 refused, a few log lines with a count', async () => {
    const server = await startServer('ip_request_timeout: 30');
    const flood = hostile(['idle', net.serverAddress, '5555', '1000', '--from', attackerA1], 'idle flood');
    await flood.waitFor(/"event":"ready"/, 30_000);
    await waitFor(async () => (await metrics()).refused.perAddress === 984, { timeoutMs: 15_000, what: '984 refusals per address' });
    const m = await metrics();
    assert.equal(m.unleased, 16);
    assert.equal(m.leasesInUse, 0);
    // A legitimate client from another address of the same /64 still gets in (16 + 1 of 64 there).
    const client = startClient('beside-flood');
    await client.waitFor(/connected: 198\.18\.0\.2\/24 on 4o6c0/);
    assert.equal(await client.stop(), 0);
    const refusedLines = server.out.split('\n').filter((l) => /refused \[.*::a1\]/.test(l));
    assert.ok(refusedLines.length <= 40, `${refusedLines.length} refusal lines for 985 refusals`);
    await waitFor(() => /suppressed \d+ more like: refused/.test(server.out) || /\(\d+ more since last report\)/.test(server.out),
      { timeoutMs: 5000, what: 'a count of the suppressed refusal lines' });
    await flood.stop('SIGKILL');
    assert.equal(await server.stop(), 0);
  });

  test('IP responses: at most one per second per connection, the rest dropped and counted (raw bytes)', async () => {
    const server = await startServer('');
    const r = hostile(['requests', net.serverAddress, '5555', '10'], 'requests');
    await r.exited;
    const report = lastJson(r, 'frames') as unknown as { arrived: Array<{ t: number; type: number }>; open: boolean };
    const responses = report.arrived.filter((f) => f.type === 101);
    assert.equal(responses.length, 1, `10 requests in one write got ${responses.length} IP responses: ${JSON.stringify(report.arrived)}`);
    assert.ok(report.open, 'the connection stays open');
    assert.equal((await metrics()).ipResponsesDropped, 9);
    assert.equal(await server.stop(), 0);
  });

  for (const encrypted of [false, true]) {
    const mode = encrypted ? 'encrypted' : 'plain';
    test(`${mode} IP-request flood that never reads: closed after ${MAX_UNANSWERED_IP_REQUESTS} unanswered requests, gateway memory stays bounded`, async (t) => {
      const server = await startServer('', { pk: encrypted ? UUID : undefined });
      await new Promise((r) => setTimeout(r, 1000));
      const baseline = rssBytes(server);
      const frames = encrypted ? 1_000_000 : 2_000_000;
      const flood = hostile(['flood', net.serverAddress, '5555', String(frames), ...(encrypted ? ['--pk', UUID] : [])], `${mode} flood`);
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(server))), 100);
      try {
        // One answer, then every request within the second is dropped; one past the limit closes the connection.
        await waitFor(async () => (await metrics()).closedBy.ipRequestFlood === 1, { timeoutMs: 30_000, what: 'the flood connection to be closed as a flood' });
        await flood.waitFor(/"event":"closed"/, 30_000);
      } finally {
        clearInterval(sampler);
      }
      const m = await metrics();
      assert.equal(m.ipResponsesDropped, MAX_UNANSWERED_IP_REQUESTS + 1, 'requests dropped before the close');
      assert.equal(m.sessions, 0);
      await flood.stop('SIGKILL');
      await new Promise((r) => setTimeout(r, 2000));
      const afterwards = rssBytes(server);
      const mib = (b: number) => (b / MiB).toFixed(0);
      t.diagnostic(`${mode}: flood of up to ${frames} IP requests; gateway RSS ${mib(baseline)} MiB before, peak ${mib(peak)} MiB, ${mib(afterwards)} MiB 2 s after`);
      // Generous bounds: with every answer queued it grew by hundreds of MiB and stayed there.
      assert.ok(peak - baseline < 64 * MiB, `RSS grew by ${mib(peak - baseline)} MiB during the flood`);
      assert.ok(afterwards - baseline < 32 * MiB, `RSS stayed ${mib(afterwards - baseline)} MiB above the baseline`);
      assert.equal(await server.stop(), 0);
    });
  }
});

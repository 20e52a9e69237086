// The root helper, started for real as root in a test namespace, driven over its Unix socket like the
// app drives it, against our real gateway in a second namespace. Needs root.
//
//   [ns client] helper/main.js (spawned mode) -- TUN 4o6h0      [ns server] server/main.js
//        ^ Unix socket (a file: reachable from the test process in the host namespace)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import type { HelperEvent, HelperResponse, HelperStatus, TunnelStatsSnapshot } from '../contract/helper-api';
import { HelperClient } from '../electron/helper-client';
import { type TwoHostNet, cleanupStaleNamespaces, createTwoHostNet, waitFor } from './support/netns';
import { needsProgram, needsRoot, skipUnless } from './support/requirements';
import { testGatewayYaml } from './support/gateway-config';

const DIST = join(__dirname, '..');
const UUID = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const skip = skipUnless(needsRoot('the root helper, network namespaces'), needsProgram('setpriv', 'apt-get install util-linux'));
const ORIGINAL_RESOLV = 'nameserver 198.18.9.9\n';

/** A line-JSON client of the helper socket, as the app's helper client speaks it. */
class LineClient {
  readonly events: HelperEvent[] = [];
  readonly responses: HelperResponse[] = [];
  private buffered = '';
  private nextId = 1;
  closed = false;
  private readonly waiters: Array<() => void> = [];
  constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const msg = JSON.parse(this.buffered.slice(0, nl)) as HelperResponse | HelperEvent;
        this.buffered = this.buffered.slice(nl + 1);
        if ('event' in msg) this.events.push(msg);
        else this.responses.push(msg);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }
  static connect(path: string): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(path, () => resolve(new LineClient(s)));
      s.once('error', reject);
    });
  }
  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }
  async until(pred: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }
  sendRaw(line: string): void {
    this.socket.write(line + '\n');
  }
  async request<T = unknown>(cmd: string, fields: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    this.sendRaw(JSON.stringify({ id, cmd, ...fields }));
    await this.until(() => this.responses.some((r) => r.id === id) || this.closed, `response to ${cmd}`);
    const r = this.responses.find((x) => x.id === id);
    if (!r) throw new Error(`connection closed before the response to ${cmd}`);
    if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
    return r.value as T;
  }
  stateKinds(): string[] {
    return this.events.flatMap((e) => e.event === 'state' ? [e.state.kind === 'connecting' ? `connecting:${e.state.phase}` : e.state.kind] : []);
  }
  close(): void {
    this.socket.destroy();
  }
}

describe('root helper', { skip }, () => {
  let net6: TwoHostNet;
  let dir: string;
  let socketPath: string;
  let resolvConf: string;
  let journal: string;
  const token = randomBytes(32).toString('hex');
  const children: Array<{ kill(sig?: NodeJS.Signals): boolean; exitCode: number | null }> = [];
  let helperOut = '';
  let serverOut = '';
  let helperPid = 0;
  let serverProc: ReturnType<TwoHostNet['spawn']> | null = null;

  const profile = () => ({ name: 'Test gateway', server: net6.serverAddress, port: 5555, uuid: UUID, autoReconnect: true });

  async function startServer(): Promise<void> {
    const config = join(dir, 'server.yaml');
    writeFileSync(config, testGatewayYaml({ stateDir: join(dir, 'gateway-state'), key: UUID }));
    const p = net6.spawn(net6.server, process.execPath, [join(DIST, 'server', 'main.js'), '-c', config]);
    p.stdout?.on('data', (c: Buffer) => (serverOut += c));
    p.stderr?.on('data', (c: Buffer) => (serverOut += c));
    children.push(p);
    serverProc = p;
    const mark = serverOut.length;
    await waitFor(() => serverOut.slice(mark).includes('listening on'), { timeoutMs: 10_000, what: 'the server to listen' });
  }

  async function startHelper(): Promise<void> {
    const p = net6.spawn(net6.client, process.execPath, [
      join(DIST, 'helper', 'main.js'), '--mode', 'spawned', '--socket', socketPath, '--allow-uid', '0',
      '--journal', journal, '--client-ids', join(dir, 'client-ids.json'), '--resolv-conf', resolvConf, '--tun-name', '4o6h0', '--app-gone-seconds', '60',
    ]);
    p.stdout?.on('data', (c: Buffer) => (helperOut += c));
    p.stderr?.on('data', (c: Buffer) => (helperOut += c));
    p.stdin?.end(token + '\n');
    children.push(p);
    helperPid = p.pid ?? 0;
    const mark = helperOut.length;
    await waitFor(() => helperOut.slice(mark).includes('READY ') || p.exitCode !== null, { timeoutMs: 10_000, what: 'the helper to be ready' });
    assert.ok(helperOut.slice(mark).includes(`READY ${socketPath}`), helperOut);
  }

  async function appClient(): Promise<LineClient> {
    const c = await LineClient.connect(socketPath);
    await c.request('hello', { token });
    return c;
  }

  async function leftovers(): Promise<string[]> {
    const found: string[] = [];
    const links = JSON.parse(await net6.exec(net6.client, 'ip', ['-j', 'link', 'show'])) as Array<{ ifname: string }>;
    for (const l of links) if (l.ifname.startsWith('4o6')) found.push(`link ${l.ifname}`);
    const routes = JSON.parse(await net6.exec(net6.client, 'ip', ['-j', '-4', 'route', 'show'])) as Array<{ dst: string; dev: string }>;
    for (const r of routes) found.push(`route ${r.dst} dev ${r.dev}`);
    if (readFileSync(resolvConf, 'utf8') !== ORIGINAL_RESOLV) found.push('resolv.conf still modified');
    return found;
  }

  before(async () => {
    await cleanupStaleNamespaces();
    net6 = await createTwoHostNet('helper');
    dir = mkdtempSync(join(tmpdir(), '4o6-helper-'));
    chmodSync(dir, 0o755); // other uids must reach the socket's directory for the refusal test
    mkdirSync(join(dir, 'run'), { mode: 0o755 });
    socketPath = join(dir, 'run', 'helper.sock');
    resolvConf = join(dir, 'resolv.conf');
    journal = join(dir, 'journal.jsonl');
    writeFileSync(resolvConf, ORIGINAL_RESOLV);
    await startServer();
    await startHelper();
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await net6?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the app\'s HelperClient: state transitions, live statistics with traffic, disconnect leaves nothing behind', async () => {
    // The same client module the Electron main process uses (electron/helper-client.ts).
    const app = await HelperClient.connect({ socketPath, token });
    const states: string[] = [];
    const stats: TunnelStatsSnapshot[] = [];
    let logs = 0;
    app.on('state', (state) => states.push(state.kind === 'connecting' ? `connecting:${state.phase}` : state.kind));
    app.on('stats', (s) => stats.push(s));
    app.on('log', () => logs++);
    assert.equal(app.hello?.mode, 'spawned'); // hello was sent (with the token) by connect()
    const initial = await app.subscribe();
    assert.equal(initial.state.kind, 'idle');
    const started = await app.connectTunnel(profile());
    assert.equal(started.profileName, 'Test gateway');
    await waitFor(() => states.includes('connected'), { timeoutMs: 15_000, what: 'connected' });
    assert.deepEqual(states, ['connecting:resolving', 'connecting:tcp', 'connecting:awaiting-ip', 'connected']);
    const status = await app.status();
    assert.equal(status.state.kind, 'connected');
    if (status.state.kind === 'connected') assert.equal(status.state.lease.address, '198.18.0.2');
    assert.ok(status.changes.some((c) => /198\.18\.0\.2\/24/.test(c)), status.changes.join('\n'));
    assert.ok(status.changes.some((c) => /resolv/.test(c)), status.changes.join('\n'));
    assert.match(readFileSync(resolvConf, 'utf8'), /nameserver 198\.18\.0\.53/);

    // Traffic: a flood of pings both ways, then statistics must show it.
    await net6.exec(net6.client, 'ping', ['-c', '200', '-i', '0.005', '-s', '1000', '198.18.0.1']);
    await waitFor(() => stats.some((s) => s.bytesUp > 200_000 && s.bytesDown > 200_000), { timeoutMs: 5000, what: 'statistics with non-zero byte counts both ways' });
    assert.ok(stats.some((s) => s.rateUp > 0 && s.rateDown > 0 && s.lastHeartbeatAgoMs !== null));
    assert.ok(logs > 0, 'log lines are pushed to subscribers');

    const after = await app.disconnectTunnel();
    assert.equal(after.state.kind, 'idle');
    assert.deepEqual(after.changes, []);
    assert.deepEqual(await leftovers(), []);
    app.close();
  });

  test('another uid is refused by SO_PEERCRED even if the socket were open to all; a wrong token is refused', async () => {
    chmodSync(socketPath, 0o666); // simulate a permission mistake: the kernel-checked uid must still refuse
    try {
      const script = `const s=require('net').connect(process.argv[1]);let got='';s.on('data',d=>got+=d);` +
        `s.on('connect',()=>s.write(JSON.stringify({id:1,cmd:'hello',token:process.argv[2]})+'\\n'));` +
        `s.on('close',()=>{console.log('closed:'+got.length);});s.on('error',e=>console.log('error:'+e.code));`;
      const out = await new Promise<string>((resolve) => {
        const p = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script, socketPath, token]);
        let o = '';
        p.stdout.on('data', (c: Buffer) => (o += c));
        p.on('exit', () => resolve(o));
      });
      assert.match(out.trim(), /closed:0$/, 'uid 65534 got an answer');
      await waitFor(() => /refused a connection from uid 65534/.test(helperOut), { timeoutMs: 5000, what: 'the refusal to be logged' });
    } finally {
      chmodSync(socketPath, 0o600);
    }

    const wrong = await LineClient.connect(socketPath);
    await assert.rejects(wrong.request('hello', { token: 'f'.repeat(64) }), { code: 'NOT_AUTHENTICATED' });
    await wrong.until(() => wrong.closed, 'the helper to close a wrong-token connection');
    const noHello = await LineClient.connect(socketPath);
    await assert.rejects(noHello.request('status'), { code: 'NOT_AUTHENTICATED' });
    noHello.close();
    assert.match(helperOut, /wrong token/);
    // Still serving the real app.
    const app = await appClient();
    assert.equal((await app.request<HelperStatus>('status')).state.kind, 'idle');
    app.close();
  });

  test('1,000 random and malformed messages each get an error reply; the helper keeps serving', async () => {
    const fuzz = await appClient();
    const lines: string[] = [];
    const rnd = (n: number) => Math.floor(Math.random() * n);
    for (let i = 0; i < 1000; i++) {
      const id = 10_000 + i;
      switch (i % 10) {
        case 0: lines.push(randomBytes(1 + rnd(200)).toString('latin1').replace(/[\n\r]/g, ' ').replace(/^\s*$/, 'x')); break;
        case 1: lines.push(JSON.stringify({ id, cmd: `cmd${rnd(1e6)}` })); break;
        case 2: lines.push(JSON.stringify({ id, cmd: 'connect', profile: { ...profile(), port: rnd(2) ? 0 : 70000 } })); break;
        case 3: lines.push(JSON.stringify({ id, cmd: 'connect', profile: { ...profile(), uuid: 'not-a-uuid' } })); break;
        case 4: lines.push(JSON.stringify({ id, cmd: 'connect', profile: { ...profile(), server: 'bad host; rm -rf /' } })); break;
        case 5: lines.push(JSON.stringify({ id, cmd: 'connect', profile: { ...profile(), extra: true } })); break;
        case 6: lines.push(JSON.stringify({ id, cmd: 'status', also: 'unexpected' })); break;
        case 7: lines.push(JSON.stringify([id, 'status'])); break;
        case 8: lines.push(JSON.stringify({ id: -1, cmd: 'disconnect' })); break;
        case 9: lines.push(i === 9 ? 'A'.repeat(100_000) : JSON.stringify({ id: String(id), cmd: 'shutdown' })); break;
      }
    }
    fuzz.responses.length = 0; // forget the hello reply
    for (const l of lines) fuzz.sendRaw(l);
    await fuzz.until(() => fuzz.responses.length >= 1000, '1000 error replies', 30_000);
    assert.equal(fuzz.responses.length, 1000);
    assert.ok(fuzz.responses.every((r) => !r.ok && r.error.code === 'BAD_REQUEST'), JSON.stringify(fuzz.responses.find((r) => r.ok)));
    assert.equal(fuzz.closed, false);
    assert.equal((await fuzz.request<HelperStatus>('status')).state.kind, 'idle');
    fuzz.close();
    const app = await appClient();
    assert.equal((await app.request<HelperStatus>('status')).state.kind, 'idle');
    app.close();
  });

  test('server restarted mid-session: the helper reconnects by itself and traffic flows again', async () => {
    const app = await appClient();
    await app.request('subscribe');
    await app.request('connect', { profile: profile() });
    await app.until(() => app.stateKinds().includes('connected'), 'connected');
    serverProc?.kill('SIGTERM');
    await app.until(() => app.stateKinds().includes('reconnecting'), 'reconnecting');
    await startServer();
    await app.until(() => app.stateKinds().lastIndexOf('connected') > app.stateKinds().indexOf('reconnecting'), 'connected again', 40_000);
    assert.match(await net6.exec(net6.client, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '198.18.0.1']), / 0% packet loss/);
    await app.request('disconnect');
    assert.deepEqual(await leftovers(), []);
    app.close();
  });

  test('kill -9 with the tunnel up, then a new start: the journal is replayed and nothing is left', async () => {
    const app = await appClient();
    await app.request('subscribe');
    await app.request('connect', { profile: profile() });
    await app.until(() => app.stateKinds().includes('connected'), 'connected');
    assert.notEqual(readFileSync(resolvConf, 'utf8'), ORIGINAL_RESOLV);
    process.kill(helperPid, 'SIGKILL');
    await app.until(() => app.closed, 'the helper to die');
    assert.notEqual(readFileSync(resolvConf, 'utf8'), ORIGINAL_RESOLV, 'a killed helper cannot clean up by itself');
    await startHelper();
    assert.match(helperOut, /undoing \d+ change\(s\) left by a helper that did not exit cleanly/);
    assert.deepEqual(await leftovers(), []);
    const again = await appClient();
    assert.equal((await again.request<HelperStatus>('status')).state.kind, 'idle');
    again.close();
  });

  test('spawned mode: when the app is gone for good the helper disconnects, undoes everything and exits', async () => {
    const sock = join(dir, 'run', 'gone.sock');
    const resolv2 = join(dir, 'resolv-gone.conf');
    writeFileSync(resolv2, ORIGINAL_RESOLV);
    let out = '';
    const p = net6.spawn(net6.client, process.execPath, [
      join(DIST, 'helper', 'main.js'), '--mode', 'spawned', '--socket', sock, '--allow-uid', '0',
      '--journal', join(dir, 'gone.jsonl'), '--client-ids', join(dir, 'client-ids.json'), '--resolv-conf', resolv2, '--tun-name', '4o6g0', '--app-gone-seconds', '1',
    ]);
    p.stdout?.on('data', (c: Buffer) => (out += c));
    p.stderr?.on('data', (c: Buffer) => (out += c));
    p.stdin?.end(token + '\n');
    children.push(p);
    await waitFor(() => out.includes('READY '), { timeoutMs: 10_000, what: 'the second helper' });
    const app = await LineClient.connect(sock);
    await app.request('hello', { token });
    await app.request('subscribe');
    await app.request('connect', { profile: profile() });
    await app.until(() => app.stateKinds().includes('connected'), 'connected');
    assert.match(readFileSync(resolv2, 'utf8'), /198\.18\.0\.53/);
    const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
    app.close(); // the app goes away and does not come back
    assert.equal(await exited, 0);
    assert.match(out, /the app has been gone for good/);
    assert.equal(readFileSync(resolv2, 'utf8'), ORIGINAL_RESOLV);
    const links = await net6.exec(net6.client, 'ip', ['-br', 'link', 'show']);
    assert.doesNotMatch(links, /4o6g0/);
  });

  test('service mode: the socket is root:<group> 0660; a group member (primary or supplementary) drives the helper without a token; others are refused, also by SO_PEERCRED when the socket is open to all', async () => {
    const sock = join(dir, 'run', 'service.sock');
    let out = '';
    const p = net6.spawn(net6.client, process.execPath, [
      join(DIST, 'helper', 'main.js'), '--mode', 'service', '--socket', sock, '--group', 'nogroup',
      '--journal', join(dir, 'service.jsonl'), '--client-ids', join(dir, 'client-ids.json'), '--resolv-conf', resolvConf, '--tun-name', '4o6v0',
    ]);
    p.stdout?.on('data', (c: Buffer) => (out += c));
    p.stderr?.on('data', (c: Buffer) => (out += c));
    children.push(p);
    await waitFor(() => out.includes('READY '), { timeoutMs: 10_000, what: 'the service helper' });
    const st = statSync(sock);
    assert.equal(st.uid, 0);
    assert.equal(st.gid, 65534);
    assert.equal(st.mode & 0o777, 0o660);
    // Runs a client as another user: hello, then status; prints the replies, or how the connection ended.
    const asUser = (uid: number, gid: number, groups: number[] = []) => new Promise<string>((resolve) => {
      const script = `const s=require('net').connect(process.argv[1]);let got='';s.on('data',d=>{got+=d;if(got.includes('\\n')){s.write(JSON.stringify({id:2,cmd:'status'})+'\\n')}if(got.split('\\n').length>2){console.log(got);s.destroy()}});` +
        `s.on('connect',()=>s.write(JSON.stringify({id:1,cmd:'hello'})+'\\n'));s.on('error',e=>console.log('error:'+e.code));s.on('close',()=>console.log('closed:'+got.length));`;
      const who = groups.length > 0 ? [`--groups=${groups.join(',')}`] : ['--clear-groups'];
      const c = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, ...who, process.execPath, '-e', script, sock]);
      let o = '';
      c.stdout.on('data', (d: Buffer) => (o += d));
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      c.on('exit', () => {
        clearTimeout(timer);
        resolve(o);
      });
    });
    try {
      const member = await asUser(65534, 65534);
      assert.match(member, /"mode":"service"/);
      assert.match(member, /"kind":"idle"/);
      // A member through a supplementary group (SO_PEERCRED gives the primary gid only; the rest from /proc).
      assert.match(await asUser(65533, 65533, [65534]), /"kind":"idle"/);
      assert.match(await asUser(65533, 65533), /error:EACCES/);
      // With the socket opened to all by mistake, the kernel lets anyone connect: SO_PEERCRED must refuse.
      chmodSync(sock, 0o666);
      const outsider = await asUser(65533, 65533);
      assert.match(outsider.trim(), /closed:0$/, `uid 65533 got an answer: ${outsider}`);
      assert.doesNotMatch(outsider, /"id"/, `uid 65533 got an answer: ${outsider}`);
      await waitFor(() => /refused a connection from uid 65533 .*not root and not in group nogroup/.test(out), { timeoutMs: 5000, what: 'the refusal to be logged' });
      assert.match(await asUser(65534, 65534), /"kind":"idle"/, 'the member still gets in');
    } finally {
      p.kill('SIGTERM');
    }
  });
});

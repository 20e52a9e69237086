// The root helper's control socket under a hostile local client, with a real tunnel up: the packet path
// keeps flowing, other clients are answered, memory stays bounded. Needs root.
//
//   [ns client] helper/main.js (spawned) -- TUN 4o6k0 ---- tunnel ----  [ns server] server/main.js
//        ^ Unix socket: an app client, a flooder, a second client (all in the test process)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MAX_BAD_LINES_BEFORE_HELLO } from '../helper/helper-service';
import { Proc } from './support/proc';
import { needsRoot, skipUnless } from './support/requirements';
import { type TwoHostNet, cleanupStaleNamespaces, createTwoHostNet, waitFor } from './support/netns';
import { testGatewayYaml } from './support/gateway-config';

const DIST = join(__dirname, '..');
const UUID = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const skip = skipUnless(needsRoot());

/** A raw client of the helper socket: writes what it is told, keeps what it reads as lines. */
class RawClient {
  lines: string[] = [];
  /** False: answers are read and dropped (a client that keeps up without caring). */
  keepLines = true;
  closed = false;
  private partial = '';
  constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => {
      const parts = (this.partial + c).split('\n');
      this.partial = parts.pop() ?? '';
      if (this.keepLines) this.lines.push(...parts);
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }
  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(path, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }
  send(line: string): void {
    this.socket.write(line + '\n');
  }
  /** Sends a request and resolves with its answer's value; throws on an error answer or after timeoutMs. */
  async request(id: number, cmd: string, fields: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<unknown> {
    this.send(JSON.stringify({ id, cmd, ...fields }));
    let answer: { id: number; ok: boolean; value?: unknown; error?: { message: string } } | undefined;
    await waitFor(() => {
      answer = this.lines.map((l) => JSON.parse(l)).find((m) => m.id === id);
      return answer !== undefined || this.closed;
    }, { timeoutMs, what: `the answer to ${cmd}`, intervalMs: 10 });
    if (!answer) throw new Error(`closed before answering ${cmd}`);
    if (!answer.ok) throw new Error(answer.error?.message);
    return answer.value;
  }
}

function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN);
}

describe('helper control socket under a flood', { skip }, () => {
  let net6: TwoHostNet;
  let dir: string;
  let socketPath: string;
  let helper: Proc;
  let server: Proc;
  const token = randomBytes(32).toString('hex');

  before(async () => {
    await cleanupStaleNamespaces();
    net6 = await createTwoHostNet('ctlsock');
    dir = mkdtempSync(join(tmpdir(), '4o6-ctlsock-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'run'), { mode: 0o755 });
    socketPath = join(dir, 'run', 'helper.sock');
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 198.18.9.9\n');
    const config = join(dir, 'server.yaml');
    writeFileSync(config, testGatewayYaml({ stateDir: join(dir, 'gateway'), tunName: '4o6ks0', key: UUID }));
    server = new Proc(net6.spawn(net6.server, process.execPath, [join(DIST, 'server', 'main.js'), '-c', config]), 'gateway');
    await server.waitFor(/listening on/, 10_000);
    helper = new Proc(net6.spawn(net6.client, process.execPath, [
      join(DIST, 'helper', 'main.js'), '--mode', 'spawned', '--socket', socketPath, '--allow-uid', '0',
      '--journal', join(dir, 'journal.jsonl'), '--client-ids', join(dir, 'client-ids.json'), '--resolv-conf', join(dir, 'resolv.conf'), '--tun-name', '4o6k0',
      '--app-gone-seconds', '60',
    ]), 'helper');
    helper.child.stdin?.end(token + '\n');
    await helper.waitFor(/READY /, 10_000);
  });

  after(async () => {
    await helper?.stop('SIGTERM');
    await server?.stop('SIGTERM');
    await net6?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test(`a client sending junk before hello is closed after ${MAX_BAD_LINES_BEFORE_HELLO} bad lines, however much it sends`, async () => {
    const junk = await RawClient.connect(socketPath);
    junk.socket.write(Buffer.alloc(2 * 1024 * 1024, '1\n'));
    await waitFor(() => junk.closed, { timeoutMs: 5000, what: 'the helper to close the junk connection' });
    assert.equal(junk.lines.length, MAX_BAD_LINES_BEFORE_HELLO, junk.lines.join('\n'));
    assert.ok(junk.lines.every((l) => JSON.parse(l).ok === false));
    const app = await RawClient.connect(socketPath);
    await app.request(1, 'hello', { token }, 1000);
    app.socket.destroy();
  });

  test('flooding clients (one never reads, one reads) leave the tunnel at 0 % loss; a second client is answered within 1 s; RSS bounded', async () => {
    const app = await RawClient.connect(socketPath);
    await app.request(1, 'hello', { token });
    await app.request(2, 'connect', { profile: { name: 'Flood test', server: net6.serverAddress, port: 5555, uuid: UUID, dns: false } });
    await waitFor(async () => ((await app.request(Date.now(), 'status')) as { state: { kind: string } }).state.kind === 'connected',
      { timeoutMs: 15_000, what: 'the tunnel to come up', intervalMs: 200 });
    const rssBefore = rssKiB(helper.child.pid!);

    // One authenticated client writes 8 MiB of bad lines and never reads an answer; another writes
    // bad lines as fast as the helper answers them, reading (and dropping) the answers.
    const deaf = await RawClient.connect(socketPath);
    await deaf.request(1, 'hello', { token });
    deaf.socket.pause();
    deaf.socket.write(Buffer.alloc(8 * 1024 * 1024, '1\n'));
    const busy = await RawClient.connect(socketPath);
    await busy.request(1, 'hello', { token });
    busy.keepLines = false;
    let floodOn = true;
    const chunk = Buffer.alloc(64 * 1024, '1\n');
    const pump = () => {
      while (floodOn && busy.socket.write(chunk));
    };
    busy.socket.on('drain', pump);
    pump();

    try {
      const ping = net6.exec(net6.client, 'ping', ['-c', '100', '-i', '0.05', '-W', '1', '198.18.0.1'], { timeoutMs: 30_000 });
      const answerTimes: number[] = [];
      let maxRss = rssBefore;
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        const second = await RawClient.connect(socketPath);
        await second.request(1, 'hello', { token }, 1000);
        const status = (await second.request(2, 'status', {}, 1000)) as { state: { kind: string } };
        answerTimes.push(Date.now() - started);
        assert.equal(status.state.kind, 'connected');
        second.socket.destroy();
        maxRss = Math.max(maxRss, rssKiB(helper.child.pid!));
        await new Promise((r) => setTimeout(r, 500));
      }
      const out = await ping;
      assert.match(out, / 0% packet loss/, out);
      assert.ok(answerTimes.every((t) => t < 1000), `answer times ${answerTimes.join(', ')} ms`);
      // Unbounded, the deaf client's 8 MiB of requests cost ~190 MB; bounded, the growth is the
      // garbage of the busy client's answers (the heap levels off at +30..50 MB however long it runs).
      assert.ok(maxRss - rssBefore < 64 * 1024, `helper RSS grew from ${rssBefore} to ${maxRss} KiB`);
      assert.equal(deaf.closed, false, 'a slow client is held back, not dropped');
    } finally {
      floodOn = false;
      deaf.socket.destroy();
      busy.socket.destroy();
    }
    assert.equal(((await app.request(3, 'status')) as { state: { kind: string } }).state.kind, 'connected');
    await app.request(4, 'disconnect');
    app.socket.destroy();
  });

  test('service mode: status names who started the tunnel; another group member can take it over', async () => {
    const sock = join(dir, 'run', 'service.sock');
    const service = new Proc(net6.spawn(net6.client, process.execPath, [
      join(DIST, 'helper', 'main.js'), '--mode', 'service', '--socket', sock, '--group', 'nogroup',
      '--journal', join(dir, 'service.jsonl'), '--client-ids', join(dir, 'service-ids.json'), '--tun-name', '4o6kv0',
    ]), 'service helper');
    try {
      await service.waitFor(/READY /, 10_000);
      // uid 65534, a member of the socket's group (nogroup), connects a tunnel.
      const profile = { name: 'Nobody\'s tunnel', server: net6.serverAddress, port: 5555, uuid: UUID, dns: false };
      const script = 'const s=require("net").connect(process.argv[1]);let got="";'
        + 's.on("connect",()=>{s.write(JSON.stringify({id:1,cmd:"hello"})+"\\n");s.write(JSON.stringify({id:2,cmd:"connect",profile:JSON.parse(process.argv[2])})+"\\n")});'
        + 's.on("data",d=>{got+=d;if(got.split("\\n").filter(Boolean).some(l=>JSON.parse(l).id===2)){console.log(got);s.destroy()}});'
        + 's.on("error",e=>console.log("error:"+e.code));';
      const member = await new Promise<string>((resolve) => {
        const p = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script, sock, JSON.stringify(profile)]);
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d));
        p.on('exit', () => resolve(out));
      });
      assert.match(member, /"id":2,"ok":true/, member);
      // Root, another client of the same service, sees who it was, and can disconnect it.
      const other = await RawClient.connect(sock);
      await other.request(1, 'hello');
      const status = (await other.request(2, 'status')) as { profileName: string; startedBy: unknown };
      assert.equal(status.profileName, profile.name);
      assert.deepEqual(status.startedBy, { uid: 65534, user: 'nobody' });
      assert.match(service.out, /connecting to Nobody's tunnel, asked by nobody \(uid 65534\)/);
      const after = (await other.request(3, 'disconnect')) as { state: { kind: string } };
      assert.equal(after.state.kind, 'idle');
      other.socket.destroy();
    } finally {
      await service.stop('SIGTERM');
    }
  });
});

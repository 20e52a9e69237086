import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { ipcChannels } from '../contract/ipc-schema';
import { type BrowserBridge, parseRequestTarget, startBrowserBridge } from './browser-bridge';
import { waitFor } from '../test/support/netns';

let bridge: BrowserBridge;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), '4o6-bridge-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>4over6</title>');
  writeFileSync(join(tmpdir(), 'secret-outside.txt'), 'secret');
  bridge = await startBrowserBridge({ staticDir: dir });
  bridge.transport.handle(ipcChannels.tunnel.snapshot, async (request) => ({ ok: true, value: { echo: request } }));
});
after(async () => {
  await bridge.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, host = `127.0.0.1:${bridge.port}`): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: bridge.port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

function open(token: string, origin = `http://127.0.0.1:${bridge.port}`): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${bridge.port}/ipc?token=${token}`, { origin });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

test('listens on 127.0.0.1 and prints a URL carrying a random token', () => {
  assert.match(bridge.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
});

test('serves the renderer; refuses other hosts (DNS rebinding) and paths outside its folder', async () => {
  assert.equal((await get('/')).status, 200);
  assert.match((await get('/index.html')).body, /4over6/);
  assert.equal((await get('/', 'evil.example:80')).status, 421);
  for (const path of ['/../secret-outside.txt', '/%2e%2e/secret-outside.txt', '/..%2fsecret-outside.txt']) {
    const r = await get(path);
    assert.ok(r.status === 403 || r.status === 404, `${path}: ${r.status}`);
    assert.doesNotMatch(r.body, /secret/);
  }
});

test('the WebSocket needs the token and our origin', async () => {
  await assert.rejects(open('0'.repeat(48)), /HTTP 403/);
  await assert.rejects(open(bridge.token, 'http://evil.example'), /HTTP 403/);
});

test('invokes reach the handler and replies come back by id; pushes reach every page', async () => {
  const ws = await open(bridge.token);
  const messages: Array<{ t: string; id?: number; reply?: unknown; channel?: string; payload?: unknown }> = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  ws.send(JSON.stringify({ t: 'invoke', id: 7, channel: ipcChannels.tunnel.snapshot, request: { x: 1 } }));
  ws.send(JSON.stringify({ t: 'invoke', id: 8, channel: 'vpn:nope.nothing', request: null }));
  // The push goes out once the invokes are answered: the page is registered by then.
  await waitFor(() => messages.some((m) => m.id === 7) && messages.some((m) => m.id === 8), { timeoutMs: 5000, what: 'the replies to both invokes' });
  bridge.transport.publish(ipcChannels.tunnel.stats, { rateUp: 5 });
  await waitFor(() => messages.some((m) => m.t === 'push'), { timeoutMs: 5000, what: 'the push' });
  assert.deepEqual(messages.find((m) => m.id === 7)?.reply, { ok: true, value: { echo: { x: 1 } } });
  assert.equal((messages.find((m) => m.id === 8)?.reply as { ok: boolean }).ok, false);
  assert.deepEqual(messages.find((m) => m.t === 'push'), { t: 'push', channel: ipcChannels.tunnel.stats, payload: { rateUp: 5 } });
  ws.close();
});

test('a malformed message closes only that page', async () => {
  const bad = await open(bridge.token);
  const closed = new Promise<number>((r) => bad.once('close', (code) => r(code)));
  bad.send('not json');
  assert.equal(await closed, 1003);
  const good = await open(bridge.token);
  const reply = new Promise((r) => good.once('message', (d) => r(JSON.parse(d.toString()))));
  good.send(JSON.stringify({ t: 'invoke', id: 1, channel: ipcChannels.tunnel.snapshot, request: null }));
  assert.deepEqual(await reply, { t: 'reply', id: 1, reply: { ok: true, value: { echo: null } } });
  good.close();
});

test('request targets: only origin-form paths that decode', () => {
  assert.deepEqual(parseRequestTarget('/ipc?token=ab'), { path: '/ipc', token: 'ab' });
  assert.deepEqual(parseRequestTarget('/a%20b'), { path: '/a b', token: null });
  for (const bad of [undefined, '', '*', 'http://[', 'http://127.0.0.1/', '//evil/x', '/%ff', '/%', '/a%00b']) {
    assert.equal(parseRequestTarget(bad), null, String(bad));
  }
});

/** Sends raw bytes on a fresh TCP connection; resolves with the first line the server answers. */
function rawExchange(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer.split('\r\n')[0]);
    };
    const timer = setTimeout(done, 3000);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c) => {
      answer += c.toString('latin1');
      if (answer.includes('\r\n')) done();
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}

test('hostile raw requests get a 4xx each and the bridge process keeps serving', async (t) => {
  // The bridge runs in a process of its own, as in the demo: an uncaught error would end it.
  const script = `require(${JSON.stringify(join(__dirname, 'browser-bridge.js'))}).startBrowserBridge({ staticDir: ${JSON.stringify(dir)} })`
    + `.then((b) => console.log('READY ' + b.port + ' ' + b.token))`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c));
  child.stderr?.on('data', (c: Buffer) => (out += c));
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no READY line: ${out}`)), 10_000);
    child.stdout?.on('data', () => {
      const m = /READY (\d+) ([0-9a-f]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
  const port = Number(ready[1]);
  const token = ready[2];
  const host = `127.0.0.1:${port}`;
  const upgrade = (target: string, hostHeader: string) =>
    `GET ${target} HTTP/1.1\r\nHost: ${hostHeader}\r\nOrigin: http://${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n`
    + 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
  const hostile: Array<[string, string]> = [
    ['GET /%ff', `GET /%ff HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['GET http://[', `GET http://[ HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['GET *', `GET * HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['upgrade, Host: [', upgrade(`/ipc?token=${token}`, '[')],
    ['upgrade to http://[', upgrade('http://[', host)],
    ['upgrade to /%ff', upgrade(`/%ff?token=${token}`, host)],
    ['garbage', '\x00\xff\r\n\r\n'],
  ];
  for (const [what, bytes] of hostile) {
    const status = await rawExchange(port, Buffer.from(bytes, 'latin1'));
    assert.match(status, /^HTTP\/1\.1 4\d\d /, `${what}: ${JSON.stringify(status)}`);
    assert.equal(child.exitCode, null, `${what} ended the bridge: ${out}`);
  }
  // A page with the token that then sends a broken WebSocket frame (a reserved opcode) loses only its socket.
  const ws = new WebSocket(`ws://${host}/ipc?token=${token}`, { origin: `http://${host}` });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const closed = new Promise((r) => ws.once('close', r));
  (ws as unknown as { _socket: net.Socket })._socket.write(Buffer.from([0x83, 0x80, 0, 0, 0, 0]));
  await closed;
  assert.equal(await rawExchange(port, `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`), 'HTTP/1.1 200 OK');
  assert.equal(child.exitCode, null, out);
  assert.doesNotMatch(out, /Error|at /, 'nothing was thrown');
});

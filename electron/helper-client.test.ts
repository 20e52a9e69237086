import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TunnelState } from '../contract/tunnel-state';
import { HelperClient, type HelperClientOptions, HelperRequestError } from './helper-client';
import { needsRoot, skipUnless } from '../test/support/requirements';
import { FAKE_LEASE, FakeHelper, stats } from './testing/fake-helper';

const uid = process.getuid?.() ?? 0;
const dirs: string[] = [];
const fakes: FakeHelper[] = [];
after(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function setup(fakeOpts: { token?: string; mode?: 'service' | 'spawned' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), '4o6-hc-'));
  dirs.push(dir);
  const socketPath = join(dir, 'helper.sock');
  const fake = await FakeHelper.start({ socketPath, ...fakeOpts });
  fakes.push(fake);
  // Root owns everything when tests run as root (CI); unprivileged runs trust their own uid instead.
  const clientOpts: HelperClientOptions = { socketPath, trustedOwners: [uid], trustedDirOwner: uid };
  return { dir, socketPath, fake, clientOpts };
}

test('hello first (with the token), then requests answered by id', async () => {
  const { fake, clientOpts } = await setup({ token: 'a'.repeat(64), mode: 'spawned' });
  const client = await HelperClient.connect({ ...clientOpts, token: 'a'.repeat(64) });
  assert.deepEqual(client.hello, { version: 1, mode: 'spawned', pid: process.pid });
  const status = await client.status();
  assert.deepEqual(status.state, { kind: 'idle' });
  assert.deepEqual(fake.received.map((r) => r.cmd), ['hello', 'status']);
  assert.deepEqual(fake.received[0], { id: 1, cmd: 'hello', token: 'a'.repeat(64), version: 1 });
  client.close();
});

test('answers are matched by id even when they come back in another order', async () => {
  const { fake, clientOpts } = await setup();
  const client = await HelperClient.connect(clientOpts);
  fake.overrides.status = () => 'silent';
  fake.overrides.subscribe = () => 'silent';
  const first = client.status(); // id 2
  const second = client.subscribe(); // id 3
  await new Promise((r) => setTimeout(r, 20));
  const answer = (id: number, profileName: string) => `${JSON.stringify({ id, ok: true, value: { ...fake.status(), profileName } })}\n`;
  fake.writeRaw(answer(3, 'for subscribe') + answer(2, 'for status'));
  assert.equal((await first).profileName, 'for status');
  assert.equal((await second).profileName, 'for subscribe');
  assert.deepEqual(fake.received.map((r) => [r.id, r.cmd]), [[1, 'hello'], [2, 'status'], [3, 'subscribe']]);
  client.close();
});

test('correlation by id within one connection: a late answer to a timed-out request is dropped', async () => {
  const { fake, clientOpts } = await setup();
  const client = await HelperClient.connect({ ...clientOpts, requestTimeoutMs: 50 });
  let release: () => void = () => undefined;
  fake.overrides.status = () => new Promise((resolve) => (release = () => resolve({ ok: true, value: { ...fake.status(), profileName: 'late' } })));
  await assert.rejects(client.status(), { code: 'HELPER_TIMEOUT', message: 'the helper did not answer status within 0.05 s' });
  delete fake.overrides.status;
  const next = client.subscribe(); // id 3, queued behind the slow one in the fake
  release();
  assert.equal((await next).profileName, null, 'the late answer (id 2) did not resolve request 3');
  client.close();
});

test('events arrive after subscribe, typed', async () => {
  const { fake, clientOpts } = await setup();
  const client = await HelperClient.connect(clientOpts);
  const states: [TunnelState, string | null][] = [];
  const rates: number[] = [];
  const logs: string[] = [];
  client.on('state', (s, name) => states.push([s, name]));
  client.on('stats', (s) => rates.push(s.rateDown));
  client.on('log', (level, message) => logs.push(`${level} ${message}`));
  await client.subscribe();
  const connected: TunnelState = { kind: 'connected', server: 'fd00::1', serverAddress: 'fd00::1', lease: FAKE_LEASE, sinceMs: 1, attempt: 1, onLoss: 'reconnect', previousAddress: null };
  fake.setState(connected, 'Office');
  fake.emit({ event: 'stats', stats: stats({ rateDown: 1234 }) });
  fake.emit({ event: 'log', level: 'warn', message: 'heartbeat late', atMs: 5 });
  await client.status(); // a round trip: everything sent before it has been read
  assert.deepEqual(states, [[connected, 'Office']]);
  assert.deepEqual(rates, [1234]);
  assert.deepEqual(logs, ['warn heartbeat late']);
  client.close();
});

test('error responses become typed errors', async () => {
  const { fake, clientOpts } = await setup({ token: 'b'.repeat(64), mode: 'spawned' });
  await assert.rejects(HelperClient.connect({ ...clientOpts, token: 'c'.repeat(64) }), (err: unknown) => {
    assert.ok(err instanceof HelperRequestError);
    assert.equal(err.code, 'HELPER_AUTH_FAILED');
    assert.equal(err.helperCode, 'NOT_AUTHENTICATED');
    assert.equal(err.message, 'helper refused hello: wrong token');
    return true;
  });
  const client = await HelperClient.connect({ ...clientOpts, token: 'b'.repeat(64) });
  fake.overrides.connect = () => ({ ok: false, error: { code: 'BUSY', message: 'another tunnel is up' } });
  await assert.rejects(client.connectTunnel({ name: 'X', server: 'fd00::1', port: 1, uuid: null }), { code: 'TUNNEL_BUSY', helperCode: 'BUSY' });
  fake.overrides.status = () => ({ ok: false, error: { code: 'INTERNAL', message: 'oops' } });
  await assert.rejects(client.status(), { code: 'HELPER_FAILED' });
  client.close();
});

test('an answer with id null (the helper could not read the request) fails the oldest request', async () => {
  const { fake, clientOpts } = await setup();
  const client = await HelperClient.connect(clientOpts);
  fake.overrides.status = () => 'silent';
  const pending = client.status();
  fake.writeRaw(`${JSON.stringify({ id: null, ok: false, error: { code: 'BAD_REQUEST', message: 'message is not JSON' } })}\n`);
  await assert.rejects(pending, { code: 'HELPER_REJECTED', message: 'helper refused status: message is not JSON' });
  client.close();
});

test('the connection closing fails pending requests and emits disconnected once', async () => {
  const { fake, clientOpts } = await setup();
  const client = await HelperClient.connect(clientOpts);
  const events: (string | null)[] = [];
  client.on('disconnected', (err) => events.push(err ? err.code : null));
  fake.overrides.status = () => 'silent';
  const pending = client.status();
  await new Promise((r) => setTimeout(r, 20));
  fake.dropConnections();
  await assert.rejects(pending, { code: 'HELPER_DISCONNECTED' });
  assert.deepEqual(events, ['HELPER_DISCONNECTED']);
  assert.equal(client.isOpen, false);
  await assert.rejects(client.status(), { code: 'HELPER_DISCONNECTED' });
});

test('our own close is reported as a disconnection without an error', async () => {
  const { clientOpts } = await setup();
  const client = await HelperClient.connect(clientOpts);
  const closed = new Promise((resolve) => client.on('disconnected', resolve));
  client.close();
  assert.equal(await closed, null);
});

test('a helper that breaks the protocol is dropped', async () => {
  const { fake, clientOpts } = await setup();
  const client = await HelperClient.connect(clientOpts);
  const closed = new Promise<{ code: string } | null>((resolve) => client.on('disconnected', resolve));
  fake.writeRaw('this is not json\n');
  assert.equal((await closed)?.code, 'HELPER_PROTOCOL');
});

test('refuses a socket that root does not own, before connecting', { skip: skipUnless(needsRoot('chown')) }, async () => {
  const { fake, socketPath } = await setup();
  chownSync(socketPath, 65534, 65534);
  await assert.rejects(HelperClient.connect({ socketPath }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'HELPER_UNTRUSTED');
    assert.match(err.message, /refusing to use the helper socket .*: it is owned by uid 65534, not by root/);
    return true;
  });
  assert.equal(fake.connections.size, 0, 'never connected');
});

test('refuses a symbolic link, a missing socket, and a directory others can write', async () => {
  const { dir, fake, socketPath, clientOpts } = await setup();
  const link = join(dir, 'link.sock');
  symlinkSync(socketPath, link);
  await assert.rejects(HelperClient.connect({ ...clientOpts, socketPath: link }), { code: 'HELPER_UNTRUSTED', message: /symbolic link/ });
  await assert.rejects(HelperClient.connect({ ...clientOpts, socketPath: join(dir, 'none.sock') }), { code: 'HELPER_UNREACHABLE', message: /is the 4over6 helper running/ });

  const open = join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  const fake2 = await FakeHelper.start({ socketPath: join(open, 'helper.sock') });
  fakes.push(fake2);
  await assert.rejects(HelperClient.connect({ ...clientOpts, socketPath: join(open, 'helper.sock') }), { code: 'HELPER_UNTRUSTED', message: /writable by others/ });
  assert.equal(fake.connections.size + fake2.connections.size, 0);
});

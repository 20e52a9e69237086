import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  HelperConnector, type LaunchOptions, type SpawnFn, buildSpawnArgv, defaultHelperCommand, findService, spawnHelper,
} from './helper-launcher';
import { HelperClient } from './helper-client';
import { needsRoot, skipUnless } from '../test/support/requirements';
import { FakeHelper } from './testing/fake-helper';

const uid = process.getuid?.() ?? 0;
const isRoot = uid === 0;
const FAKE_HELPER = join(__dirname, 'testing', 'fake-spawned-helper.js');
const dirs: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
const fakes: FakeHelper[] = [];
after(async () => {
  children.forEach((c) => c.exitCode === null && c.kill());
  await Promise.all(fakes.map((f) => f.close()));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), '4o6-launch-'));
  dirs.push(d);
  return d;
}

/** Runs the fake helper directly (no pkexec), and remembers the child for cleanup. */
function options(more: Partial<LaunchOptions> = {}): LaunchOptions & { spawnCount: () => number } {
  let count = 0;
  const spawnFn: SpawnFn = (file, args) => {
    count++;
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };
  return {
    helperCommand: [process.execPath, FAKE_HELPER],
    elevate: [],
    socketPath: join(tempDir(), 'helper.sock'),
    serviceSocketPath: join(tempDir(), 'no-service.sock'),
    spawn: spawnFn,
    clientOptions: { trustedDirOwner: uid },
    ...more,
    spawnCount: () => count,
  };
}

test('the spawn command is an argument array: pkexec, the helper, spawned mode; no token in it', () => {
  const argv = buildSpawnArgv({ helperCommand: ['/opt/4over6/resources/4over6-helper'], extraArgs: ['--log-level', 'debug'] });
  assert.deepEqual(argv, ['pkexec', '/opt/4over6/resources/4over6-helper', '--mode', 'spawned', '--log-level', 'debug']);
  assert.deepEqual(buildSpawnArgv({ helperCommand: ['/usr/bin/node', '/app/dist/helper/main.js'], elevate: ['ip', 'netns', 'exec', 'x'], socketPath: '/run/x.sock' }),
    ['ip', 'netns', 'exec', 'x', '/usr/bin/node', '/app/dist/helper/main.js', '--mode', 'spawned', '--socket', '/run/x.sock']);
  assert.deepEqual(buildSpawnArgv({ helperCommand: ['/usr/bin/node', '/app/dist/helper/main.js'], elevate: [] }),
    ['/usr/bin/node', '/app/dist/helper/main.js', '--mode', 'spawned']);
  assert.throws(() => buildSpawnArgv({ helperCommand: ['4over6-helper'] }), { code: 'HELPER_LAUNCH_FAILED', message: /absolute path/ });
  // What the helper refuses through pkexec (it would only fail after the password prompt).
  assert.throws(() => buildSpawnArgv({ helperCommand: ['/h'], socketPath: '/run/x.sock' }), { code: 'HELPER_LAUNCH_FAILED', message: /does not accept --socket/ });
  for (const extra of [['--group', 'users'], ['--allow-uid', '0'], ['--journal=/etc/shadow']]) {
    assert.throws(() => buildSpawnArgv({ helperCommand: ['/h'], extraArgs: extra }), { code: 'HELPER_LAUNCH_FAILED', message: /through pkexec/ }, extra.join(' '));
  }
});

test('the installed helper launcher is preferred; else the system node runs the built helper', () => {
  assert.deepEqual(defaultHelperCommand('/app', (p) => p === '/opt/4over6/resources/4over6-helper'), ['/opt/4over6/resources/4over6-helper']);
  assert.deepEqual(defaultHelperCommand('/app', (p) => p === '/usr/local/bin/node'), ['/usr/local/bin/node', '/app/dist/helper/main.js']);
});

test('spawns the helper, hands it the token on stdin, waits for READY, and connects with it', async () => {
  const lines: string[] = [];
  const opts = options({ log: (l) => lines.push(l) });
  const spawned = await spawnHelper(opts);
  assert.equal(spawned.socketPath, opts.socketPath);
  assert.match(spawned.token, /^[0-9a-f]{64}$/);
  assert.ok(!spawned.child.spawnargs.some((a) => a.includes(spawned.token)), 'the token is not in argv');
  assert.deepEqual(spawned.trustedOwners, [0, uid]);
  assert.ok(lines.includes('fake helper listening'));

  // The fake only accepts hello with the token it read from stdin.
  const client = await HelperClient.connect({ socketPath: spawned.socketPath, token: spawned.token, trustedOwners: spawned.trustedOwners, trustedDirOwner: uid });
  assert.equal(client.hello?.mode, 'spawned');
  await assert.rejects(HelperClient.connect({ socketPath: spawned.socketPath, token: '0'.repeat(64), trustedOwners: [uid], trustedDirOwner: uid }), { code: 'HELPER_AUTH_FAILED' });
  await client.shutdown();
  client.close();
});

test('a helper that exits before READY: the error says how, with its last stderr line', async () => {
  await assert.rejects(spawnHelper(options({ extraArgs: ['--fail-with', '2'] })), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'HELPER_LAUNCH_FAILED');
    assert.match(err.message, /exited with code 2 before it was ready: fake helper: cannot create \/run\/4over6: permission denied/);
    return true;
  });
});

test('pkexec refusals and absence are explained', async () => {
  // The injected spawn plays pkexec: exit code 126 is a dismissed dialog or a refusal.
  const fakePkexec = (code: number): SpawnFn => () => {
    const child = spawn(process.execPath, ['-e', `process.exit(${code})`], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };
  await assert.rejects(spawnHelper(options({ elevate: ['pkexec'], socketPath: undefined, spawn: fakePkexec(126) })), { code: 'HELPER_LAUNCH_FAILED', message: /dismissed or authorization was refused/ });
  await assert.rejects(spawnHelper(options({ elevate: ['pkexec'], socketPath: undefined, spawn: fakePkexec(127) })), { message: /polkit agent/ });
  await assert.rejects(spawnHelper(options({ elevate: ['/nonexistent/pkexec'], socketPath: undefined, spawn: undefined })), { code: 'HELPER_LAUNCH_FAILED', message: /not found/ });
});

test('no READY in time, or READY for another path, is a launch failure', async () => {
  await assert.rejects(spawnHelper(options({ helperCommand: [process.execPath, '-e', 'setTimeout(() => {}, 10000)', '--'], readyTimeoutMs: 200 })),
    { code: 'HELPER_LAUNCH_FAILED', message: /did not report READY within 0.2 s/ });
  await assert.rejects(spawnHelper(options({ helperCommand: [process.execPath, '-e', 'console.log("READY /elsewhere.sock"); setTimeout(() => {}, 10000)', '--'] })),
    { code: 'HELPER_LAUNCH_FAILED', message: /listens on \/elsewhere.sock, not on/ });
});

test('the service socket is used only when it is root\'s', async () => {
  const path = join(tempDir(), 'helper.sock');
  assert.deepEqual(await findService(path), { endpoint: null, reason: null }, 'absent: no reason to mention');
  const fake = await FakeHelper.start({ socketPath: path });
  fakes.push(fake);
  if (isRoot) {
    assert.deepEqual((await findService(path)).endpoint, { mode: 'service', socketPath: path, trustedOwners: [0] });
    chownSync(path, 65534, 65534);
  }
  const refused = await findService(path);
  assert.equal(refused.endpoint, null);
  assert.match(refused.reason ?? '', /not a socket owned by root/);
});

test('the connector uses the service without spawning anything', { skip: skipUnless(needsRoot('the service socket must be root\'s')) }, async () => {
  const serviceSocketPath = join(tempDir(), 'helper.sock');
  fakes.push(await FakeHelper.start({ socketPath: serviceSocketPath, mode: 'service' }));
  const opts = options({ serviceSocketPath });
  const client = await new HelperConnector(opts).connect();
  assert.equal(client.hello?.mode, 'service');
  assert.equal(opts.spawnCount(), 0);
  client.close();
});

test('the connector spawns once for concurrent connects and reuses the running helper', async () => {
  const opts = options();
  const connector = new HelperConnector(opts);
  assert.equal(await connector.connectExisting(), null, 'nothing to attach to without prompting');
  const [a, b] = await Promise.all([connector.connect(), connector.connect()]);
  assert.equal(a, b);
  assert.equal(opts.spawnCount(), 1);
  a.close();
  const again = await connector.connect(); // the helper still runs: no second prompt
  assert.equal(opts.spawnCount(), 1);
  assert.equal(again.hello?.mode, 'spawned');
  await again.shutdown();
  again.close();
});

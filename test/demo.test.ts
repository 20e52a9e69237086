// Demo mode (`sudo npm run demo`): it builds its namespaces, serves the UI behind a token, connects the
// real tunnel when asked, and leaves nothing behind on SIGTERM, nor after a crash (the next run cleans).
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { createTwoHostNet, waitFor } from './support/netns';
import { needsFile, needsRoot, skipUnless } from './support/requirements';

const DEMO = join(__dirname, '..', 'demo', 'demo.js');
const RENDERER = join(__dirname, '..', 'renderer', 'index.html');
const skip = skipUnless(needsRoot('the demo\'s namespaces'), needsFile(RENDERER, 'the renderer build (npm run build)'));

const demoNamespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('4o6demo-'));

function startDemo(opts: { env?: NodeJS.ProcessEnv; ownGroup?: boolean } = {}): { child: ChildProcess; out: () => string } {
  let out = '';
  const child = spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, detached: opts.ownGroup ?? false });
  child.stdout?.on('data', (c: Buffer) => (out += c));
  child.stderr?.on('data', (c: Buffer) => (out += c));
  return { child, out: () => out };
}

async function call(url: string, channel: string, request: unknown): Promise<{ ok: boolean; value?: any; error?: unknown }> {
  const u = new URL(url);
  const ws = new WebSocket(`ws://${u.host}/ipc?token=${u.searchParams.get('token')}`, { origin: `http://${u.host}` });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const reply = await new Promise<{ ok: boolean; value?: unknown }>((resolve) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.t === 'reply') resolve(m.reply);
    });
    ws.send(JSON.stringify({ t: 'invoke', id: 1, channel, request }));
  });
  ws.close();
  return reply;
}

test('demo: serves the UI with a ready profile, connects, cleans up after a crash and on SIGTERM', { skip }, async () => {
  const first = startDemo();
  try {
    await waitFor(() => /http:\/\/127\.0\.0\.1:\d+\/\?token=/.test(first.out()), { timeoutMs: 30_000, what: 'the demo to print its address' });
    assert.deepEqual(demoNamespaces().sort(), ['4o6demo-cli', '4o6demo-gw']);
    const url = first.out().match(/http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+/)![0];
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root">/);
    const profiles = await call(url, 'vpn:profiles.list', null);
    assert.equal(profiles.value[0].name, 'Local demo gateway');
    await call(url, 'vpn:tunnel.connect', { profileId: profiles.value[0].id });
    await waitFor(async () => (await call(url, 'vpn:tunnel.snapshot', null)).value.state.kind === 'connected', { timeoutMs: 20_000, what: 'the demo tunnel to come up' });
    // The demo crashes (kill -9): its namespaces and processes stay behind...
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    assert.equal(demoNamespaces().length, 2);
  } finally {
    if (first.child.exitCode === null) first.child.kill('SIGKILL');
  }
  // ...until the next run, which removes them before starting afresh.
  const second = startDemo();
  try {
    await waitFor(() => /http:\/\/127\.0\.0\.1:\d+\/\?token=/.test(second.out()), { timeoutMs: 30_000, what: 'the second demo' });
    assert.deepEqual(demoNamespaces().sort(), ['4o6demo-cli', '4o6demo-gw']);
    second.child.kill('SIGTERM');
    assert.equal(await new Promise((r) => second.child.once('exit', r)), 0);
    assert.match(second.out(), /nothing left behind/);
    assert.deepEqual(demoNamespaces(), []);
    assert.equal(existsSync('/run/4over6-demo'), false);
  } finally {
    if (second.child.exitCode === null) second.child.kill('SIGKILL');
  }
});

/** Every process whose command line contains `text`. */
function processesWithArgv(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (argv.includes(text)) found.push(`${pid}: ${argv}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

test('demo: URL printed last; Electron gets it on stdin, never in argv; a terminal Ctrl-C stops it cleanly, once', { skip }, async () => {
  // /etc/netns as a fresh machine has it: absent (unless other tests are using it right now).
  try {
    rmdirSync('/etc/netns'); // only succeeds when empty
  } catch {
    // absent, or in use by a concurrent test
  }
  const etcNetnsBefore = existsSync('/etc/netns');
  // A stand-in for the Electron binary, run as "the user who called sudo" (nobody): keeps its stdin.
  const dir = mkdtempSync(join(tmpdir(), '4o6-demo-electron-'));
  chmodSync(dir, 0o777);
  const fakeElectron = join(dir, 'electron');
  writeFileSync(fakeElectron, `#!/bin/sh\ncat > ${dir}/received\nsleep 5\n`, { mode: 0o755 });
  const demo = startDemo({ env: { ...process.env, SUDO_UID: '65534', SUDO_GID: '65534', DEMO_ELECTRON: fakeElectron }, ownGroup: true });
  try {
    await waitFor(() => /http:\/\/127\.0\.0\.1:\d+\/\?token=/.test(demo.out()), { timeoutMs: 30_000, what: 'the demo to print its address' });
    const printed = demo.out();
    const url = printed.match(/http:\/\/127\.0\.0\.1:\d+\/\?token=([0-9a-f]+)/)!;
    const lines = printed.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines[lines.length - 1].trim(), url[0], `the address is not the last line:\n${printed}`);
    assert.ok(printed.indexOf('listening on') >= 0 && printed.indexOf('listening on') < printed.indexOf(url[0]), 'the gateway was not ready before the address');

    // The token reaches the window through its stdin; no command line on the machine shows it.
    await waitFor(() => processesWithArgv(fakeElectron).length > 0 || existsSync(join(dir, 'received')), { timeoutMs: 10_000, what: 'the Electron stand-in to start' });
    assert.deepEqual(processesWithArgv(url[1]), []);
    await waitFor(() => existsSync(join(dir, 'received')) && readFileSync(join(dir, 'received'), 'utf8').trim() === url[0],
      { timeoutMs: 10_000, what: 'the Electron stand-in to read the address on stdin' });

    // A tunnel up (the helper spawned), then Ctrl-C as a terminal sends it: to the whole process group.
    const profiles = await call(url[0], 'vpn:profiles.list', null);
    await call(url[0], 'vpn:tunnel.connect', { profileId: profiles.value[0].id });
    await waitFor(async () => (await call(url[0], 'vpn:tunnel.snapshot', null)).value.state.kind === 'connected', { timeoutMs: 20_000, what: 'the demo tunnel to come up' });
    const exited = new Promise<number | null>((r) => demo.child.once('exit', (code) => r(code)));
    process.kill(-demo.child.pid!, 'SIGINT');
    assert.equal(await exited, 0);
    const out = demo.out();
    assert.match(out, /nothing left behind/);
    assert.doesNotMatch(out, /notification: The 4over6 helper stopped/, `a normal Ctrl-C is not a helper failure:\n${out}`);
    assert.equal((out.match(/^gw .*(SIGINT|SIGTERM)/gm) ?? []).length, 1, `the gateway got more than one signal:\n${out}`);
    assert.deepEqual(demoNamespaces(), []);
    assert.equal(existsSync('/run/4over6-demo'), false);
    if (!etcNetnsBefore) assert.equal(existsSync('/etc/netns'), false, 'the demo left the /etc/netns it created');
    else assert.equal(existsSync('/etc/netns'), true);
  } finally {
    if (demo.child.exitCode === null) process.kill(-demo.child.pid!, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('demo traffic: after the tunnel comes back with another address, the generator starts a new stream', { skip: skipUnless(needsRoot('namespaces')) }, async () => {
  // The tunnel reduced to what the generator sees: an IPv4 path whose local address changes while it is down.
  const net = await createTwoHostNet('traffic');
  try {
    await net.exec(net.client, 'ip', ['addr', 'add', '198.18.200.1/24', 'dev', net.clientDev]);
    await net.exec(net.server, 'ip', ['addr', 'add', '198.18.200.2/24', 'dev', net.serverDev]);
    const traffic = join(__dirname, '..', 'demo', 'traffic.js');
    net.spawn(net.server, process.execPath, [traffic, 'sink', '0.0.0.0', '9000'], { stdio: 'ignore' });
    net.spawn(net.client, process.execPath, [traffic, 'source', '198.18.200.2', '9000'], { stdio: 'ignore' });
    /** Bytes the sink has received on its established streams, by peer address. */
    const received = async (): Promise<Map<string, number>> => {
      const out = await net.exec(net.server, 'ss', ['-Htni', 'state', 'established', '( sport = :9000 )']);
      const byPeer = new Map<string, number>();
      for (const m of out.matchAll(/:9000\s+(198\.18\.200\.\d+):\d+[\s\S]*?bytes_received:(\d+)/g)) byPeer.set(m[1], (byPeer.get(m[1]) ?? 0) + Number(m[2]));
      return byPeer;
    };
    await waitFor(async () => ((await received()).get('198.18.200.1') ?? 0) > 100_000, { timeoutMs: 10_000, what: 'traffic from the first address' });
    // Down, and back with another address: the first stream is dead for good (its address is gone).
    await net.exec(net.client, 'ip', ['addr', 'del', '198.18.200.1/24', 'dev', net.clientDev]);
    await net.exec(net.client, 'ip', ['addr', 'add', '198.18.200.3/24', 'dev', net.clientDev]);
    await waitFor(async () => ((await received()).get('198.18.200.3') ?? 0) > 100_000, { timeoutMs: 15_000, what: 'a new stream from the new address' });
  } finally {
    await net.cleanup();
  }
});

test('npm run demo builds quietly: two lines when the build works, its whole output when it fails', () => {
  const root = join(__dirname, '..', '..');
  const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
  assert.match(scripts.demo, /^node scripts\/quietly\.js "[^"]+" npm run build && node dist\/demo\/demo\.js$/);
  const quietly = join(root, 'scripts', 'quietly.js');
  const noisy = 'for (let i = 0; i < 60; i++) console.log("compiler line " + i); process.exit(Number(process.argv[1]))';
  const ok = spawnSync(process.execPath, [quietly, 'Building', process.execPath, '-e', noisy, '0'], { encoding: 'utf8' });
  assert.equal(ok.status, 0);
  assert.deepEqual(ok.stdout.trim().split('\n').map((l) => l.replace(/\d+ s$/, 'N s')), ['Building…', 'Building: done in N s']);
  const failed = spawnSync(process.execPath, [quietly, 'Building', process.execPath, '-e', noisy, '3'], { encoding: 'utf8' });
  assert.equal(failed.status, 3);
  assert.match(failed.stdout, /compiler line 0\n[\s\S]*compiler line 59\n/);
  assert.match(failed.stderr, /Building failed \(exit code 3\)/);
});

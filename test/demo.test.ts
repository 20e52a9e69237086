// Demo mode (`sudo npm run demo`): it builds its namespaces, serves the UI behind a token, connects the
// real tunnel when asked, and leaves nothing behind on SIGTERM, nor after a crash (the next run cleans).
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { waitFor } from './support/netns';
import { needsFile, needsRoot, skipUnless } from './support/requirements';

const DEMO = join(__dirname, '..', 'demo', 'demo.js');
const RENDERER = join(__dirname, '..', 'renderer', 'index.html');
const skip = skipUnless(needsRoot('the demo\'s namespaces'), needsFile(RENDERER, 'the renderer build (npm run build)'));

const demoNamespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('4o6demo-'));

function startDemo(): { child: ChildProcess; out: () => string } {
  let out = '';
  const child = spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] });
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

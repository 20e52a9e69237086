import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type TunnelSnapshot, VpnError, createIpcNotifier, createVpnApi, registerIpcHandlers } from '../contract/ipc-schema';
import type { TunnelState } from '../contract/tunnel-state';
import { AppController, type FileDialogs, type HelperSource, type SettingsSource, memorySettings } from './app-controller';
import type { Autostart } from './autostart';
import { openConfBackend } from './conf-backend';
import { HelperClient } from './helper-client';
import type { UserNotification } from './notification-model';
import { openProfileStore } from './profile-store';
import { FAKE_LEASE, FakeHelper, stats } from './testing/fake-helper';
import { loopbackTransport } from './testing/loopback-transport';

const uid = process.getuid?.() ?? 0;
const dirs: string[] = [];
const fakes: FakeHelper[] = [];
after(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), '4o6-ctl-'));
  dirs.push(d);
  return d;
}

const KEY = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const tick = () => new Promise((r) => setTimeout(r, 20));

/** A controller over a real store, a fake helper reached through the real client, and the IPC schema. */
async function setup(opts: { mode?: 'service' | 'spawned'; existing?: boolean; dialogs?: FileDialogs; now?: () => number; settings?: SettingsSource; autostart?: Autostart } = {}) {
  const { store, status } = await openProfileStore(tempDir(), openConfBackend);
  const socketPath = join(tempDir(), 'helper.sock');
  const fake = await FakeHelper.start({ socketPath, mode: opts.mode ?? 'spawned' });
  fakes.push(fake);
  let connects = 0;
  let failNext: VpnError | null = null;
  const open = () => HelperClient.connect({ socketPath, trustedOwners: [uid], trustedDirOwner: uid });
  const helper: HelperSource = {
    connectExisting: async () => (opts.existing ? open() : null),
    connect: async () => {
      connects++;
      if (failNext) throw failNext;
      return open();
    },
  };
  const controller = new AppController({ store, storeStatus: status, helper, dialogs: opts.dialogs, now: opts.now, settings: opts.settings, autostart: opts.autostart });
  const { client, server } = loopbackTransport();
  registerIpcHandlers(server, controller.handlers);
  const notifier = createIpcNotifier(server);
  controller.on('tunnelState', (s) => notifier.tunnel.state(s));
  controller.on('tunnelStats', (s) => notifier.tunnel.stats(s));
  controller.on('profilesChanged', (p) => notifier.profiles.changed(p));
  controller.on('log', (e) => notifier.app.log(e));
  controller.on('settingsChanged', (s) => notifier.settings.changed(s));
  const notifications: UserNotification[] = [];
  controller.on('notification', (n) => notifications.push(n));
  const vpn = createVpnApi(client);
  const pushed: TunnelSnapshot[] = [];
  vpn.tunnel.listenState((s) => pushed.push(s));
  return {
    store, fake, controller, vpn, pushed, notifications,
    connects: () => connects,
    failNextConnect: (e: VpnError) => (failNext = e),
  };
}

const connectedState = (server = 'fd00:46::1'): TunnelState =>
  ({ kind: 'connected', server, serverAddress: server, lease: FAKE_LEASE, sinceMs: 1, attempt: 1, onLoss: 'reconnect', previousAddress: null });

test('profiles through the IPC schema: create, update, duplicate, remove, with a push after each', async () => {
  const { vpn } = await setup();
  const lists: string[][] = [];
  vpn.profiles.listenChanged((ps) => lists.push(ps.map((p) => p.name)));
  const p = await vpn.profiles.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: true, uuid: KEY });
  await vpn.profiles.update({ id: p.id, changes: { port: 6000 } });
  const copy = await vpn.profiles.duplicate({ id: p.id });
  await vpn.profiles.remove({ id: copy.id });
  assert.deepEqual(lists, [['Office'], ['Office'], ['Office', 'Office (copy)'], ['Office']]);
  assert.equal((await vpn.profiles.list())[0].port, 6000);
  await assert.rejects(vpn.profiles.update({ id: p.id, changes: { port: 0 } }), { name: 'VpnError', code: 'PROFILE_INVALID' });
  await assert.rejects(vpn.profiles.remove({} as never), { code: 'BAD_REQUEST', message: /profiles.remove: id/ });
});

test('import and export through the IPC schema; file dialogs only where there are some', async () => {
  const file = join(tempDir(), 'office.yaml');
  writeFileSync(file, 'server: "fd00:46::1"\nport: 5555\n');
  let chosen: string | null = file;
  const { vpn } = await setup({ dialogs: { chooseImportFile: async () => chosen, chooseExportFile: async () => chosen } });
  const imported = await vpn.profiles.importFile();
  assert.deepEqual(imported?.imported.map((p) => p.name), ['office']);
  chosen = null;
  assert.equal(await vpn.profiles.importFile(), null, 'cancelled');
  const exported = await vpn.profiles.exportText({});
  assert.equal(exported.count, 1);
  const again = await vpn.profiles.importText({ fileName: exported.fileName, text: exported.text });
  assert.deepEqual(again, { imported: [], renamed: [], skipped: ['office'], warnings: [] }, 'our own export read back adds nothing');
  await assert.rejects(vpn.profiles.importText({ fileName: 'x.json', text: '{}' }), (err: unknown) =>
    err instanceof VpnError && err.code === 'IMPORT_INVALID' && err.problems.length > 0);
  assert.equal((await vpn.profiles.storeStatus()).recovery, null);

  const headless = await setup();
  await assert.rejects(headless.vpn.profiles.importFile(), { code: 'NOT_SUPPORTED' });
});

test('connect: the helper gets the profile, the snapshot follows its events, the user is notified', async () => {
  const { vpn, fake, pushed, notifications, store } = await setup();
  const p = store.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: true, uuid: KEY });
  const stats1: number[] = [];
  vpn.tunnel.listenStats((s) => stats1.push(s.stats.rateDown));

  const first = await vpn.tunnel.connect({ profileId: p.id });
  assert.equal(first.state.kind, 'connecting');
  assert.equal(first.profileId, p.id);
  assert.deepEqual(first.helper, { status: 'connected', mode: 'spawned', error: null });
  const sent = fake.received.find((r) => r.cmd === 'connect');
  assert.deepEqual(sent, { id: 3, cmd: 'connect', killSwitch: 'on', allowLan: false, profile: { name: 'Office', server: 'fd00:46::1', port: 5555, uuid: KEY, autoReconnect: true, dns: true, allowPlaintext: false, defaultRoute: true, mtu: 1500 } });

  fake.changes = ['route 0.0.0.0/1 via 4over6'];
  fake.setState(connectedState(), 'Office');
  fake.emit({ event: 'stats', stats: stats({ rateDown: 4_375_000 }) });
  for (let i = 0; i < 100 && (await vpn.tunnel.snapshot()).changes.length === 0; i++) await tick();
  const snap = await vpn.tunnel.snapshot();
  assert.equal(snap.state.kind, 'connected');
  assert.equal(snap.profileId, p.id);
  assert.deepEqual(snap.changes, ['route 0.0.0.0/1 via 4over6'], 'changes refreshed when the tunnel came up');
  assert.deepEqual(stats1, [4_375_000]);
  assert.ok(pushed.some((s) => s.state.kind === 'connected'));
  assert.deepEqual(notifications.map((n) => n.title), ['Connected to Office']);

  await assert.rejects(vpn.profiles.remove({ id: p.id }), { code: 'PROFILE_IN_USE' });

  const down = await vpn.tunnel.disconnect();
  assert.equal(down.state.kind, 'idle');
  assert.deepEqual(notifications.map((n) => n.title), ['Connected to Office', 'Disconnected from Office']);
  await assert.rejects(vpn.tunnel.connect({ profileId: 'missing' }), { code: 'PROFILE_NOT_FOUND' });
});

test('a lost helper shows in the snapshot, and the next connect reaches it again', async () => {
  const { vpn, fake, store, notifications, connects } = await setup();
  const p = store.create({ name: 'Home', server: 'fd00::9', port: 1, encryption: false });
  await vpn.tunnel.connect({ profileId: p.id });
  fake.setState(connectedState('fd00::9'), 'Home');
  await tick();
  fake.dropConnections();
  await tick();
  const snap = await vpn.tunnel.snapshot();
  assert.equal(snap.state.kind, 'idle');
  assert.equal(snap.helper.status, 'lost');
  assert.equal(snap.helper.error?.code, 'HELPER_DISCONNECTED');
  assert.equal(notifications.at(-1)?.title, 'The 4over6 helper stopped');
  await vpn.tunnel.connect({ profileId: p.id });
  assert.equal(connects(), 2);
  assert.equal((await vpn.tunnel.snapshot()).helper.status, 'connected');
});

test('a helper that cannot be reached: the error reaches the renderer typed, and the snapshot says why', async () => {
  const { vpn, store, failNextConnect } = await setup();
  const p = store.create({ name: 'Home', server: 'fd00::9', port: 1, encryption: false });
  failNextConnect(new VpnError('HELPER_LAUNCH_FAILED', 'the password dialog was dismissed or authorization was refused'));
  await assert.rejects(vpn.tunnel.connect({ profileId: p.id }), { code: 'HELPER_LAUNCH_FAILED', message: /dismissed/ });
  const snap = await vpn.tunnel.snapshot();
  assert.equal(snap.helper.status, 'none');
  assert.equal(snap.helper.error?.code, 'HELPER_LAUNCH_FAILED');
});

test('at start, a tunnel already run by the service shows, its profile found by name', async () => {
  const ctx = await setup({ mode: 'service', existing: true });
  const p = ctx.store.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: false });
  ctx.fake.state = connectedState();
  ctx.fake.profileName = 'Office';
  await ctx.controller.start();
  const snap = ctx.controller.snapshot();
  assert.equal(snap.state.kind, 'connected');
  assert.equal(snap.profileId, p.id);
  assert.equal(snap.helper.mode, 'service');
  assert.equal(ctx.connects(), 0, 'no prompt at start');
});

test('quitting disconnects, and stops a helper we spawned (not the service)', async () => {
  for (const mode of ['spawned', 'service'] as const) {
    const { vpn, fake, store, controller } = await setup({ mode });
    const p = store.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: false });
    await vpn.tunnel.connect({ profileId: p.id });
    await controller.shutdown();
    const cmds = fake.received.map((r) => r.cmd);
    assert.deepEqual(cmds.slice(-2), mode === 'spawned' ? ['disconnect', 'shutdown'] : ['connect', 'disconnect']);
    await controller.shutdown(); // twice is harmless
  }
});

test('the snapshot says who started the tunnel, and follows when another user of the service takes it over', async () => {
  const { vpn, fake, pushed, store } = await setup({ mode: 'service' });
  const p = store.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: true, uuid: KEY });
  assert.deepEqual((await vpn.tunnel.connect({ profileId: p.id })).startedBy, { uid: process.getuid?.() ?? 0, user: 'tester' });
  // Another member of the group switched the tunnel: the helper's state event names them.
  fake.startedBy = { uid: 1234, user: 'alice' };
  fake.setState(connectedState(), 'Home');
  for (let i = 0; i < 50 && pushed.at(-1)?.startedBy?.user !== 'alice'; i++) await tick();
  assert.deepEqual(pushed.at(-1)?.startedBy, { uid: 1234, user: 'alice' });
  assert.deepEqual((await vpn.tunnel.snapshot()).startedBy, { uid: 1234, user: 'alice' });
});

test('the last 60 s of rates live in main: a window that opens later gets them at once; a new connection starts afresh', async () => {
  let clock = 1_000_000;
  const { vpn, fake, store } = await setup({ now: () => clock });
  const p = store.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: false });
  await vpn.tunnel.connect({ profileId: p.id });
  fake.setState(connectedState(), 'Office');
  const pushed: number[] = [];
  vpn.tunnel.listenStats((u) => pushed.push(u.sample.atMs));
  for (let i = 1; i <= 70; i++) {
    clock = 1_000_000 + i * 1000;
    fake.emit({ event: 'stats', stats: stats({ rateUp: i, rateDown: 10 * i }) });
    for (let w = 0; w < 500 && pushed.length < i; w++) await new Promise((r) => setTimeout(r, 2));
  }
  const history = await vpn.tunnel.history();
  assert.equal(history.length, 60);
  assert.deepEqual(history[0], { atMs: 1_000_000 + 11_000, up: 11, down: 110 });
  assert.deepEqual(history[59], { atMs: 1_000_000 + 70_000, up: 70, down: 700 });
  // A reconnect keeps the graph; a fresh connect after a disconnect starts a new one.
  fake.setState({ kind: 'reconnecting', server: 'fd00:46::1', attempt: 1, retryInMs: 1000, lastFailure: { reason: 'connection-lost', message: 'x' } } as TunnelState, 'Office');
  for (let i = 0; i < 50 && (await vpn.tunnel.snapshot()).state.kind !== 'reconnecting'; i++) await tick();
  assert.equal((await vpn.tunnel.history()).length, 60);
  await vpn.tunnel.disconnect();
  await vpn.tunnel.connect({ profileId: p.id });
  assert.deepEqual(await vpn.tunnel.history(), []);
});

test('the Logs screen\'s events: the helper\'s lines and the app\'s own, numbered, pushed as they come', async () => {
  const { vpn, fake, store } = await setup({ now: () => 5000 });
  const p = store.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: false });
  const pushed: string[] = [];
  vpn.app.listenLog((e) => pushed.push(`${e.source} ${e.level}: ${e.message}`));
  await vpn.tunnel.connect({ profileId: p.id });
  fake.emit({ event: 'log', level: 'warn', message: 'route 0.0.0.0/1 already present', atMs: 4000 });
  fake.setState({ kind: 'failed', failure: { reason: 'wrong-key', message: 'the server answered 199' } } as TunnelState, 'Office');
  for (let i = 0; i < 100 && !pushed.some((l) => l.includes('199')); i++) await tick();
  const logs = await vpn.app.logs();
  const lines = logs.map((e) => `${e.source} ${e.level}: ${e.message}`);
  assert.ok(lines.some((l) => /^app info: helper connected \(spawned mode, pid \d+\)$/.test(l)), lines.join('\n'));
  assert.ok(lines.includes('app info: Connecting to Office'), lines.join('\n'));
  assert.ok(lines.includes('helper warn: route 0.0.0.0/1 already present'), lines.join('\n'));
  assert.ok(lines.includes('app warn: The connection to Office failed: the server answered 199'), lines.join('\n'));
  assert.deepEqual(pushed, lines, 'every kept event was pushed, in order');
  assert.deepEqual(logs.map((e) => e.seq), logs.map((_, i) => i + 1));
  assert.equal(logs.find((e) => e.source === 'helper')?.atMs, 4000, 'the helper\'s time');
});

test('about and diagnostics: versions and the helper; a redacted bundle as text or saved where the user chose', async () => {
  const dir = tempDir();
  let chosen: string | null = join(dir, 'diag.json');
  const { vpn, store } = await setup({ dialogs: { chooseImportFile: async () => null, chooseExportFile: async () => null, chooseDiagnosticsFile: async () => chosen } });
  const p = store.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: true, uuid: KEY });
  assert.equal((await vpn.app.about()).helper, null, 'no helper yet');
  await vpn.tunnel.connect({ profileId: p.id });
  const about = await vpn.app.about();
  assert.deepEqual(about.helper?.mode, 'spawned');
  assert.equal(about.helper?.protocolVersion, 1);
  assert.match(about.appVersion, /^\d+\.\d+\.\d+/);
  assert.ok(about.licences.some((l) => l.name === 'zod' && l.license === 'MIT'));

  const { fileName, text } = await vpn.app.diagnosticsText();
  assert.match(fileName, /^4over6-diagnostics-.*\.json$/);
  assert.equal(text.includes(KEY), false);
  assert.equal(text.includes('fd00:46::1'), false);
  assert.match(text, /"name": "Office"/);
  assert.match(text, /Connecting to Office/);
  const saved = await vpn.app.saveDiagnostics();
  assert.deepEqual(saved, { path: chosen });
  const { readFileSync, statSync } = await import('node:fs');
  assert.equal(statSync(chosen).mode & 0o777, 0o600, 'owner-only, like an export');
  assert.equal(readFileSync(chosen, 'utf8').includes(KEY), false);
  chosen = null;
  assert.equal(await vpn.app.saveDiagnostics(), null, 'cancelled');
});

test('settings: the kill switch goes to the helper with each connect and at once when changed; lockdown reaches a helper by itself', async () => {
  const settings = memorySettings();
  const { vpn, fake, store, connects } = await setup({ settings });
  const p = store.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: false });
  const changed: string[] = [];
  vpn.settings.listenChanged((s) => changed.push(`${s.killSwitch}/${s.allowLan}`));
  assert.deepEqual(await vpn.settings.get(), { killSwitch: 'on', allowLan: false, connectOnStart: false, startAtLogin: false, lastProfileId: null });
  // No helper yet and not lockdown: saved, applied with the next connect.
  await vpn.settings.update({ killSwitch: 'off', allowLan: true });
  assert.equal(connects(), 0, 'no helper started for "off"');
  await vpn.tunnel.connect({ profileId: p.id });
  const connect = fake.received.find((r) => r.cmd === 'connect');
  assert.deepEqual(connect?.cmd === 'connect' && [connect.killSwitch, connect.allowLan], ['off', true]);
  assert.equal(settings.get().lastProfileId, p.id, 'the last profile is remembered');
  // With a helper: at once.
  const snap = await vpn.settings.update({ killSwitch: 'lockdown' });
  assert.equal(snap.killSwitch, 'lockdown');
  const set = fake.received.filter((r) => r.cmd === 'setKillSwitch').at(-1);
  assert.deepEqual(set?.cmd === 'setKillSwitch' && [set.killSwitch, set.allowLan], ['lockdown', true]);
  assert.deepEqual((await vpn.tunnel.snapshot()).guard, { mode: 'lockdown', allowLan: true, active: true, blocking: true });
  assert.deepEqual(changed, ['off/true', 'off/true', 'lockdown/true']);
  await assert.rejects(vpn.settings.update({ lastProfileId: 'x' } as never), { code: 'BAD_REQUEST' });
});

test('settings at start: lockdown is put back in place (a helper is reached for it), then the last profile connects', async () => {
  const settings = memorySettings({ killSwitch: 'lockdown', connectOnStart: true });
  const { controller, vpn, fake, store, connects } = await setup({ settings });
  const p = store.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: false });
  settings.set({ lastProfileId: p.id });
  await controller.start();
  assert.equal(connects(), 1, 'a helper was reached at start (no tunnel asked for yet)');
  const cmds = fake.received.map((r) => r.cmd);
  assert.deepEqual(cmds.filter((c) => c === 'setKillSwitch' || c === 'connect'), ['setKillSwitch', 'connect']);
  assert.equal((await vpn.tunnel.snapshot()).profileId, p.id);
});

test('the helper\'s system events keep the changes and the kill switch current (what is in place while reconnecting)', async () => {
  const { vpn, fake, store } = await setup();
  const p = store.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: false });
  await vpn.tunnel.connect({ profileId: p.id });
  const guard = { mode: 'on' as const, allowLan: false, active: true, blocking: true };
  fake.emit({ event: 'system', changes: ['address 10.8.0.2/24 on 4over6', 'guard table inet fourover6-guard'], guard });
  for (let i = 0; i < 50 && (await vpn.tunnel.snapshot()).guard?.blocking !== true; i++) await tick();
  const s = await vpn.tunnel.snapshot();
  assert.deepEqual(s.changes, ['address 10.8.0.2/24 on 4over6', 'guard table inet fourover6-guard']);
  assert.deepEqual(s.guard, guard);
});

test('start at login writes and removes the entry; without a desktop app it is refused', async () => {
  const calls: string[] = [];
  const autostart: Autostart = { enable: () => calls.push('enable'), disable: () => calls.push('disable') };
  const { vpn } = await setup({ autostart });
  assert.equal((await vpn.settings.update({ startAtLogin: true })).startAtLogin, true);
  await vpn.settings.update({ startAtLogin: true });
  await vpn.settings.update({ startAtLogin: false });
  assert.deepEqual(calls, ['enable', 'disable'], 'only on a change');
  const bare = await setup();
  await assert.rejects(bare.vpn.settings.update({ startAtLogin: true }), { code: 'NOT_SUPPORTED' });
  assert.equal((await bare.vpn.settings.get()).startAtLogin, false, 'not saved when refused');
});

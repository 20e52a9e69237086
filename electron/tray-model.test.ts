import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TunnelSnapshot } from '../contract/ipc-schema';
import type { TunnelState } from '../contract/tunnel-state';
import { notificationFor } from './notification-model';
import type { Profile } from '../contract/profile-schema';
import { emptyStats } from '../contract/stats';
import { TrayPlan, trayIconName, trayMenu, trayTooltip } from './tray-model';

const LEASE = { address: '10.8.0.2', prefixLength: 24, route: '10.8.0.0', dns: [], tunName: '4over6', mtu: 1500 };
const connected: TunnelState = { kind: 'connected', server: 'fd00::1', serverAddress: 'fd00::1', lease: LEASE, sinceMs: 0, attempt: 1, onLoss: 'reconnect', previousAddress: null };

function snap(state: TunnelState, more: Partial<TunnelSnapshot> = {}): TunnelSnapshot {
  return { state, profileId: 'p1', profileName: 'Office', stats: emptyStats(), changes: [], guard: null, helper: { status: 'connected', mode: 'service', error: null }, ...more };
}

const profiles: Profile[] = [
  { id: 'p1', name: 'Office', server: 'fd00::1', port: 1, encryption: false, uuid: null, autoReconnect: true, dns: true },
  { id: 'p2', name: 'Home', server: 'fd00::2', port: 2, encryption: false, uuid: null, autoReconnect: true, dns: true },
];

test('tooltip with live rates in human units', () => {
  const s = snap(connected, { stats: { ...emptyStats(), rateUp: 150_000, rateDown: 4_375_000 } });
  assert.equal(trayTooltip(s), '4over6: Connected to Office — ↑ 1.20 Mbit/s ↓ 35.0 Mbit/s');
  assert.equal(trayTooltip(snap(connected)), '4over6: Connected to Office — ↑ 0 bit/s ↓ 0 bit/s');
  assert.equal(trayTooltip(snap(connected, { stats: { ...emptyStats(), rateDown: 125_000_000 } })), '4over6: Connected to Office — ↑ 0 bit/s ↓ 1.00 Gbit/s');
});

test('tooltip for every other state', () => {
  assert.equal(trayTooltip(snap({ kind: 'idle' })), '4over6: Not connected');
  assert.equal(trayTooltip(snap({ kind: 'connecting', server: 'fd00::1', phase: 'awaiting-ip', attempt: 2, serverAddress: 'fd00::1', onLoss: 'reconnect', held: null })),
    '4over6: Connecting to Office (waiting for an address, attempt 2)');
  assert.equal(trayTooltip(snap({ kind: 'reconnecting', server: 'fd00::1', serverAddress: 'fd00::1', held: LEASE, attempt: 1, retryInMs: 3500, lastFailure: { reason: 'heartbeat-lost', message: '' } })),
    '4over6: Reconnecting to Office in 4 s (the server stopped answering (no heartbeat))');
  assert.equal(trayTooltip(snap({ kind: 'disconnecting', then: 'idle', failure: null })), '4over6: Disconnecting from Office');
  assert.equal(trayTooltip(snap({ kind: 'failed', failure: { reason: 'wrong-key', message: '' } })),
    '4over6: The connection to Office failed: the server does not use encryption, or uses another key');
  assert.equal(trayTooltip(snap({ kind: 'connecting', server: 'gw.example', phase: 'resolving', attempt: 1, serverAddress: null, onLoss: 'reconnect', held: null }, { profileName: null })),
    '4over6: Connecting to gw.example (looking up the server name)');
  assert.equal(trayTooltip(snap({ kind: 'idle' }, { helper: { status: 'lost', mode: 'spawned', error: { code: 'HELPER_DISCONNECTED', message: 'the helper exited' } } })),
    '4over6: Not connected (the helper exited)');
});

test('one icon per state', () => {
  assert.equal(trayIconName(snap({ kind: 'idle' })), 'disconnected');
  assert.equal(trayIconName(snap({ kind: 'connecting', server: 'x', phase: 'tcp', attempt: 1, serverAddress: 'fd00::1', onLoss: 'reconnect', held: null })), 'connecting');
  assert.equal(trayIconName(snap({ kind: 'reconnecting', server: 'x', serverAddress: 'fd00::1', held: LEASE, attempt: 1, retryInMs: 1, lastFailure: { reason: 'connection-lost', message: '' } })), 'connecting');
  assert.equal(trayIconName(snap(connected)), 'connected');
  assert.equal(trayIconName(snap({ kind: 'failed', failure: { reason: 'dns-failed', message: '' } })), 'error');
  assert.equal(trayIconName(snap({ kind: 'idle' }, { helper: { status: 'lost', mode: null, error: null } })), 'error');
});

test('menu: status, profiles (current checked), disconnect, show window, quit', () => {
  const menu = trayMenu(snap(connected, { stats: { ...emptyStats(), rateDown: 1000 } }), profiles);
  assert.deepEqual(menu, [
    { kind: 'label', label: 'Connected to Office' },
    { kind: 'separator' },
    { kind: 'action', label: 'Office', action: { type: 'connect', profileId: 'p1' }, enabled: false, checked: true },
    { kind: 'action', label: 'Home', action: { type: 'connect', profileId: 'p2' }, enabled: true, checked: false },
    { kind: 'action', label: 'Disconnect', action: { type: 'disconnect' }, enabled: true },
    { kind: 'separator' },
    { kind: 'action', label: 'Show window', action: { type: 'showWindow' }, enabled: true },
    { kind: 'action', label: 'Quit', action: { type: 'quit' }, enabled: true },
  ]);
  const idle = trayMenu(snap({ kind: 'idle' }), []);
  assert.deepEqual(idle.slice(0, 3), [{ kind: 'label', label: 'Not connected' }, { kind: 'separator' }, { kind: 'label', label: 'No profiles yet: add one in the window' }]);
  assert.deepEqual(idle.find((i) => i.kind === 'action' && i.action.type === 'disconnect'),
    { kind: 'action', label: 'Disconnect', action: { type: 'disconnect' }, enabled: false });
});

test('the menu does not change with the rates (no rebuild every second)', () => {
  const a = trayMenu(snap(connected, { stats: { ...emptyStats(), rateDown: 1 } }), profiles);
  const b = trayMenu(snap(connected, { stats: { ...emptyStats(), rateDown: 9e6 } }), profiles);
  assert.deepEqual(a, b);
});

test('notifications on connect, loss, failure, disconnect; none for progress', () => {
  const idle = snap({ kind: 'idle' });
  const connecting = snap({ kind: 'connecting', server: 'fd00::1', phase: 'tcp', attempt: 1, serverAddress: 'fd00::1', onLoss: 'reconnect', held: null });
  const reconnecting = snap({ kind: 'reconnecting', server: 'fd00::1', serverAddress: 'fd00::1', held: LEASE, attempt: 0, retryInMs: 1000, lastFailure: { reason: 'heartbeat-lost', message: '' } });
  const failed = snap({ kind: 'failed', failure: { reason: 'server-unreachable', message: '' } });
  assert.equal(notificationFor(idle, connecting), null);
  assert.equal(notificationFor(connecting, { ...connecting, state: { ...connecting.state, phase: 'awaiting-ip' } as TunnelState }), null);
  assert.deepEqual(notificationFor(connecting, snap(connected)), { kind: 'connected', title: 'Connected to Office', body: 'Address 10.8.0.2 through fd00::1' });
  assert.equal(notificationFor(snap(connected), reconnecting)?.title, 'Connection to Office lost');
  assert.equal(notificationFor(reconnecting, snap(connected))?.title, 'Reconnected to Office');
  assert.deepEqual(notificationFor(connecting, failed), { kind: 'failed', title: 'Could not connect to Office', body: 'the server is unreachable' });
  assert.equal(notificationFor(snap(connected), idle)?.kind, 'disconnected');
  assert.equal(notificationFor(failed, idle), null);
  const lost = snap({ kind: 'idle' }, { helper: { status: 'lost', mode: 'spawned', error: { code: 'HELPER_DISCONNECTED', message: 'gone' } } });
  assert.deepEqual(notificationFor(snap(connected), lost), { kind: 'lost', title: 'The 4over6 helper stopped', body: 'gone' });
});

test('the menu\'s status line carries the rates it is given, only while connected', () => {
  const s = snap(connected, { stats: { ...emptyStats(), rateUp: 150_000, rateDown: 4_375_000 } });
  assert.deepEqual(trayMenu(s, profiles, { up: 150_000, down: 4_375_000 })[0], { kind: 'label', label: 'Connected to Office — ↑ 1.20 Mbit/s ↓ 35.0 Mbit/s' });
  const idle = snap({ kind: 'idle' });
  assert.deepEqual(trayMenu(idle, profiles, { up: 1, down: 1 })[0], { kind: 'label', label: 'Not connected' });
});

test('the tray plan: the icon follows the rates at most once a second (a state change at once), the menu\'s rates every 5 s', () => {
  const plan = new TrayPlan(22, 'dark');
  const rates = (up: number, down: number) => snap(connected, { stats: { ...emptyStats(), rateUp: up, rateDown: down } });
  const first = plan.update(snap({ kind: 'idle' }), profiles, 0);
  assert.equal(first.icon?.icon, 'disconnected');
  assert.equal(first.tooltip, '4over6: Not connected');
  assert.equal(first.menu?.[0].kind === 'label' && first.menu[0].label, 'Not connected');
  assert.deepEqual(plan.update(snap({ kind: 'idle' }), profiles, 100), {}, 'nothing changed: nothing to redraw');

  const up = plan.update(rates(0, 0), profiles, 200); // a state change: at once, though 200 ms after the last icon
  assert.equal(up.icon?.icon, 'connected');
  assert.equal(up.menu?.[0].kind === 'label' && up.menu[0].label, 'Connected to Office — ↑ 0 bit/s ↓ 0 bit/s');
  // Traffic starts 300 ms later: the icon waits for its second, the tooltip does not.
  const soon = plan.update(rates(125_000, 12_500_000), profiles, 500);
  assert.equal(soon.icon, undefined);
  assert.match(soon.tooltip ?? '', /↓ 100 Mbit\/s/);
  assert.equal(soon.menu, undefined, 'the menu keeps its rates for 5 s');
  const later = plan.update(rates(125_000, 12_500_000), profiles, 1200);
  assert.equal(later.icon?.rateDown, 12_500_000);
  assert.deepEqual(plan.update(rates(125_000, 12_600_000), profiles, 2500), { tooltip: '4over6: Connected to Office — ↑ 1.00 Mbit/s ↓ 101 Mbit/s' },
    'the same bar heights: no redraw');
  const menu = plan.update(rates(125_000, 12_600_000), profiles, 5300).menu;
  assert.equal(menu?.[0].kind === 'label' && menu[0].label, 'Connected to Office — ↑ 1.00 Mbit/s ↓ 101 Mbit/s');
  const down = plan.update(snap({ kind: 'failed', failure: { reason: 'wrong-key', message: '' } }), profiles, 5400);
  assert.equal(down.icon?.icon, 'error');
  assert.equal(down.icon?.bars, false);
});

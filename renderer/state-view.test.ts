// The window's pure view logic under Node (compiled by renderer/tsconfig.tests.json).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TunnelSnapshot } from '../contract/ipc-schema';
import { emptyStats } from '../contract/stats';
import type { TunnelState } from '../contract/tunnel-state';
import { buttonView, failureView, guardLine, helperProblem, importSummary, killSwitchText, snapshotForProfile, statusView } from './state-view';

const failed: TunnelState = { kind: 'failed', failure: { reason: 'wrong-key', message: 'the server answered 199: it has no key or a different key' } };

function snap(state: TunnelState, more: Partial<TunnelSnapshot> = {}): TunnelSnapshot {
  return { state, profileId: 'office', profileName: 'Office', stats: emptyStats(), changes: [], guard: null, helper: { status: 'connected', mode: 'spawned', error: null }, ...more };
}

test('a failure shows for the profile that failed, and another profile shows a plain Connect', () => {
  const s = snap(failed);
  const own = snapshotForProfile(s, 'office');
  assert.equal(own.state.kind, 'failed');
  assert.equal(statusView(own, null, 'Office', 0, 0).title, 'The connection to Office failed');
  assert.equal(buttonView(own.state, null, true).label, 'Try again');

  const other = snapshotForProfile(s, 'home');
  assert.equal(other.state.kind, 'idle');
  const view = statusView(other, null, 'Home', 0, 0);
  assert.equal(view.title, 'Not connected');
  assert.equal(view.detail, 'Ready to connect to Home');
  assert.equal(view.failure, null);
  assert.deepEqual(buttonView(other.state, null, true), { label: 'Connect', hint: 'Route IPv4 through the tunnel', tone: 'idle', action: 'connect' });
  // Other states are the tunnel's whatever is selected.
  const connecting: TunnelState = { kind: 'connecting', server: 'fd00::1', phase: 'tcp', attempt: 1, serverAddress: 'fd00::1', onLoss: 'reconnect', held: null };
  assert.equal(snapshotForProfile(snap(connecting), 'home').state.kind, 'connecting');
});

test('the failure in words, what to do, and the raw detail apart', () => {
  const v = failureView({ reason: 'server-unreachable', message: 'cannot connect to [fd00::1]:5555: connect ENETUNREACH fd00::1:5555' });
  assert.equal(v.text, 'This computer has no IPv6 route to the server.');
  assert.match(v.advice, /check your network connection/);
  assert.equal(v.message, 'cannot connect to [fd00::1]:5555: connect ENETUNREACH fd00::1:5555');
});

test('the helper problem says by its kind whether the helper stopped or could not be reached', () => {
  assert.equal(helperProblem({ status: 'connected', mode: 'service', error: null }), null);
  assert.equal(helperProblem({ status: 'none', mode: null, error: null }), null);
  const stopped = helperProblem({ status: 'lost', mode: 'spawned', error: { code: 'HELPER_DISCONNECTED', message: 'the helper exited (signal SIGKILL)' } });
  assert.equal(stopped?.kind, 'stopped');
  // A launch failure is "unavailable", whatever words its message uses.
  const refused = helperProblem({ status: 'lost', mode: null, error: { code: 'HELPER_LAUNCH_FAILED', message: 'pkexec stopped: the helper stopped before it was ready' } });
  assert.equal(refused?.kind, 'unavailable');
  assert.match(refused?.advice ?? '', /enter your password/);
});

test('the import summary says what was new, what was already here, and names the skipped', () => {
  const p = { id: 'x', name: 'New', server: 'fd00::1', port: 1, encryption: false, uuid: null, autoReconnect: true, dns: true };
  assert.equal(importSummary({ imported: [p], renamed: [], skipped: [], warnings: [] }, 'a.json'), 'Imported 1 profile from a.json.');
  assert.equal(importSummary({ imported: [], renamed: [], skipped: ['Office', 'Lab'], warnings: [] }, '4over6-profiles.json'),
    'Nothing new from 4over6-profiles.json. 2 were already here and were skipped: “Office”, “Lab”.');
  assert.equal(importSummary({ imported: [p], renamed: [], skipped: ['Office'], warnings: [] }, null),
    'Imported 1 profile. 1 was already here and was skipped: “Office”.');
});

test('the kill switch line: blocked until the tunnel is back while reconnecting; lockdown while disconnected; nothing otherwise', () => {
  const reconnecting = { kind: 'reconnecting', server: 'fd00::1', serverAddress: 'fd00::1', attempt: 1, retryInMs: 1000,
    held: { address: '198.18.0.2', prefixLength: 24, route: '0.0.0.0', dns: [], tunName: '4o6', mtu: 1500 },
    lastFailure: { reason: 'connection-lost', message: '' } } as unknown as TunnelState;
  const on = { mode: 'on' as const, allowLan: false, active: true, blocking: true };
  assert.deepEqual(guardLine(snap(reconnecting, { guard: on })), { text: 'Traffic is blocked until the tunnel is back', settingsHint: false });
  assert.equal(guardLine(snap(reconnecting, { guard: { ...on, blocking: false } })), null);
  assert.equal(guardLine(snap(reconnecting, { guard: null })), null);
  assert.deepEqual(guardLine(snap({ kind: 'idle' }, { guard: { ...on, mode: 'lockdown' } })), { text: 'Lockdown: IPv4 traffic is blocked while disconnected', settingsHint: true });
  // "on" lifts its block when a connection fails: a block still reported for a moment is not "lockdown".
  assert.equal(guardLine(snap(failed, { guard: on })), null);
  assert.equal(killSwitchText(snap(reconnecting, { guard: { ...on, allowLan: true } })), 'On: IPv4 leaves only through the tunnel (local network allowed)');
  assert.equal(killSwitchText(snap(reconnecting, { guard: { ...on, mode: 'off' } })), 'Off');
});

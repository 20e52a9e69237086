// The window's pure view logic under Node (compiled by renderer/tsconfig.tests.json).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TunnelSnapshot, VpnErrorCode } from '../contract/ipc-schema';
import { emptyStats } from '../contract/stats';
import type { TunnelState } from '../contract/tunnel-state';
import { buttonView, capitalize, endpoint, failureView, formatAgo, formatDuration, guardLine, helperProblem, importSummary, killSwitchText, type Pending,
  plural, retryInSeconds, snapshotForProfile, statusView } from './state-view';

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

// ---- What the view decides for each state, as tables: one row per case a user can see. ----------

const lease = { address: '198.18.0.2', prefixLength: 24, route: '0.0.0.0', dns: ['198.18.0.1'], tunName: '4o6', mtu: 1500 };
const idle: TunnelState = { kind: 'idle' };
const connecting: TunnelState = { kind: 'connecting', server: 'vpn.example.org', phase: 'tcp', attempt: 1, serverAddress: 'fd00::1', onLoss: 'reconnect', held: null };
const connectingAgain: TunnelState = { kind: 'connecting', server: 'vpn.example.org', phase: 'awaiting-ip', attempt: 2, serverAddress: 'fd00::1', onLoss: 'reconnect', held: lease };
const connected: TunnelState = { kind: 'connected', server: 'vpn.example.org', serverAddress: 'fd00::1', lease, sinceMs: 0, attempt: 1, onLoss: 'reconnect', previousAddress: null };
const reconnecting: TunnelState = { kind: 'reconnecting', server: 'vpn.example.org', serverAddress: 'fd00::1', attempt: 1, retryInMs: 3000, held: lease,
  lastFailure: { reason: 'heartbeat-lost', message: 'no heartbeat for 60 s' } };
const disconnecting: TunnelState = { kind: 'disconnecting', then: 'idle', failure: null };
const givingUp: TunnelState = { kind: 'disconnecting', then: 'failed', failure: { reason: 'tun-failed', message: 'open /dev/net/tun: ENOENT' } };

test('the big button for every state, pending call and profile: label, hint, colour and what a click does', () => {
  const connect = { label: 'Connect', hint: 'Route IPv4 through the tunnel', tone: 'idle', action: 'connect' };
  const noProfile = { label: 'Connect', hint: 'Add a profile first', tone: 'idle', action: 'none' };
  const starting = { label: 'Connecting…', hint: 'Starting the helper', tone: 'busy', action: 'none' };
  const cancel = { label: 'Connecting…', hint: 'Click to cancel', tone: 'busy', action: 'disconnect' };
  const disconnect = { label: 'Connected', hint: 'Click to disconnect', tone: 'ok', action: 'disconnect' };
  const stop = { label: 'Reconnecting…', hint: 'Click to stop', tone: 'warn', action: 'disconnect' };
  const undoing = { label: 'Disconnecting…', hint: 'Restoring routes and DNS', tone: 'busy', action: 'none' };
  const retry = { label: 'Try again', hint: 'Connection failed', tone: 'error', action: 'connect' };
  const failedNoProfile = { label: 'Connect', hint: 'Add a profile first', tone: 'error', action: 'none' };
  const rows: [TunnelState, Pending, boolean, object][] = [
    [idle, null, true, connect],
    [idle, null, false, noProfile],
    [idle, 'connect', true, starting], // the helper may be behind a password prompt
    [idle, 'connect', false, starting],
    [idle, 'disconnect', true, connect], // nothing to disconnect: the call is already reflected
    [connecting, null, true, cancel],
    [connecting, 'connect', true, cancel], // the helper answered: the state is the truth now
    [connecting, 'disconnect', true, undoing],
    [connected, null, true, disconnect],
    [connected, null, false, disconnect], // its profile was removed: the tunnel still runs
    [connected, 'connect', true, disconnect],
    [connected, 'disconnect', true, undoing],
    [reconnecting, null, true, stop],
    [reconnecting, 'disconnect', true, undoing],
    [disconnecting, null, true, undoing],
    [disconnecting, 'connect', true, undoing],
    [failed, null, true, retry],
    [failed, null, false, failedNoProfile],
    [failed, 'connect', true, starting],
    [failed, 'disconnect', true, retry],
  ];
  for (const [state, pending, hasProfile, expected] of rows) {
    assert.deepEqual(buttonView(state, pending, hasProfile), expected, `${state.kind}, pending ${pending}, profile ${hasProfile}`);
  }
});

test('the status for every state: colour, headline, the line under it, and the failure in words', () => {
  const tunFailed = { text: 'The tunnel device could not be created.', advice: 'The helper needs /dev/net/tun: check that the tun kernel module is loaded (sudo modprobe tun), then try again.',
    message: 'open /dev/net/tun: ENOENT' };
  const rows: [TunnelState, string | null, object][] = [
    [idle, 'Office', { tone: 'idle', title: 'Not connected', detail: 'Ready to connect to Office', failure: null }],
    [idle, null, { tone: 'idle', title: 'Not connected', detail: null, failure: null }],
    [connecting, 'Office', { tone: 'busy', title: 'Connecting to Office', detail: 'connecting to the server', failure: null }],
    [connectingAgain, 'Office', { tone: 'busy', title: 'Connecting to Office', detail: 'waiting for an address, attempt 2', failure: null }],
    [connected, 'Office', { tone: 'ok', title: 'Connected to Office', detail: '198.18.0.2 · IPv4 traffic goes through fd00::1', failure: null }],
    [reconnecting, 'Office', { tone: 'warn', title: 'Reconnecting to Office', detail: 'attempt 2, retry in 3 s', failure: failureView(reconnecting.lastFailure) }],
    [disconnecting, 'Office', { tone: 'busy', title: 'Disconnecting from Office', detail: 'restoring routes and DNS', failure: null }],
    [givingUp, 'Office', { tone: 'busy', title: 'Disconnecting from Office', detail: 'restoring routes and DNS', failure: tunFailed }],
    [failed, 'Office', { tone: 'error', title: 'The connection to Office failed', detail: null, failure: failureView(failed.failure) }],
  ];
  for (const [state, target, expected] of rows) {
    assert.deepEqual(statusView(snap(state), null, target, 0, 0), expected, `${state.kind}, target ${target}`);
  }
  assert.equal(failureView(reconnecting.lastFailure).text, 'The server stopped answering.');
});

test('the headline names the profile of the snapshot, else the chosen one, else the server', () => {
  assert.equal(statusView(snap(connected), null, 'Home', 0, 0).title, 'Connected to Office');
  assert.equal(statusView(snap(connected, { profileName: null }), null, 'Home', 0, 0).title, 'Connected to Home');
  assert.equal(statusView(snap(connected, { profileName: null }), null, null, 0, 0).title, 'Connected to vpn.example.org');
  assert.equal(statusView(snap(failed, { profileName: null }), null, null, 0, 0).title, 'The connection to the server failed');
});

test('while the helper starts, the status says so and names the profile being connected', () => {
  const starting = { tone: 'busy', detail: 'starting the helper (you may be asked for your password)', failure: null };
  // The snapshot still names the last tunnel's profile; the click was for another one.
  assert.deepEqual(statusView(snap(idle), 'connect', 'Home', 0, 0), { ...starting, title: 'Connecting to Home' });
  assert.deepEqual(statusView(snap(failed), 'connect', null, 0, 0), { ...starting, title: 'Connecting to Office' });
  // A disconnect call never looks like a helper starting, nor does a connect the helper already answered.
  assert.equal(statusView(snap(idle), 'disconnect', 'Home', 0, 0).title, 'Not connected');
  assert.equal(statusView(snap(connecting), 'connect', 'Home', 0, 0).detail, 'connecting to the server');
});

test('the retry countdown: whole seconds rounded up, from when the reconnecting state arrived, then "retrying now"', () => {
  const since = 50_000;
  const rows: [number, number, string][] = [
    [0, 3, 'attempt 2, retry in 3 s'],
    [1, 3, 'attempt 2, retry in 3 s'],
    [999, 3, 'attempt 2, retry in 3 s'],
    [1000, 2, 'attempt 2, retry in 2 s'],
    [1001, 2, 'attempt 2, retry in 2 s'],
    [2000, 1, 'attempt 2, retry in 1 s'],
    [2999, 1, 'attempt 2, retry in 1 s'],
    [3000, 0, 'attempt 2, retrying now'],
    [9000, 0, 'attempt 2, retrying now'], // late: never a negative count
  ];
  for (const [elapsed, seconds, detail] of rows) {
    assert.equal(retryInSeconds(reconnecting, since, since + elapsed), seconds, `${elapsed} ms after`);
    assert.equal(statusView(snap(reconnecting), null, 'Office', since, since + elapsed).detail, detail, `${elapsed} ms after`);
  }
  assert.equal(Object.is(retryInSeconds(reconnecting, since, since + 9000), 0), true, 'not -0');
  assert.equal(retryInSeconds(connected, since, since), 0, 'only a reconnect counts down');
  assert.equal(retryInSeconds(connecting, 0, 0), 0);
});

test('a failure is the failed profile\'s: the snapshot is kept as it is for it and for any other state', () => {
  const s = snap(failed);
  assert.equal(snapshotForProfile(s, 'office'), s);
  const other = snapshotForProfile(s, null);
  assert.deepEqual(other, { ...s, state: { kind: 'idle' } });
  const c = snap(connected);
  assert.equal(snapshotForProfile(c, 'home'), c);
});

test('each helper problem: which kind, its title, the message and what the user can do', () => {
  const unavailable = (code: VpnErrorCode, advice: string) => {
    const p = helperProblem({ status: 'lost', mode: 'service', error: { code, message: `${code} happened` } });
    assert.deepEqual(p, { kind: 'unavailable', title: 'The 4over6 helper is not available', message: `${code} happened`, advice }, code);
    // The same when no helper ran before (the first connect).
    assert.deepEqual(helperProblem({ status: 'none', mode: null, error: { code, message: `${code} happened` } }), p, `${code}, none`);
  };
  unavailable('HELPER_LAUNCH_FAILED', 'Connecting needs administrator rights: enter your password when asked, then try again. ' +
    'To connect without a prompt, install the 4over6 helper service and join the 4over6 group.');
  unavailable('HELPER_UNTRUSTED', 'Its socket is not owned by root, so the app refused it (it would have received your keys). Reinstall the 4over6 package, or remove the stray socket.');
  unavailable('HELPER_UNREACHABLE', 'Check that the helper service runs (`systemctl status 4over6-helper`), then try again.');
  unavailable('HELPER_TIMEOUT', 'Check that the helper service runs (`systemctl status 4over6-helper`), then try again.');
  unavailable('HELPER_AUTH_FAILED', 'The helper did not accept this app. Quit and restart the app.');
  unavailable('HELPER_VERSION_MISMATCH', 'The app and the helper are different versions. Update the 4over6 package, then restart the app.');
  unavailable('HELPER_FAILED', 'Try again; the app log has the details.');

  const stoppedAdvice = 'The tunnel is down and the helper undid its routes and DNS changes (or will at its next start, if it crashed). ' +
    'Connect again to restart it. If it keeps stopping, see the app log, or `journalctl -u 4over6-helper` when the helper service is installed.';
  for (const code of ['HELPER_DISCONNECTED', 'HELPER_PROTOCOL'] as const) {
    assert.deepEqual(helperProblem({ status: 'lost', mode: 'spawned', error: { code, message: 'the helper exited (code 1)' } }),
      { kind: 'stopped', title: 'The 4over6 helper stopped', message: 'the helper exited (code 1)', advice: stoppedAdvice }, code);
    // Not contacted yet: a lost link from before is not a problem now.
    assert.equal(helperProblem({ status: 'none', mode: null, error: { code, message: 'x' } }), null, code);
  }
  assert.deepEqual(helperProblem({ status: 'lost', mode: 'spawned', error: null }),
    { kind: 'stopped', title: 'The 4over6 helper stopped', message: 'the connection to the helper was lost', advice: stoppedAdvice });
  // Connected again: an old error is history.
  assert.equal(helperProblem({ status: 'connected', mode: 'service', error: { code: 'HELPER_TIMEOUT', message: 'x' } }), null);
});

test('endpoints, durations and ages as the window writes them, at each unit\'s edges', () => {
  assert.equal(endpoint('fd00::2', 5555), '[fd00::2]:5555');
  assert.equal(endpoint('vpn.example.org', 443), 'vpn.example.org:443');
  const durations: [number, string][] = [
    [-5000, '0:00:00'], [0, '0:00:00'], [999, '0:00:00'], [7000, '0:00:07'], [59_999, '0:00:59'], [60_000, '0:01:00'],
    [3_599_000, '0:59:59'], [3_600_000, '1:00:00'], [3_723_000, '1:02:03'], [86_399_000, '23:59:59'],
    [86_400_000, '1 d 0:00:00'], [176_523_000, '2 d 1:02:03'],
  ];
  for (const [ms, text] of durations) assert.equal(formatDuration(ms), text, `${ms} ms`);
  const ages: [number | null, string][] = [
    [null, 'none yet'], [0, 'just now'], [999, 'just now'], [1000, '1 s ago'], [1499, '1 s ago'], [1500, '2 s ago'],
    [119_000, '119 s ago'], [119_999, '120 s ago'], [120_000, '2 min ago'], [149_999, '2 min ago'], [150_000, '3 min ago'],
  ];
  for (const [ms, text] of ages) assert.equal(formatAgo(ms), text, `${ms} ms`);
});

test('capitals and plurals', () => {
  assert.equal(capitalize(''), '');
  assert.equal(capitalize('a'), 'A');
  assert.equal(capitalize('connected to office'), 'Connected to office');
  assert.equal(plural(0, 'profile'), '0 profiles');
  assert.equal(plural(1, 'profile'), '1 profile');
  assert.equal(plural(2, 'profile'), '2 profiles');
  assert.equal(plural(1, 'entry', 'entries'), '1 entry');
  assert.equal(plural(3, 'entry', 'entries'), '3 entries');
});

test('the import summary with several profiles, none at all, and no file name', () => {
  const p = { id: 'x', name: 'New', server: 'fd00::1', port: 1, encryption: false, uuid: null, autoReconnect: true, dns: true };
  assert.equal(importSummary({ imported: [p, { ...p, id: 'y' }], renamed: [], skipped: [], warnings: [] }, null), 'Imported 2 profiles.');
  assert.equal(importSummary({ imported: [], renamed: [], skipped: [], warnings: [] }, 'empty.json'), 'Imported 0 profiles from empty.json.');
  assert.equal(importSummary({ imported: [], renamed: [], skipped: ['A'], warnings: [] }, null), 'Nothing new. 1 was already here and was skipped: “A”.');
  assert.equal(importSummary({ imported: [p, p], renamed: [], skipped: ['A', 'B'], warnings: [] }, 'x.json'),
    'Imported 2 profiles from x.json. 2 were already here and were skipped: “A”, “B”.');
});

test('the kill switch line and text in every mode and state', () => {
  const guard = (mode: 'off' | 'on' | 'lockdown', blocking: boolean, allowLan = false) => ({ guard: { mode, allowLan, active: mode !== 'off', blocking } });
  const blocked = { text: 'Traffic is blocked until the tunnel is back', settingsHint: false };
  const lockdown = { text: 'Lockdown: IPv4 traffic is blocked while disconnected', settingsHint: true };
  const rows: [TunnelState, ReturnType<typeof guard>, object | null][] = [
    [idle, guard('lockdown', true), lockdown],
    [failed, guard('lockdown', true), lockdown],
    [idle, guard('on', true), null],
    [idle, guard('lockdown', false), null],
    [connecting, guard('on', true), blocked],
    [connecting, guard('lockdown', true), blocked],
    [connected, guard('on', false), null],
    [disconnecting, guard('on', true), blocked],
  ];
  for (const [state, g, expected] of rows) assert.deepEqual(guardLine(snap(state, g)), expected, `${state.kind}, ${g.guard.mode}, blocking ${g.guard.blocking}`);
  assert.equal(guardLine(snap(connecting, { guard: null })), null);
  assert.equal(killSwitchText(snap(connected, { guard: null })), 'Off');
  assert.equal(killSwitchText(snap(connected, guard('off', false, true))), 'Off');
  assert.equal(killSwitchText(snap(connected, guard('on', false))), 'On: IPv4 leaves only through the tunnel');
  assert.equal(killSwitchText(snap(connected, guard('lockdown', false))), 'Lockdown: IPv4 leaves only through the tunnel');
  assert.equal(killSwitchText(snap(connected, guard('lockdown', false, true))), 'Lockdown: IPv4 leaves only through the tunnel (local network allowed)');
});

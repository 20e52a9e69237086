import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyStats, emptyTrafficCounters } from './stats';
import type { TunnelState } from './tunnel-state';
import { isActive, phaseDetail, stateHeadline, tunnelName } from './tunnel-summary';

const LEASE = { address: '198.18.0.2', prefixLength: 24, route: '0.0.0.0', dns: [], tunName: '4o6', mtu: 1500 };
const states: Record<TunnelState['kind'], TunnelState> = {
  idle: { kind: 'idle' },
  connecting: { kind: 'connecting', server: 'gw.example', phase: 'tcp', attempt: 1, serverAddress: 'fd00::1', onLoss: 'reconnect', held: null },
  connected: { kind: 'connected', server: 'gw.example', serverAddress: 'fd00::1', lease: LEASE, sinceMs: 0, attempt: 1, onLoss: 'reconnect', previousAddress: null },
  reconnecting: { kind: 'reconnecting', server: 'gw.example', serverAddress: 'fd00::1', held: LEASE, attempt: 1, retryInMs: 1000, lastFailure: { reason: 'connection-lost', message: '' } },
  disconnecting: { kind: 'disconnecting', then: 'idle', failure: null },
  failed: { kind: 'failed', failure: { reason: 'wrong-key', message: '' } },
};

test('active: connecting, connected and reconnecting; not idle, disconnecting or failed', () => {
  const active = Object.values(states).filter(isActive).map((s) => s.kind);
  assert.deepEqual(active, ['connecting', 'connected', 'reconnecting']);
});

test('one headline per state, the same words for the tray and the window', () => {
  assert.deepEqual(Object.values(states).map((s) => stateHeadline(s, 'Office')), [
    'Not connected', 'Connecting to Office', 'Connected to Office', 'Reconnecting to Office',
    'Disconnecting from Office', 'The connection to Office failed',
  ]);
});

test('phase detail names the phase and, after the first, the attempt', () => {
  const c = states.connecting as Extract<TunnelState, { kind: 'connecting' }>;
  assert.equal(phaseDetail({ ...c, phase: 'resolving' }), 'looking up the server name');
  assert.equal(phaseDetail(c), 'connecting to the server');
  assert.equal(phaseDetail({ ...c, phase: 'awaiting-ip', attempt: 2 }), 'waiting for an address, attempt 2');
});

test('the tunnel is named by its profile, else its server', () => {
  assert.equal(tunnelName(states.connected, 'Office'), 'Office');
  assert.equal(tunnelName(states.connected, null), 'gw.example');
  assert.equal(tunnelName(states.idle, null), 'the server');
});

test('empty stats: every counter zero, no heartbeat yet, fresh objects', () => {
  const a = emptyStats();
  assert.deepEqual(a, { bytesUp: 0, bytesDown: 0, packetsUp: 0, packetsDown: 0, rateUp: 0, rateDown: 0, lastHeartbeatAgoMs: null, reconnects: 0, dropped: 0 });
  a.bytesUp = 5;
  assert.equal(emptyStats().bytesUp, 0);
  assert.equal(emptyTrafficCounters().lastHeartbeatAgoMs, null);
});

// transition() as a table of (state, event) -> state, and the reconnect backoff.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Failure, type FailureReason, IDLE, type LeaseInfo, type TunnelEvent, type TunnelState,
  isPermanentFailure, reconnectDelayMs, transition,
} from './tunnel-state';

const SERVER = 'gw.example';
const ADDR = 'fd00:1::2';
const LEASE: LeaseInfo = { address: '198.18.0.2', prefixLength: 24, route: '0.0.0.0', dns: ['198.18.0.53'], tunName: '4o6c0', mtu: 1500 };
const NEW_LEASE: LeaseInfo = { ...LEASE, address: '198.18.0.7' };
const fail = (reason: FailureReason): Failure => ({ reason, message: reason });
const LOST = fail('connection-lost');
const WRONG_KEY = fail('wrong-key');

const resolving: TunnelState = { kind: 'connecting', server: SERVER, phase: 'resolving', attempt: 1, serverAddress: null, onLoss: 'reconnect', held: null };
const tcp: TunnelState = { ...resolving, phase: 'tcp', serverAddress: ADDR };
const awaiting: TunnelState = { ...resolving, phase: 'awaiting-ip', serverAddress: ADDR };
const awaitingNoRetry: TunnelState = { ...awaiting, onLoss: 'stop' };
const connected: TunnelState = {
  kind: 'connected', server: SERVER, serverAddress: ADDR, lease: LEASE, sinceMs: 5, attempt: 1, onLoss: 'reconnect', previousAddress: null,
};
const connectedNoRetry: TunnelState = { ...connected, onLoss: 'stop' };
const reconnecting0: TunnelState = {
  kind: 'reconnecting', server: SERVER, serverAddress: ADDR, held: LEASE, attempt: 0, retryInMs: 1000, lastFailure: LOST,
};
const retryTcp: TunnelState = { kind: 'connecting', server: SERVER, phase: 'tcp', attempt: 1, serverAddress: ADDR, onLoss: 'reconnect', held: LEASE };
const retryAwaiting: TunnelState = { ...retryTcp, phase: 'awaiting-ip' };
const disconnectingIdle: TunnelState = { kind: 'disconnecting', then: 'idle', failure: null };
const failedLost: TunnelState = { kind: 'failed', failure: LOST };

const rows: Array<[string, TunnelState, TunnelEvent, TunnelState]> = [
  // A first connect, step by step.
  ['idle + connect', IDLE, { type: 'connect', server: SERVER, onLoss: 'reconnect' }, resolving],
  ['failed + connect starts afresh', failedLost, { type: 'connect', server: SERVER, onLoss: 'stop' }, { ...resolving, onLoss: 'stop' }],
  ['resolving + resolved', resolving, { type: 'resolved', serverAddress: ADDR }, tcp],
  ['tcp + tcpConnected', tcp, { type: 'tcpConnected' }, awaiting],
  ['awaiting-ip + lease', awaiting, { type: 'leaseReceived', lease: LEASE, nowMs: 5 }, connected],
  // Out-of-order events change nothing.
  ['resolving + tcpConnected', resolving, { type: 'tcpConnected' }, resolving],
  ['tcp + lease', tcp, { type: 'leaseReceived', lease: LEASE, nowMs: 5 }, tcp],
  ['awaiting-ip + resolved', awaiting, { type: 'resolved', serverAddress: 'fd00::9' }, awaiting],
  ['connected + lease', connected, { type: 'leaseReceived', lease: NEW_LEASE, nowMs: 9 }, connected],
  ['idle + retry', IDLE, { type: 'retry' }, IDLE],
  ['idle + torndown', IDLE, { type: 'torndown' }, IDLE],
  ['connected + retry', connected, { type: 'retry' }, connected],
  ['connected + networkUp', connected, { type: 'networkUp' }, connected],
  ['first connect in tcp + networkUp', tcp, { type: 'networkUp' }, tcp],
  ['reconnect awaiting-ip + networkUp', retryAwaiting, { type: 'networkUp' }, retryAwaiting],
  ['disconnecting + connect', disconnectingIdle, { type: 'connect', server: SERVER, onLoss: 'reconnect' }, disconnectingIdle],
  // A first connect that fails is reported, whatever onLoss says.
  ['first attempt fails', awaiting, { type: 'failed', failure: LOST }, { kind: 'disconnecting', then: 'failed', failure: LOST }],
  ['first attempt fails (no retry)', awaitingNoRetry, { type: 'failed', failure: LOST }, { kind: 'disconnecting', then: 'failed', failure: LOST }],
  // A loss: reconnect with the lease held, or give up.
  ['connected + lost', connected, { type: 'failed', failure: LOST }, reconnecting0],
  ['connected + heartbeat lost', connected, { type: 'failed', failure: fail('heartbeat-lost') }, { ...reconnecting0, lastFailure: fail('heartbeat-lost') }],
  ['connected + network changed: at once', connected, { type: 'failed', failure: fail('network-changed') },
    { ...reconnecting0, retryInMs: 0, lastFailure: fail('network-changed') }],
  ['connected + lost, onLoss stop', connectedNoRetry, { type: 'failed', failure: LOST }, { kind: 'disconnecting', then: 'failed', failure: LOST }],
  ['connected + permanent failure', connected, { type: 'failed', failure: WRONG_KEY }, { kind: 'disconnecting', then: 'failed', failure: WRONG_KEY }],
  // Reconnecting: the timer or the network coming back start the next attempt, at the known address.
  ['reconnecting + retry', reconnecting0, { type: 'retry' }, retryTcp],
  ['reconnecting + networkUp', reconnecting0, { type: 'networkUp' }, retryTcp],
  ['reconnecting + lease (stale)', reconnecting0, { type: 'leaseReceived', lease: LEASE, nowMs: 1 }, reconnecting0],
  ['reconnect attempt + tcpConnected', retryTcp, { type: 'tcpConnected' }, retryAwaiting],
  ['reconnect attempt stuck in tcp + networkUp: a new attempt', retryTcp, { type: 'networkUp' }, { ...retryTcp, attempt: 2 }],
  ['reconnect attempt fails: backoff by attempt', retryTcp, { type: 'failed', failure: fail('server-unreachable') },
    { ...reconnecting0, attempt: 1, retryInMs: 2000, lastFailure: fail('server-unreachable') }],
  ['reconnect attempt fails for good', retryAwaiting, { type: 'failed', failure: WRONG_KEY }, { kind: 'disconnecting', then: 'failed', failure: WRONG_KEY }],
  ['reconnect: the same address back', retryAwaiting, { type: 'leaseReceived', lease: LEASE, nowMs: 7 }, { ...connected, sinceMs: 7 }],
  ['reconnect: another address', retryAwaiting, { type: 'leaseReceived', lease: NEW_LEASE, nowMs: 7 },
    { ...connected, lease: NEW_LEASE, sinceMs: 7, previousAddress: '198.18.0.2' }],
  // Disconnect from anywhere but idle; teardown ends where the plan says.
  ['connected + disconnect', connected, { type: 'disconnect' }, disconnectingIdle],
  ['reconnecting + disconnect', reconnecting0, { type: 'disconnect' }, disconnectingIdle],
  ['resolving + disconnect', resolving, { type: 'disconnect' }, disconnectingIdle],
  // A failed tunnel was torn down before it failed: nothing is left to undo (no kill-switch flicker).
  ['failed + disconnect', failedLost, { type: 'disconnect' }, IDLE],
  ['idle + disconnect', IDLE, { type: 'disconnect' }, IDLE],
  ['disconnecting + failed', disconnectingIdle, { type: 'failed', failure: LOST }, disconnectingIdle],
  ['disconnecting(idle) + torndown', disconnectingIdle, { type: 'torndown' }, IDLE],
  ['disconnecting(failed) + torndown', { kind: 'disconnecting', then: 'failed', failure: LOST }, { type: 'torndown' }, failedLost],
];

for (const [name, state, event, expected] of rows) {
  test(`transition: ${name}`, () => {
    const next = transition(state, event);
    assert.deepEqual(next, expected);
    if (JSON.stringify(expected) === JSON.stringify(state)) assert.equal(next, state, 'an ignored event returns the same object (no state event)');
  });
}

test('reconnectDelayMs: 1 s, 2 s, 4 s ... doubling, capped at 30 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 50].map(reconnectDelayMs), [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]);
  assert.equal(reconnectDelayMs(-1), 1000);
});

test('a reconnect chain backs off by attempt and never resolves the name again', () => {
  let s = transition(connected, { type: 'failed', failure: LOST });
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    assert.equal(s.kind, 'reconnecting');
    if (s.kind !== 'reconnecting') return;
    delays.push(s.retryInMs);
    s = transition(s, { type: 'retry' });
    assert.equal(s.kind === 'connecting' && s.phase, 'tcp');
    s = transition(s, { type: 'failed', failure: fail('server-unreachable') });
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
});

test('permanent failures are the ones a retry cannot fix', () => {
  const permanent = (['dns-failed', 'server-unreachable', 'no-ipv4-offered', 'bad-ip-response', 'wrong-key', 'plaintext-refused', 'heartbeat-lost',
    'connection-lost', 'network-changed', 'protocol-error', 'tun-failed', 'system-config-failed'] as FailureReason[]).filter(isPermanentFailure);
  assert.deepEqual(permanent, ['bad-ip-response', 'wrong-key', 'plaintext-refused', 'tun-failed', 'system-config-failed']);
});

// The liveness check as a function of times: heartbeats due, silence, and a suspend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SUSPEND_DETECT_MS, type SessionTimes, checkLiveness } from './liveness';

const TIMING = { heartbeatIntervalMs: 20_000, heartbeatTimeoutMs: 60_000 };
/** A tick one second after the last, no suspend, the last heartbeat received `silentMs` ago. */
function at(nowMs: number, over: Partial<SessionTimes> = {}): SessionTimes {
  return { nowMs, wallMs: 1e12 + nowMs, lastTickMonoMs: nowMs - 1000, lastTickWallMs: 1e12 + nowMs - 1000, lastHeartbeatReceivedMs: nowMs, lastHeartbeatSentMs: nowMs, ...over };
}

test('the first tick sends a heartbeat; then one every interval', () => {
  assert.deepEqual(checkLiveness(at(1000, { lastHeartbeatSentMs: -Infinity }), TIMING), { kind: 'alive', sendHeartbeat: true, sleptMs: null });
  assert.deepEqual(checkLiveness(at(20_999, { lastHeartbeatSentMs: 1000 }), TIMING), { kind: 'alive', sendHeartbeat: false, sleptMs: null });
  assert.deepEqual(checkLiveness(at(21_000, { lastHeartbeatSentMs: 1000 }), TIMING), { kind: 'alive', sendHeartbeat: true, sleptMs: null });
});

test('silence longer than the timeout is a lost heartbeat; exactly the timeout is not', () => {
  assert.equal(checkLiveness(at(60_000, { lastHeartbeatReceivedMs: 0 }), TIMING).kind, 'alive');
  const lost = checkLiveness(at(60_001, { lastHeartbeatReceivedMs: 0 }), TIMING);
  assert.deepEqual(lost, { kind: 'lost', reason: 'heartbeat-lost', message: 'no heartbeat from the server for 60 s' });
});

test('a short nap: a heartbeat now checks the link', () => {
  const napped = at(100_000, { lastTickWallMs: 1e12 + 100_000 - 1000 - SUSPEND_DETECT_MS, lastHeartbeatSentMs: 99_000, lastHeartbeatReceivedMs: 95_000 });
  assert.deepEqual(checkLiveness(napped, TIMING), { kind: 'alive', sendHeartbeat: true, sleptMs: SUSPEND_DETECT_MS });
  const almost = at(100_000, { lastTickWallMs: 1e12 + 100_000 - 1000 - (SUSPEND_DETECT_MS - 1), lastHeartbeatSentMs: 99_000 });
  assert.deepEqual(checkLiveness(almost, TIMING), { kind: 'alive', sendHeartbeat: false, sleptMs: null }, 'under the threshold: clock jitter');
});

test('asleep past the server\'s patience (sleep plus silence): the connection is gone', () => {
  const t = at(100_000, { lastTickWallMs: 1e12 + 100_000 - 1000 - 55_000, lastHeartbeatReceivedMs: 94_999 });
  assert.deepEqual(checkLiveness(t, TIMING), {
    kind: 'lost', reason: 'connection-lost', message: 'this computer was asleep for 55 s, longer than the server waits for a heartbeat',
  });
  const justIn = at(100_000, { lastTickWallMs: 1e12 + 100_000 - 1000 - 55_000, lastHeartbeatReceivedMs: 95_000 });
  assert.equal(checkLiveness(justIn, TIMING).kind, 'alive');
});

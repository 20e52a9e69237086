// Is the session alive? A pure function of a few times, checked on every tick while connected (the
// way wireguard-go's timers are small functions of a peer's times): testable with any clock.
import type { EngineTiming } from './engine-environment';

/** Wall time beyond monotonic time between two ticks that means the system was suspended. */
export const SUSPEND_DETECT_MS = 5000;

export interface SessionTimes {
  /** Monotonic and wall clocks now. */
  nowMs: number;
  wallMs: number;
  /** Both clocks at the previous tick: a suspend shows as wall time the monotonic clock lacks. */
  lastTickMonoMs: number;
  lastTickWallMs: number;
  lastHeartbeatReceivedMs: number;
  /** -Infinity before the first heartbeat. */
  lastHeartbeatSentMs: number;
}

export type LivenessVerdict =
  | { kind: 'lost'; reason: 'heartbeat-lost' | 'connection-lost'; message: string }
  | {
    kind: 'alive';
    sendHeartbeat: boolean;
    /** How long the system was asleep since the last tick, when it was (a short nap: checked with a heartbeat). */
    sleptMs: number | null;
  };

export function checkLiveness(t: SessionTimes, timing: Pick<EngineTiming, 'heartbeatIntervalMs' | 'heartbeatTimeoutMs'>): LivenessVerdict {
  const sleptMs = t.wallMs - t.lastTickWallMs - (t.nowMs - t.lastTickMonoMs);
  const silentMs = t.nowMs - t.lastHeartbeatReceivedMs;
  if (sleptMs >= SUSPEND_DETECT_MS) {
    // The server kept counting while we slept: past its heartbeat timeout the session is gone, and
    // waiting for ours (monotonic, so it stood still too) would leave the user without a tunnel.
    if (sleptMs + silentMs > timing.heartbeatTimeoutMs) {
      return {
        kind: 'lost', reason: 'connection-lost',
        message: `this computer was asleep for ${Math.round(sleptMs / 1000)} s, longer than the server waits for a heartbeat`,
      };
    }
    // A short nap: a heartbeat now finds out whether the link survived (a dead one fails at once).
    return { kind: 'alive', sendHeartbeat: true, sleptMs };
  }
  if (silentMs > timing.heartbeatTimeoutMs) {
    return { kind: 'lost', reason: 'heartbeat-lost', message: `no heartbeat from the server for ${Math.round(silentMs / 1000)} s` };
  }
  return { kind: 'alive', sendHeartbeat: t.nowMs - t.lastHeartbeatSentMs >= timing.heartbeatIntervalMs, sleptMs: null };
}

// The zero value of a tunnel's counters, written once for the engine, the helper and the app.
import type { TrafficCounters, TunnelStatsSnapshot } from './helper-api';

/** Counters before any traffic (the engine adds its drop reasons to these). */
export function emptyTrafficCounters(): TrafficCounters {
  return { bytesUp: 0, bytesDown: 0, packetsUp: 0, packetsDown: 0, rateUp: 0, rateDown: 0, lastHeartbeatAgoMs: null, reconnects: 0 };
}

/** What the helper reports and the app shows while no tunnel has carried anything. */
export function emptyStats(): TunnelStatsSnapshot {
  return { ...emptyTrafficCounters(), dropped: 0 };
}

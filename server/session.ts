// One client connection on the gateway: its lease, its framed link, its encryption state and clocks.
import type { FrameLink } from '../link/frame-link';

export type SessionId = number & { readonly __brand: 'SessionId' };

export interface SessionCounters {
  packetsUp: number;
  bytesUp: number;
  packetsDown: number;
  bytesDown: number;
  droppedSpoofed: number;
}

export class Session {
  /** Turned on by the first type-200 frame from this client (legacy negotiation). */
  encrypting = false;
  /** Whether the client asked for its address yet (only for logs). */
  requestedAddress = false;
  lastHeartbeatReceivedMs: number;
  lastHeartbeatSentMs: number;
  /** Last time a type-199 answer went out; at most one per second. */
  lastUnsupportedSentMs = -Infinity;
  readonly counters: SessionCounters = { packetsUp: 0, bytesUp: 0, packetsDown: 0, bytesDown: 0, droppedSpoofed: 0 };

  // Per-batch scratch for downstream packets bound to this session (reused, no per-batch allocation).
  pendingStarts: number[] = [];
  pendingLengths: number[] = [];
  pendingCount = 0;

  constructor(
    readonly id: SessionId,
    readonly lease: number,
    readonly leaseText: string,
    readonly peer: string,
    readonly link: FrameLink,
    nowMs: number,
  ) {
    this.lastHeartbeatReceivedMs = nowMs;
    this.lastHeartbeatSentMs = nowMs;
  }

  get label(): string {
    return `session ${this.id} [${this.peer}] ${this.leaseText}`;
  }
}

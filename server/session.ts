// One client connection on the gateway: its phase, its lease once it has one, its framed link, its
// encryption state and clocks.
//
//   awaiting-request ──(valid IP request, address granted)──▶ leased ──▶ closed
//          │                                                              ▲
//          └──(no valid request within ip_request_timeout, pool exhausted, peer gone, ...)──┘
//
// A connection holds no address until it asks for one: peers that connect and say nothing (or
// trickle bytes) cost a socket and an admission slot (admission.ts), never a lease.
import type { LinkBatch } from '../link/data-path';
import type { FrameLink } from '../link/frame-link';
import type { Source } from './admission';

export type SessionId = number & { readonly __brand: 'SessionId' };

export type SessionPhase = 'awaiting-request' | 'leased' | 'closed';

/** Why a connection ended: each has its counter (GatewayMetrics.closedBy) and its log key. */
export type CloseCause =
  | 'peer' // the client closed the connection
  | 'socketError'
  | 'malformed' // a malformed frame
  | 'ipRequestTimeout' // no valid IP request within ip_request_timeout
  | 'poolExhausted'
  | 'heartbeatTimeout'
  | 'plaintextRefused' // plaintext from a client while require_encryption
  | 'encryptionRefused' // the client answered 199 while require_encryption
  | 'queueFull' // the client does not read: its queue passed the bound with control frames
  | 'replaced' // the same client connected again; the new connection got the address
  | 'ipRequestFlood' // more unanswered IP requests in one interval than any client sends
  | 'unnegotiatedSuperPacket' // a type-106 frame on a connection that did not agree to super-packets
  | 'shutdown';

export const CLOSE_CAUSES: readonly CloseCause[] = [
  'peer', 'socketError', 'malformed', 'ipRequestTimeout', 'poolExhausted', 'heartbeatTimeout', 'plaintextRefused',
  'encryptionRefused', 'queueFull', 'replaced', 'ipRequestFlood', 'unnegotiatedSuperPacket', 'shutdown',
];

export interface SessionCounters {
  packetsUp: number;
  bytesUp: number;
  packetsDown: number;
  bytesDown: number;
  droppedSpoofed: number;
}

export class Session {
  phase: SessionPhase = 'awaiting-request';
  /** The leased address (uint32) while leased; null before (and after a takeover moved it away). */
  lease: number | null = null;
  leaseText = '';
  /** Who holds the lease, for reservations: "id:<client id>" or "src:<IPv6 source>". */
  identity: string | null = null;
  /** Set by the gateway just before it closes the link itself; otherwise derived from the link's reason. */
  closeCause: CloseCause | null = null;
  /** Turned on by the first type-200 frame from this client (legacy negotiation). */
  encrypting = false;
  readonly acceptedAtMs: number;
  lastHeartbeatReceivedMs: number;
  lastHeartbeatSentMs: number;
  /** Last time a type-199 answer went out; at most one per second. */
  lastUnsupportedSentMs = -Infinity;
  /** Last time an IP response went out; at most one per IP_RESPONSE_INTERVAL_MS. */
  lastIpResponseMs = -Infinity;
  /** IP requests left unanswered since the last answer. */
  ipRequestsDropped = 0;
  readonly counters: SessionCounters = { packetsUp: 0, bytesUp: 0, packetsDown: 0, bytesDown: 0, droppedSpoofed: 0 };

  /** Whether tunBatch holds packets of the TUN batch being handled. */
  inTunBatch = false;

  constructor(
    readonly id: SessionId,
    /** "[address]:port", for logs. */
    readonly peer: string,
    /** The admission keys this connection counted against while it was unleased. */
    readonly source: Source,
    readonly link: FrameLink,
    nowMs: number,
    /** Downstream packets of one TUN batch bound for this client (reused, no per-batch allocation). */
    readonly tunBatch: LinkBatch,
  ) {
    this.acceptedAtMs = nowMs;
    this.lastHeartbeatReceivedMs = nowMs;
    this.lastHeartbeatSentMs = nowMs;
  }

  get label(): string {
    return `session ${this.id} ${this.peer} ${this.lease === null ? '(no lease)' : this.leaseText}`;
  }
}

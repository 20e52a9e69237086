// The client connection lifecycle: one explicit state machine, pure (no timers, no I/O).
// The engine performs side effects when it enters or leaves a state; the app and CLI render states.
//
//   idle --connect--> connecting(resolving -> tcp -> awaiting-ip) --leaseReceived--> connected
//     ^                    |   ^                                                        |
//     |              failed|   '--retry-- reconnecting <--linkLost (auto-reconnect)-----'
//     |                    v                   |                                        |
//     '--torndown-- disconnecting <--disconnect (from any state but idle)   failed <----' (no reconnect)

export type ConnectPhase = 'resolving' | 'tcp' | 'awaiting-ip';

/** Why a tunnel failed or was lost, in terms a user understands (see FAILURE_TEXT). */
export type FailureReason =
  | 'dns-failed'
  | 'server-unreachable'
  | 'no-ipv4-offered'
  | 'bad-ip-response'
  | 'wrong-key'
  | 'plaintext-refused'
  | 'heartbeat-lost'
  | 'connection-lost'
  | 'protocol-error'
  | 'tun-failed'
  | 'system-config-failed';

export const FAILURE_TEXT: Record<FailureReason, string> = {
  'dns-failed': 'the server name could not be resolved to an IPv6 address',
  'server-unreachable': 'the server is unreachable',
  'no-ipv4-offered': 'the server offered no IPv4 address',
  'bad-ip-response': 'the server sent an invalid address offer',
  'wrong-key': 'the server does not use encryption, or uses another key',
  'plaintext-refused': 'the server closed the connection without offering an address (it may require encryption, or have no free address)',
  'heartbeat-lost': 'the server stopped answering (no heartbeat)',
  'connection-lost': 'the connection to the server was lost',
  'protocol-error': 'the server sent data that breaks the protocol',
  'tun-failed': 'the tunnel device could not be created',
  'system-config-failed': 'the tunnel address, routes or DNS could not be set',
};

export interface Failure {
  reason: FailureReason;
  /** Details for logs and the connection details view. */
  message: string;
}

export interface LeaseInfo {
  address: string;
  prefixLength: number;
  route: string;
  dns: string[];
  tunName: string;
  mtu: number;
}

export type TunnelState =
  | { kind: 'idle' }
  | { kind: 'connecting'; server: string; phase: ConnectPhase; attempt: number; serverAddress: string | null }
  | { kind: 'connected'; server: string; serverAddress: string; lease: LeaseInfo; sinceMs: number; attempt: number }
  | { kind: 'reconnecting'; server: string; attempt: number; retryInMs: number; lastFailure: Failure }
  | { kind: 'disconnecting'; then: 'idle' | 'failed'; failure: Failure | null }
  | { kind: 'failed'; failure: Failure };

export type TunnelEvent =
  | { type: 'connect'; server: string }
  | { type: 'resolved'; serverAddress: string }
  | { type: 'tcpConnected' }
  | { type: 'leaseReceived'; lease: LeaseInfo; nowMs: number }
  /** Something failed. `retryInMs` is the engine's reconnect decision (null: give up). */
  | { type: 'failed'; failure: Failure; retryInMs: number | null }
  | { type: 'retry' }
  | { type: 'disconnect' }
  | { type: 'torndown' };

export const IDLE: TunnelState = { kind: 'idle' };

/** The next state; events that make no sense in a state leave it unchanged. */
export function transition(s: TunnelState, e: TunnelEvent): TunnelState {
  if (e.type === 'disconnect') {
    return s.kind === 'idle' || s.kind === 'disconnecting' ? s : { kind: 'disconnecting', then: 'idle', failure: null };
  }
  switch (s.kind) {
    case 'idle':
    case 'failed':
      return e.type === 'connect' ? { kind: 'connecting', server: e.server, phase: 'resolving', attempt: 1, serverAddress: null } : s;
    case 'connecting':
      switch (e.type) {
        case 'resolved': return s.phase === 'resolving' ? { ...s, phase: 'tcp', serverAddress: e.serverAddress } : s;
        case 'tcpConnected': return s.phase === 'tcp' ? { ...s, phase: 'awaiting-ip' } : s;
        case 'leaseReceived':
          return s.phase === 'awaiting-ip' && s.serverAddress !== null
            ? { kind: 'connected', server: s.server, serverAddress: s.serverAddress, lease: e.lease, sinceMs: e.nowMs, attempt: s.attempt }
            : s;
        case 'failed':
          return e.retryInMs === null
            ? { kind: 'disconnecting', then: 'failed', failure: e.failure }
            : { kind: 'reconnecting', server: s.server, attempt: s.attempt, retryInMs: e.retryInMs, lastFailure: e.failure };
        default: return s;
      }
    case 'connected':
      if (e.type !== 'failed') return s;
      return e.retryInMs === null
        ? { kind: 'disconnecting', then: 'failed', failure: e.failure }
        : { kind: 'reconnecting', server: s.server, attempt: 0, retryInMs: e.retryInMs, lastFailure: e.failure };
    case 'reconnecting':
      return e.type === 'retry'
        ? { kind: 'connecting', server: s.server, phase: 'resolving', attempt: s.attempt + 1, serverAddress: null }
        : s;
    case 'disconnecting':
      if (e.type !== 'torndown') return s;
      return s.then === 'failed' && s.failure ? { kind: 'failed', failure: s.failure } : IDLE;
    default:
      return assertNever(s);
  }
}

/** Reconnect backoff: 1 s, 2 s, 4 s ... capped at 30 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt));
}

/** Failures where trying again cannot help without a change of settings. */
export function isPermanentFailure(reason: FailureReason): boolean {
  return reason === 'wrong-key' || reason === 'plaintext-refused' || reason === 'tun-failed' ||
    reason === 'system-config-failed' || reason === 'bad-ip-response';
}

function assertNever(x: never): never {
  throw new Error(`unexpected state ${JSON.stringify(x)}`);
}

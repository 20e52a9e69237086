// The client connection lifecycle: one explicit state machine, pure (no timers, no I/O). Every
// decision about what comes next is made here, from the state and the event; the engine only carries
// it out (entry actions: start an attempt, arm the retry timer, undo the system changes).
//
//   idle --connect--> connecting(resolving -> tcp -> awaiting-ip) --leaseReceived--> connected
//     ^                  |   ^                                                         |
//     |                  |   '--retry / networkUp-- reconnecting <--failed (onLoss)----'
//     |                  |                             |  ^                            |
//     |                  |  failed (held, onLoss)      |  '----------------------------'-- failed, from a
//     |                  '-----------------------------|-------------------------------->  connecting
//     |                  | failed (first attempt,      |                                   that holds a lease
//     |                  v  or permanent)              v
//     '--torndown-- disconnecting <--disconnect (from any state but idle, failed)  failed <--torndown (then: failed)
//   failed --disconnect--> idle (it was torn down before it failed: nothing left to undo)
//
// The plan, carried by the state (as Mullvad's tunnel state machine carries its "after disconnect"):
// - `onLoss` (connecting, connected): what a lost or failed connection leads to: 'reconnect' or 'stop'.
// - `held` (connecting, reconnecting): the tunnel device, address, routes and DNS of the last session,
//   kept in place while a new session is sought, so applications' connections survive and packets
//   have nowhere to go but the (paused) tunnel. A connecting state with `held` is part of a reconnect.
// - `retryInMs` (reconnecting): the next attempt starts then, or at once when the network comes back.
// - `then` (disconnecting): where the teardown ends: 'idle' (asked for) or 'failed' (gave up).
// Whether traffic stays blocked while idle or failed (the kill switch's lockdown) is the kill
// switch's decision (helper/kill-switch.ts), from its mode and this state.

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
  | 'network-changed'
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
  'network-changed': "this computer's network changed",
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

/** What a lost connection leads to (the profile's auto-reconnect setting). */
export type OnLoss = 'reconnect' | 'stop';

export type TunnelState =
  | { kind: 'idle' }
  | {
    kind: 'connecting'; server: string; phase: ConnectPhase; attempt: number; serverAddress: string | null;
    onLoss: OnLoss;
    /** The last session's lease, still configured on this system (a reconnect); null on a first connect. */
    held: LeaseInfo | null;
  }
  | {
    kind: 'connected'; server: string; serverAddress: string; lease: LeaseInfo; sinceMs: number; attempt: number;
    onLoss: OnLoss;
    /** After a reconnect that got another address from the gateway: the address held before. */
    previousAddress: string | null;
  }
  | {
    kind: 'reconnecting'; server: string; attempt: number; retryInMs: number; lastFailure: Failure;
    /** Where the next attempt goes: the address the server's name had (its DNS now goes into the paused tunnel). */
    serverAddress: string;
    /** Still configured on this system while reconnecting. */
    held: LeaseInfo;
  }
  | { kind: 'disconnecting'; then: 'idle' | 'failed'; failure: Failure | null }
  | { kind: 'failed'; failure: Failure };

export type TunnelEvent =
  | { type: 'connect'; server: string; onLoss: OnLoss }
  | { type: 'resolved'; serverAddress: string }
  | { type: 'tcpConnected' }
  | { type: 'leaseReceived'; lease: LeaseInfo; nowMs: number }
  /** The attempt or the session failed; transition() decides between reconnecting and giving up. */
  | { type: 'failed'; failure: Failure }
  /** The reconnect delay is over. */
  | { type: 'retry' }
  /** An IPv6 address, a link or a default route appeared: a reconnect need not wait for its timer. */
  | { type: 'networkUp' }
  | { type: 'disconnect' }
  | { type: 'torndown' };

export const IDLE: TunnelState = { kind: 'idle' };

/** The next state; events that make no sense in a state leave it unchanged (the same object). */
export function transition(s: TunnelState, e: TunnelEvent): TunnelState {
  if (e.type === 'disconnect') {
    if (s.kind === 'failed') return IDLE; // torn down before it failed: nothing left to undo
    return s.kind === 'idle' || s.kind === 'disconnecting' ? s : { kind: 'disconnecting', then: 'idle', failure: null };
  }
  switch (s.kind) {
    case 'idle':
    case 'failed':
      return e.type === 'connect'
        ? { kind: 'connecting', server: e.server, phase: 'resolving', attempt: 1, serverAddress: null, onLoss: e.onLoss, held: null }
        : s;
    case 'connecting':
      switch (e.type) {
        case 'resolved': return s.phase === 'resolving' ? { ...s, phase: 'tcp', serverAddress: e.serverAddress } : s;
        case 'tcpConnected': return s.phase === 'tcp' ? { ...s, phase: 'awaiting-ip' } : s;
        case 'leaseReceived':
          return s.phase === 'awaiting-ip' && s.serverAddress !== null
            ? {
              kind: 'connected', server: s.server, serverAddress: s.serverAddress, lease: e.lease, sinceMs: e.nowMs,
              attempt: s.attempt, onLoss: s.onLoss,
              previousAddress: s.held !== null && s.held.address !== e.lease.address ? s.held.address : null,
            }
            : s;
        case 'failed':
          // Only a reconnect keeps trying: a first connect that fails is reported (wrong address, no server).
          return s.held !== null && s.serverAddress !== null && s.onLoss === 'reconnect' && !isPermanentFailure(e.failure.reason)
            ? {
              kind: 'reconnecting', server: s.server, serverAddress: s.serverAddress, held: s.held, attempt: s.attempt,
              retryInMs: retryDelayMs(e.failure, s.attempt), lastFailure: e.failure,
            }
            : { kind: 'disconnecting', then: 'failed', failure: e.failure };
        case 'networkUp':
          // A reconnect attempt still waiting for TCP may be stuck on the network that went away.
          return s.held !== null && s.phase === 'tcp' ? { ...s, attempt: s.attempt + 1 } : s;
        default: return s;
      }
    case 'connected':
      if (e.type !== 'failed') return s;
      return s.onLoss === 'reconnect' && !isPermanentFailure(e.failure.reason)
        ? {
          kind: 'reconnecting', server: s.server, serverAddress: s.serverAddress, held: s.lease, attempt: 0,
          retryInMs: retryDelayMs(e.failure, 0), lastFailure: e.failure,
        }
        : { kind: 'disconnecting', then: 'failed', failure: e.failure };
    case 'reconnecting':
      // The server's name is not looked up again: its DNS would go into the paused tunnel.
      return e.type === 'retry' || e.type === 'networkUp'
        ? {
          kind: 'connecting', server: s.server, phase: 'tcp', attempt: s.attempt + 1, serverAddress: s.serverAddress,
          onLoss: 'reconnect', held: s.held,
        }
        : s;
    case 'disconnecting':
      if (e.type !== 'torndown') return s;
      return s.then === 'failed' && s.failure ? { kind: 'failed', failure: s.failure } : IDLE;
    default:
      return assertNever(s);
  }
}

/** The reconnect backoff after `attempt` failed reconnect attempts: 1 s, 2 s, 4 s ... capped at 30 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt));
}

/**
 * How long to wait before the next attempt. A network change retries at once: this computer's
 * address went away, and another one (or the same network, back) usually works straight away; if not,
 * that attempt fails fast and the backoff goes on from there.
 */
function retryDelayMs(failure: Failure, attempt: number): number {
  return failure.reason === 'network-changed' ? 0 : reconnectDelayMs(attempt);
}

/** Failures where trying again cannot help without a change of settings. */
export function isPermanentFailure(reason: FailureReason): boolean {
  return reason === 'wrong-key' || reason === 'plaintext-refused' || reason === 'tun-failed' ||
    reason === 'system-config-failed' || reason === 'bad-ip-response';
}

function assertNever(x: never): never {
  throw new Error(`unexpected state ${JSON.stringify(x)}`);
}

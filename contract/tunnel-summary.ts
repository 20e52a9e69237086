// How the tunnel's state reads to a person, written once for the tray and the window (and anything
// else that names a state): whether a tunnel is active, the words for each connect phase, and the
// headline ("Connected to Office"). Pure; no runtime imports beyond contract/.
import type { ConnectPhase, TunnelState } from './tunnel-state';

/** A tunnel is up or on its way up: the one profile it belongs to is "in use". */
export function isActive(state: TunnelState): boolean {
  return state.kind === 'connecting' || state.kind === 'connected' || state.kind === 'reconnecting';
}

export const PHASE_TEXT: Record<ConnectPhase, string> = {
  resolving: 'looking up the server name',
  tcp: 'connecting to the server',
  'awaiting-ip': 'waiting for an address',
};

/** "waiting for an address, attempt 2": where a connect attempt is. */
export function phaseDetail(state: Extract<TunnelState, { kind: 'connecting' }>): string {
  return `${PHASE_TEXT[state.phase]}${state.attempt > 1 ? `, attempt ${state.attempt}` : ''}`;
}

/** The name to show for the tunnel: its profile's, else the server it goes to. */
export function tunnelName(state: TunnelState, profileName: string | null): string {
  return profileName ?? ('server' in state ? state.server : 'the server');
}

/** "Connected to Office", "Reconnecting to Office", "Not connected". */
export function stateHeadline(state: TunnelState, name: string): string {
  switch (state.kind) {
    case 'idle': return 'Not connected';
    case 'connecting': return `Connecting to ${name}`;
    case 'connected': return `Connected to ${name}`;
    case 'reconnecting': return `Reconnecting to ${name}`;
    case 'disconnecting': return `Disconnecting from ${name}`;
    case 'failed': return `The connection to ${name} failed`;
  }
}

// Which tunnel changes deserve a desktop notification, and their text; pure, from two snapshots.
import type { TunnelSnapshot } from '../contract/ipc-schema';
import { FAILURE_TEXT } from '../contract/tunnel-state';

export interface UserNotification {
  kind: 'connected' | 'disconnected' | 'failed' | 'lost';
  title: string;
  body: string;
}

export function notificationFor(prev: TunnelSnapshot, next: TunnelSnapshot): UserNotification | null {
  const a = prev.state;
  const b = next.state;
  const name = next.profileName ?? prev.profileName ?? 'the server';
  if (prev.helper.status === 'connected' && next.helper.status === 'lost') {
    return { kind: 'lost', title: 'The 4over6 helper stopped', body: next.helper.error?.message ?? 'the tunnel is down' };
  }
  if (a.kind === b.kind) return null;
  switch (b.kind) {
    case 'connected':
      return {
        kind: 'connected',
        title: a.kind === 'reconnecting' ? `Reconnected to ${name}` : `Connected to ${name}`,
        body: `Address ${b.lease.address} through ${b.serverAddress}`,
      };
    case 'reconnecting':
      return a.kind === 'connected'
        ? { kind: 'lost', title: `Connection to ${name} lost`, body: `${FAILURE_TEXT[b.lastFailure.reason]}; reconnecting in ${Math.ceil(b.retryInMs / 1000)} s` }
        : null;
    case 'failed':
      return { kind: 'failed', title: a.kind === 'connected' ? `Connection to ${name} lost` : `Could not connect to ${name}`, body: FAILURE_TEXT[b.failure.reason] };
    case 'idle':
      return a.kind === 'failed' ? null : { kind: 'disconnected', title: `Disconnected from ${name}`, body: 'The tunnel is down; routes and DNS are restored.' };
    default:
      return null;
  }
}

// What the tray shows, as plain data from the tunnel snapshot: tooltip text with live rates, the
// icon per state, and the menu. electron/main.ts turns these into Tray calls once a second.
import type { TunnelSnapshot } from '../contract/ipc-schema';
import { FAILURE_TEXT, type TunnelState } from '../contract/tunnel-state';
import { formatRate } from '../helper/format';
import type { Profile } from './profile-schema';

export const APP_TITLE = '4over6';

export type TrayIconName = 'disconnected' | 'connecting' | 'connected' | 'error';

export type TrayAction =
  | { type: 'connect'; profileId: string }
  | { type: 'disconnect' }
  | { type: 'showWindow' }
  | { type: 'quit' };

export type TrayMenuItem =
  | { kind: 'label'; label: string }
  | { kind: 'separator' }
  | { kind: 'action'; label: string; action: TrayAction; enabled: boolean; checked?: boolean };

export function trayIconName(snapshot: Pick<TunnelSnapshot, 'state' | 'helper'>): TrayIconName {
  switch (snapshot.state.kind) {
    case 'connected': return 'connected';
    case 'connecting':
    case 'reconnecting':
    case 'disconnecting': return 'connecting';
    case 'failed': return 'error';
    case 'idle': return snapshot.helper.status === 'lost' ? 'error' : 'disconnected';
  }
}

const PHASE_TEXT = { resolving: 'looking up the server', tcp: 'reaching the server', 'awaiting-ip': 'waiting for an address' } as const;

/** One line on the state, e.g. "connected to Office — ↑ 1.20 Mbit/s ↓ 35.0 Mbit/s". */
export function statusText(snapshot: TunnelSnapshot, options: { rates: boolean } = { rates: true }): string {
  const s = snapshot.state;
  const name = snapshot.profileName ?? ('server' in s ? s.server : 'the server');
  switch (s.kind) {
    case 'idle':
      return snapshot.helper.status === 'lost' && snapshot.helper.error
        ? `disconnected (${snapshot.helper.error.message})` : 'disconnected';
    case 'connecting':
      return `connecting to ${name} (${PHASE_TEXT[s.phase]}${s.attempt > 1 ? `, attempt ${s.attempt}` : ''})`;
    case 'connected':
      return options.rates
        ? `connected to ${name} — ↑ ${formatRate(snapshot.stats.rateUp)} ↓ ${formatRate(snapshot.stats.rateDown)}`
        : `connected to ${name}`;
    case 'reconnecting':
      return `reconnecting to ${name} in ${Math.ceil(s.retryInMs / 1000)} s (${FAILURE_TEXT[s.lastFailure.reason]})`;
    case 'disconnecting':
      return `disconnecting from ${name}`;
    case 'failed':
      return `could not connect to ${name}: ${FAILURE_TEXT[s.failure.reason]}`;
  }
}

/** "4over6: connected to Office — ↑ 1.20 Mbit/s ↓ 35.0 Mbit/s" */
export function trayTooltip(snapshot: TunnelSnapshot): string {
  return `${APP_TITLE}: ${statusText(snapshot)}`;
}

export function isActive(state: TunnelState): boolean {
  return state.kind === 'connecting' || state.kind === 'connected' || state.kind === 'reconnecting';
}

/**
 * Status, one entry per profile (the current one checked), Disconnect, Show window, Quit. Without
 * rates, so the menu changes only with the state (rebuilding an open menu every second flickers).
 */
export function trayMenu(snapshot: TunnelSnapshot, profiles: readonly Profile[]): TrayMenuItem[] {
  const active = isActive(snapshot.state);
  const status = statusText(snapshot, { rates: false });
  const items: TrayMenuItem[] = [{ kind: 'label', label: status[0].toUpperCase() + status.slice(1) }, { kind: 'separator' }];
  if (profiles.length === 0) {
    items.push({ kind: 'label', label: 'No profiles yet: add one in the window' });
  }
  for (const p of profiles) {
    const current = active && p.id === snapshot.profileId;
    items.push({ kind: 'action', label: p.name, action: { type: 'connect', profileId: p.id }, enabled: !current, checked: current });
  }
  items.push(
    { kind: 'action', label: 'Disconnect', action: { type: 'disconnect' }, enabled: active },
    { kind: 'separator' },
    { kind: 'action', label: 'Show window', action: { type: 'showWindow' }, enabled: true },
    { kind: 'action', label: 'Quit', action: { type: 'quit' }, enabled: true },
  );
  return items;
}

// What the tray shows, as plain data from the tunnel snapshot: tooltip text with live rates, the
// icon per state, and the menu. electron/main.ts turns these into Tray calls once a second.
import { formatRate } from '../contract/format';
import type { TunnelSnapshot } from '../contract/ipc-schema';
import type { Profile } from '../contract/profile-schema';
import { FAILURE_TEXT } from '../contract/tunnel-state';
import { isActive, phaseDetail, stateHeadline, tunnelName } from '../contract/tunnel-summary';

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

/** One line on the state in the window's words, e.g. "Connected to Office — ↑ 1.20 Mbit/s ↓ 35.0 Mbit/s". */
export function statusText(snapshot: TunnelSnapshot, options: { rates: boolean } = { rates: true }): string {
  const s = snapshot.state;
  const headline = stateHeadline(s, tunnelName(s, snapshot.profileName));
  switch (s.kind) {
    case 'idle':
      return snapshot.helper.status === 'lost' && snapshot.helper.error
        ? `${headline} (${snapshot.helper.error.message})` : headline;
    case 'connecting':
      return `${headline} (${phaseDetail(s)})`;
    case 'connected':
      return options.rates
        ? `${headline} — ↑ ${formatRate(snapshot.stats.rateUp)} ↓ ${formatRate(snapshot.stats.rateDown)}`
        : headline;
    case 'reconnecting':
      return `${headline} in ${Math.ceil(s.retryInMs / 1000)} s (${FAILURE_TEXT[s.lastFailure.reason]})`;
    case 'disconnecting':
      return headline;
    case 'failed':
      return `${headline}: ${FAILURE_TEXT[s.failure.reason]}`;
  }
}

/** "4over6: Connected to Office — ↑ 1.20 Mbit/s ↓ 35.0 Mbit/s" */
export function trayTooltip(snapshot: TunnelSnapshot): string {
  return `${APP_TITLE}: ${statusText(snapshot)}`;
}

/**
 * Status, one entry per profile (the current one checked), Disconnect, Show window, Quit. Without
 * rates, so the menu changes only with the state (rebuilding an open menu every second flickers).
 */
export function trayMenu(snapshot: TunnelSnapshot, profiles: readonly Profile[]): TrayMenuItem[] {
  const active = isActive(snapshot.state);
  const status = statusText(snapshot, { rates: false });
  const items: TrayMenuItem[] = [{ kind: 'label', label: status }, { kind: 'separator' }];
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

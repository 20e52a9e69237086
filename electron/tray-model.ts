// What the tray shows, as plain data from the tunnel snapshot: tooltip text with live rates, the icon
// (state and rates, drawn by tray-icon.ts), and the menu whose status line carries the rates too.
// TrayPlan decides when each part is redrawn; electron/main.ts only turns its answers into Tray calls.
import { formatRate } from '../contract/format';
import type { TunnelSnapshot } from '../contract/ipc-schema';
import type { Profile } from '../contract/profile-schema';
import { FAILURE_TEXT } from '../contract/tunnel-state';
import { isActive, phaseDetail, stateHeadline, tunnelName } from '../contract/tunnel-summary';
import { type Panel, type TrayIconInput, type TrayIconName, trayIconKey } from './tray-icon';

export type { TrayIconName } from './tray-icon';

export const APP_TITLE = '4over6';

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
 * Status, one entry per profile (the current one checked), Disconnect, Show window, Quit. The status
 * line shows `rates` when given (TrayPlan refreshes them every few seconds, not every second: an open
 * menu that is rebuilt flickers).
 */
export function trayMenu(snapshot: TunnelSnapshot, profiles: readonly Profile[], rates: { up: number; down: number } | null = null): TrayMenuItem[] {
  const active = isActive(snapshot.state);
  const status = rates && snapshot.state.kind === 'connected'
    ? statusText({ ...snapshot, stats: { ...snapshot.stats, rateUp: rates.up, rateDown: rates.down } })
    : statusText(snapshot, { rates: false });
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

/** The icon for a snapshot: the state's shield, with rate bars while a tunnel is up or on its way. */
export function trayIconInput(snapshot: TunnelSnapshot, size: number, panel: Panel): TrayIconInput {
  const connected = snapshot.state.kind === 'connected';
  return {
    icon: trayIconName(snapshot),
    bars: isActive(snapshot.state),
    rateUp: connected ? snapshot.stats.rateUp : 0,
    rateDown: connected ? snapshot.stats.rateDown : 0,
    size,
    panel,
  };
}

/** The icon is redrawn at most this often (a state change redraws at once). */
export const TRAY_ICON_MIN_INTERVAL_MS = 1000;
/** The menu's rates are refreshed this often (and on every state change). */
export const TRAY_MENU_RATES_INTERVAL_MS = 5000;

export interface TrayUpdate {
  /** Draw this and set it as the icon. */
  icon?: TrayIconInput;
  tooltip?: string;
  menu?: TrayMenuItem[];
}

/**
 * When each part of the tray changes. Call `update` on every state change and once a second; it
 * answers only the parts that differ from what was last set, so nothing is redrawn for nothing.
 */
export class TrayPlan {
  private iconKey = '';
  private iconAtMs = -Infinity;
  private tooltip = '';
  private menuKey = '';
  private menuRates: { up: number; down: number } | null = null;
  private menuRatesAtMs = -Infinity;
  private kind = '';

  constructor(private readonly size: number, private panel: Panel) {}

  setPanel(panel: Panel): void {
    this.panel = panel;
  }

  update(snapshot: TunnelSnapshot, profiles: readonly Profile[], nowMs: number): TrayUpdate {
    const out: TrayUpdate = {};
    const kindChanged = snapshot.state.kind !== this.kind;
    this.kind = snapshot.state.kind;

    const icon = trayIconInput(snapshot, this.size, this.panel);
    const key = trayIconKey(icon);
    if (key !== this.iconKey && (kindChanged || nowMs - this.iconAtMs >= TRAY_ICON_MIN_INTERVAL_MS)) {
      out.icon = icon;
      this.iconKey = key;
      this.iconAtMs = nowMs;
    }

    const tooltip = trayTooltip(snapshot);
    if (tooltip !== this.tooltip) out.tooltip = this.tooltip = tooltip;

    if (snapshot.state.kind !== 'connected') {
      this.menuRates = null;
    } else if (kindChanged || nowMs - this.menuRatesAtMs >= TRAY_MENU_RATES_INTERVAL_MS) {
      this.menuRates = { up: snapshot.stats.rateUp, down: snapshot.stats.rateDown };
      this.menuRatesAtMs = nowMs;
    }
    const menu = trayMenu(snapshot, profiles, this.menuRates);
    const menuKey = JSON.stringify(menu);
    if (menuKey !== this.menuKey) {
      out.menu = menu;
      this.menuKey = menuKey;
    }
    return out;
  }
}

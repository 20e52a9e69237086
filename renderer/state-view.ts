// What the window says about the tunnel, as plain data from a snapshot: the status line, the big
// button (label, colour, what a click does) and the helper-link problem. Pure, so it reads like a table.
import type { HelperLinkInfo, ImportResult, TunnelSnapshot, VpnErrorInfo } from '../contract/ipc-schema';
import { explainFailure } from '../contract/failure-advice';
import { type Failure, IDLE, type TunnelState } from '../contract/tunnel-state';
import { phaseDetail, stateHeadline, tunnelName } from '../contract/tunnel-summary';

export type Tone = 'idle' | 'busy' | 'ok' | 'warn' | 'error';

/** A call the window made that the helper has not reflected in the state yet. */
export type Pending = 'connect' | 'disconnect' | null;

export interface ButtonView {
  label: string;
  /** Under the label: what a click does now. */
  hint: string;
  tone: Tone;
  action: 'connect' | 'disconnect' | 'none';
}

export interface StatusView {
  tone: Tone;
  /** "Connected to Office". */
  title: string;
  /** "waiting for an address, attempt 2". */
  detail: string | null;
  failure: FailureView | null;
}

export interface FailureView {
  /** What happened, in words. */
  text: string;
  /** What to do about it. */
  advice: string;
  /** The raw detail, behind a "Details" disclosure. */
  message: string;
}

/** The helper has not answered the connect call yet (it may be starting, behind a password prompt). */
function startingHelper(state: TunnelState, pending: Pending): boolean {
  return pending === 'connect' && (state.kind === 'idle' || state.kind === 'failed');
}

/** Seconds until the next attempt, from when the reconnecting state arrived. */
export function retryInSeconds(state: TunnelState, stateSinceMs: number, nowMs: number): number {
  if (state.kind !== 'reconnecting') return 0;
  return Math.max(0, Math.ceil((state.retryInMs - (nowMs - stateSinceMs)) / 1000));
}

/** The failure in words with what to do (contract/failure-advice.ts), the raw detail kept apart. */
export function failureView(failure: Failure): FailureView {
  const e = explainFailure(failure);
  return { text: e.summary, advice: e.advice, message: e.detail };
}

/**
 * The snapshot as the panel for one profile shows it. A failure belongs to the profile that failed:
 * with another profile selected the panel is idle (a plain Connect for that one), and the failure
 * is still there when the failed profile is selected again, also after a reload (main keeps it).
 */
export function snapshotForProfile(snapshot: TunnelSnapshot, profileId: string | null): TunnelSnapshot {
  if (snapshot.state.kind === 'failed' && snapshot.profileId !== profileId) return { ...snapshot, state: IDLE };
  return snapshot;
}

export function buttonView(state: TunnelState, pending: Pending, hasProfile: boolean): ButtonView {
  if (startingHelper(state, pending)) {
    return { label: 'Connecting…', hint: 'Starting the helper', tone: 'busy', action: 'none' };
  }
  if (pending === 'disconnect' && state.kind !== 'idle' && state.kind !== 'failed') {
    return { label: 'Disconnecting…', hint: 'Restoring routes and DNS', tone: 'busy', action: 'none' };
  }
  switch (state.kind) {
    case 'idle':
      return hasProfile
        ? { label: 'Connect', hint: 'Route IPv4 through the tunnel', tone: 'idle', action: 'connect' }
        : { label: 'Connect', hint: 'Add a profile first', tone: 'idle', action: 'none' };
    case 'connecting':
      return { label: 'Connecting…', hint: 'Click to cancel', tone: 'busy', action: 'disconnect' };
    case 'connected':
      return { label: 'Connected', hint: 'Click to disconnect', tone: 'ok', action: 'disconnect' };
    case 'reconnecting':
      return { label: 'Reconnecting…', hint: 'Click to stop', tone: 'warn', action: 'disconnect' };
    case 'disconnecting':
      return { label: 'Disconnecting…', hint: 'Restoring routes and DNS', tone: 'busy', action: 'none' };
    case 'failed':
      return hasProfile
        ? { label: 'Try again', hint: 'Connection failed', tone: 'error', action: 'connect' }
        : { label: 'Connect', hint: 'Add a profile first', tone: 'error', action: 'none' };
  }
}

export function statusView(snapshot: TunnelSnapshot, pending: Pending, targetName: string | null, stateSinceMs: number, nowMs: number): StatusView {
  const s = snapshot.state;
  const name = snapshot.profileName ?? targetName ?? tunnelName(s, null);
  if (startingHelper(s, pending)) {
    return { tone: 'busy', title: `Connecting to ${targetName ?? name}`, detail: 'starting the helper (you may be asked for your password)', failure: null };
  }
  const title = stateHeadline(s, name);
  switch (s.kind) {
    case 'idle':
      return { tone: 'idle', title, detail: targetName ? `Ready to connect to ${targetName}` : null, failure: null };
    case 'connecting':
      return { tone: 'busy', title, detail: phaseDetail(s), failure: null };
    case 'connected':
      return { tone: 'ok', title, detail: `${s.lease.address} · IPv4 traffic goes through ${s.serverAddress}`, failure: null };
    case 'reconnecting': {
      const secs = retryInSeconds(s, stateSinceMs, nowMs);
      return {
        tone: 'warn',
        title,
        detail: `attempt ${s.attempt + 1}, ${secs > 0 ? `retry in ${secs} s` : 'retrying now'}`,
        failure: failureView(s.lastFailure),
      };
    }
    case 'disconnecting':
      return { tone: 'busy', title, detail: 'restoring routes and DNS', failure: s.failure ? failureView(s.failure) : null };
    case 'failed':
      return { tone: 'error', title, detail: null, failure: failureView(s.failure) };
  }
}

export interface HelperProblem {
  /** stopped: a helper ran and went away; unavailable: it could not be reached or started. */
  kind: 'stopped' | 'unavailable';
  title: string;
  message: string;
  advice: string;
}

/** What went wrong with the helper link, and what the user can do about it; null when all is well. */
export function helperProblem(helper: HelperLinkInfo): HelperProblem | null {
  if (helper.status === 'connected') return null;
  const code = helper.error?.code;
  // A failed (re)start says why it failed, whether or not a helper ran before.
  if (helper.error && code !== 'HELPER_DISCONNECTED' && code !== 'HELPER_PROTOCOL') {
    return { kind: 'unavailable', title: 'The 4over6 helper is not available', message: helper.error.message, advice: adviceFor(helper.error) };
  }
  if (helper.status === 'lost') {
    return {
      kind: 'stopped',
      title: 'The 4over6 helper stopped',
      message: helper.error?.message ?? 'the connection to the helper was lost',
      advice: 'The tunnel is down and the helper undid its routes and DNS changes (or will at its next start, if it crashed). ' +
        'Connect again to restart it. If it keeps stopping, see the app log, or `journalctl -u 4over6-helper` when the helper service is installed.',
    };
  }
  return null;
}

function adviceFor(error: VpnErrorInfo): string {
  switch (error.code) {
    case 'HELPER_LAUNCH_FAILED':
      return 'Connecting needs administrator rights: enter your password when asked, then try again. ' +
        'To connect without a prompt, install the 4over6 helper service and join the 4over6 group.';
    case 'HELPER_UNTRUSTED':
      return 'Its socket is not owned by root, so the app refused it (it would have received your keys). Reinstall the 4over6 package, or remove the stray socket.';
    case 'HELPER_UNREACHABLE':
    case 'HELPER_TIMEOUT':
      return 'Check that the helper service runs (`systemctl status 4over6-helper`), then try again.';
    case 'HELPER_AUTH_FAILED':
      return 'The helper did not accept this app. Quit and restart the app.';
    case 'HELPER_VERSION_MISMATCH':
      return 'The app and the helper are different versions. Update the 4over6 package, then restart the app.';
    default:
      return 'Try again; the app log has the details.';
  }
}

/** "[fd00::2]:5555" or "vpn.example.org:5555". */
export function endpoint(server: string, port: number): string {
  return server.includes(':') ? `[${server}]:${port}` : `${server}:${port}`;
}

/** "0:00:07", "1:02:03", "2 d 1:02:03". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const clock = `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return d > 0 ? `${d} d ${clock}` : clock;
}

/** "just now", "4 s ago", "3 min ago". */
export function formatAgo(ms: number | null): string {
  if (ms === null) return 'none yet';
  if (ms < 1000) return 'just now';
  if (ms < 120_000) return `${Math.round(ms / 1000)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}

export function capitalize(text: string): string {
  return text.length > 0 ? text[0].toUpperCase() + text.slice(1) : text;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "Imported 2 profiles from x.json. 3 were already here and were skipped: A, B, C." */
export function importSummary(r: ImportResult, from: string | null): string {
  const source = from ? ` from ${from}` : '';
  const head = r.imported.length === 0 && r.skipped.length > 0
    ? `Nothing new${source}.`
    : `Imported ${plural(r.imported.length, 'profile')}${source}.`;
  if (r.skipped.length === 0) return head;
  const names = r.skipped.map((n) => `“${n}”`).join(', ');
  return `${head} ${r.skipped.length === 1 ? '1 was' : `${r.skipped.length} were`} already here and ${r.skipped.length === 1 ? 'was' : 'were'} skipped: ${names}.`;
}

export interface GuardLine {
  text: string;
  /** Lockdown while disconnected: say where to turn it off. */
  settingsHint: boolean;
}

/** The kill switch's line under the status: only while it blocks traffic (no tunnel carries it). */
export function guardLine(snapshot: TunnelSnapshot): GuardLine | null {
  const g = snapshot.guard;
  if (!g?.blocking) return null;
  if (snapshot.state.kind === 'idle' || snapshot.state.kind === 'failed') {
    // Only lockdown blocks without a tunnel; with "on" the helper is lifting its block as the tunnel goes.
    return g.mode === 'lockdown' ? { text: 'Lockdown: IPv4 traffic is blocked while disconnected', settingsHint: true } : null;
  }
  return { text: 'Traffic is blocked until the tunnel is back', settingsHint: false };
}

/** "On: IPv4 leaves only through the tunnel" for the connection's facts. */
export function killSwitchText(snapshot: TunnelSnapshot): string {
  const g = snapshot.guard;
  if (!g || g.mode === 'off') return 'Off';
  const lan = g.allowLan ? ' (local network allowed)' : '';
  return `${g.mode === 'lockdown' ? 'Lockdown' : 'On'}: IPv4 leaves only through the tunnel${lan}`;
}

// The main process's logic: profiles, the helper connection and the current tunnel snapshot, behind
// the handlers of contract/ipc-schema.ts. Electron (main.ts) and the browser bridge both drive this
// object and listen to its events; it knows nothing of windows, trays or transports.
//
// The helper: at start we attach to an installed service if there is one (no prompt); a helper
// that has to be spawned (pkexec prompt) is started on the first connect. When the helper goes
// away the snapshot says so and the next connect reaches it again: nothing reconnects by itself.
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { GuardStatus, HelperStatus, SystemStatus, TunnelOwner } from '../contract/helper-api';
import {
  type AboutInfo, type DiagnosticsText, type HelperLinkInfo, type IpcHandlers, type LogEntry, type LogLevel, type StatsUpdate,
  type StoreStatus, type TunnelSnapshot, VpnError,
} from '../contract/ipc-schema';
import { type Profile, sameName, toHelperProfile } from '../contract/profile-schema';
import { type AppSettings, type SettingsPatch, appSettingsSchema, settingsPatchSchema } from '../contract/settings';
import { emptyStats } from '../contract/stats';
import { isActive, stateHeadline, tunnelName } from '../contract/tunnel-summary';
import { type AppInfo, readAppInfo } from './about';
import type { Autostart } from './autostart';
import { diagnosticsBundle, diagnosticsFileName } from './diagnostics';
import { IDLE, type TunnelState } from '../contract/tunnel-state';
import type { HelperClient } from './helper-client';
import { LogBook } from './log-book';
import { type UserNotification, notificationFor } from './notification-model';
import type { ProfileStore } from './profile-store';
import {
  MAX_IMPORT_BYTES, exportProfilesToFile, exportProfilesToText, importProfilesFromFile, importProfilesFromText,
} from './profile-transfer';
import { RateHistory } from './rate-history';

/** The part of HelperClient the controller uses (tests may pass a fake). */
export type HelperSession = Pick<HelperClient, 'on' | 'connectTunnel' | 'disconnectTunnel' | 'setKillSwitch' | 'status' | 'subscribe' | 'shutdown' | 'close' | 'hello' | 'isOpen'>;

/** Where the settings live (electron/settings-store.ts; a memory copy where nothing is kept). */
export interface SettingsSource {
  get(): AppSettings;
  set(changes: Partial<AppSettings>): AppSettings;
}

export function memorySettings(initial: Partial<AppSettings> = {}): SettingsSource {
  let current = appSettingsSchema.parse(initial);
  return { get: () => ({ ...current }), set: (changes) => (current = appSettingsSchema.parse({ ...current, ...changes })) };
}

/** Where helper sessions come from: helper-launcher's HelperConnector. */
export interface HelperSource {
  /** A helper reachable without a password prompt, or null. */
  connectExisting(): Promise<HelperSession | null>;
  /** Reaches the helper, spawning it if needed (may prompt). */
  connect(): Promise<HelperSession>;
}

/** File dialogs shown by main (absent where there is no desktop, e.g. the browser bridge). */
export interface FileDialogs {
  chooseImportFile(): Promise<string | null>;
  chooseExportFile(defaultName: string): Promise<string | null>;
  /** Where to save the diagnostics bundle (absent: profiles' export dialog). */
  chooseDiagnosticsFile?(defaultName: string): Promise<string | null>;
}

export interface AppControllerEvents {
  profilesChanged: [profiles: Profile[]];
  tunnelState: [snapshot: TunnelSnapshot];
  tunnelStats: [update: StatsUpdate];
  notification: [notification: UserNotification];
  /** Every event kept for the Logs screen (the helper's and the app's). */
  log: [entry: LogEntry];
  settingsChanged: [settings: AppSettings];
}

export interface AppControllerDeps {
  store: ProfileStore;
  storeStatus: StoreStatus;
  helper: HelperSource;
  dialogs?: FileDialogs;
  /** Wall-clock time (injectable for tests). */
  now?: () => number;
  /** The app's version and licences (default: read from the app's package files). */
  appInfo?: () => AppInfo;
  /** The Settings screen's values (default: in memory, the defaults). */
  settings?: SettingsSource;
  /** "Start at login" (absent: not offered here, e.g. the browser bridge without a desktop app). */
  autostart?: Autostart;
}

/** dist/electron/app-controller.js -> the app root, where package.json and node_modules are. */
const APP_ROOT = join(__dirname, '..', '..');

// Requests come from another process: checked before use.
const profileRef = z.string().min(1).max(100);
const requests = {
  id: z.strictObject({ id: profileRef }),
  update: z.strictObject({ id: profileRef, changes: z.unknown() }),
  settings: settingsPatchSchema,
  connect: z.strictObject({ profileId: profileRef }),
  importText: z.strictObject({ fileName: z.string().min(1).max(255), text: z.string().max(MAX_IMPORT_BYTES) }),
  exportIds: z.strictObject({ ids: z.array(profileRef).max(10_000).optional() }).optional(),
};

function parseRequest<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new VpnError('BAD_REQUEST', `${what}: ${issue.path.join('.') || 'request'}: ${issue.message}`);
}

export class AppController {
  private readonly emitter = new EventEmitter();
  private session: HelperSession | null = null;
  private detach: (() => void)[] = [];
  /** The profile we last asked the helper to connect, to map its profile name back to an id. */
  private requested: { id: string; name: string } | null = null;
  /** State events received so far (see applyReply). */
  private stateEvents = 0;
  /** `system` events received: a reply taken before the latest of them must not overwrite what it said. */
  private systemEvents = 0;
  private readonly history = new RateHistory();
  private readonly logBook = new LogBook();
  private readonly now: () => number;
  private appInfo: AppInfo | null = null;
  private readonly settings: SettingsSource;
  private current: TunnelSnapshot = {
    state: IDLE, profileId: null, profileName: null, stats: emptyStats(), changes: [], guard: null,
    helper: { status: 'none', mode: null, error: null },
  };

  readonly handlers: IpcHandlers;

  constructor(private readonly deps: AppControllerDeps) {
    const { store } = deps;
    this.now = deps.now ?? Date.now;
    this.settings = deps.settings ?? memorySettings();
    this.handlers = {
      profiles: {
        list: () => store.list(),
        create: (draft) => this.changingProfiles(() => store.create(draft)),
        update: (req) => {
          const { id, changes } = parseRequest(requests.update, req, 'profiles.update');
          return this.changingProfiles(() => store.update(id, changes));
        },
        remove: (req) => {
          const { id } = parseRequest(requests.id, req, 'profiles.remove');
          if (isActive(this.current.state) && this.current.profileId === id) {
            throw new VpnError('PROFILE_IN_USE', `"${store.get(id).name}" is in use by the tunnel; disconnect first`);
          }
          this.changingProfiles(() => store.remove(id));
        },
        duplicate: (req) => this.changingProfiles(() => store.duplicate(parseRequest(requests.id, req, 'profiles.duplicate').id)),
        importFile: async () => {
          const path = await this.dialogs().chooseImportFile();
          return path === null ? null : this.changingProfiles(() => importProfilesFromFile(store, path));
        },
        importText: (req) => {
          const { fileName, text } = parseRequest(requests.importText, req, 'profiles.importText');
          return this.changingProfiles(() => importProfilesFromText(store, fileName, text));
        },
        exportFile: async (req) => {
          const ids = parseRequest(requests.exportIds, req, 'profiles.exportFile')?.ids;
          const path = await this.dialogs().chooseExportFile('4over6-profiles.json');
          return path === null ? null : exportProfilesToFile(store, path, ids);
        },
        exportText: (req) => exportProfilesToText(store, parseRequest(requests.exportIds, req, 'profiles.exportText')?.ids),
        storeStatus: () => deps.storeStatus,
      },
      tunnel: {
        connect: (req) => this.connect(parseRequest(requests.connect, req, 'tunnel.connect').profileId),
        disconnect: () => this.disconnect(),
        snapshot: () => this.snapshot(),
        history: () => this.history.list(),
      },
      app: {
        logs: () => this.logBook.list(),
        about: () => this.about(),
        diagnosticsText: () => this.diagnostics(),
        saveDiagnostics: async () => {
          const { fileName, text } = this.diagnostics();
          const dialogs = this.dialogs();
          const path = await (dialogs.chooseDiagnosticsFile ?? dialogs.chooseExportFile).call(dialogs, fileName);
          if (path === null) return null;
          try {
            await writeFile(path, text, { mode: 0o600 });
          } catch (err) {
            throw new VpnError('FILE_FAILED', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
          }
          this.log(`diagnostics saved to ${path}`);
          return { path };
        },
      },
      settings: {
        get: () => this.settings.get(),
        update: (req) => this.updateSettings(parseRequest(requests.settings, req, 'settings.update')),
      },
    };
  }

  on<K extends keyof AppControllerEvents>(event: K, listener: (...args: AppControllerEvents[K]) => void): () => void {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return () => this.emitter.off(event, listener as (...args: unknown[]) => void);
  }

  snapshot(): TunnelSnapshot {
    return this.current;
  }

  profiles(): Profile[] {
    return this.deps.store.list();
  }

  /** The app, its runtime and licences, and the helper connected now. */
  about(): AboutInfo {
    this.appInfo ??= (this.deps.appInfo ?? (() => readAppInfo(APP_ROOT)))();
    const hello = this.session?.isOpen ? this.session.hello : null;
    return { ...this.appInfo, helper: hello ? { protocolVersion: hello.version, mode: hello.mode, pid: hello.pid } : null };
  }

  /** The redacted bundle for a bug report: versions, state, profiles, kept events. */
  diagnostics(): DiagnosticsText {
    const nowMs = this.now();
    let profiles: Profile[] = [];
    try {
      profiles = this.deps.store.list();
    } catch {
      // a broken profiles file: the bundle still has the rest (and the store status says why)
    }
    const text = diagnosticsBundle({
      about: this.about(), snapshot: this.current, profiles, logs: this.logBook.list(), nowMs,
      extra: { storeStatus: this.deps.storeStatus },
    });
    return { fileName: diagnosticsFileName(nowMs), text };
  }

  /**
   * Attaches to a helper that needs no prompt (installed service), so a running tunnel shows. With
   * lockdown set, a helper is reached (spawned if need be) and told at once: the helper does not
   * remember the mode across its own restarts. Then "connect at start" connects the last profile.
   */
  async start(): Promise<void> {
    try {
      const session = await this.deps.helper.connectExisting();
      if (session) await this.attach(session);
    } catch (err) {
      this.setHelper({ status: 'none', mode: null, error: errorInfo(err) });
    }
    const settings = this.settings.get();
    if (settings.killSwitch === 'lockdown') {
      try {
        await this.applyKillSwitch(settings);
        this.log('lockdown (Settings): the helper blocks IPv4 outside the tunnel while disconnected');
      } catch (err) {
        this.log(`could not put the lockdown in place: ${(err as Error).message}`, 'error');
      }
    }
    if (settings.connectOnStart && settings.lastProfileId && !isActive(this.current.state)) {
      try {
        this.log('connecting at start (Settings: connect automatically)');
        await this.connect(settings.lastProfileId);
      } catch (err) {
        this.log(`could not connect at start: ${(err as Error).message}`, 'warn');
      }
    }
  }

  async connect(profileId: string): Promise<TunnelSnapshot> {
    const profile = this.deps.store.get(profileId);
    const session = await this.ensureSession();
    this.requested = { id: profile.id, name: profile.name };
    const { killSwitch, allowLan } = this.settings.get();
    const seen = this.eventsSeen();
    this.applyReply(await session.connectTunnel(toHelperProfile(profile), { killSwitch, allowLan }), seen);
    if (this.settings.get().lastProfileId !== profile.id) this.saveSettings({ lastProfileId: profile.id });
    return this.current;
  }

  // ---- settings --------------------------------------------------------------------------------

  private async updateSettings(patch: SettingsPatch): Promise<AppSettings> {
    const before = this.settings.get();
    if (patch.startAtLogin !== undefined && patch.startAtLogin !== before.startAtLogin) {
      if (!this.deps.autostart) throw new VpnError('NOT_SUPPORTED', 'starting at login is set by the desktop app');
      if (patch.startAtLogin) this.deps.autostart.enable();
      else this.deps.autostart.disable();
    }
    const after = this.saveSettings(patch);
    if (after.killSwitch !== before.killSwitch || after.allowLan !== before.allowLan) {
      this.log(`kill switch ${after.killSwitch}${after.allowLan ? ', local network allowed' : ''}`);
      // The helper follows now if one runs; lockdown needs one now (it blocks while disconnected too).
      if (this.session?.isOpen || after.killSwitch === 'lockdown') await this.applyKillSwitch(after);
    }
    return after;
  }

  private saveSettings(changes: Partial<AppSettings>): AppSettings {
    const next = this.settings.set(changes);
    this.emit('settingsChanged', next);
    return next;
  }

  private async applyKillSwitch(settings: AppSettings): Promise<void> {
    const session = await this.ensureSession();
    const seen = this.eventsSeen();
    this.applySystemReply(await session.setKillSwitch(settings.killSwitch, settings.allowLan), seen.system);
  }

  async disconnect(): Promise<TunnelSnapshot> {
    if (this.session?.isOpen) {
      const seen = this.eventsSeen();
      this.applyReply(await this.session.disconnectTunnel(), seen);
    }
    return this.current;
  }

  /**
   * On quit: bring the tunnel down and let a helper we spawned exit; the installed service stays.
   * Never throws: quitting must not hang on a helper that is gone.
   */
  async shutdown(): Promise<void> {
    const session = this.session;
    if (!session?.isOpen) return;
    try {
      if (this.current.state.kind !== 'idle') this.applyStatus(await session.disconnectTunnel());
      if (session.hello?.mode === 'spawned') await session.shutdown();
    } catch (err) {
      this.log(`while quitting: ${(err as Error).message}`);
    } finally {
      session.close();
    }
  }

  /** After shutdown: no more events from this controller (tests that start a second one on the same transport). */
  dispose(): void {
    this.detach.forEach((off) => off());
    this.detach = [];
    this.emitter.removeAllListeners();
  }

  // ---- helper session --------------------------------------------------------------------------

  private async ensureSession(): Promise<HelperSession> {
    if (this.session?.isOpen) return this.session;
    try {
      const session = await this.deps.helper.connect();
      await this.attach(session);
      return session;
    } catch (err) {
      this.setHelper({ status: this.current.helper.status === 'connected' ? 'lost' : this.current.helper.status, mode: null, error: errorInfo(err) });
      throw err;
    }
  }

  private async attach(session: HelperSession): Promise<void> {
    this.detach.forEach((off) => off());
    this.session = session;
    this.detach = [
      session.on('state', (state, profileName, startedBy) => this.applyState(state, profileName, startedBy)),
      session.on('stats', (stats) => {
        this.current = { ...this.current, stats };
        const sample = { atMs: this.now(), up: stats.rateUp, down: stats.rateDown };
        this.history.add(sample);
        this.emit('tunnelStats', { stats, sample });
      }),
      session.on('log', (level, message, atMs) => this.record('helper', level, message, atMs)),
      session.on('system', (system) => {
        this.systemEvents++;
        this.applySystem(system);
      }),
      session.on('disconnected', (error) => this.onSessionClosed(session, error)),
    ];
    const status = await session.subscribe();
    this.current = { ...this.current, helper: { status: 'connected', mode: session.hello?.mode ?? null, error: null } };
    this.log(`helper connected (${session.hello?.mode ?? 'unknown'} mode, pid ${session.hello?.pid ?? '?'})`);
    this.applyStatus(status);
  }

  private onSessionClosed(session: HelperSession, error: VpnError | null): void {
    if (session !== this.session) return;
    this.session = null;
    this.detach.forEach((off) => off());
    this.detach = [];
    // A helper that is gone takes its tunnel down with it (it undoes its changes when it exits).
    this.set({
      ...this.current, state: IDLE, stats: emptyStats(), changes: [], guard: null,
      helper: error ? { status: 'lost', mode: this.current.helper.mode, error: error.toInfo() } : { status: 'none', mode: null, error: null },
    });
  }

  // ---- snapshot --------------------------------------------------------------------------------

  /**
   * A reply's status was taken when the helper answered; state events sent after it can arrive in
   * the same read and be applied first. Then the events are newer: keep their state.
   */
  private applyReply(status: HelperStatus, before: { state: number; system: number }): void {
    // Likewise a `system` event sent after the reply's status (the helper sends one for every change):
    // the event is the newer word on what is in place.
    const system = this.systemEvents === before.system
      ? { changes: status.changes, guard: status.guard ?? null }
      : { changes: this.current.changes, guard: this.current.guard };
    if (this.stateEvents === before.state) {
      this.applyStatus(status, system);
      return;
    }
    this.set({ ...this.current, stats: status.stats, changes: system.changes, guard: system.guard ?? null });
  }

  private eventsSeen(): { state: number; system: number } {
    return { state: this.stateEvents, system: this.systemEvents };
  }

  /** A reply's system status: applied unless a `system` event came after the request (then it is newer). */
  private applySystemReply(system: SystemStatus, systemEventsBefore: number): void {
    if (this.systemEvents === systemEventsBefore) this.applySystem(system);
  }

  /** The helper's word on what is in place now (a `system` event or a command's answer). */
  private applySystem(system: SystemStatus): void {
    const guard = system.guard ?? null;
    if (JSON.stringify(system.changes) === JSON.stringify(this.current.changes) && JSON.stringify(guard) === JSON.stringify(this.current.guard)) return;
    this.set({ ...this.current, changes: system.changes, guard });
  }

  private applyStatus(status: HelperStatus, system: { changes: string[]; guard: GuardStatus | null } = { changes: status.changes, guard: status.guard ?? null }): void {
    this.set({
      ...this.current,
      state: status.state,
      profileName: status.profileName,
      profileId: this.profileIdFor(status.profileName),
      startedBy: status.startedBy ?? null,
      stats: status.stats,
      changes: system.changes,
      guard: system.guard,
    });
  }

  private applyState(state: TunnelState, profileName: string | null, startedBy: TunnelOwner | null): void {
    this.stateEvents++;
    const kindChanged = state.kind !== this.current.state.kind;
    this.set({ ...this.current, state, profileName, profileId: this.profileIdFor(profileName), startedBy });
    // The list of system changes moves when a tunnel comes up or goes down: fetch it then.
    if (kindChanged && ['connected', 'idle', 'failed'].includes(state.kind) && this.session?.isOpen) {
      const seen = this.systemEvents;
      this.session.status().then((s) => this.applySystemReply(s, seen), (err: Error) => this.log(`could not refresh the helper status: ${err.message}`));
    }
  }

  private profileIdFor(profileName: string | null): string | null {
    if (profileName === null) return null;
    if (this.requested && this.requested.name === profileName) return this.requested.id;
    // Started before this app ran (service mode): names are unique, so the name finds it.
    try {
      return this.deps.store.list().find((p) => sameName(p.name, profileName))?.id ?? null;
    } catch {
      return null;
    }
  }

  private setHelper(helper: HelperLinkInfo): void {
    this.set({ ...this.current, helper });
  }

  private set(next: TunnelSnapshot): void {
    const prev = this.current;
    this.current = next;
    if (next.state.kind !== prev.state.kind) {
      // A new connection (not a reconnect) starts a new graph.
      if (next.state.kind === 'connecting' && (prev.state.kind === 'idle' || prev.state.kind === 'failed')) this.history.clear();
      const failure = next.state.kind === 'failed' ? next.state.failure : next.state.kind === 'reconnecting' ? next.state.lastFailure : null;
      const headline = stateHeadline(next.state, tunnelName(next.state, next.profileName));
      this.log(`${headline}${failure ? `: ${failure.message}` : ''}`, failure ? 'warn' : 'info');
    }
    if (next.helper.status !== prev.helper.status || next.helper.error?.message !== prev.helper.error?.message) {
      const h = next.helper;
      const what = h.status === 'connected' ? `helper connected (${h.mode ?? 'unknown'} mode)` : h.status === 'lost' ? 'helper lost' : 'helper not connected';
      this.log(`${what}${h.error ? `: ${h.error.message}` : ''}`, h.error ? 'warn' : 'info');
    }
    this.emit('tunnelState', next);
    const notification = notificationFor(prev, next);
    if (notification) this.emit('notification', notification);
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private async changingProfiles<T>(change: () => T | Promise<T>): Promise<T> {
    const result = await change();
    this.emit('profilesChanged', this.deps.store.list());
    return result;
  }

  private dialogs(): FileDialogs {
    if (!this.deps.dialogs) throw new VpnError('NOT_SUPPORTED', 'file dialogs are only available in the desktop app; send the file content instead');
    return this.deps.dialogs;
  }

  private emit<K extends keyof AppControllerEvents>(event: K, ...args: AppControllerEvents[K]): void {
    this.emitter.emit(event, ...args);
  }

  private log(line: string, level: LogLevel = 'info'): void {
    this.record('app', level, line, this.now());
  }

  private record(source: LogEntry['source'], level: LogLevel, message: string, atMs: number): void {
    this.emit('log', this.logBook.add(source, level, message, atMs));
  }
}

function errorInfo(err: unknown): HelperLinkInfo['error'] {
  return err instanceof VpnError ? err.toInfo() : { code: 'INTERNAL', message: (err as Error).message };
}

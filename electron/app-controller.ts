// The main process's logic: profiles, the helper connection and the current tunnel snapshot, behind
// the handlers of contract/ipc-schema.ts. Electron (main.ts) and the browser bridge both drive this
// object and listen to its events; it knows nothing of windows, trays or transports.
//
// The helper: at start we attach to an installed service if there is one (no prompt); a helper
// that has to be spawned (pkexec prompt) is started on the first connect. When the helper goes
// away the snapshot says so and the next connect reaches it again: nothing reconnects by itself.
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { HelperStatus, TunnelOwner, TunnelStatsSnapshot } from '../contract/helper-api';
import {
  type HelperLinkInfo, type IpcHandlers, type StoreStatus, type TunnelSnapshot, VpnError,
} from '../contract/ipc-schema';
import { type Profile, sameName, toHelperProfile } from '../contract/profile-schema';
import { emptyStats } from '../contract/stats';
import { isActive } from '../contract/tunnel-summary';
import { IDLE, type TunnelState } from '../contract/tunnel-state';
import type { HelperClient } from './helper-client';
import { type UserNotification, notificationFor } from './notification-model';
import type { ProfileStore } from './profile-store';
import {
  MAX_IMPORT_BYTES, exportProfilesToFile, exportProfilesToText, importProfilesFromFile, importProfilesFromText,
} from './profile-transfer';

/** The part of HelperClient the controller uses (tests may pass a fake). */
export type HelperSession = Pick<HelperClient, 'on' | 'connectTunnel' | 'disconnectTunnel' | 'status' | 'subscribe' | 'shutdown' | 'close' | 'hello' | 'isOpen'>;

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
}

export interface AppControllerEvents {
  profilesChanged: [profiles: Profile[]];
  tunnelState: [snapshot: TunnelSnapshot];
  tunnelStats: [stats: TunnelStatsSnapshot];
  notification: [notification: UserNotification];
  log: [line: string];
}

export interface AppControllerDeps {
  store: ProfileStore;
  storeStatus: StoreStatus;
  helper: HelperSource;
  dialogs?: FileDialogs;
}

// Requests come from another process: checked before use.
const profileRef = z.string().min(1).max(100);
const requests = {
  id: z.strictObject({ id: profileRef }),
  update: z.strictObject({ id: profileRef, changes: z.unknown() }),
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
  private current: TunnelSnapshot = {
    state: IDLE, profileId: null, profileName: null, stats: emptyStats(), changes: [],
    helper: { status: 'none', mode: null, error: null },
  };

  readonly handlers: IpcHandlers;

  constructor(private readonly deps: AppControllerDeps) {
    const { store } = deps;
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

  /** Attaches to a helper that needs no prompt (installed service), so a running tunnel shows. */
  async start(): Promise<void> {
    try {
      const session = await this.deps.helper.connectExisting();
      if (session) await this.attach(session);
    } catch (err) {
      this.setHelper({ status: 'none', mode: null, error: errorInfo(err) });
    }
  }

  async connect(profileId: string): Promise<TunnelSnapshot> {
    const profile = this.deps.store.get(profileId);
    const session = await this.ensureSession();
    this.requested = { id: profile.id, name: profile.name };
    const seen = this.stateEvents;
    this.applyReply(await session.connectTunnel(toHelperProfile(profile)), seen);
    return this.current;
  }

  async disconnect(): Promise<TunnelSnapshot> {
    if (this.session?.isOpen) {
      const seen = this.stateEvents;
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
        this.emit('tunnelStats', stats);
      }),
      session.on('log', (level, message) => this.log(`helper ${level}: ${message}`)),
      session.on('disconnected', (error) => this.onSessionClosed(session, error)),
    ];
    const status = await session.subscribe();
    this.current = { ...this.current, helper: { status: 'connected', mode: session.hello?.mode ?? null, error: null } };
    this.applyStatus(status);
  }

  private onSessionClosed(session: HelperSession, error: VpnError | null): void {
    if (session !== this.session) return;
    this.session = null;
    this.detach.forEach((off) => off());
    this.detach = [];
    // A helper that is gone takes its tunnel down with it (it undoes its changes when it exits).
    this.set({
      ...this.current, state: IDLE, stats: emptyStats(), changes: [],
      helper: error ? { status: 'lost', mode: this.current.helper.mode, error: error.toInfo() } : { status: 'none', mode: null, error: null },
    });
  }

  // ---- snapshot --------------------------------------------------------------------------------

  /**
   * A reply's status was taken when the helper answered; state events sent after it can arrive in
   * the same read and be applied first. Then the events are newer: keep their state.
   */
  private applyReply(status: HelperStatus, stateEventsBefore: number): void {
    if (this.stateEvents === stateEventsBefore) {
      this.applyStatus(status);
      return;
    }
    this.set({ ...this.current, stats: status.stats, changes: status.changes });
  }

  private applyStatus(status: HelperStatus): void {
    this.set({
      ...this.current,
      state: status.state,
      profileName: status.profileName,
      profileId: this.profileIdFor(status.profileName),
      startedBy: status.startedBy ?? null,
      stats: status.stats,
      changes: status.changes,
    });
  }

  private applyState(state: TunnelState, profileName: string | null, startedBy: TunnelOwner | null): void {
    this.stateEvents++;
    const kindChanged = state.kind !== this.current.state.kind;
    this.set({ ...this.current, state, profileName, profileId: this.profileIdFor(profileName), startedBy });
    // The list of system changes moves when a tunnel comes up or goes down: fetch it then.
    if (kindChanged && ['connected', 'idle', 'failed'].includes(state.kind) && this.session?.isOpen) {
      this.session.status().then((s) => {
        if (JSON.stringify(s.changes) !== JSON.stringify(this.current.changes)) this.set({ ...this.current, changes: s.changes });
      }, (err: Error) => this.log(`could not refresh the helper status: ${err.message}`));
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

  private log(line: string): void {
    this.emit('log', line);
  }
}

function errorInfo(err: unknown): HelperLinkInfo['error'] {
  return err instanceof VpnError ? err.toInfo() : { code: 'INTERNAL', message: (err as Error).message };
}

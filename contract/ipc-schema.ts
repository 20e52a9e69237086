// Every renderer <-> main channel, declared once. Main and renderer both derive their typed API from
// `ipcSchema`; channel strings are built from its keys, never typed by hand. Transport-agnostic:
// Electron ipc (electron/main.ts, electron/preload.ts), an HTTP/WebSocket bridge or a direct call in
// tests all plug in through `IpcClientTransport` / `IpcServerTransport`.
//
// Invoke replies cross as `IpcReply` (`{ ok: true, value } | { ok: false, error }`) and the renderer
// side rethrows a `VpnError`, because Electron (and JSON) keep only an error's message.
// No runtime imports: the renderer bundles this file.
import type { Profile, ProfileDraft, ProfilePatch } from './profile-schema';
import type { GuardStatus, TunnelOwner, TunnelStatsSnapshot } from './helper-api';
import type { AppSettings, SettingsPatch } from './settings';
import type { TunnelState } from './tunnel-state';
import { type ProblemInfo, VpnError, type VpnErrorInfo } from './errors';

// Errors live in contract/errors.ts; re-exported here because the renderer imports them with the schema.
export { VpnError, formatProblem } from './errors';
export type { ProblemInfo, VpnErrorCode, VpnErrorInfo } from './errors';

// ---- payload types -----------------------------------------------------------------------------

export interface HelperLinkInfo {
  /** none: not contacted yet (a spawned helper starts on the first connect); lost: it went away. */
  status: 'none' | 'connected' | 'lost';
  mode: 'service' | 'spawned' | null;
  /** Why the last attempt to reach it failed, or why it was lost. */
  error: VpnErrorInfo | null;
}

/** Everything the UI shows about the tunnel; read once at startup, then kept current by pushes. */
export interface TunnelSnapshot {
  state: TunnelState;
  /** The app profile of the current (or last) tunnel; null when unknown (e.g. started elsewhere). */
  profileId: string | null;
  profileName: string | null;
  /** Who connected the tunnel (any member of the service's group can); absent or null when unknown. */
  startedBy?: TunnelOwner | null;
  stats: TunnelStatsSnapshot;
  /** What the helper has changed on this system right now, one line each (kept while reconnecting). */
  changes: string[];
  /** The kill switch as the helper has it now; null before a helper answered. */
  guard: GuardStatus | null;
  helper: HelperLinkInfo;
}

/** One point of the rate graph: the rates the helper reported at `atMs` (main's clock). */
export interface RateSample {
  atMs: number;
  /** Bytes per second. */
  up: number;
  down: number;
}

/** The stats push: the helper's counters and the graph point main kept for them. */
export interface StatsUpdate {
  stats: TunnelStatsSnapshot;
  sample: RateSample;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One event for the Logs screen: the helper's log lines and the app's own events. */
export interface LogEntry {
  /** Increasing; a push with a seq already shown is a duplicate. */
  seq: number;
  atMs: number;
  source: 'app' | 'helper';
  level: LogLevel;
  message: string;
}

export interface LicenceInfo {
  name: string;
  version: string;
  /** SPDX expression from its package.json, or "unknown". */
  license: string;
}

export interface AboutInfo {
  appName: string;
  appVersion: string;
  appLicense: string;
  /** "Node 20.19.0" or "Electron 41.7.1 (Node 22...)". */
  runtime: string;
  /** The helper this app talks to now; null while none is connected. */
  helper: { protocolVersion: number; mode: 'service' | 'spawned'; pid: number } | null;
  /** The app's runtime dependencies. */
  licences: LicenceInfo[];
}

export interface DiagnosticsText {
  /** A suggested file name. */
  fileName: string;
  /** JSON, with keys and addresses masked. */
  text: string;
}

export interface ImportResult {
  imported: Profile[];
  /** Imported under another name because the name was taken. */
  renamed: { from: string; to: string }[];
  /** Not imported: identical to a profile already here (or earlier in the same file). By name. */
  skipped: string[];
  /** Not errors: e.g. legacy settings a profile cannot keep. */
  warnings: string[];
}

export interface ExportTextResult {
  /** A suggested file name. */
  fileName: string;
  text: string;
  count: number;
}

export interface ExportFileResult {
  path: string;
  count: number;
}

export interface StoreStatus {
  path: string;
  /** Set when the profiles file was unreadable or partly invalid at startup. */
  recovery: { backupPath: string; kept: number; problems: ProblemInfo[] } | null;
}

// ---- the schema --------------------------------------------------------------------------------

/** Renderer asks, main answers. The phantom `types` field carries the types only. */
export interface InvokeChannel<Req, Res> {
  readonly kind: 'invoke';
  readonly types?: { request: Req; response: Res };
}
/** Main pushes, renderer listens. */
export interface PushChannel<T> {
  readonly kind: 'push';
  readonly types?: { payload: T };
}

const invoke = <Req, Res>(): InvokeChannel<Req, Res> => ({ kind: 'invoke' });
const push = <T>(): PushChannel<T> => ({ kind: 'push' });

export const ipcSchema = {
  profiles: {
    list: invoke<void, Profile[]>(),
    create: invoke<ProfileDraft, Profile>(),
    update: invoke<{ id: string; changes: ProfilePatch }, Profile>(),
    remove: invoke<{ id: string }, void>(),
    duplicate: invoke<{ id: string }, Profile>(),
    /** Main shows an open dialog; null when the user cancelled. */
    importFile: invoke<void, ImportResult | null>(),
    /** A file the renderer already has (drag and drop, the browser bridge, tests). */
    importText: invoke<{ fileName: string; text: string }, ImportResult>(),
    /** Main shows a save dialog; null when the user cancelled. `ids` absent: every profile. */
    exportFile: invoke<{ ids?: string[] }, ExportFileResult | null>(),
    exportText: invoke<{ ids?: string[] }, ExportTextResult>(),
    storeStatus: invoke<void, StoreStatus>(),
    changed: push<Profile[]>(),
  },
  tunnel: {
    connect: invoke<{ profileId: string }, TunnelSnapshot>(),
    disconnect: invoke<void, TunnelSnapshot>(),
    snapshot: invoke<void, TunnelSnapshot>(),
    /** Every state change (and helper link change), as a whole snapshot. */
    state: push<TunnelSnapshot>(),
    /** The graph's points kept by main (the last 60 s), so a reloaded window shows them at once. */
    history: invoke<void, RateSample[]>(),
    /** Once a second while the helper reports them. */
    stats: push<StatsUpdate>(),
  },
  app: {
    /** The kept events, oldest first (a bounded number). */
    logs: invoke<void, LogEntry[]>(),
    /** Each new event. */
    log: push<LogEntry>(),
    about: invoke<void, AboutInfo>(),
    /** The diagnostics bundle as text (the browser offers it as a download). */
    diagnosticsText: invoke<void, DiagnosticsText>(),
    /** Main shows a save dialog and writes the bundle; null when the user cancelled. */
    saveDiagnostics: invoke<void, { path: string } | null>(),
  },
  settings: {
    get: invoke<void, AppSettings>(),
    /** Saves, applies (kill switch to the helper, the autostart entry) and answers the new settings. */
    update: invoke<SettingsPatch, AppSettings>(),
    changed: push<AppSettings>(),
  },
} as const;

export type IpcSchema = typeof ipcSchema;
type Group = keyof IpcSchema;
type InvokeKeys<G extends Group> = { [K in keyof IpcSchema[G]]: IpcSchema[G][K] extends InvokeChannel<unknown, unknown> ? K : never }[keyof IpcSchema[G]] & string;
type PushKeys<G extends Group> = { [K in keyof IpcSchema[G]]: IpcSchema[G][K] extends PushChannel<unknown> ? K : never }[keyof IpcSchema[G]] & string;

export type RequestOf<C> = C extends InvokeChannel<infer Req, unknown> ? Req : never;
export type ResponseOf<C> = C extends InvokeChannel<unknown, infer Res> ? Res : never;
export type PayloadOf<C> = C extends PushChannel<infer T> ? T : never;

/** `window.vpn` in the renderer: `await vpn.tunnel.connect({ profileId })`, `vpn.tunnel.listenState(fn)`. */
export type VpnApi = {
  [G in Group]: {
    [K in InvokeKeys<G>]: (request: RequestOf<IpcSchema[G][K]>) => Promise<ResponseOf<IpcSchema[G][K]>>;
  } & {
    [K in PushKeys<G> as `listen${Capitalize<K>}`]: (listener: (payload: PayloadOf<IpcSchema[G][K]>) => void) => () => void;
  };
};

/**
 * What main implements: one function per invoke channel. Requests come from another process:
 * validate them (the types say what a well-behaved caller sends, not what arrives).
 */
export type IpcHandlers = {
  [G in Group]: {
    [K in InvokeKeys<G>]: (request: RequestOf<IpcSchema[G][K]>) => Promise<ResponseOf<IpcSchema[G][K]>> | ResponseOf<IpcSchema[G][K]>;
  };
};

/** What main calls to push: `notifier.tunnel.state(snapshot)`. */
export type IpcNotifier = {
  [G in Group]: { [K in PushKeys<G>]: (payload: PayloadOf<IpcSchema[G][K]>) => void };
};

export type IpcReply<T> = { ok: true; value: T } | { ok: false; error: VpnErrorInfo };

// ---- channel names -----------------------------------------------------------------------------

/** Every channel string starts with this (the preload checks it without importing this file). */
export const IPC_CHANNEL_PREFIX = 'vpn:';

export type ChannelName<G extends string, K extends string> = `${typeof IPC_CHANNEL_PREFIX}${G}.${K}`;

export function channelName<G extends string, K extends string>(group: G, key: K): ChannelName<G, K> {
  return `${IPC_CHANNEL_PREFIX}${group}.${key}`;
}

/** `ipcChannels.tunnel.connect === 'vpn:tunnel.connect'`. */
export const ipcChannels = Object.fromEntries(
  Object.entries(ipcSchema).map(([group, channels]) => [
    group,
    Object.fromEntries(Object.keys(channels).map((key) => [key, channelName(group, key)])),
  ]),
) as { [G in Group]: { [K in keyof IpcSchema[G] & string]: ChannelName<G, K> } };

interface ChannelEntry {
  group: string;
  key: string;
  kind: 'invoke' | 'push';
  channel: string;
}

export function listChannels(): ChannelEntry[] {
  return Object.entries(ipcSchema).flatMap(([group, channels]) =>
    Object.entries(channels).map(([key, spec]: [string, InvokeChannel<unknown, unknown> | PushChannel<unknown>]) =>
      ({ group, key, kind: spec.kind, channel: channelName(group, key) })));
}

// ---- transports --------------------------------------------------------------------------------

/** The renderer's way to main: ipcRenderer via the preload, a WebSocket, or a direct call. */
export interface IpcClientTransport {
  /** Resolves with the `IpcReply` main sent. */
  invoke(channel: string, request: unknown): Promise<unknown>;
  subscribe(channel: string, listener: (payload: unknown) => void): () => void;
}

/** Main's side: ipcMain, the bridge's HTTP/WebSocket server, or a direct call. */
export interface IpcServerTransport {
  handle(channel: string, handler: (request: unknown) => Promise<IpcReply<unknown>>): void;
  publish(channel: string, payload: unknown): void;
}

/** Builds the typed API over a transport; failed replies are rethrown as `VpnError`. */
export function createVpnApi(transport: IpcClientTransport): VpnApi {
  const api: Record<string, Record<string, unknown>> = {};
  for (const { group, key, kind, channel } of listChannels()) {
    api[group] ??= {};
    if (kind === 'invoke') {
      api[group][key] = async (request: unknown) => unwrapReply(channel, await transport.invoke(channel, request));
    } else {
      api[group][`listen${key[0].toUpperCase()}${key.slice(1)}`] =
        (listener: (payload: unknown) => void) => transport.subscribe(channel, listener);
    }
  }
  return api as VpnApi;
}

function unwrapReply(channel: string, reply: unknown): unknown {
  if (typeof reply === 'object' && reply !== null && 'ok' in reply) {
    const r = reply as IpcReply<unknown>;
    if (r.ok) return r.value;
    if (typeof r.error?.code === 'string' && typeof r.error.message === 'string') throw VpnError.fromInfo(r.error);
  }
  throw new VpnError('INTERNAL', `malformed reply on ${channel}`);
}

export interface RegisterOptions {
  /** Called with errors that are not VpnErrors (bugs): log them; the caller gets INTERNAL. */
  onUnexpectedError?: (channel: string, error: unknown) => void;
}

/** Registers one handler per invoke channel; every throw becomes an `{ ok: false }` reply. */
export function registerIpcHandlers(transport: IpcServerTransport, handlers: IpcHandlers, options: RegisterOptions = {}): void {
  const table = handlers as unknown as Record<string, Record<string, (request: unknown) => unknown>>;
  for (const { group, key, kind, channel } of listChannels()) {
    if (kind !== 'invoke') continue;
    const handler = table[group]?.[key];
    if (typeof handler !== 'function') throw new Error(`no handler for ${channel}`);
    transport.handle(channel, async (request) => {
      try {
        return { ok: true, value: await handler(request) };
      } catch (err) {
        if (err instanceof VpnError) return { ok: false, error: err.toInfo() };
        options.onUnexpectedError?.(channel, err);
        return { ok: false, error: { code: 'INTERNAL', message: `internal error in ${channel}; see the app log` } };
      }
    });
  }
}

export function createIpcNotifier(transport: IpcServerTransport): IpcNotifier {
  const notifier: Record<string, Record<string, (payload: unknown) => void>> = {};
  for (const { group, key, kind, channel } of listChannels()) {
    if (kind !== 'push') continue;
    notifier[group] ??= {};
    notifier[group][key] = (payload) => transport.publish(channel, payload);
  }
  return notifier as IpcNotifier;
}

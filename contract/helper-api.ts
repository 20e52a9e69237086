// The root helper's command set, declared once and shared by the helper and the app (main process).
//
// Transport: a Unix stream socket; each message is one line of JSON (UTF-8, '\n'-terminated), at most
// HELPER_MAX_MESSAGE_BYTES. Message order on a connection:
//   app -> helper   hello{token}            must come first (spawned mode needs the token; service mode ignores it)
//   helper -> app   response{id, ok, value: HelloInfo}
//   app -> helper   connect | disconnect | setKillSwitch | status | subscribe | shutdown, each with a fresh id
//   helper -> app   response{id, ...} for each request, in order
//   helper -> app   event{...} at any time after subscribe: state changes, stats every second, log lines,
//                   and `system` whenever the system changes in place (or the kill switch) change
//
// The kill switch (helper/kill-switch.ts, one nftables table `inet fourover6-guard`):
//   off       no table.
//   on        while a tunnel is connecting, connected or reconnecting, IPv4 leaves only through the
//             tunnel device (and loopback; the LAN with allowLan), DNS only to the tunnel's DNS servers.
//             Lifted when the tunnel is disconnected or has failed.
//   lockdown  as `on`, and IPv4 stays blocked while disconnected or failed, until the mode is changed.
// `connect` sets the mode for the tunnel it starts; `setKillSwitch` changes it at any time (e.g. to
// lift a lockdown, or to block before connecting). The helper does not remember it across its own
// restarts: an app that wants lockdown to persist sends setKillSwitch when it starts.
// Anything else (unknown command, bad field, oversized line, not JSON) gets an error response (id
// null when it could not be read) and the connection stays usable; before hello, only a few such
// lines are answered before the helper closes the connection. The helper reads a bounded number of
// requests ahead and stops reading while a client leaves its answers unread.
import { isCanonicalUuid, isServerHost } from '../protocol/names';
import { z } from 'zod';
import type { TunnelState } from './tunnel-state';

export const HELPER_PROTOCOL_VERSION = 1;
export const HELPER_MAX_MESSAGE_BYTES = 64 * 1024;
/** Where the installed service listens (root:4over6, 0660). */
export const SERVICE_SOCKET_PATH = '/run/4over6/helper.sock';
export const SERVICE_GROUP = '4over6';
/**
 * Helper options that choose files or who may drive it. Through pkexec the invoking user picks the
 * helper's argv, so there they are refused (and --mode must be spawned): they are for root's own use.
 */
export const PKEXEC_REFUSED_HELPER_OPTIONS = ['--allow-uid', '--group', '--journal', '--client-ids', '--resolv-conf', '--socket'] as const;

export const hostSchema = z.string().max(253).refine(isServerHost, {
  error: 'expected an IPv6 address or a DNS host name',
});
export const portSchema = z.number().int().min(1, { error: 'expected a port 1-65535' }).max(65535, { error: 'expected a port 1-65535' });
export const uuidSchema = z.string().refine(isCanonicalUuid, { error: 'expected a UUID (8-4-4-4-12 hex digits)' });

/** What the helper needs to bring a tunnel up: a profile without the app's bookkeeping fields. */
export const tunnelProfileSchema = z.strictObject({
  name: z.string().min(1).max(100),
  server: hostSchema,
  port: portSchema,
  /** null: no encryption. */
  uuid: uuidSchema.nullable(),
  allowPlaintext: z.boolean().default(false),
  autoReconnect: z.boolean().default(true),
  dns: z.boolean().default(true),
  defaultRoute: z.boolean().default(true),
  mtu: z.number().int().min(576).max(2003).default(1500),
});
export type HelperTunnelProfile = z.output<typeof tunnelProfileSchema>;
export type HelperTunnelProfileInput = z.input<typeof tunnelProfileSchema>;

export const KILL_SWITCH_MODES = ['off', 'on', 'lockdown'] as const;
export type KillSwitchMode = (typeof KILL_SWITCH_MODES)[number];
export const killSwitchModeSchema = z.enum(KILL_SWITCH_MODES);
export const DEFAULT_KILL_SWITCH: KillSwitchMode = 'on';

const id = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const helperRequestSchema = z.discriminatedUnion('cmd', [
  z.strictObject({ id, cmd: z.literal('hello'), token: z.string().max(256).optional(), version: z.number().int().optional() }),
  z.strictObject({
    id, cmd: z.literal('connect'), profile: tunnelProfileSchema,
    killSwitch: killSwitchModeSchema.default(DEFAULT_KILL_SWITCH),
    /** Let IPv4 reach the local networks (the subnets of this computer's other interfaces) outside the tunnel. */
    allowLan: z.boolean().default(false),
  }),
  z.strictObject({ id, cmd: z.literal('disconnect') }),
  z.strictObject({ id, cmd: z.literal('setKillSwitch'), killSwitch: killSwitchModeSchema, allowLan: z.boolean().default(false) }),
  z.strictObject({ id, cmd: z.literal('status') }),
  z.strictObject({ id, cmd: z.literal('subscribe') }),
  z.strictObject({ id, cmd: z.literal('shutdown') }),
]);
export type HelperRequest = z.output<typeof helperRequestSchema>;
/** A request as a client may write it (fields with defaults may be left out). */
export type HelperRequestInput = z.input<typeof helperRequestSchema>;
export type HelperCommand = HelperRequest['cmd'];

export interface HelloInfo {
  version: number;
  mode: 'service' | 'spawned';
  pid: number;
}

/** What every view of a tunnel's traffic has (the engine's own stats add drop reasons). */
export interface TrafficCounters {
  bytesUp: number;
  bytesDown: number;
  packetsUp: number;
  packetsDown: number;
  /** Bytes per second over the last second. */
  rateUp: number;
  rateDown: number;
  /** Milliseconds since the last heartbeat from the server (null while no tunnel is up). */
  lastHeartbeatAgoMs: number | null;
  reconnects: number;
}

export interface TunnelStatsSnapshot extends TrafficCounters {
  /** Packets not forwarded, all reasons together. */
  dropped: number;
}

/** The kill switch as it is now. */
export interface GuardStatus {
  mode: KillSwitchMode;
  allowLan: boolean;
  /** The guard table is in place (it is also listed in HelperStatus.changes). */
  active: boolean;
  /**
   * No IPv4 traffic can leave this computer now but to loopback (and the LAN with allowLan): the
   * guard is in place and no tunnel carries traffic (connecting, reconnecting; in lockdown also
   * disconnected or failed). The app says "traffic is blocked until the tunnel is back".
   */
  blocking: boolean;
}

/** What this system looks like now because of the helper. */
export interface SystemStatus {
  /**
   * Every system change in place right now, one line each ("what did it touch?"). While reconnecting
   * the tunnel's address, routes and DNS stay listed: they stay in place.
   */
  changes: string[];
  guard: GuardStatus;
}

/**
 * Who asked the helper for the current (or last) tunnel. The installed service serves every member of
 * its group, and any of them can switch or disconnect a tunnel another started: the app shows this.
 */
export interface TunnelOwner {
  uid: number;
  /** The account name; null when the helper cannot look it up. */
  user: string | null;
}

export interface HelperStatus extends SystemStatus {
  state: TunnelState;
  /** The profile of the current (or last) tunnel. */
  profileName: string | null;
  /** Who connected it (null before any connect). */
  startedBy: TunnelOwner | null;
  stats: TunnelStatsSnapshot;
}

/** The value each command answers with. */
export interface HelperResponseValues {
  hello: HelloInfo;
  connect: HelperStatus;
  disconnect: HelperStatus;
  setKillSwitch: HelperStatus;
  status: HelperStatus;
  subscribe: HelperStatus;
  shutdown: null;
}

export type HelperErrorCode =
  | 'BAD_REQUEST'      // not JSON, unknown command, invalid field, oversized
  | 'NOT_AUTHENTICATED' // hello missing or wrong token
  | 'BUSY'             // connect while a tunnel is up with another profile
  | 'INTERNAL';

export interface HelperErrorInfo {
  code: HelperErrorCode;
  message: string;
}

export type HelperResponse =
  | { id: number | null; ok: true; value: unknown }
  | { id: number | null; ok: false; error: HelperErrorInfo };

export type HelperEvent =
  | { event: 'state'; state: TunnelState; profileName: string | null; startedBy: TunnelOwner | null }
  | { event: 'stats'; stats: TunnelStatsSnapshot }
  | ({ event: 'system' } & SystemStatus)
  | { event: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; atMs: number };

export type HelperMessage = HelperResponse | HelperEvent;

/** Parses one request line; throws a HelperProtocolError with a message naming the problem. */
export function parseHelperRequest(line: string): HelperRequest {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new HelperProtocolError('BAD_REQUEST', 'message is not JSON', null);
  }
  const reqId = typeof json === 'object' && json !== null && typeof (json as { id?: unknown }).id === 'number'
    ? (json as { id: number }).id : null;
  const parsed = helperRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : 'message';
    throw new HelperProtocolError('BAD_REQUEST', `${where}: ${issue.message}`, reqId);
  }
  return parsed.data;
}

export class HelperProtocolError extends Error {
  constructor(readonly code: HelperErrorCode, message: string, readonly requestId: number | null) {
    super(message);
    this.name = 'HelperProtocolError';
  }
}

// The app's side of the root helper's socket protocol (contract/helper-api.ts).
//
// Lifecycle: connect() checks the socket is root's BEFORE connecting (a socket someone else made
// could impersonate the helper and collect profiles with their keys), connects, sends hello, and
// resolves once the helper answered it. Requests carry increasing ids; answers are matched by id,
// each request times out on its own. Events (state, stats, log) arrive after subscribe. When the
// socket closes, pending requests fail with HELPER_DISCONNECTED and a 'disconnected' event says
// why; the client never reconnects by itself (the controller decides).
//
// By hand: `sudo node dist/helper/main.js --mode spawned --allow-uid $(id -u)` (type a 64-hex token
// and Enter), then in node: `(await HelperClient.connect({ socketPath, token })).status()`.
import { EventEmitter } from 'node:events';
import { lstat } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';
import {
  HELPER_MAX_MESSAGE_BYTES, HELPER_PROTOCOL_VERSION, type HelloInfo, type HelperCommand, type HelperErrorCode,
  type HelperEvent, type HelperRequestInput, type HelperResponseValues, type KillSwitchMode, type SystemStatus, type HelperStatus, type HelperTunnelProfileInput,
  type TunnelOwner, type TunnelStatsSnapshot,
} from '../contract/helper-api';
import { VpnError, type VpnErrorCode } from '../contract/ipc-schema';
import type { TunnelState } from '../contract/tunnel-state';

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Disconnecting undoes routes and DNS first: give it longer. */
export const DISCONNECT_TIMEOUT_MS = 30_000;

export interface HelperClientOptions {
  socketPath: string;
  /** The spawned helper's token (from helper-launcher); the installed service ignores it. */
  token?: string;
  requestTimeoutMs?: number;
  /**
   * Uids that may own the socket. Default [0]. A spawned helper hands its socket to the user it
   * serves, so the launcher adds the app's own uid; either way the directory must be root's (below).
   */
  trustedOwners?: readonly number[];
  /** Uid that must own the socket's directory. Default 0; tests running unprivileged pass their own. */
  trustedDirOwner?: number;
}

export interface HelperClientEvents {
  state: [state: TunnelState, profileName: string | null, startedBy: TunnelOwner | null];
  stats: [stats: TunnelStatsSnapshot];
  log: [level: 'debug' | 'info' | 'warn' | 'error', message: string, atMs: number];
  /** What is in place on the system now (changes, kill switch), whenever it changed. */
  system: [system: SystemStatus];
  /** The connection is gone; `error` says why when it was not our own close(). */
  disconnected: [error: VpnError | null];
}

/** A helper error response, rebuilt: `code` is ours, `helperCode` the helper's. */
export class HelperRequestError extends VpnError {
  constructor(readonly command: HelperCommand, readonly helperCode: HelperErrorCode, message: string) {
    super(HELPER_CODE_MAP[helperCode] ?? 'HELPER_FAILED', `helper refused ${command}: ${message}`);
    this.name = 'HelperRequestError';
  }
}

const HELPER_CODE_MAP: Record<HelperErrorCode, VpnErrorCode> = {
  BAD_REQUEST: 'HELPER_REJECTED',
  NOT_AUTHENTICATED: 'HELPER_AUTH_FAILED',
  BUSY: 'TUNNEL_BUSY',
  INTERNAL: 'HELPER_FAILED',
};

interface Pending {
  command: HelperCommand;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

type RequestParams<C extends HelperCommand> = Omit<Extract<HelperRequestInput, { cmd: C }>, 'id' | 'cmd'>;

/**
 * Refuses a socket that root did not create: it must be a socket (not a symlink), owned by a trusted
 * uid, in a directory owned by root that nobody else can write (so nobody else can have put it there).
 */
export async function checkHelperSocket(socketPath: string, trustedOwners: readonly number[] = [0], trustedDirOwner = 0): Promise<void> {
  const refuse = (why: string, cause?: unknown) => new VpnError('HELPER_UNTRUSTED',
    `refusing to use the helper socket ${socketPath}: ${why}`, { cause });
  let sock;
  let dir;
  try {
    sock = await lstat(socketPath);
    dir = await lstat(dirname(socketPath));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new VpnError('HELPER_UNREACHABLE', `no helper socket at ${socketPath} (${code ?? (err as Error).message}); is the 4over6 helper running?`, { cause: err });
  }
  if (!sock.isSocket()) throw refuse(sock.isSymbolicLink() ? 'it is a symbolic link' : 'it is not a socket');
  if (!trustedOwners.includes(sock.uid)) throw refuse(`it is owned by uid ${sock.uid}, not by root; something other than the helper may be listening there`);
  if (!dir.isDirectory()) throw refuse(`${dirname(socketPath)} is not a directory`);
  if (dir.uid !== trustedDirOwner) throw refuse(`its directory is owned by uid ${dir.uid}, not by root`);
  if ((dir.mode & 0o022) !== 0) throw refuse(`its directory ${dirname(socketPath)} is writable by others (mode ${(dir.mode & 0o777).toString(8)})`);
}

export class HelperClient {
  private readonly emitter = new EventEmitter();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffered = '';
  private closedByUs = false;
  private closed = false;
  private protocolError: VpnError | null = null;
  /** Set once hello succeeded. */
  hello: HelloInfo | null = null;

  private constructor(private readonly socket: net.Socket, private readonly opts: HelperClientOptions) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    let lastError: Error | null = null;
    socket.on('error', (err) => (lastError = err));
    socket.on('close', () => this.onClose(lastError));
  }

  /** Checks the socket's owner, connects, and says hello. */
  static async connect(opts: HelperClientOptions): Promise<HelperClient> {
    await checkHelperSocket(opts.socketPath, opts.trustedOwners ?? [0], opts.trustedDirOwner ?? 0);
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection({ path: opts.socketPath });
      const onError = (err: Error) => reject(new VpnError('HELPER_UNREACHABLE',
        `cannot connect to the helper at ${opts.socketPath}: ${err.message}`, { cause: err }));
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        resolve(s);
      });
    });
    const client = new HelperClient(socket, opts);
    try {
      const info = await client.request('hello', { token: opts.token, version: HELPER_PROTOCOL_VERSION });
      if (info.version !== HELPER_PROTOCOL_VERSION) {
        throw new VpnError('HELPER_VERSION_MISMATCH', `the helper speaks protocol ${info.version}, the app ${HELPER_PROTOCOL_VERSION}; reinstall so both match`);
      }
      client.hello = info;
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  on<K extends keyof HelperClientEvents>(event: K, listener: (...args: HelperClientEvents[K]) => void): () => void {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return () => this.emitter.off(event, listener as (...args: unknown[]) => void);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  connectTunnel(profile: HelperTunnelProfileInput, guard: { killSwitch?: KillSwitchMode; allowLan?: boolean } = {}): Promise<HelperStatus> {
    return this.request('connect', { profile, ...guard });
  }

  /** Changes the kill switch at once, whatever the tunnel's state (lockdown blocks even while disconnected). */
  setKillSwitch(killSwitch: KillSwitchMode, allowLan: boolean): Promise<HelperStatus> {
    return this.request('setKillSwitch', { killSwitch, allowLan });
  }

  disconnectTunnel(): Promise<HelperStatus> {
    return this.request('disconnect', {}, DISCONNECT_TIMEOUT_MS);
  }

  status(): Promise<HelperStatus> {
    return this.request('status', {});
  }

  /** Starts the event stream; answers with the current status. */
  subscribe(): Promise<HelperStatus> {
    return this.request('subscribe', {});
  }

  /** Asks the helper to undo everything and exit (used for a helper we spawned). */
  shutdown(): Promise<null> {
    return this.request('shutdown', {}, DISCONNECT_TIMEOUT_MS);
  }

  close(): void {
    this.closedByUs = true;
    this.socket.destroy();
  }

  request<C extends HelperCommand>(cmd: C, params: RequestParams<C>, timeoutMs = this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS): Promise<HelperResponseValues[C]> {
    if (this.closed) return Promise.reject(new VpnError('HELPER_DISCONNECTED', `not connected to the helper; cannot send ${cmd}`));
    const id = this.nextId++;
    const line = `${JSON.stringify({ ...params, id, cmd })}\n`;
    if (Buffer.byteLength(line) > HELPER_MAX_MESSAGE_BYTES) {
      return Promise.reject(new VpnError('INTERNAL', `${cmd} request is larger than ${HELPER_MAX_MESSAGE_BYTES} bytes`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new VpnError('HELPER_TIMEOUT', `the helper did not answer ${cmd} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, { command: cmd, resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(line);
    });
  }

  // ---- input ---------------------------------------------------------------------------------------

  private onData(chunk: string): void {
    this.buffered += chunk;
    let newline: number;
    while ((newline = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      if (line.trim() !== '') this.onLine(line);
      if (this.protocolError || this.closed) return;
    }
    if (Buffer.byteLength(this.buffered) > HELPER_MAX_MESSAGE_BYTES) {
      this.fail(`a message longer than ${HELPER_MAX_MESSAGE_BYTES} bytes`);
    }
  }

  private onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.fail('a line that is not JSON');
      return;
    }
    if (typeof msg !== 'object' || msg === null) return this.fail('a message that is not an object');
    if ('event' in msg) return this.onEvent(msg as HelperEvent);
    if (!('ok' in msg) || !('id' in msg)) return this.fail(`a message that is neither a response nor an event: ${line.slice(0, 200)}`);
    const response = msg as { id: unknown; ok: unknown; value?: unknown; error?: { code?: unknown; message?: unknown } };
    // id null: the helper could not read a request; answers come in order, so it is the oldest one.
    const id = response.id === null ? this.pending.keys().next().value : response.id;
    if (typeof id !== 'number') return;
    const pending = this.pending.get(id);
    if (!pending) return; // timed out earlier: its answer is late, not wrong
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (response.ok === true) {
      pending.resolve(response.value);
    } else {
      const code = typeof response.error?.code === 'string' ? response.error.code as HelperErrorCode : 'INTERNAL';
      const message = typeof response.error?.message === 'string' ? response.error.message : 'no reason given';
      pending.reject(new HelperRequestError(pending.command, code, message));
    }
  }

  private onEvent(e: HelperEvent): void {
    switch (e.event) {
      case 'state': this.emitter.emit('state', e.state, e.profileName, e.startedBy ?? null); break;
      case 'stats': this.emitter.emit('stats', e.stats); break;
      case 'log': this.emitter.emit('log', e.level, e.message, e.atMs); break;
      case 'system': this.emitter.emit('system', { changes: e.changes, guard: e.guard }); break;
      default: break; // a newer helper's event: ignore
    }
  }

  /** The helper broke the protocol: it is not the helper we know, so stop talking to it. */
  private fail(what: string): void {
    this.protocolError = new VpnError('HELPER_PROTOCOL', `the helper sent ${what}; closing the connection`);
    this.socket.destroy();
  }

  private onClose(socketError: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    const error = this.closedByUs ? null : this.protocolError ?? new VpnError('HELPER_DISCONNECTED',
      `the connection to the helper closed${socketError ? `: ${socketError.message}` : ''}`, { cause: socketError ?? undefined });
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(error ?? new VpnError('HELPER_DISCONNECTED', `closed before the helper answered ${p.command}`));
    }
    this.pending.clear();
    this.emitter.emit('disconnected', error);
  }
}

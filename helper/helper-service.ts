// The root helper's control plane: authenticates each socket connection, parses and validates every
// request (contract/helper-api.ts), runs one tunnel engine at a time, and pushes its events to subscribers.
// Process wiring (socket file, permissions, signals) lives in helper/main.ts.
import type net from 'node:net';
import {
  HELPER_MAX_MESSAGE_BYTES, HELPER_PROTOCOL_VERSION, HelperProtocolError, type HelloInfo, type HelperErrorInfo,
  type GuardStatus, type HelperEvent, type HelperRequest, type HelperStatus, type HelperTunnelProfile, type KillSwitchMode,
  type SystemStatus, type TunnelOwner, type TunnelStatsSnapshot, parseHelperRequest,
} from '../contract/helper-api';
import { emptyStats } from '../contract/stats';
import { IDLE, type TunnelState } from '../contract/tunnel-state';
import { type Logger, RateLimitedLog } from '../log/logger';
import type { TunnelEngine, TunnelStats } from './tunnel-engine';

/** Stands, in a connection's queue, for a line that was too long to keep. */
const OVERSIZED_LINE = Symbol('oversized line');

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

export interface HelperServiceOptions {
  mode: 'service' | 'spawned';
  /** Spawned mode: the token the app wrote on our stdin; hello must carry it. */
  token: string | null;
  /** Returns null when the peer may drive the helper, else why not (logged). */
  authorize(peer: PeerCredentials): string | null;
  /** Reads the peer's credentials from the kernel (SO_PEERCRED). */
  peerOf(socket: net.Socket): PeerCredentials;
  createEngine(profile: HelperTunnelProfile): TunnelEngine;
  /** One line per system change currently in effect. */
  describeChanges(): string[];
  /** The kill switch (helper/kill-switch.ts); engines follow its mode. */
  killSwitch: KillSwitchControl;
  log: Logger;
  /** Spawned mode: called when no authenticated app has been connected for `appGoneMs`. */
  onAppGone?: () => void;
  appGoneMs?: number;
  /** The account name of a uid, for status (who started the tunnel); null when unknown. */
  userName?: (uid: number) => string | null;
  /** Called after a shutdown request was answered. */
  onShutdown?: () => void;
}

export interface KillSwitchControl {
  /** Applies the mode at once, for the tunnel's current state. */
  set(mode: KillSwitchMode, allowLan: boolean): Promise<void>;
  status(): GuardStatus;
}

/** Requests read ahead per connection; at this many, reading pauses until the helper catches up. */
export const MAX_QUEUED_REQUESTS = 16;
/** Unreadable or out-of-order lines a connection may send before hello; one more and it is closed. */
export const MAX_BAD_LINES_BEFORE_HELLO = 3;
/** Replies and events buffered for a peer that does not read: past this, no more of its requests are served. */
const MAX_UNREAD_REPLY_BYTES = 256 * 1024;
/** Events are skipped for a subscriber that has this much unread. */
const MAX_UNREAD_EVENT_BYTES = 1024 * 1024;

interface Connection {
  socket: net.Socket;
  peer: PeerCredentials;
  authenticated: boolean;
  subscribed: boolean;
  /** Complete lines read and not yet handled, oldest first (at most MAX_QUEUED_REQUESTS). */
  lines: Array<string | typeof OVERSIZED_LINE>;
  /** Text read after the last complete line taken into `lines` (may hold further lines while paused). */
  rest: string;
  /** Dropping the rest of an oversized line. */
  discarding: boolean;
  /** A request is being handled: requests are answered one after another, in order. */
  serving: boolean;
  badLinesBeforeHello: number;
  closed: boolean;
}

export class HelperService {
  private engine: TunnelEngine | null = null;
  private profileName: string | null = null;
  private lastState: TunnelState = IDLE;
  private lastStats: TunnelStatsSnapshot = emptyStats();
  private readonly connections = new Set<Connection>();
  private appGoneTimer: NodeJS.Timeout | null = null;
  private everAuthenticated = false;
  private lastSystemText = '';
  private startedBy: TunnelOwner | null = null;

  /** Lines any local process can trigger (refusals, bad input) are logged at most once a second each. */
  private readonly limited: RateLimitedLog;

  constructor(private readonly opts: HelperServiceOptions) {
    this.limited = new RateLimitedLog((msg) => opts.log.warn(msg), 1000);
  }

  /** Forwards a log line to subscribers (the helper's logger calls this). */
  publishLog(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.broadcast({ event: 'log', level, message, atMs: Date.now() });
  }

  accept(socket: net.Socket): void {
    let peer: PeerCredentials;
    try {
      peer = this.opts.peerOf(socket);
    } catch (err) {
      this.limited.event('no-credentials', `refused a connection: cannot read its credentials (${(err as Error).message})`);
      socket.destroy();
      return;
    }
    const refusal = this.opts.authorize(peer);
    if (refusal !== null) {
      this.limited.event(`refused:${peer.uid}`, `refused a connection from uid ${peer.uid} (pid ${peer.pid}): ${refusal}`);
      socket.destroy();
      return;
    }
    const c: Connection = {
      socket, peer, authenticated: false, subscribed: false, lines: [], rest: '', discarding: false, serving: false,
      badLinesBeforeHello: 0, closed: false,
    };
    this.connections.add(c);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (c.closed) return; // closing: what it still sends is dropped
      c.rest += chunk;
      this.takeLines(c);
      void this.serve(c);
    });
    socket.on('drain', () => void this.serve(c));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClosed(c));
  }

  /** Disconnects the tunnel (undoing every system change) and closes all app connections. */
  async stop(): Promise<void> {
    if (this.appGoneTimer) clearTimeout(this.appGoneTimer);
    await this.engine?.disconnect();
    for (const c of this.connections) c.socket.destroy();
  }

  status(): HelperStatus {
    return { state: this.lastState, profileName: this.profileName, startedBy: this.startedBy, stats: this.lastStats, ...this.system() };
  }

  /** Tells subscribers what is in place on the system now (call when changes or the kill switch moved). */
  publishSystem(): void {
    const system = this.system();
    const text = JSON.stringify(system);
    if (text === this.lastSystemText) return;
    this.lastSystemText = text;
    this.broadcast({ event: 'system', ...system });
  }

  private system(): SystemStatus {
    return { changes: this.opts.describeChanges(), guard: this.opts.killSwitch.status() };
  }

  // ---- input ---------------------------------------------------------------------------------------

  /**
   * Moves complete lines from `rest` into the queue, up to MAX_QUEUED_REQUESTS; at the cap, stops
   * reading the socket, so a peer that writes faster than we answer fills its own socket buffer
   * (bounded by the kernel), not our memory.
   */
  private takeLines(c: Connection): void {
    let newline: number;
    while (c.lines.length < MAX_QUEUED_REQUESTS && (newline = c.rest.indexOf('\n')) >= 0) {
      const line = c.rest.slice(0, newline);
      c.rest = c.rest.slice(newline + 1);
      if (c.discarding) {
        c.discarding = false; // the end of an oversized line: drop it
        continue;
      }
      if (line.trim() === '') continue;
      c.lines.push(line);
    }
    if (c.lines.length < MAX_QUEUED_REQUESTS && Buffer.byteLength(c.rest) > HELPER_MAX_MESSAGE_BYTES) {
      // One line longer than any request: answer once, then skip to its end.
      if (!c.discarding) c.lines.push(OVERSIZED_LINE);
      c.discarding = true;
      c.rest = '';
    }
    if (c.lines.length >= MAX_QUEUED_REQUESTS || c.socket.writableLength > MAX_UNREAD_REPLY_BYTES) c.socket.pause();
  }

  /**
   * Answers queued requests one at a time, in order. Between two requests it yields to the event loop,
   * so the tunnel's packets and other clients are served whatever this peer sends; it stops while the
   * peer leaves our replies unread, and reading resumes once the queue has room again.
   */
  private async serve(c: Connection): Promise<void> {
    if (c.serving) return;
    c.serving = true;
    try {
      while (!c.closed && c.socket.writableLength <= MAX_UNREAD_REPLY_BYTES) {
        const line = c.lines.shift();
        if (line === undefined) break;
        await this.handleLine(c, line).catch((err: Error) => {
          this.opts.log.error(`internal error handling a request: ${err.stack ?? err.message}`);
          this.reply(c, null, { code: 'INTERNAL', message: 'internal error; see the helper log' });
        });
        this.takeLines(c);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      c.serving = false;
    }
    if (!c.closed && c.lines.length < MAX_QUEUED_REQUESTS && c.socket.writableLength <= MAX_UNREAD_REPLY_BYTES) {
      c.socket.resume();
    }
  }

  /** Before hello, a peer gets a few mistakes (a client of another version); then it is closed. */
  private rejectBeforeHello(c: Connection, id: number | null, error: HelperErrorInfo): void {
    this.reply(c, id, error);
    c.badLinesBeforeHello++;
    if (c.badLinesBeforeHello >= MAX_BAD_LINES_BEFORE_HELLO) {
      this.limited.event(`bad-before-hello:${c.peer.uid}`, `closed a connection from uid ${c.peer.uid} (pid ${c.peer.pid}): ${c.badLinesBeforeHello} bad lines before hello`);
      this.close(c);
    }
  }

  /** Ends a connection after what was written to it; a peer that does not read it loses it after 2 s. */
  private close(c: Connection): void {
    c.closed = true;
    c.lines.length = 0;
    c.rest = '';
    const timer = setTimeout(() => c.socket.destroy(), 2000);
    c.socket.once('close', () => clearTimeout(timer));
    // Not destroyed as soon as our side is written: closing with the peer's bytes unread would reset
    // the connection, and the peer could lose the answers that say why. Read and drop until it closes.
    c.socket.end();
    c.socket.resume();
  }

  private async handleLine(c: Connection, line: string | typeof OVERSIZED_LINE): Promise<void> {
    if (line === OVERSIZED_LINE) {
      const error: HelperErrorInfo = { code: 'BAD_REQUEST', message: `message longer than ${HELPER_MAX_MESSAGE_BYTES} bytes` };
      if (c.authenticated) this.reply(c, null, error);
      else this.rejectBeforeHello(c, null, error);
      return;
    }
    let request: HelperRequest;
    try {
      request = parseHelperRequest(line);
    } catch (err) {
      if (!(err instanceof HelperProtocolError)) throw err;
      if (c.authenticated) this.reply(c, err.requestId, { code: err.code, message: err.message });
      else this.rejectBeforeHello(c, err.requestId, { code: err.code, message: err.message });
      return;
    }
    if (!c.authenticated) {
      if (request.cmd !== 'hello') {
        this.rejectBeforeHello(c, request.id, { code: 'NOT_AUTHENTICATED', message: 'send hello first' });
        return;
      }
      if (this.opts.mode === 'spawned' && request.token !== this.opts.token) {
        this.limited.event(`wrong-token:${c.peer.uid}`, `refused uid ${c.peer.uid} (pid ${c.peer.pid}): wrong token`);
        this.reply(c, request.id, { code: 'NOT_AUTHENTICATED', message: 'wrong token' });
        this.close(c);
        return;
      }
      c.authenticated = true;
      this.everAuthenticated = true;
      if (this.appGoneTimer) {
        clearTimeout(this.appGoneTimer);
        this.appGoneTimer = null;
      }
      const info: HelloInfo = { version: HELPER_PROTOCOL_VERSION, mode: this.opts.mode, pid: process.pid };
      this.reply(c, request.id, null, info);
      return;
    }
    switch (request.cmd) {
      case 'hello':
        this.reply(c, request.id, null, { version: HELPER_PROTOCOL_VERSION, mode: this.opts.mode, pid: process.pid });
        return;
      case 'status':
        this.reply(c, request.id, null, this.status());
        return;
      case 'subscribe':
        c.subscribed = true;
        this.reply(c, request.id, null, this.status());
        return;
      case 'connect':
        if (!(await this.setKillSwitch(c, request.id, request.killSwitch, request.allowLan))) return;
        await this.connect(request.profile, c.peer);
        this.reply(c, request.id, null, this.status());
        return;
      case 'setKillSwitch':
        if (!(await this.setKillSwitch(c, request.id, request.killSwitch, request.allowLan))) return;
        this.reply(c, request.id, null, this.status());
        return;
      case 'disconnect':
        await this.engine?.disconnect();
        this.reply(c, request.id, null, this.status());
        return;
      case 'shutdown':
        this.reply(c, request.id, null, null);
        this.opts.log.info(`shutdown requested by uid ${c.peer.uid}`);
        await this.stop();
        this.opts.onShutdown?.();
        return;
    }
  }

  private async connect(profile: HelperTunnelProfile, peer: PeerCredentials): Promise<void> {
    const owner: TunnelOwner = { uid: peer.uid, user: this.opts.userName?.(peer.uid) ?? null };
    const who = `${owner.user ?? 'uid'} (uid ${owner.uid})`;
    const kind = this.engine?.state.kind;
    if (this.engine && kind !== 'idle' && kind !== 'failed') {
      this.opts.log.info(`switching from ${this.profileName} to ${profile.name}, asked by ${who}`);
    } else {
      this.opts.log.info(`connecting to ${profile.name}, asked by ${who}`);
    }
    const previous = this.engine;
    this.engine = null;
    if (previous) {
      previous.removeAllListeners();
      await previous.disconnect();
    }
    const engine = this.opts.createEngine(profile);
    this.engine = engine;
    this.profileName = profile.name;
    this.startedBy = owner;
    engine.on('state', (state) => {
      if (this.engine !== engine) return;
      this.lastState = state;
      this.broadcast({ event: 'state', state, profileName: this.profileName, startedBy: this.startedBy });
      this.publishSystem();
    });
    engine.on('stats', (stats) => {
      if (this.engine !== engine) return;
      this.lastStats = snapshot(stats);
      this.broadcast({ event: 'stats', stats: this.lastStats });
    });
    this.lastStats = emptyStats();
    // Answer at once (state 'connecting'): progress and the outcome arrive as state events, so a
    // disconnect sent meanwhile is not stuck behind a slow connect.
    engine.connect();
  }

  /** Applies the kill switch's mode; a table that cannot be set is the request's answer (false). */
  private async setKillSwitch(c: Connection, id: number, mode: KillSwitchMode, allowLan: boolean): Promise<boolean> {
    try {
      await this.opts.killSwitch.set(mode, allowLan);
      return true;
    } catch (err) {
      this.opts.log.error(`the kill switch could not be set to ${mode}: ${(err as Error).message}`);
      this.reply(c, id, { code: 'INTERNAL', message: `the kill switch could not be set (${(err as Error).message}); is nftables installed?` });
      return false;
    } finally {
      this.publishSystem();
    }
  }

  // ---- output --------------------------------------------------------------------------------------

  private reply(c: Connection, id: number | null, error: HelperErrorInfo | null, value: unknown = null): void {
    const message = error ? { id, ok: false, error } : { id, ok: true, value };
    // Written even past the socket's high-water mark: serve() stops taking requests until it drains.
    if (!c.socket.destroyed && c.socket.writable) c.socket.write(JSON.stringify(message) + '\n');
  }

  private broadcast(event: HelperEvent): void {
    const line = JSON.stringify(event) + '\n';
    for (const c of this.connections) {
      // A subscriber that stops reading must not make the helper buffer without bound.
      if (c.subscribed && c.authenticated && !c.socket.destroyed && c.socket.writableLength < MAX_UNREAD_EVENT_BYTES) c.socket.write(line);
    }
  }

  private onClosed(c: Connection): void {
    c.closed = true;
    c.lines.length = 0;
    this.connections.delete(c);
    if (this.opts.mode !== 'spawned' || !this.everAuthenticated || !this.opts.onAppGone) return;
    if ([...this.connections].some((x) => x.authenticated)) return;
    // The app may reconnect (window reload, restart): only a lasting absence ends the tunnel.
    this.appGoneTimer = setTimeout(() => {
      this.opts.log.info('the app has been gone for good: disconnecting and exiting');
      this.opts.onAppGone?.();
    }, this.opts.appGoneMs ?? 10_000);
  }
}

function snapshot(s: TunnelStats): TunnelStatsSnapshot {
  return {
    bytesUp: s.bytesUp, bytesDown: s.bytesDown, packetsUp: s.packetsUp, packetsDown: s.packetsDown,
    rateUp: s.rateUp, rateDown: s.rateDown,
    dropped: s.droppedNotIpv4 + s.droppedBadLength + s.droppedPeerTooSlow + s.droppedTooLarge + s.droppedTunWrite + s.droppedReconnecting + s.decryptFailures,
    lastHeartbeatAgoMs: s.lastHeartbeatAgoMs, reconnects: s.reconnects,
  };
}

// The root helper's control plane: authenticates each socket connection, parses and validates every
// request (contract/helper-api.ts), runs one tunnel engine at a time, and pushes its events to subscribers.
// Process wiring (socket file, permissions, signals) lives in helper/main.ts.
import type net from 'node:net';
import {
  HELPER_MAX_MESSAGE_BYTES, HELPER_PROTOCOL_VERSION, HelperProtocolError, type HelloInfo, type HelperErrorInfo,
  type GuardStatus, type HelperEvent, type HelperRequest, type HelperStatus, type HelperTunnelProfile, type KillSwitchMode,
  type SystemStatus, type TunnelStatsSnapshot, parseHelperRequest,
} from '../contract/helper-api';
import { emptyStats } from '../contract/stats';
import { IDLE, type TunnelState } from '../contract/tunnel-state';
import type { Logger } from '../log/logger';
import type { TunnelEngine, TunnelStats } from './tunnel-engine';

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
  /** Called after a shutdown request was answered. */
  onShutdown?: () => void;
}

export interface KillSwitchControl {
  /** Applies the mode at once, for the tunnel's current state. */
  set(mode: KillSwitchMode, allowLan: boolean): Promise<void>;
  status(): GuardStatus;
}

interface Connection {
  socket: net.Socket;
  peer: PeerCredentials;
  authenticated: boolean;
  subscribed: boolean;
  buffered: string;
  /** Dropping the rest of an oversized line. */
  discarding: boolean;
  /** Requests are answered in order: each waits for the one before. */
  queue: Promise<void>;
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

  constructor(private readonly opts: HelperServiceOptions) {}

  /** Forwards a log line to subscribers (the helper's logger calls this). */
  publishLog(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.broadcast({ event: 'log', level, message, atMs: Date.now() });
  }

  accept(socket: net.Socket): void {
    let peer: PeerCredentials;
    try {
      peer = this.opts.peerOf(socket);
    } catch (err) {
      this.opts.log.warn(`refused a connection: cannot read its credentials (${(err as Error).message})`);
      socket.destroy();
      return;
    }
    const refusal = this.opts.authorize(peer);
    if (refusal !== null) {
      this.opts.log.warn(`refused a connection from uid ${peer.uid} (pid ${peer.pid}): ${refusal}`);
      socket.destroy();
      return;
    }
    const c: Connection = { socket, peer, authenticated: false, subscribed: false, buffered: '', discarding: false, queue: Promise.resolve() };
    this.connections.add(c);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(c, chunk));
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
    return { state: this.lastState, profileName: this.profileName, stats: this.lastStats, ...this.system() };
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

  private onData(c: Connection, chunk: string): void {
    let text = c.buffered + chunk;
    c.buffered = '';
    let newline: number;
    while ((newline = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, newline);
      text = text.slice(newline + 1);
      if (c.discarding) {
        c.discarding = false; // the end of an oversized line: drop it
        continue;
      }
      if (Buffer.byteLength(line) > HELPER_MAX_MESSAGE_BYTES) {
        this.reply(c, null, { code: 'BAD_REQUEST', message: `message longer than ${HELPER_MAX_MESSAGE_BYTES} bytes` });
        continue;
      }
      if (line.trim() === '') continue;
      this.enqueue(c, line);
    }
    if (Buffer.byteLength(text) > HELPER_MAX_MESSAGE_BYTES) {
      if (!c.discarding) this.reply(c, null, { code: 'BAD_REQUEST', message: `message longer than ${HELPER_MAX_MESSAGE_BYTES} bytes` });
      c.discarding = true;
      text = '';
    }
    c.buffered = c.discarding ? '' : text;
  }

  private enqueue(c: Connection, line: string): void {
    c.queue = c.queue.then(() => this.handleLine(c, line)).catch((err: Error) => {
      this.opts.log.error(`internal error handling a request: ${err.stack ?? err.message}`);
      this.reply(c, null, { code: 'INTERNAL', message: 'internal error; see the helper log' });
    });
  }

  private async handleLine(c: Connection, line: string): Promise<void> {
    let request: HelperRequest;
    try {
      request = parseHelperRequest(line);
    } catch (err) {
      if (!(err instanceof HelperProtocolError)) throw err;
      this.reply(c, err.requestId, { code: err.code, message: err.message });
      return;
    }
    if (!c.authenticated) {
      if (request.cmd !== 'hello') {
        this.reply(c, request.id, { code: 'NOT_AUTHENTICATED', message: 'send hello first' });
        return;
      }
      if (this.opts.mode === 'spawned' && request.token !== this.opts.token) {
        this.opts.log.warn(`refused uid ${c.peer.uid} (pid ${c.peer.pid}): wrong token`);
        this.reply(c, request.id, { code: 'NOT_AUTHENTICATED', message: 'wrong token' });
        c.socket.end();
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
        await this.opts.killSwitch.set(request.killSwitch, request.allowLan);
        await this.connect(request.profile);
        this.reply(c, request.id, null, this.status());
        return;
      case 'setKillSwitch':
        await this.opts.killSwitch.set(request.killSwitch, request.allowLan);
        this.publishSystem();
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

  private async connect(profile: HelperTunnelProfile): Promise<void> {
    const kind = this.engine?.state.kind;
    if (this.engine && kind !== 'idle' && kind !== 'failed') {
      this.opts.log.info(`switching from ${this.profileName} to ${profile.name}`);
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
    engine.on('state', (state) => {
      if (this.engine !== engine) return;
      this.lastState = state;
      this.broadcast({ event: 'state', state, profileName: this.profileName });
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

  // ---- output --------------------------------------------------------------------------------------

  private reply(c: Connection, id: number | null, error: HelperErrorInfo | null, value: unknown = null): void {
    const message = error ? { id, ok: false, error } : { id, ok: true, value };
    if (!c.socket.destroyed) c.socket.write(JSON.stringify(message) + '\n');
  }

  private broadcast(event: HelperEvent): void {
    const line = JSON.stringify(event) + '\n';
    for (const c of this.connections) {
      // A subscriber that stops reading must not make the helper buffer without bound.
      if (c.subscribed && c.authenticated && !c.socket.destroyed && c.socket.writableLength < 1024 * 1024) c.socket.write(line);
    }
  }

  private onClosed(c: Connection): void {
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
    dropped: s.droppedNotIpv4 + s.droppedBadLength + s.droppedPeerTooSlow + s.droppedTooLarge + s.droppedTunWrite + s.decryptFailures,
    lastHeartbeatAgoMs: s.lastHeartbeatAgoMs, reconnects: s.reconnects,
  };
}

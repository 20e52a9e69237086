// A stand-in for the root helper in tests: a net.Server on a Unix socket speaking contract/helper-api.ts.
// Every request the app sends is parsed with the contract's own parser, so a request the real helper
// would refuse fails here too. Behaviour per command can be overridden; events are sent on demand.
import { unlinkSync } from 'node:fs';
import net from 'node:net';
import {
  type GuardStatus, HELPER_PROTOCOL_VERSION, HelperProtocolError, type HelperCommand, type HelperEvent, type HelperRequest, type HelperStatus,
  type TunnelOwner, type TunnelStatsSnapshot, parseHelperRequest,
} from '../../contract/helper-api';
import { IDLE, type LeaseInfo, type TunnelState } from '../../contract/tunnel-state';

export type FakeReply = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } } | 'silent';

export interface FakeHelperOptions {
  socketPath: string;
  /** Spawned mode: hello must carry this token. */
  token?: string | null;
  mode?: 'service' | 'spawned';
}

export const FAKE_LEASE: LeaseInfo = { address: '10.8.0.2', prefixLength: 24, route: '10.8.0.0', dns: ['10.8.0.1'], tunName: '4over6', mtu: 1500 };

export function stats(partial: Partial<TunnelStatsSnapshot> = {}): TunnelStatsSnapshot {
  return { bytesUp: 0, bytesDown: 0, packetsUp: 0, packetsDown: 0, rateUp: 0, rateDown: 0, dropped: 0, lastHeartbeatAgoMs: null, reconnects: 0, ...partial };
}

export class FakeHelper {
  readonly received: HelperRequest[] = [];
  readonly connections = new Set<net.Socket>();
  /** Overrides: return a reply, or 'silent' to never answer. */
  readonly overrides: Partial<Record<HelperCommand, (req: HelperRequest) => FakeReply | Promise<FakeReply>>> = {};
  state: TunnelState = IDLE;
  profileName: string | null = null;
  startedBy: TunnelOwner | null = null;
  changes: string[] = [];
  guard: GuardStatus = { mode: 'on', allowLan: false, active: false, blocking: false };

  private constructor(private readonly server: net.Server, private readonly opts: FakeHelperOptions) {}

  static async start(opts: FakeHelperOptions): Promise<FakeHelper> {
    const server = net.createServer();
    const fake = new FakeHelper(server, opts);
    server.on('connection', (s) => fake.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.socketPath, resolve);
    });
    return fake;
  }

  status(): HelperStatus {
    return { state: this.state, profileName: this.profileName, startedBy: this.startedBy, stats: stats(), changes: this.changes, guard: this.guard };
  }

  /** Sends an event to every connection that subscribed. */
  emit(event: HelperEvent): void {
    for (const s of this.connections) if ((s as net.Socket & { subscribed?: boolean }).subscribed) s.write(`${JSON.stringify(event)}\n`);
  }

  setState(state: TunnelState, profileName = this.profileName): void {
    this.state = state;
    this.profileName = profileName;
    this.emit({ event: 'state', state, profileName, startedBy: this.startedBy });
  }

  /** Writes raw text to every connection (protocol-breaking tests). */
  writeRaw(text: string): void {
    for (const s of this.connections) s.write(text);
  }

  dropConnections(): void {
    for (const s of this.connections) s.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      unlinkSync(this.opts.socketPath);
    } catch {
      // already gone
    }
  }

  private accept(socket: net.Socket & { subscribed?: boolean; authenticated?: boolean }): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    let queue = Promise.resolve();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        queue = queue.then(() => this.handle(socket, line));
      }
    });
  }

  private async handle(socket: net.Socket & { subscribed?: boolean; authenticated?: boolean }, line: string): Promise<void> {
    let req: HelperRequest;
    try {
      req = parseHelperRequest(line);
    } catch (err) {
      const e = err as HelperProtocolError;
      socket.write(`${JSON.stringify({ id: e.requestId, ok: false, error: { code: e.code, message: e.message } })}\n`);
      return;
    }
    this.received.push(req);
    const reply = await (this.overrides[req.cmd]?.(req) ?? this.defaultReply(socket, req));
    if (reply === 'silent') return;
    if (!socket.destroyed) socket.write(`${JSON.stringify({ id: req.id, ...reply })}\n`);
    if (req.cmd === 'shutdown') socket.end();
  }

  private defaultReply(socket: net.Socket & { subscribed?: boolean; authenticated?: boolean }, req: HelperRequest): FakeReply {
    if (req.cmd === 'hello') {
      if (this.opts.token && req.token !== this.opts.token) return { ok: false, error: { code: 'NOT_AUTHENTICATED', message: 'wrong token' } };
      socket.authenticated = true;
      return { ok: true, value: { version: HELPER_PROTOCOL_VERSION, mode: this.opts.mode ?? 'service', pid: process.pid } };
    }
    if (!socket.authenticated) return { ok: false, error: { code: 'NOT_AUTHENTICATED', message: 'send hello first' } };
    switch (req.cmd) {
      case 'subscribe':
        socket.subscribed = true;
        return { ok: true, value: this.status() };
      case 'status':
        return { ok: true, value: this.status() };
      case 'connect':
        // Like the real helper: answer "connecting" at once, report progress as events.
        this.state = { kind: 'connecting', server: req.profile.server, phase: 'resolving', attempt: 1, serverAddress: null, onLoss: 'reconnect', held: null };
        this.guard = { ...this.guard, mode: req.killSwitch, allowLan: req.allowLan };
        this.profileName = req.profile.name;
        this.startedBy = { uid: process.getuid?.() ?? 0, user: 'tester' };
        return { ok: true, value: this.status() };
      case 'disconnect':
        this.state = IDLE;
        this.changes = [];
        return { ok: true, value: this.status() };
      case 'setKillSwitch':
        this.guard = { mode: req.killSwitch, allowLan: req.allowLan, active: req.killSwitch === 'lockdown', blocking: req.killSwitch === 'lockdown' };
        return { ok: true, value: this.status() };
      case 'shutdown':
        return { ok: true, value: null };
    }
  }
}

#!/usr/bin/env node
// Load generator for the gateway scale benchmark (bench/scale-bench.ts): many protocol sessions from one
// process, no TUN. Speaks the wire protocol with our protocol/ modules only.
//
//   node dist/bench/loadgen.js --server <ipv6> [--port 5555] [--pk <uuid>] sessions <N> hold <S>
//   node dist/bench/loadgen.js --server <ipv6> [--port 5555] [--pk <uuid>] push <N> <S>
//   node dist/bench/loadgen.js --server <ipv6> [--port 5555] [--pk <uuid>] steady <N> <S>
//
// sessions: opens N sessions (at most --concurrency handshakes in flight), each sends an IP request and
// records its lease; holds them S seconds after the last lease, sending a heartbeat every --heartbeat
// seconds so none is evicted.
// push: opens N sessions the same way, then each writes type-102 frames as fast as its socket accepts for
// S seconds: batches of --batch frames per write, waiting for 'drain' whenever write() says so. Every frame
// holds one valid IPv4/UDP packet of --packet-bytes bytes (default 1000, IP header included) from the
// session's lease to --dst (default 198.18.255.254: never leased, inside the gateway TUN's /16).
// With --pk every frame is sealed (type 200). In push mode each session seals its batch once and writes
// the same sealed bytes again and again: the gateway does not check nonce reuse, so the load generator's
// CPU stays out of the measurement (the gateway still decrypts every frame).
// steady: opens N sessions the same way, then each sends one ICMP echo request (--packet-bytes, default
// 100 in this mode) to --dst every --interval-ms for S seconds, and counts the echo replies: what a soak
// needs from well-behaved clients. A leased session that closes prints {"event":"lost",...} at once, and
// every 10 s a {"event":"progress",...} line counts what was sent and received.
// --bind <ipv6>[,<ipv6>...]: the local address(es) connections come from, in turn (a namespace may hold several).
//
// Everything that arrives is parsed and discarded (type 101 parsed for the lease). stdout carries one JSON
// object per line: {"event":"ready",...} once every session has its lease (or gave up), then
// {"event":"result",...}. Diagnostics go to stderr.
import net from 'node:net';
import { FrameCipher, parseUuid } from '../protocol/crypto';
import { EMPTY, FrameReader, MessageType, encodeFrame } from '../protocol/frame';
import { isIPv4, parseIpResponse } from '../protocol/messages';

interface Options {
  server: string;
  port: number;
  pk: string | null;
  concurrency: number;
  heartbeatS: number;
  batch: number;
  packetBytes: number;
  dst: string;
  leaseTimeoutS: number;
  bind: string[];
  intervalMs: number;
  mode: 'sessions' | 'push' | 'steady';
  sessions: number;
  seconds: number;
}

const USAGE = `usage: loadgen.js --server <ipv6> [--port 5555] [--pk <uuid>] [--concurrency 128] [--heartbeat 5]
                  [--batch 32] [--packet-bytes 1000] [--dst 198.18.255.254] [--lease-timeout 30]
                  [--bind <ipv6>[,<ipv6>...]] [--interval-ms 100]
                  (sessions <N> hold <S> | push <N> <S> | steady <N> <S>)`;

function parseArgs(argv: string[]): Options {
  const o: Options = {
    server: '', port: 5555, pk: null, concurrency: 128, heartbeatS: 5, batch: 32, packetBytes: 1000,
    dst: '198.18.255.254', leaseTimeoutS: 30, bind: [], intervalMs: 100, mode: 'sessions', sessions: 0, seconds: 0,
  };
  let packetBytesGiven = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (min: number, max: number): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${a}: expected an integer ${min}-${max}`);
      return n;
    };
    switch (a) {
      case '--server': o.server = value().replace(/^\[|\]$/g, ''); break;
      case '--port': o.port = int(1, 65535); break;
      case '--pk': o.pk = value(); break;
      case '--concurrency': o.concurrency = int(1, 100_000); break;
      case '--heartbeat': o.heartbeatS = int(1, 3600); break;
      case '--batch': o.batch = int(1, 1024); break;
      case '--packet-bytes': o.packetBytes = int(28, 2003); packetBytesGiven = true; break;
      case '--dst': o.dst = value(); break;
      case '--lease-timeout': o.leaseTimeoutS = int(1, 3600); break;
      case '--bind': o.bind = value().split(',').map((b) => b.replace(/^\[|\]$/g, '')); break;
      case '--interval-ms': o.intervalMs = int(1, 3_600_000); break;
      default: rest.push(a);
    }
  }
  if (!net.isIPv6(o.server)) throw new Error('--server: expected an IPv6 address');
  if (!o.bind.every((b) => net.isIPv6(b))) throw new Error('--bind: expected IPv6 addresses');
  if (!isIPv4(o.dst)) throw new Error('--dst: expected an IPv4 address');
  const count = (s: string | undefined, what: string, max: number): number => {
    const n = Number(s);
    if (s === undefined || !Number.isInteger(n) || n < 1 || n > max) throw new Error(`${what}: expected an integer 1-${max}`);
    return n;
  };
  if (rest[0] === 'sessions' && rest[2] === 'hold' && rest.length === 4) {
    o.mode = 'sessions';
    o.sessions = count(rest[1], 'sessions N', 1_000_000);
    o.seconds = count(rest[3], 'hold S', 86_400);
  } else if ((rest[0] === 'push' || rest[0] === 'steady') && rest.length === 3) {
    o.mode = rest[0];
    o.sessions = count(rest[1], `${rest[0]} N`, 1_000_000);
    o.seconds = count(rest[2], `${rest[0]} S`, 86_400);
    if (o.mode === 'steady' && !packetBytesGiven) o.packetBytes = 100;
  } else {
    throw new Error(`unexpected arguments: ${rest.join(' ') || '(none)'}`);
  }
  if (o.pk && o.packetBytes + 5 > 2008) throw new Error('--packet-bytes: at most 2003 when encrypting');
  return o;
}

function ipv4ToInt(text: string): number {
  const [a, b, c, d] = text.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** One IPv4/UDP packet of `total` bytes, src -> dst, UDP port 40000 -> 9 (discard), header checksum set. */
export function buildUdpPacket(src: number, dst: number, total: number, id = 0): Buffer {
  const p = Buffer.alloc(total);
  p[0] = 0x45; // version 4, IHL 5
  p.writeUInt16BE(total, 2);
  p.writeUInt16BE(id & 0xffff, 4);
  p.writeUInt16BE(0x4000, 6); // DF
  p[8] = 64; // TTL
  p[9] = 17; // UDP
  p.writeUInt32BE(src >>> 0, 12);
  p.writeUInt32BE(dst >>> 0, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += p.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  p.writeUInt16BE(~sum & 0xffff, 10);
  p.writeUInt16BE(40000, 20);
  p.writeUInt16BE(9, 22);
  p.writeUInt16BE(total - 20, 24);
  // UDP checksum 0: "none", allowed over IPv4.
  return p;
}

/** One ICMP echo request of `total` bytes (IP header included), src -> dst, header checksums set. */
export function buildIcmpEcho(src: number, dst: number, total: number, id: number, seq: number): Buffer {
  const p = Buffer.alloc(total);
  p[0] = 0x45;
  p.writeUInt16BE(total, 2);
  p.writeUInt16BE(seq & 0xffff, 4);
  p[8] = 64;
  p[9] = 1; // ICMP
  p.writeUInt32BE(src >>> 0, 12);
  p.writeUInt32BE(dst >>> 0, 16);
  p.writeUInt16BE(checksum(p, 0, 20), 10);
  p[20] = 8; // echo request
  p.writeUInt16BE(id & 0xffff, 24);
  p.writeUInt16BE(seq & 0xffff, 26);
  p.writeUInt16BE(checksum(p, 20, total), 22);
  return p;
}

function checksum(p: Buffer, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i + 1 < to; i += 2) sum += p.readUInt16BE(i);
  if ((to - from) % 2 === 1) sum += p[to - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

class Session {
  lease: string | null = null;
  leasedAtMs = 0;
  closed = false;
  closeReason = '';
  framesIn = 0;
  heartbeatsIn = 0;
  dataDownIn = 0;
  framesPushed = 0;
  bytesPushed = 0;
  drainWaits = 0;
  echoSent = 0;
  echoRepliesIn = 0;
  /** Called once when the session closes, with its reason. */
  onClose: ((s: Session) => void) | null = null;
  private echoTimer: NodeJS.Timeout | null = null;
  private readonly reader = new FrameReader();
  private readonly scratch = Buffer.allocUnsafe(2100);
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private leaseWaiter: ((ok: boolean) => void) | null = null;
  private pushing = false;
  private pushDone: (() => void) | null = null;

  constructor(readonly index: number, readonly socket: net.Socket, private readonly cipher: FrameCipher | null) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('closed by server'));
  }

  /** Resolves true once leased, false if the socket closed first. */
  waitForLease(): Promise<boolean> {
    if (this.lease) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => (this.leaseWaiter = resolve));
  }

  send(frame: Buffer): boolean {
    if (this.closed) return false;
    return this.socket.write(this.cipher ? this.cipher.seal(frame) : frame);
  }

  startHeartbeats(intervalMs: number): void {
    // Stagger the first one so N sessions do not all fire in the same tick.
    const first = setTimeout(() => {
      this.send(encodeFrame(MessageType.Heartbeat, EMPTY));
      this.heartbeatTimer = setInterval(() => this.send(encodeFrame(MessageType.Heartbeat, EMPTY)), intervalMs);
    }, Math.floor(Math.random() * intervalMs));
    this.heartbeatTimer = first;
  }

  /**
   * Writes `batch` (whole frames) again and again until `until` (ms since epoch), respecting backpressure.
   * Resolves at `until` even while waiting for 'drain', or when the session closes.
   */
  push(batch: Buffer, framesPerBatch: number, until: number): Promise<void> {
    this.pushing = true;
    return new Promise((resolve) => {
      const finish = (): void => {
        if (this.pushDone === null) return;
        this.pushDone = null;
        this.pushing = false;
        clearTimeout(deadline);
        this.socket.off('drain', step);
        resolve();
      };
      this.pushDone = finish;
      const deadline = setTimeout(finish, Math.max(0, until - Date.now()));
      const step = (): void => {
        if (this.closed || !this.pushing || Date.now() >= until) {
          finish();
          return;
        }
        // A few writes per turn, then yield so the other sessions and the heartbeats get their turn.
        for (let i = 0; i < 8; i++) {
          const more = this.socket.write(batch);
          this.framesPushed += framesPerBatch;
          this.bytesPushed += batch.length;
          if (!more) {
            this.drainWaits++;
            this.socket.once('drain', step);
            return;
          }
        }
        setImmediate(step);
      };
      step();
    });
  }

  /** Sends an echo request to dst every intervalMs (the first at a random point of the first interval). */
  startEchoes(dst: number, total: number, intervalMs: number): void {
    const src = ipv4ToInt(this.lease as string);
    const sendOne = (): void => {
      this.echoSent++;
      this.send(encodeFrame(MessageType.DataUp, buildIcmpEcho(src, dst, total, this.index, this.echoSent)));
    };
    this.echoTimer = setTimeout(() => {
      sendOne();
      this.echoTimer = setInterval(sendOne, intervalMs);
    }, Math.floor(Math.random() * intervalMs));
  }

  stopEchoes(): void {
    if (this.echoTimer) {
      clearTimeout(this.echoTimer);
      clearInterval(this.echoTimer);
      this.echoTimer = null;
    }
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.stopEchoes();
    if (this.heartbeatTimer) {
      clearTimeout(this.heartbeatTimer);
      clearInterval(this.heartbeatTimer);
    }
    this.socket.destroy();
    this.leaseWaiter?.(false);
    this.leaseWaiter = null;
    this.pushDone?.();
    this.onClose?.(this);
  }

  private onData(chunk: Buffer): void {
    try {
      this.reader.pushEach(chunk, this.onFrame);
    } catch (err) {
      process.stderr.write(`session ${this.index}: ${(err as Error).message}\n`);
      this.close(`bad input: ${(err as Error).message}`);
    }
  }

  private readonly onFrame = (type: number, payload: Buffer): void => {
    this.framesIn++;
    if (type === MessageType.Encrypted && this.cipher) {
      const inner = this.cipher.open(payload, this.scratch);
      this.handle(inner[4], inner.subarray(5));
      return;
    }
    this.handle(type, payload);
  };

  private handle(type: number, payload: Buffer): void {
    switch (type) {
      case MessageType.IpResponse: {
        if (this.lease) return; // answers to resent requests
        this.lease = parseIpResponse(payload).address;
        this.leasedAtMs = Date.now();
        this.leaseWaiter?.(true);
        this.leaseWaiter = null;
        return;
      }
      case MessageType.Heartbeat:
        this.heartbeatsIn++;
        return;
      case MessageType.DataDown:
        this.dataDownIn++;
        if (payload.length >= 21 && payload[9] === 1 && payload[20] === 0) this.echoRepliesIn++; // ICMP echo reply
        return;
      case MessageType.Unsupported:
        process.stderr.write(`session ${this.index}: server answered 199 (unsupported)\n`);
        return;
      default:
        return;
    }
  }
}

function connect(o: Options, index: number, cipher: FrameCipher | null): Promise<Session> {
  return new Promise((resolve) => {
    const socket = net.connect({
      host: o.server, port: o.port, writableHighWaterMark: 256 * 1024,
      ...(o.bind.length > 0 ? { localAddress: o.bind[index % o.bind.length] } : {}),
    } as net.NetConnectOpts);
    const s = new Session(index, socket, cipher);
    socket.once('connect', () => resolve(s));
    socket.once('close', () => resolve(s));
  });
}

/** Opens a session and waits for its lease, resending the IP request every 3 s (protocol.md). */
async function openSession(o: Options, index: number, cipher: FrameCipher | null): Promise<Session> {
  const s = await connect(o, index, cipher);
  if (s.closed) return s;
  const request = encodeFrame(MessageType.IpRequest, EMPTY);
  s.send(request);
  const resend = setInterval(() => s.send(request), 3000);
  const timeout = setTimeout(() => s.close('no lease in time'), o.leaseTimeoutS * 1000);
  await s.waitForLease();
  clearInterval(resend);
  clearTimeout(timeout);
  return s;
}

async function openAll(o: Options, cipher: FrameCipher | null): Promise<Session[]> {
  const sessions: Session[] = new Array(o.sessions);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.sessions) {
      const i = next++;
      sessions[i] = await openSession(o, i, cipher);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.sessions) }, worker));
  return sessions;
}

function out(obj: object): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function summary(sessions: Session[]) {
  const leases = sessions.filter((s) => s.lease !== null).map((s) => s.lease as string);
  const reasons: Record<string, number> = {};
  for (const s of sessions) if (s.closed) reasons[s.closeReason] = (reasons[s.closeReason] ?? 0) + 1;
  return {
    leased: leases.length,
    distinctLeases: new Set(leases).size,
    open: sessions.filter((s) => !s.closed).length,
    closedReasons: reasons,
    heartbeatsIn: sessions.reduce((a, s) => a + s.heartbeatsIn, 0),
    dataDownIn: sessions.reduce((a, s) => a + s.dataDownIn, 0),
    echoSent: sessions.reduce((a, s) => a + s.echoSent, 0),
    echoRepliesIn: sessions.reduce((a, s) => a + s.echoRepliesIn, 0),
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const cipher = o.pk ? new FrameCipher(parseUuid(o.pk)) : null;
  const t0 = Date.now();
  const sessions = await openAll(o, cipher);
  const leasedMs = Date.now() - t0;
  for (const s of sessions) if (!s.closed) s.startHeartbeats(o.heartbeatS * 1000);
  out({ event: 'ready', mode: o.mode, sessions: o.sessions, leasedMs, ...summary(sessions), t: Date.now() });

  let pushed: object = {};
  if (o.mode === 'sessions') {
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
  } else if (o.mode === 'steady') {
    const dst = ipv4ToInt(o.dst);
    const live = sessions.filter((s) => s.lease !== null && !s.closed);
    for (const s of live) {
      s.onClose = (lost) => out({ event: 'lost', index: lost.index, lease: lost.lease, reason: lost.closeReason, t: Date.now() });
      s.startEchoes(dst, o.packetBytes, o.intervalMs);
    }
    const progress = setInterval(() => out({ event: 'progress', ...summary(sessions), t: Date.now() }), 10_000);
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    clearInterval(progress);
    for (const s of live) {
      s.stopEchoes();
      s.onClose = null;
    }
  } else {
    const dst = ipv4ToInt(o.dst);
    const live = sessions.filter((s) => s.lease !== null && !s.closed);
    const start = Date.now();
    const until = start + o.seconds * 1000;
    const cpu0 = process.cpuUsage();
    await Promise.all(live.map((s) => {
      const packet = buildUdpPacket(ipv4ToInt(s.lease as string), dst, o.packetBytes, s.index);
      const frame = encodeFrame(MessageType.DataUp, packet);
      // Sealed frames differ (fresh nonce each); plain ones are identical copies.
      const frames = Array.from({ length: o.batch }, () => (cipher ? cipher.seal(frame) : frame));
      return s.push(Buffer.concat(frames), o.batch, until);
    }));
    const elapsedS = (Date.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const frames = live.reduce((a, s) => a + s.framesPushed, 0);
    pushed = {
      pushSessions: live.length,
      packetBytes: o.packetBytes,
      batch: o.batch,
      elapsedS,
      framesPushed: frames,
      framesPerSecond: frames / elapsedS,
      perSessionFrames: live.map((s) => s.framesPushed),
      drainWaits: live.reduce((a, s) => a + s.drainWaits, 0),
      stillQueuedBytes: live.reduce((a, s) => a + s.socket.writableLength, 0),
      loadgenCpuS: (cpu.user + cpu.system) / 1e6,
    };
  }
  out({ event: 'result', mode: o.mode, sessions: o.sessions, leasedMs, ...summary(sessions), ...pushed, t: Date.now() });
  for (const s of sessions) s.close('done');
}

if (require.main === module) {
  main().then(() => process.exit(0), (err) => {
    process.stderr.write(`loadgen: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  });
}

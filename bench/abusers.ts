#!/usr/bin/env node
// Abusive connections that come and go, for the gateway soak (bench/soak.ts). Raw bytes, our protocol/
// modules only. Runs until --seconds have passed, each kind in its own loop(s), every connection from one
// of the --bind addresses in turn:
//
//   slowloris  --slowloris N   connections that announce a 2053-byte frame and trickle one byte of it every
//                              10 s; each is dialled again 1 s after the gateway closes it
//   idle       --idle N        connections that send nothing; dialled again when closed
//   garbage    --garbage N     loops: connect, 4 KiB of random bytes, wait for the close (5 s at most), again
//   flood      --flood N       loops: connect, send sealed IP requests as fast as the socket takes them and
//                              never read, for 20 s; close; again 2 s later
//   non-reading --non-reading N  real clients: lease an address, then send 200 ICMP echo requests a second
//                              to --dst and never read the replies; dialled again when closed
//   wrong-key  --wrong-key N   loops: connect, frames sealed with another key every 50 ms, until closed
//
// stdout: one JSON line every 10 s, {"event":"abuse", <kind>: {opened, refused, closedByServer, ...}}, and
// {"event":"done",...} at the end. `--pk` is the gateway's key (flood and non-reading use it: an
// authenticated client can abuse too); without it they speak plaintext.
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { FrameCipher, parseUuid } from '../protocol/crypto';
import { EMPTY, FrameReader, MAX_FRAME_BYTES, MessageType, encodeFrame } from '../protocol/frame';
import { parseIpResponse } from '../protocol/messages';
import { buildIcmpEcho } from './loadgen';

interface Options {
  server: string;
  port: number;
  pk: string | null;
  bind: string[];
  dst: string;
  seconds: number;
  counts: Record<Kind, number>;
}

const KINDS = ['slowloris', 'idle', 'garbage', 'flood', 'non-reading', 'wrong-key'] as const;
type Kind = (typeof KINDS)[number];

interface KindStats {
  /** TCP connections established. */
  opened: number;
  /** Connections the gateway refused or reset before they were open, or that failed to connect. */
  failed: number;
  /** Open connections the gateway closed. */
  closedByServer: number;
  /** Connections open right now. */
  open: number;
  bytesSent: number;
  /** non-reading: addresses leased. */
  leased: number;
}

const USAGE = `usage: abusers.js --server <ipv6> [--port 5555] [--pk <uuid>] --bind <ipv6>[,<ipv6>...] [--dst 198.18.0.1]
                  --seconds S [--slowloris N] [--idle N] [--garbage N] [--flood N] [--non-reading N] [--wrong-key N]`;

function parseArgs(argv: string[]): Options {
  const o: Options = {
    server: '', port: 5555, pk: null, bind: [], dst: '198.18.0.1', seconds: 0,
    counts: { slowloris: 0, idle: 0, garbage: 0, flood: 0, 'non-reading': 0, 'wrong-key': 0 },
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new Error(`${a}: expected a whole number 0-100000`);
      return n;
    };
    const kind = KINDS.find((k) => a === `--${k}`);
    if (kind) o.counts[kind] = int();
    else if (a === '--server') o.server = value();
    else if (a === '--port') o.port = int();
    else if (a === '--pk') o.pk = value();
    else if (a === '--bind') o.bind = value().split(',');
    else if (a === '--dst') o.dst = value();
    else if (a === '--seconds') o.seconds = int();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!net.isIPv6(o.server)) throw new Error('--server: expected an IPv6 address');
  if (o.bind.length === 0 || !o.bind.every((b) => net.isIPv6(b))) throw new Error('--bind: expected IPv6 addresses');
  if (o.seconds < 1) throw new Error('--seconds: expected at least 1');
  return o;
}

const stats = Object.fromEntries(KINDS.map((k) => [k, { opened: 0, failed: 0, closedByServer: 0, open: 0, bytesSent: 0, leased: 0 }])) as Record<Kind, KindStats>;
let stopping = false;
let nextBind = 0;
const sockets = new Set<net.Socket>();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Opens one connection of `kind`; resolves with the socket once open, or null if it never opened. */
function dial(o: Options, kind: Kind): Promise<net.Socket | null> {
  const st = stats[kind];
  return new Promise((resolve) => {
    const localAddress = o.bind[nextBind++ % o.bind.length];
    const s = net.connect({ host: o.server, port: o.port, localAddress, noDelay: true });
    sockets.add(s);
    let opened = false;
    s.on('error', () => undefined);
    s.once('connect', () => {
      opened = true;
      st.opened++;
      st.open++;
      resolve(s);
    });
    s.once('close', () => {
      sockets.delete(s);
      if (opened) {
        st.open--;
        if (!stopping) st.closedByServer++;
      } else {
        st.failed++;
        resolve(null);
      }
    });
  });
}

function closed(s: net.Socket): Promise<void> {
  return s.destroyed ? Promise.resolve() : new Promise((resolve) => s.once('close', () => resolve()));
}

function write(kind: Kind, s: net.Socket, bytes: Buffer): boolean {
  stats[kind].bytesSent += bytes.length;
  return s.write(bytes);
}

/** Runs `body` again and again until the end (pausing 200 ms after a connection that never opened). */
async function loop(o: Options, kind: Kind, body: (s: net.Socket) => Promise<void>, pauseMs: number): Promise<void> {
  while (!stopping) {
    const s = await dial(o, kind);
    if (s) await body(s);
    if (!stopping) await sleep(s ? pauseMs : 200);
  }
}

async function slowloris(o: Options): Promise<void> {
  const header = encodeFrame(MessageType.DataUp, Buffer.alloc(MAX_FRAME_BYTES - 5)).subarray(0, 5); // announces 2053 bytes
  await loop(o, 'slowloris', async (s) => {
    write('slowloris', s, header);
    const timer = setInterval(() => write('slowloris', s, Buffer.from([0x45])), 10_000);
    await closed(s);
    clearInterval(timer);
  }, 1000);
}

async function idle(o: Options): Promise<void> {
  await loop(o, 'idle', (s) => closed(s), 1000);
}

async function garbage(o: Options): Promise<void> {
  await loop(o, 'garbage', async (s) => {
    write('garbage', s, randomBytes(4096));
    await Promise.race([closed(s), sleep(5000)]);
    s.destroy();
  }, 250);
}

function sealedBatch(frame: Buffer, count: number, key: string | null): Buffer {
  if (!key) return Buffer.concat(Array.from({ length: count }, () => frame));
  const cipher = new FrameCipher(parseUuid(key));
  return Buffer.concat(Array.from({ length: count }, () => cipher.seal(frame)));
}

async function flood(o: Options): Promise<void> {
  // Sealed once, written again and again: the gateway does not check nonce reuse, so this costs us no CPU.
  const batch = sealedBatch(encodeFrame(MessageType.IpRequest, EMPTY), 512, o.pk);
  await loop(o, 'flood', async (s) => {
    s.pause(); // never read: whatever the gateway answers piles up on its side
    const until = Date.now() + 20_000;
    while (!s.destroyed && !stopping && Date.now() < until) {
      if (!write('flood', s, batch)) {
        await Promise.race([new Promise((r) => s.once('drain', r)), closed(s), sleep(Math.max(0, until - Date.now()))]);
      }
    }
    s.destroy();
  }, 2000);
}

async function nonReading(o: Options): Promise<void> {
  const cipher = o.pk ? new FrameCipher(parseUuid(o.pk)) : null;
  const seal = (frame: Buffer) => (cipher ? cipher.seal(frame) : frame);
  const [a, b, c, d] = o.dst.split('.').map(Number);
  const dst = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  await loop(o, 'non-reading', async (s) => {
    // Read only until the lease arrives, like a client; then stop reading for good.
    const lease = await new Promise<string | null>((resolve) => {
      const reader = new FrameReader();
      const scratch = Buffer.allocUnsafe(2100);
      const onData = (chunk: Buffer) => {
        try {
          reader.pushEach(chunk, (type, payload) => {
            const inner = type === MessageType.Encrypted && cipher ? cipher.open(payload, scratch) : null;
            const innerType = inner ? inner[4] : type;
            if (innerType === MessageType.IpResponse) {
              s.off('data', onData);
              resolve(parseIpResponse(inner ? inner.subarray(5) : payload).address);
            }
          });
        } catch {
          s.destroy();
        }
      };
      s.on('data', onData);
      s.once('close', () => resolve(null));
      write('non-reading', s, seal(encodeFrame(MessageType.IpRequest, EMPTY)));
    });
    if (!lease) return;
    stats['non-reading'].leased++;
    s.pause();
    const [w, x, y, z] = lease.split('.').map(Number);
    const src = ((w << 24) | (x << 16) | (y << 8) | z) >>> 0;
    let seq = 0;
    const timer = setInterval(() => {
      // 10 requests every 50 ms; what cannot be written stays in our own bounded buffer.
      if (s.writableLength > 1 << 20) return;
      for (let i = 0; i < 10; i++) write('non-reading', s, seal(encodeFrame(MessageType.DataUp, buildIcmpEcho(src, dst, 1000, 0xabcd, ++seq))));
    }, 50);
    const heartbeat = setInterval(() => write('non-reading', s, seal(encodeFrame(MessageType.Heartbeat, EMPTY))), 10_000);
    await closed(s);
    clearInterval(timer);
    clearInterval(heartbeat);
  }, 1000);
}

async function wrongKey(o: Options): Promise<void> {
  await loop(o, 'wrong-key', async (s) => {
    const cipher = new FrameCipher(parseUuid(randomUUID()));
    const timer = setInterval(() => write('wrong-key', s, cipher.seal(encodeFrame(MessageType.IpRequest, EMPTY))), 50);
    await Promise.race([closed(s), sleep(10_000)]);
    clearInterval(timer);
    s.destroy();
  }, 500);
}

const RUNNERS: Record<Kind, (o: Options) => Promise<void>> = {
  slowloris, idle, garbage, flood, 'non-reading': nonReading, 'wrong-key': wrongKey,
};

const say = (event: string, fields: object) => process.stdout.write(JSON.stringify({ event, ...fields, t: Date.now() }) + '\n');

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const report = setInterval(() => say('abuse', stats), 10_000);
  const loops: Promise<void>[] = [];
  for (const kind of KINDS) {
    for (let i = 0; i < o.counts[kind]; i++) loops.push(RUNNERS[kind](o));
  }
  await sleep(o.seconds * 1000);
  stopping = true;
  clearInterval(report);
  for (const s of sockets) s.destroy();
  await Promise.race([Promise.all(loops), sleep(2000)]);
  say('done', stats);
}

if (require.main === module) {
  main().then(() => process.exit(0), (err) => {
    process.stderr.write(`abusers: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  });
}

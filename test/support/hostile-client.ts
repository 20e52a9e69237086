#!/usr/bin/env node
// Abusive peers for gateway tests, from raw bytes (run inside a namespace as its own process):
//
//   hostile-client.js idle      <host> <port> <n> [--from <ipv6>]                  n connections that never send
//   hostile-client.js slowloris <host> <port> <n> [--from <ipv6>] [--every-ms 1000] n connections that announce a
//                                                   2053-byte frame and send one more byte of it every --every-ms
//   hostile-client.js flood     <host> <port> <frames> [--pk <uuid>] [--from <ipv6>] one connection that sends
//                                                   <frames> IP requests (sealed with --pk) and never reads
//   hostile-client.js requests  <host> <port> <n> [--pk <uuid>] [--from <ipv6>]     one connection that sends n IP
//                                                   requests in one write, then reads for 2.5 s and reports
//                                                   when each frame arrived
//
// stdout carries one JSON object per line: {"event":"ready",...} once the connections are open (or
// the flood is written), then {"event":"closed",...} as the gateway closes them, or the read report.
// Every mode runs until killed (or for --hold-s seconds), so the test decides how long the abuse lasts.
import net from 'node:net';
import { FrameCipher, parseUuid } from '../../protocol/crypto';
import { FrameReader, MessageType, encodeFrame } from '../../protocol/frame';

interface Options {
  mode: string;
  host: string;
  port: number;
  n: number;
  from?: string;
  pk?: string;
  everyMs: number;
  holdS: number;
}

function parseArgs(argv: string[]): Options {
  const [mode, host, port, n, ...rest] = argv;
  const o: Options = { mode, host, port: Number(port), n: Number(n), everyMs: 1000, holdS: 3600 };
  for (let i = 0; i < rest.length; i += 2) {
    const value = rest[i + 1];
    if (value === undefined) throw new Error(`${rest[i]} needs a value`);
    if (rest[i] === '--from') o.from = value;
    else if (rest[i] === '--pk') o.pk = value;
    else if (rest[i] === '--every-ms') o.everyMs = Number(value);
    else if (rest[i] === '--hold-s') o.holdS = Number(value);
    else throw new Error(`unknown option ${rest[i]}`);
  }
  if (!['idle', 'slowloris', 'flood', 'requests'].includes(mode) || !host || !Number.isInteger(o.port) || !Number.isInteger(o.n)) {
    throw new Error('usage: hostile-client.js idle|slowloris|flood|requests <host> <port> <n> [--from <ipv6>] [--pk <uuid>] [--every-ms N] [--hold-s N]');
  }
  return o;
}

const say = (event: string, fields: Record<string, unknown> = {}) => process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');

function connect(o: Options): net.Socket {
  return net.connect({ host: o.host, port: o.port, localAddress: o.from, noDelay: true });
}

/** Opens o.n connections; resolves once each is open or failed. `onOpen` runs for each open one. */
async function openMany(o: Options, onOpen: (s: net.Socket) => void): Promise<void> {
  let open = 0;
  let failed = 0;
  let closed = 0;
  let reported = -1;
  let timer: NodeJS.Timeout | null = null;
  // Coalesced reports: one line per 100 ms at most.
  const reportClosed = (): void => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      if (closed !== reported) say('closed', { closed, open, failed });
      reported = closed;
    }, 100);
  };
  await Promise.all(Array.from({ length: o.n }, () => new Promise<void>((resolve) => {
    const s = connect(o);
    let wasOpen = false;
    s.on('error', () => undefined);
    s.once('connect', () => {
      wasOpen = true;
      open++;
      onOpen(s);
      resolve();
    });
    s.once('close', () => {
      if (wasOpen) closed++;
      else failed++;
      resolve();
      reportClosed();
    });
  })));
  say('ready', { open, failed });
}

function ipRequests(o: Options, count: number): Buffer {
  const plain = encodeFrame(MessageType.IpRequest);
  if (!o.pk) return Buffer.concat(Array.from({ length: count }, () => plain));
  const cipher = new FrameCipher(parseUuid(o.pk));
  return Buffer.concat(Array.from({ length: count }, () => cipher.seal(plain)));
}

async function flood(o: Options): Promise<void> {
  const s = connect(o);
  s.pause(); // never read: the gateway's answers pile up on its side of the connection
  s.on('error', (err) => say('error', { message: err.message }));
  s.on('close', () => say('closed', { written: s.bytesWritten }));
  await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  const batchFrames = 1000;
  const batch = ipRequests(o, batchFrames);
  let sent = 0;
  while (sent < o.n && !s.destroyed) {
    const frames = Math.min(batchFrames, o.n - sent);
    const ok = s.write(frames === batchFrames ? batch : batch.subarray(0, (batch.length / batchFrames) * frames));
    sent += frames;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          s.off('drain', done).off('close', done);
          resolve();
        };
        s.on('drain', done).on('close', done);
      });
    }
  }
  say('ready', { frames: sent, bytes: s.bytesWritten, open: !s.destroyed });
}

async function requests(o: Options): Promise<void> {
  const s = connect(o);
  const reader = new FrameReader();
  const cipher = o.pk ? new FrameCipher(parseUuid(o.pk)) : null;
  const arrived: Array<{ t: number; type: number; inner?: number }> = [];
  let t0 = 0;
  s.on('data', (chunk) => {
    for (const f of reader.push(chunk)) {
      const frame: { t: number; type: number; inner?: number } = { t: Date.now() - t0, type: f.type };
      if (f.type === MessageType.Encrypted && cipher) frame.inner = cipher.open(f.payload)[4];
      arrived.push(frame);
    }
  });
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  t0 = Date.now();
  s.write(ipRequests(o, o.n));
  await new Promise((r) => setTimeout(r, 2500));
  say('frames', { arrived, open: !s.destroyed });
  s.destroy();
  process.exit(0);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  setTimeout(() => process.exit(0), o.holdS * 1000).unref();
  if (o.mode === 'idle') {
    await openMany(o, () => undefined);
  } else if (o.mode === 'slowloris') {
    const header = Buffer.from([0x05, 0x08, 0x00, 0x00, MessageType.DataUp]); // a 2053-byte frame
    await openMany(o, (s) => {
      s.write(header);
      const timer = setInterval(() => s.write(Buffer.from([0x45])), o.everyMs);
      s.once('close', () => clearInterval(timer));
    });
  } else if (o.mode === 'flood') {
    await flood(o);
  } else {
    await requests(o);
  }
  setInterval(() => undefined, 1 << 30); // hold until killed or --hold-s
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(2);
});

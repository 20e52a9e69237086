// Test fixture for tun.test.ts. It runs inside a network namespace (`ip netns exec <ns> node
// tun-fixture.js '<json config>'`) because a Node process cannot move one thread into a netns.
// It owns a TUN (198.18.5.1/24 by default), answers ICMP echo requests itself (so a ping from
// the namespace succeeds only if reads and writes both work), and checks every batch's layout.
// Talks JSON lines: stdout carries events, stdin takes commands:
//   stats | close | exit | inject <size>...
// "inject" writes echo requests from 198.18.5.2 to the device's own address; the kernel answers
// each with a reply of the same size, read back through the TUN: exact, ping-free batches.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { nativeBinding, TunDevice } from './tun';

export interface FixtureConfig {
  /** Just open these names in turn (keeping each open) and report the results. */
  probe?: string[];
  name?: string;
  /** Interface address and prefix, inside 198.18.0.0/15. Default 198.18.5.1/24. */
  address?: string;
  headroom?: number;
  maxBatch?: number;
  maxPacketBytes?: number;
  /** Read through the raw binding with a scratch buffer of this size (exercises the space limit). */
  rawScratchBytes?: number;
  /** Emit a "batch" event per onBatch call. */
  logBatches?: boolean;
  /** Block this long in the first batch holding an echo request, so a burst queues up. */
  stallFirstMs?: number;
  /** Throw from the first onBatch call (after handling it) to exercise uncaught propagation. */
  throwOnce?: boolean;
}

export interface FixtureStats {
  batches: number;
  packets: number;
  maxCount: number;
  multiPacketBatches: number;
  layoutErrors: string[];
  framesChecked: number;
  echoRequests: number;
  repliesWritten: number;
  uncaught: number;
}

export interface BatchEvent {
  count: number;
  lengths: number[];
  errors: string[];
}

const INJECT_ID = 0x4f36; // ICMP identifier of injected requests
const FRAME_TYPE = 102; // any type will do: only the framing is checked
const DELIBERATE = 'fixture: deliberate throw from onBatch';
const PEER = [198, 18, 5, 2];

function emit(event: string, data: object = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
}

function checksum(buf: Buffer, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i + 1 < end; i += 2) sum += buf.readUInt16BE(i);
  if ((end - start) & 1) sum += buf[end - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function fillChecksums(packet: Buffer, ihl: number): void {
  packet.writeUInt16BE(0, 10);
  packet.writeUInt16BE(checksum(packet, 0, ihl), 10);
  packet.writeUInt16BE(0, ihl + 2);
  packet.writeUInt16BE(checksum(packet, ihl, packet.length), ihl + 2);
}

/** A fresh echo reply for an unfragmented IPv4 ICMP echo request, else null. */
function echoReply(packet: Buffer): Buffer | null {
  if (packet.length < 28 || packet[0]! >> 4 !== 4 || packet[9] !== 1) return null;
  const ihl = (packet[0]! & 0x0f) * 4;
  if (ihl < 20 || packet.length < ihl + 8 || packet.readUInt16BE(2) !== packet.length) return null;
  if ((packet.readUInt16BE(6) & 0x3fff) !== 0 || packet[ihl] !== 8 || packet[ihl + 1] !== 0) return null;
  const reply = Buffer.from(packet); // a copy: the scratch buffer is reused after onBatch
  packet.copy(reply, 12, 16, 20);
  packet.copy(reply, 16, 12, 16);
  reply[8] = 64;
  reply[ihl] = 0; // echo reply
  fillChecksums(reply, ihl);
  return reply;
}

/** An echo request of `size` bytes from PEER to `to`, payload byte j = (seq + j) & 0xff. */
function echoRequest(size: number, seq: number, to: number[]): Buffer {
  const packet = Buffer.alloc(size);
  packet[0] = 0x45;
  packet.writeUInt16BE(size, 2);
  packet.writeUInt16BE(seq, 4);
  packet[8] = 64;
  packet[9] = 1;
  packet.set(PEER, 12);
  packet.set(to, 16);
  packet[20] = 8;
  packet.writeUInt16BE(INJECT_ID, 24);
  packet.writeUInt16BE(seq, 26);
  for (let j = 28; j < size; j++) packet[j] = (seq + j) & 0xff;
  fillChecksums(packet, 20);
  return packet;
}

/** Problems with one packet as read: header fields, and the payload of replies to injections. */
function packetErrors(packet: Buffer): string[] {
  const version = packet[0]! >> 4;
  if (version === 6) return packet.length >= 40 && packet.readUInt16BE(4) + 40 === packet.length ? [] : ['bad IPv6 length'];
  if (version !== 4) return [`version ${version}`];
  if (packet.length < 20 || packet.readUInt16BE(2) !== packet.length) return [`IPv4 length ${packet.readUInt16BE(2)}`];
  if (packet[9] === 1 && packet[20] === 0 && packet.length >= 28 && packet.readUInt16BE(24) === INJECT_ID) {
    const seq = packet.readUInt16BE(26);
    for (let j = 28; j < packet.length; j++) {
      if (packet[j] !== ((seq + j) & 0xff)) return [`payload differs at byte ${j} of reply ${seq}`];
    }
  }
  return [];
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function probe(names: string[]): void {
  const held: TunDevice[] = [];
  const results = names.map((name) => {
    try {
      const dev = TunDevice.open(name);
      held.push(dev);
      return { ok: true, name: dev.name };
    } catch (err) {
      const e = err as Error & { code?: string };
      return { ok: false, errorName: e.name, code: e.code, message: e.message };
    }
  });
  for (const dev of held) dev.close();
  emit('probe', { results });
}

function run(config: FixtureConfig): void {
  const headroom = config.headroom ?? 0;
  const address = config.address ?? '198.18.5.1/24';
  const ownAddress = address.split('/')[0]!.split('.').map(Number);
  const dev = TunDevice.open(config.name ?? '');
  // IPv4 only: the kernel's IPv6 chatter (MLD, router solicitations) would make batches inexact.
  writeFileSync(`/proc/sys/net/ipv6/conf/${dev.name}/disable_ipv6`, '1');
  execFileSync('ip', ['addr', 'add', address, 'dev', dev.name]);
  execFileSync('ip', ['link', 'set', 'dev', dev.name, 'mtu', '1500', 'up']);

  const stats: FixtureStats = {
    batches: 0, packets: 0, maxCount: 0, multiPacketBatches: 0, layoutErrors: [],
    framesChecked: 0, echoRequests: 0, repliesWritten: 0, uncaught: 0,
  };
  let stalled = false;
  let thrown = false;

  process.on('uncaughtException', (err) => {
    if (err.message !== DELIBERATE) {
      emit('fatal', { message: String(err.stack) });
      process.exit(1);
    }
    stats.uncaught++;
  });

  const onBatch = (scratch: Buffer, lengths: Int32Array, count: number): void => {
    stats.batches++;
    stats.packets += count;
    stats.maxCount = Math.max(stats.maxCount, count);
    if (count > 1) stats.multiPacketBatches++;
    const errors: string[] = [];

    // The layout, computed here independently of the wrapper: packet i at p_i + headroom.
    const packets: Buffer[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      const start = p + headroom;
      const packet = scratch.subarray(start, start + lengths[i]!);
      errors.push(...packetErrors(packet).map((e) => `packet ${i} at ${start}: ${e}`));
      packets.push(packet);
      p = start + lengths[i]!;
    }

    // With 5 bytes of headroom, a frame header written into each gap must turn scratch[0..p)
    // into back-to-back frames without touching any packet byte (re-checked below).
    if (headroom === 5) {
      let q = 0;
      for (let i = 0; i < count; i++) {
        scratch.writeUInt32LE(5 + lengths[i]!, q);
        scratch[q + 4] = FRAME_TYPE;
        q += 5 + lengths[i]!;
      }
      let offset = 0;
      let frames = 0;
      while (offset < p && frames < count) {
        const payload = scratch.subarray(offset + 5, offset + scratch.readUInt32LE(offset));
        if (scratch[offset + 4] !== FRAME_TYPE || packetErrors(payload).length > 0) break;
        offset += 5 + payload.length;
        frames++;
      }
      if (offset === p && frames === count) stats.framesChecked += count;
      else errors.push(`frame walk stopped at byte ${offset} of ${p}, after ${frames} of ${count} frames`);
    }
    stats.layoutErrors.push(...errors.slice(0, 20 - stats.layoutErrors.length));
    if (config.logBatches) emit('batch', { count, lengths: Array.from(lengths.subarray(0, count)), errors });

    const replies = packets.map(echoReply).filter((r): r is Buffer => r !== null);
    stats.echoRequests += replies.length;
    if (replies.length > 0) stats.repliesWritten += dev.writePackets(replies);

    if (replies.length > 0 && config.stallFirstMs && !stalled) {
      stalled = true;
      sleepSync(config.stallFirstMs);
    }
    if (config.throwOnce && !thrown) {
      thrown = true;
      throw new Error(DELIBERATE);
    }
  };
  const onError = (err: Error & { code?: string }) =>
    emit('readError', { errorName: err.name, code: err.code, message: err.message });

  let rawPoller: { stop(): void } | undefined;
  if (config.rawScratchBytes) {
    const scratch = Buffer.alloc(config.rawScratchBytes);
    const lengths = new Int32Array(config.maxBatch ?? 64);
    rawPoller = nativeBinding().startReading(dev.fd, scratch, lengths, headroom, config.maxPacketBytes ?? 65535,
      (count) => (count > 0 ? onBatch(scratch, lengths, count) : onError(new Error(`errno ${-count}`))));
  } else {
    dev.startReading(onBatch, { headroom, maxBatch: config.maxBatch, maxPacketBytes: config.maxPacketBytes, onError });
  }
  emit('ready', { name: dev.name });

  const finish = () => {
    rawPoller?.stop();
    dev.close();
    process.exit(0);
  };
  let seq = 0;
  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    const [command, ...args] = line.trim().split(/\s+/);
    switch (command) {
      case 'stats':
        emit('stats', { stats });
        break;
      case 'inject': {
        const requests = args.map((size) => echoRequest(Number(size), seq++, ownAddress));
        emit('injected', { written: dev.writePackets(requests) });
        break;
      }
      case 'close':
        rawPoller?.stop();
        dev.close();
        dev.close(); // twice on purpose: must be harmless
        emit('closed', { closed: dev.closed, reading: dev.reading });
        break;
      case 'exit':
        finish();
        break;
      default:
        emit('fatal', { message: `unknown command ${line}` });
    }
  });
  commands.on('close', finish); // the test runner went away
}

try {
  const config = JSON.parse(process.argv[2] ?? '{}') as FixtureConfig;
  if (config.probe) probe(config.probe);
  else run(config);
} catch (err) {
  emit('fatal', { message: String((err as Error).stack ?? err) });
  process.exit(1);
}

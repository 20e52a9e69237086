// Fixture for super-packet-kernel.test.ts: one end of a minimal tunnel that carries super-packet
// regions whole. Run inside a throwaway namespace (`ip netns exec <ns> node super-relay.js <json>`),
// once per namespace; the two ends meet on a Unix socket (a filesystem path, so it crosses network
// namespaces). Each end opens a coalescing TUN with superPackets, sends every entry it reads to the
// other end as [u32 LE length][u8 kind][bytes], and writes what it receives with writePackets(kinds).
// Side "b" runs a TCP sink on its TUN address that checks every byte; side "a" sends to it on "go".
// stdin commands: go | stats | bogus | exit; stdout: one JSON event per line.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { PACKET_KIND, TunDevice } from './tun';

export interface RelayConfig {
  side: 'a' | 'b';
  socketPath: string;
  tunName: string;
  /** This end's TUN address with prefix, e.g. 198.18.20.1/24. */
  address: string;
  /** The other end's network, routed into the TUN. */
  peerNet: string;
  /** Side b: TCP sink port on its TUN address. Side a: where to send on "go". */
  port: number;
  sinkAddress: string;
  bytes: number;
}

export interface RelayStats {
  superRead: number;
  ordinaryRead: number;
  gsoSizes: number[];
  largestRegion: number;
  superSent: number;
  superWritten: number;
  ordinaryWritten: number;
  sinkBytes: number;
  sinkMismatch: number | null;
}

/** Byte i of the transfer. */
export function transferByte(i: number): number {
  return (i * 7 + Math.floor(i / 2039)) & 0xff;
}

function emit(event: string, data: object = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
}

function run(config: RelayConfig): void {
  const stats: RelayStats = {
    superRead: 0, ordinaryRead: 0, gsoSizes: [], largestRegion: 0, superSent: 0, superWritten: 0,
    ordinaryWritten: 0, sinkBytes: 0, sinkMismatch: null,
  };
  const dev = TunDevice.open(config.tunName, { coalesce: true });
  writeFileSync(`/proc/sys/net/ipv6/conf/${dev.name}/disable_ipv6`, '1');
  execFileSync('ip', ['addr', 'add', config.address, 'dev', dev.name]);
  execFileSync('ip', ['link', 'set', 'dev', dev.name, 'mtu', '1500', 'up']);
  execFileSync('ip', ['route', 'add', config.peerNet, 'dev', dev.name]);

  let peer: Socket | undefined;
  dev.startReading((scratch, lengths, count, kinds) => {
    let p = 0;
    for (let i = 0; i < count; i++) {
      const entry = scratch.subarray(p, p + lengths[i]!);
      p += lengths[i]!;
      const kind = kinds![i]!;
      if (kind === PACKET_KIND.superPacket) {
        stats.superRead++;
        const gso = entry.readUInt16LE(0);
        if (!stats.gsoSizes.includes(gso)) stats.gsoSizes.push(gso);
        stats.largestRegion = Math.max(stats.largestRegion, entry.length);
      } else {
        stats.ordinaryRead++;
      }
      const frame = Buffer.alloc(5 + entry.length);
      frame.writeUInt32LE(entry.length, 0);
      frame[4] = kind;
      entry.copy(frame, 5);
      peer?.write(frame);
    }
  }, { superPackets: true, onError: (err) => emit('fatal', { message: err.message }) });

  const onPeer = (socket: Socket): void => {
    peer = socket;
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const packets: Buffer[] = [];
      const kinds: number[] = [];
      let at = 0;
      while (pending.length - at >= 5 && pending.length - at >= 5 + pending.readUInt32LE(at)) {
        const length = pending.readUInt32LE(at);
        kinds.push(pending[at + 4]!);
        packets.push(pending.subarray(at + 5, at + 5 + length));
        at += 5 + length;
      }
      pending = pending.subarray(at);
      if (packets.length === 0) return;
      const supers = kinds.filter((k) => k === PACKET_KIND.superPacket).length;
      stats.superSent += supers;
      const written = dev.writePackets(packets, packets.length, Uint8Array.from(kinds));
      // Regions count 1 each; ordinary packets as the segments they are (coalesced or not).
      stats.superWritten += Math.min(written, supers);
      stats.ordinaryWritten += Math.max(0, written - supers);
    });
    socket.on('error', (err) => emit('fatal', { message: `relay socket: ${err.message}` }));
    emit('ready', { name: dev.name });
  };

  if (config.side === 'a') {
    const server = createServer((socket) => {
      server.close();
      onPeer(socket);
    });
    server.listen(config.socketPath, () => emit('listening'));
  } else {
    onPeer(createConnection(config.socketPath));
    const sink = createServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        for (let j = 0; j < chunk.length && stats.sinkMismatch === null; j++) {
          if (chunk[j] !== transferByte(stats.sinkBytes + j)) stats.sinkMismatch = stats.sinkBytes + j;
        }
        stats.sinkBytes += chunk.length;
        if (stats.sinkBytes >= config.bytes) emit('received', { bytes: stats.sinkBytes, mismatch: stats.sinkMismatch });
      });
    });
    sink.listen(config.port, config.sinkAddress, () => emit('sinking'));
  }

  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    switch (line.trim()) {
      case 'go': {
        const data = Buffer.alloc(config.bytes);
        for (let i = 0; i < data.length; i++) data[i] = transferByte(i);
        const socket = createConnection({ host: config.sinkAddress, port: config.port }, () => {
          socket.end(data, () => emit('sent', { bytes: data.length }));
        });
        socket.on('error', (err) => emit('fatal', { message: `transfer: ${err.message}` }));
        break;
      }
      case 'bogus': {
        // Regions C must skip, on the real device: gso_size 0, one byte short of a header + 40,
        // an IHL past the end, a total length longer than the region.
        const region = Buffer.alloc(4 + 140);
        region.writeUInt16LE(0, 0);
        region[4] = 0x45;
        region.writeUInt16BE(140, 6);
        region[12] = 64;
        region[13] = 6;
        region.set(config.address.split('/')[0]!.split('.').map(Number), 20);
        region[4 + 32] = 0x50;
        region[4 + 33] = 0x10;
        const short = Buffer.from(region.subarray(0, 43));
        short.writeUInt16LE(1000, 0);
        const ihlPastEnd = Buffer.from(region.subarray(0, 48));
        ihlPastEnd.writeUInt16LE(1000, 0);
        ihlPastEnd[4] = 0x4f;
        const truncated = Buffer.from(region.subarray(0, 100));
        truncated.writeUInt16LE(10, 0);
        const bogus = [region, short, ihlPastEnd, truncated];
        const written = dev.writePackets(bogus, bogus.length, new Uint8Array(bogus.length).fill(PACKET_KIND.superPacket));
        emit('bogus', { written });
        break;
      }
      case 'stats':
        emit('stats', { stats });
        break;
      case 'exit':
        finish();
        break;
      default:
        emit('fatal', { message: `unknown command ${line}` });
    }
  });
  const finish = (): void => {
    dev.close();
    process.exit(0);
  };
  commands.on('close', finish);
}

try {
  run(JSON.parse(process.argv[2] ?? '{}') as RelayConfig);
} catch (err) {
  emit('fatal', { message: String((err as Error).stack ?? err) });
  process.exit(1);
}

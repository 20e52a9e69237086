// A TUN device backed by queues, so the packet pipeline runs without root (like wireguard-go's ChannelTUN).
import type { PacketBatchHandler, PacketDevice, PacketReadOptions } from '../../link/packet-device';

export class FakeTun implements PacketDevice {
  readonly written: Buffer[] = [];
  /** The kind of each written packet (1: a super-packet region written as one GSO packet). */
  readonly writtenKinds: number[] = [];
  /** Whether the reader asked for super-packets (as a vnet device with TSO would deliver them). */
  superPackets = false;
  private onBatch: PacketBatchHandler | null = null;
  private headroom = 0;
  private maxBatch = 64;
  closed = false;
  private waiters: Array<() => void> = [];

  constructor(readonly name = 'fake0') {}

  startReading(onBatch: PacketBatchHandler, options: PacketReadOptions = {}): void {
    this.onBatch = onBatch;
    this.headroom = options.headroom ?? 0;
    this.maxBatch = options.maxBatch ?? 64;
    this.superPackets = options.superPackets === true;
  }

  stopReading(): void {
    this.onBatch = null;
  }

  get reading(): boolean {
    return this.onBatch !== null;
  }

  /**
   * Plays the kernel: hands packets to the reader in batches laid out as the native addon does.
   * `kinds[i] === 1` marks packets[i] as a super-packet region (only for a reader that asked for them).
   */
  inject(packets: Buffer[], kinds?: number[]): void {
    if (kinds && !this.superPackets) throw new Error('FakeTun: super-packets injected into a reader that did not ask for them');
    for (let i = 0; i < packets.length; i += this.maxBatch) {
      const batch = packets.slice(i, i + this.maxBatch);
      const batchKinds = this.superPackets ? Uint8Array.from(kinds?.slice(i, i + this.maxBatch) ?? batch.map(() => 0)) : null;
      const scratch = Buffer.alloc(batch.reduce((n, p) => n + this.headroom + p.length, 0));
      const lengths = new Int32Array(this.maxBatch);
      let p = 0;
      batch.forEach((pkt, j) => {
        pkt.copy(scratch, p + this.headroom);
        lengths[j] = pkt.length;
        p += this.headroom + pkt.length;
      });
      this.onBatch?.(scratch, lengths, batch.length, batchKinds);
      scratch.fill(0xee); // the real scratch is reused: catch anyone keeping views into it
    }
  }

  writePackets(packets: Uint8Array[], count = packets.length, kinds?: Uint8Array): number {
    for (let i = 0; i < count; i++) {
      this.written.push(Buffer.from(packets[i]));
      this.writtenKinds.push(kinds ? kinds[i] : 0);
    }
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
    return count;
  }

  /** Resolves once at least `n` packets were written in total. */
  async waitForWritten(n: number, timeoutMs = 5000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.written.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} packets on ${this.name}, have ${this.written.length}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.written;
  }

  close(): void {
    this.closed = true;
    this.onBatch = null;
  }
}

/** An IPv4 header (20 bytes) for `total` bytes of protocol `protocol` from src to dst, checksum left 0. */
function ipv4Header(p: Buffer, total: number, protocol: number, src: string, dst: string): void {
  p[0] = 0x45;
  p[1] = 0;
  p.writeUInt16BE(total, 2);
  p[8] = 64;
  p[9] = protocol;
  p.writeUInt16BE(0, 10);
  Buffer.from(src.split('.').map(Number)).copy(p, 12);
  Buffer.from(dst.split('.').map(Number)).copy(p, 16);
}

/** The folded 16-bit one's-complement sum of buf[from, to) (odd tail padded), added to `seed`. */
export function onesComplementSum(buf: Buffer, from: number, to: number, seed = 0): number {
  let sum = seed;
  for (let i = from; i + 1 < to; i += 2) sum += buf.readUInt16BE(i);
  if ((to - from) & 1) sum += buf[to - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The TCP pseudo-header's sum (addresses, protocol 6, TCP length) of an IPv4 packet with a 20-byte header. */
export function tcpPseudoSum(packet: Buffer): number {
  return onesComplementSum(packet, 12, 20, 6 + packet.length - 20);
}

/** A minimal valid IPv4 packet (UDP, no checksum check needed by the engines). */
export function ipv4Packet(src: string, dst: string, payloadBytes = 32, fill = 0x61): Buffer {
  const total = 20 + 8 + payloadBytes;
  const p = Buffer.alloc(total, fill);
  ipv4Header(p, total, 17, src, dst);
  p.writeUInt32BE(0, 4);
  p.writeUInt16BE(40000, 20);
  p.writeUInt16BE(9, 22);
  p.writeUInt16BE(8 + payloadBytes, 24);
  p.writeUInt16BE(0, 26);
  return p;
}

/** A TCP/IPv4 packet (ACK, 20-byte headers, IPv4 header checksum set) carrying `payloadBytes` bytes of `fill`, TCP checksum 0. */
export function tcpPacket(src: string, dst: string, payloadBytes: number, seq = 1000, fill = 0x62): Buffer {
  const total = 40 + payloadBytes;
  const p = Buffer.alloc(total, fill);
  ipv4Header(p, total, 6, src, dst);
  p.writeUInt16BE(0x1234, 4);
  p.writeUInt16BE(0x4000, 6); // DF
  p.writeUInt16BE(40000, 20);
  p.writeUInt16BE(5201, 22);
  p.writeUInt32BE(seq, 24);
  p.writeUInt32BE(77, 28);
  p[32] = 5 << 4;
  p[33] = 0x10; // ACK
  p.writeUInt16BE(65535, 34);
  p.writeUInt16BE(0, 36);
  p.writeUInt16BE(0, 38);
  p.writeUInt16BE(~onesComplementSum(p, 0, 20) & 0xffff, 10);
  return p;
}

/**
 * A super-packet region as a vnet TUN read hands it on (docs/protocol.md "Super-packets"): the
 * 4-byte header (segment size, little-endian; flags; reserved) and a TCP/IPv4 packet whose checksum
 * field holds the pseudo-header seed.
 */
export function superPacketRegion(src: string, dst: string, payloadBytes: number, segmentBytes: number, seq = 1000): Buffer {
  const packet = tcpPacket(src, dst, payloadBytes, seq);
  packet.writeUInt16BE(tcpPseudoSum(packet), 36);
  const header = Buffer.alloc(4);
  header.writeUInt16LE(segmentBytes, 0);
  return Buffer.concat([header, packet]);
}

// A TUN device backed by queues, so the packet pipeline runs without root (like wireguard-go's ChannelTUN).
import type { PacketBatchHandler, PacketDevice, PacketReadOptions } from '../../link/packet-device';

export class FakeTun implements PacketDevice {
  readonly written: Buffer[] = [];
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
  }

  stopReading(): void {
    this.onBatch = null;
  }

  get reading(): boolean {
    return this.onBatch !== null;
  }

  /** Plays the kernel: hands packets to the reader in batches laid out as the native addon does. */
  inject(packets: Buffer[]): void {
    for (let i = 0; i < packets.length; i += this.maxBatch) {
      const batch = packets.slice(i, i + this.maxBatch);
      const scratch = Buffer.alloc(batch.reduce((n, p) => n + this.headroom + p.length, 0));
      const lengths = new Int32Array(this.maxBatch);
      let p = 0;
      batch.forEach((pkt, j) => {
        pkt.copy(scratch, p + this.headroom);
        lengths[j] = pkt.length;
        p += this.headroom + pkt.length;
      });
      this.onBatch?.(scratch, lengths, batch.length);
      scratch.fill(0xee); // the real scratch is reused: catch anyone keeping views into it
    }
  }

  writePackets(packets: Uint8Array[], count = packets.length): number {
    for (let i = 0; i < count; i++) this.written.push(Buffer.from(packets[i]));
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

/** A minimal valid IPv4 packet (UDP, no checksum check needed by the engines). */
export function ipv4Packet(src: string, dst: string, payloadBytes = 32, fill = 0x61): Buffer {
  const total = 20 + 8 + payloadBytes;
  const p = Buffer.alloc(total, fill);
  p[0] = 0x45;
  p[1] = 0;
  p.writeUInt16BE(total, 2);
  p.writeUInt32BE(0, 4);
  p[8] = 64;
  p[9] = 17;
  p.writeUInt16BE(0, 10);
  Buffer.from(src.split('.').map(Number)).copy(p, 12);
  Buffer.from(dst.split('.').map(Number)).copy(p, 16);
  p.writeUInt16BE(40000, 20);
  p.writeUInt16BE(9, 22);
  p.writeUInt16BE(8 + payloadBytes, 24);
  p.writeUInt16BE(0, 26);
  return p;
}

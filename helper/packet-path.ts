// The client's packets: from the TUN device to the gateway (upstream) and from the gateway to the
// TUN device (downstream), on the data path the gateway shares (link/data-path.ts), with the
// client's counters and its reconnect queue: while no session carries traffic, the newest few
// packets from applications wait (the rest are dropped and counted) and go out first when the
// tunnel is back.
import {
  LinkBatch, type SendTotals, TUN_HEADROOM_BYTES, TunWrites, inboundProblem, outboundProblem, tunnelTcpMss,
} from '../link/data-path';
import type { FrameLink } from '../link/frame-link';
import type { PacketDevice } from '../link/packet-device';
import { MessageType } from '../protocol/frame';
import { type TunnelStats, emptyTunnelStats } from './engine-environment';

export const TUN_BATCH_PACKETS = 64;
export { TUN_READ_PACKET_BYTES } from '../link/data-path';

/** A packet kept while reconnecting, with its kind (a super-packet is cut later if the new link needs it). */
interface HeldPacket {
  packet: Buffer;
  kind: number;
}

export class PacketPath {
  readonly counters: TunnelStats = emptyTunnelStats();
  private readonly batch: LinkBatch;
  private readonly tunWrites: TunWrites;
  /** Copies of the newest packets read while no session was up, oldest first. */
  private held: HeldPacket[] = [];

  /**
   * `sealedWithoutLink`: whether packets kept while reconnecting will be sealed (the profile has a
   * key): they must fit a sealed frame then.
   */
  constructor(mtu: number, private readonly queueLimit: number, private readonly sealedWithoutLink: () => boolean) {
    const mss = tunnelTcpMss(mtu);
    this.batch = new LinkBatch(MessageType.DataUp, mss);
    this.tunWrites = new TunWrites(mss);
  }

  /**
   * A batch read from the TUN device (region i after a 5-byte gap, see PacketDevice; `kinds` marks
   * super-packets). With a link the packets go out in one write; without one (reconnecting) they
   * wait in the reconnect queue.
   */
  upstream(scratch: Buffer, lengths: Int32Array, count: number, kinds: Uint8Array | null, link: FrameLink | null): void {
    const sealed = link !== null ? link.encryptOutgoing && link.cipher !== null : this.sealedWithoutLink();
    let p = 0;
    for (let i = 0; i < count; i++) {
      const len = lengths[i];
      const start = p + TUN_HEADROOM_BYTES;
      p = start + len;
      const kind = kinds === null ? 0 : kinds[i];
      const problem = outboundProblem(scratch, start, len, kind, sealed);
      if (problem === 'notIpv4') this.counters.droppedNotIpv4++; // the tunnel carries IPv4 only
      else if (problem === 'tooLarge') this.counters.droppedTooLarge++;
      else if (link === null) this.hold(scratch.subarray(start, start + len), kind);
      else this.batch.add(scratch, start, len, kind, link);
    }
    if (link !== null) this.count(this.batch.finish(scratch, link));
  }

  /** Sends what the reconnect queue holds (the tunnel is back), before anything newer. */
  releaseHeld(link: FrameLink): void {
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    let size = 0;
    for (const h of held) size += TUN_HEADROOM_BYTES + h.packet.length;
    const scratch = Buffer.allocUnsafe(size);
    let p = 0;
    for (const h of held) {
      const start = p + TUN_HEADROOM_BYTES;
      h.packet.copy(scratch, start);
      p = start + h.packet.length;
      this.batch.add(scratch, start, h.packet.length, h.kind, link);
    }
    this.count(this.batch.finish(scratch, link));
  }

  /** Drops whatever waits (the tunnel goes down for good). */
  dropHeld(): void {
    this.counters.droppedReconnecting += this.held.length;
    this.held = [];
  }

  /** A packet (kind 0) or super-packet region (kind 1) from the gateway: checked and queued for the next flush. */
  downstream(packet: Buffer, kind = 0): void {
    const problem = inboundProblem(packet, kind);
    if (problem !== null) {
      // A legacy server cuts long packets at 1,496 bytes (badLength); a super-packet that does not
      // hold together is counted with them: neither is a whole packet.
      if (problem === 'notIpv4') this.counters.droppedNotIpv4++;
      else this.counters.droppedBadLength++;
      return;
    }
    this.tunWrites.push(packet, kind);
  }

  /** Writes the queued downstream packets in one batch (null: no device, they are forgotten). */
  flush(tun: PacketDevice | null): void {
    const t = this.tunWrites.flush(tun);
    this.counters.bytesDown += t.bytes;
    this.counters.packetsDown += t.written;
    this.counters.droppedTunWrite += t.failed;
  }

  private count(t: SendTotals): void {
    this.counters.packetsUp += t.packets;
    this.counters.bytesUp += t.bytes;
    this.counters.droppedPeerTooSlow += t.dropped;
  }

  private hold(packet: Buffer, kind: number): void {
    if (this.queueLimit === 0) {
      this.counters.droppedReconnecting++;
      return;
    }
    if (this.held.length >= this.queueLimit) {
      this.held.shift(); // the oldest goes: a newer retransmission supersedes it
      this.counters.droppedReconnecting++;
    }
    this.held.push({ packet: Buffer.from(packet), kind });
  }
}

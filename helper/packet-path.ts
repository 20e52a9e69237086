// The packets: from the TUN device to the link (upstream) and from the link to the TUN device
// (downstream), with the per-packet checks, the MSS clamp, the counters, and the reconnect queue:
// while no session carries traffic, the newest few packets from applications wait (the rest are
// dropped and counted) and go out first when the tunnel is back.
import type { FrameLink } from '../link/frame-link';
import { TUNNEL_TCP_MSS, clampTcpMss, ipv4LengthMatches, isIPv4Packet } from '../link/ipv4';
import type { PacketDevice } from '../link/packet-device';
import { MAX_INNER_FRAME_BYTES } from '../protocol/crypto';
import { FRAME_HEADER_BYTES, MessageType } from '../protocol/frame';
import { type TunnelStats, emptyTunnelStats } from './engine-environment';

export const TUN_BATCH_PACKETS = 64;
export const TUN_READ_PACKET_BYTES = 2048;
/** Largest packet a plain frame carries (the legacy peers' 2048-byte payload limit). */
const MAX_PLAIN_PACKET_BYTES = 2048;

export class PacketPath {
  readonly counters: TunnelStats = emptyTunnelStats();
  /** SYNs both ways get at most this MSS, so TCP packets fit our MTU and legacy servers' buffers. */
  private readonly tcpMss: number;
  // Reused per TUN batch: packet starts/lengths of the IPv4 packets to send (grown when a batch
  // is larger, e.g. a TSO super-packet cut into segments).
  private batchStarts = new Int32Array(TUN_BATCH_PACKETS);
  private batchLengths = new Int32Array(TUN_BATCH_PACKETS);
  private readonly tunWrites: Buffer[] = [];
  /** Copies of the newest packets read while no session was up, oldest first. */
  private held: Buffer[] = [];

  constructor(mtu: number, private readonly queueLimit: number, private readonly encryptedLimit: () => boolean) {
    this.tcpMss = Math.min(TUNNEL_TCP_MSS, mtu - 40);
  }

  /**
   * A batch read from the TUN device (packet i after a 5-byte gap, see PacketDevice). With a link the
   * IPv4 packets go out in one write; without one (reconnecting) they wait in the reconnect queue.
   */
  upstream(scratch: Buffer, lengths: Int32Array, count: number, link: FrameLink | null): void {
    if (count > this.batchStarts.length) {
      this.batchStarts = new Int32Array(count);
      this.batchLengths = new Int32Array(count);
    }
    const limit = this.encryptedLimit() ? MAX_INNER_FRAME_BYTES - FRAME_HEADER_BYTES : MAX_PLAIN_PACKET_BYTES;
    let p = 0;
    let n = 0;
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const len = lengths[i];
      const start = p + FRAME_HEADER_BYTES;
      p = start + len;
      if (!isIPv4Packet(scratch, start, len)) {
        this.counters.droppedNotIpv4++; // the tunnel carries IPv4 only (protocol.md "Transport")
        continue;
      }
      if (len > limit) {
        this.counters.droppedTooLarge++;
        continue;
      }
      clampTcpMss(scratch, start, len, this.tcpMss);
      this.batchStarts[n] = start;
      this.batchLengths[n] = len;
      bytes += len;
      n++;
    }
    if (n === 0) return;
    if (link === null) {
      this.hold(scratch, n);
      return;
    }
    if (link.sendPackets(MessageType.DataUp, scratch, this.batchStarts, this.batchLengths, n)) {
      this.counters.packetsUp += n;
      this.counters.bytesUp += bytes;
    } else {
      this.counters.droppedPeerTooSlow += n;
    }
  }

  /** Sends what the reconnect queue holds (the tunnel is back), before anything newer. */
  releaseHeld(link: FrameLink): void {
    const n = this.held.length;
    if (n === 0) return;
    let size = 0;
    for (const packet of this.held) size += FRAME_HEADER_BYTES + packet.length;
    const scratch = Buffer.allocUnsafe(size);
    const starts = new Int32Array(n);
    const lengths = new Int32Array(n);
    let p = 0;
    let bytes = 0;
    this.held.forEach((packet, i) => {
      starts[i] = p + FRAME_HEADER_BYTES;
      lengths[i] = packet.length;
      packet.copy(scratch, starts[i]);
      p = starts[i] + packet.length;
      bytes += packet.length;
    });
    this.held = [];
    if (link.sendPackets(MessageType.DataUp, scratch, starts, lengths, n)) {
      this.counters.packetsUp += n;
      this.counters.bytesUp += bytes;
    } else {
      this.counters.droppedPeerTooSlow += n;
    }
  }

  /** Drops whatever waits (the tunnel goes down for good). */
  dropHeld(): void {
    this.counters.droppedReconnecting += this.held.length;
    this.held = [];
  }

  /** A packet from the gateway: checked, clamped and queued for the next flush. */
  downstream(packet: Buffer): void {
    if (!isIPv4Packet(packet, 0, packet.length) || !ipv4LengthMatches(packet, 0, packet.length)) {
      this.counters.droppedBadLength++;
      return;
    }
    clampTcpMss(packet, 0, packet.length, this.tcpMss);
    this.tunWrites.push(packet);
  }

  /** Writes the queued downstream packets in one batch (null: no device, they are forgotten). */
  flush(tun: PacketDevice | null): void {
    const n = this.tunWrites.length;
    if (n === 0) return;
    if (tun) {
      const written = tun.writePackets(this.tunWrites, n);
      for (let i = 0; i < written; i++) this.counters.bytesDown += this.tunWrites[i].length;
      this.counters.packetsDown += written;
      this.counters.droppedTunWrite += n - written;
    }
    this.tunWrites.length = 0;
  }

  private hold(scratch: Buffer, n: number): void {
    for (let i = 0; i < n; i++) {
      if (this.queueLimit === 0) {
        this.counters.droppedReconnecting++;
        continue;
      }
      if (this.held.length >= this.queueLimit) {
        this.held.shift(); // the oldest goes: a newer retransmission supersedes it
        this.counters.droppedReconnecting++;
      }
      const start = this.batchStarts[i];
      this.held.push(Buffer.from(scratch.subarray(start, start + this.batchLengths[i])));
    }
  }
}

// The data path both ends share: the client engine (helper/packet-path.ts) and the gateway
// (server/gateway.ts) read batches from their TUN device and send them to links as frames, and
// write what links deliver to the TUN device. One meaning of the batch layout, one MSS cap, one
// rule for what may go over which link:
//
// - an ordinary IPv4 packet goes out as one data frame (102 up, 103 down), if it fits the link
//   (2,048 bytes plain, 2,003 when sealed: legacy peers' limits);
// - a TCP super-packet (a TSO read, kind PACKET_KIND_SUPER, docs/protocol.md "Super-packets") goes out
//   whole as one type-106 frame over a link that negotiated super-packets, and is cut into segments
//   (native segmentSuperPacket) for any other link, so legacy peers see exactly what they always did;
// - what a link delivers is checked (IPv4, its length; a super-packet's header and segment count),
//   MSS-clamped, and written to the TUN device in one batch, super-packets as GSO packets.
import { segmentSuperPacket } from '../native/tun';
import { MAX_INNER_FRAME_BYTES } from '../protocol/crypto';
import { FRAME_HEADER_BYTES, MAX_PAYLOAD_BYTES } from '../protocol/frame';
import { MAX_SUPER_SEGMENTS, SUPER_HEADER_BYTES, superPacketProblem } from '../protocol/super-packet';
import type { FrameLink } from './frame-link';
import { TUNNEL_TCP_MSS, clampTcpMss, ipv4LengthMatches, isIPv4Packet } from './ipv4';
import type { PacketDevice } from './packet-device';

/** The TUN read layout: a frame header's room before each packet, so frames are written in place. */
export const TUN_HEADROOM_BYTES = FRAME_HEADER_BYTES;
/** Longest ordinary packet read from the TUN device: a longer one fits no legacy frame. */
export const TUN_READ_PACKET_BYTES = MAX_PAYLOAD_BYTES;
/** An ordinary packet (kinds[i] of a TUN batch). */
export const PACKET_KIND_ORDINARY = 0;
/** A super-packet region: 4-byte header + TCP/IPv4 packet up to 64 KiB (protocol/super-packet.ts). */
export const PACKET_KIND_SUPER = 1;

/** Largest ordinary packet a plain frame carries (legacy peers' payload limit). */
const MAX_PLAIN_PACKET_BYTES = MAX_PAYLOAD_BYTES;
/** Largest ordinary packet a sealed frame carries (2,053-byte outer frame). */
const MAX_SEALED_PACKET_BYTES = MAX_INNER_FRAME_BYTES - FRAME_HEADER_BYTES;

/** The MSS both ends clamp SYNs to: TCP segments then fit the tunnel's MTU and legacy buffers. */
export function tunnelTcpMss(mtu: number): number {
  return Math.min(TUNNEL_TCP_MSS, mtu - 40);
}

/** The largest ordinary packet that may go over a link that does (or does not) seal its frames. */
export function maxOrdinaryPacketBytes(sealed: boolean): number {
  return sealed ? MAX_SEALED_PACKET_BYTES : MAX_PLAIN_PACKET_BYTES;
}

/** Why a packet read from the TUN device cannot go to a link. */
export type OutboundDrop = 'notIpv4' | 'tooLarge';

/**
 * Checks one region of a TUN batch against the link it is for (`sealed`: the link seals frames).
 * A super-packet always has a way (whole, or cut); an ordinary packet must fit a legacy frame.
 */
export function outboundProblem(buf: Uint8Array, start: number, length: number, kind: number, sealed: boolean): OutboundDrop | null {
  if (kind === PACKET_KIND_SUPER) return null; // the addon made it from a TCP/IPv4 TSO read
  if (!isIPv4Packet(buf, start, length)) return 'notIpv4'; // the tunnel carries IPv4 only
  return length > maxOrdinaryPacketBytes(sealed) ? 'tooLarge' : null;
}

/** Why a packet a link delivered is not written to the TUN device. */
export type InboundDrop = 'notIpv4' | 'badLength' | 'badSuperPacket';

/** Checks a packet (or, kind super, a super-packet region) from a peer before it reaches the TUN device. */
export function inboundProblem(packet: Buffer, kind: number): InboundDrop | null {
  if (kind === PACKET_KIND_SUPER) return superPacketProblem(packet, 0, packet.length) === null ? null : 'badSuperPacket';
  if (!isIPv4Packet(packet, 0, packet.length)) return 'notIpv4';
  return ipv4LengthMatches(packet, 0, packet.length) ? null : 'badLength';
}

/** Where the IPv4 packet of a region starts (after a super-packet's header). */
export function ipv4Start(kind: number): number {
  return kind === PACKET_KIND_SUPER ? SUPER_HEADER_BYTES : 0;
}

/**
 * Bytes of one link's batch handed to it in one write at most. A TUN batch of super-packets may hold
 * megabytes; sent in pieces, each piece meets the link's queue bound anew (FrameLink drops data past
 * it), so a slow peer's queue overshoots its bound by one piece at most, as with packets.
 */
export const MAX_LINK_WRITE_BYTES = 256 * 1024;

/** What went to a link: packets and IPv4 bytes sent, packets dropped because the peer is too slow. */
export interface SendTotals {
  packets: number;
  bytes: number;
  dropped: number;
}

/**
 * Segments of one super-packet cut for a link that did not negotiate super-packets. Shared by all
 * batches: a cut super-packet is sent before anything else is cut.
 */
const SEGMENT_ROOM_BYTES = 65536 + MAX_SUPER_SEGMENTS * (TUN_HEADROOM_BYTES + 120);
const segmentScratch = Buffer.allocUnsafe(SEGMENT_ROOM_BYTES);
const segmentLengths = new Int32Array(MAX_SUPER_SEGMENTS);
const segmentStarts = new Int32Array(MAX_SUPER_SEGMENTS);

/**
 * The packets of one TUN batch bound for one link, sent as one write. Regions stay where the TUN
 * read put them (with a frame header's room before each): nothing is copied on the way.
 */
export class LinkBatch {
  private starts = new Int32Array(64);
  private lengths = new Int32Array(64);
  private kinds = new Uint8Array(64);
  private count = 0;
  private queuedBytes = 0;
  private readonly totals: SendTotals = { packets: 0, bytes: 0, dropped: 0 };

  /** `type`: the data frame type of this direction (DataUp at the client, DataDown at the gateway). */
  constructor(private readonly type: number, private readonly tcpMss: number) {}

  get queued(): number {
    return this.count;
  }

  /**
   * Queues region scratch[start, start + length) (checked with outboundProblem first). A
   * super-packet for a link that did not negotiate them is cut and sent at once, after what is queued.
   */
  add(scratch: Buffer, start: number, length: number, kind: number, link: FrameLink): void {
    if (kind === PACKET_KIND_SUPER && !link.superPackets) {
      this.sendQueued(scratch, link);
      this.sendCut(scratch.subarray(start, start + length), link);
      return;
    }
    if (kind !== PACKET_KIND_SUPER) clampTcpMss(scratch, start, length, this.tcpMss); // super-packets carry no SYN
    if (this.queuedBytes + length > MAX_LINK_WRITE_BYTES) this.sendQueued(scratch, link);
    if (this.count === this.starts.length) this.grow();
    this.starts[this.count] = start;
    this.lengths[this.count] = length;
    this.kinds[this.count] = kind;
    this.count++;
    this.queuedBytes += length;
  }

  /** Sends what is queued; returns what this batch sent since the last finish(), and starts afresh. */
  finish(scratch: Buffer, link: FrameLink): SendTotals {
    this.sendQueued(scratch, link);
    const result = { ...this.totals };
    this.totals.packets = 0;
    this.totals.bytes = 0;
    this.totals.dropped = 0;
    return result;
  }

  private sendQueued(scratch: Buffer, link: FrameLink): void {
    const n = this.count;
    if (n === 0) return;
    this.count = 0;
    this.queuedBytes = 0;
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += this.lengths[i] - ipv4Start(this.kinds[i]);
    if (link.sendPackets(this.type, scratch, this.starts, this.lengths, n, this.kinds)) {
      this.totals.packets += n;
      this.totals.bytes += bytes;
    } else {
      this.totals.dropped += n;
    }
  }

  /** Cuts a super-packet into the segments a legacy peer expects and sends them. */
  private sendCut(region: Buffer, link: FrameLink): void {
    const n = segmentSuperPacket(region, segmentScratch, TUN_HEADROOM_BYTES, segmentLengths);
    if (n === 0) {
      this.totals.dropped++; // not a TCP/IPv4 super-packet after all: the addon would not make one
      return;
    }
    let p = 0;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      segmentStarts[i] = p + TUN_HEADROOM_BYTES;
      p = segmentStarts[i] + segmentLengths[i];
      bytes += segmentLengths[i];
    }
    if (link.sendPackets(this.type, segmentScratch, segmentStarts, segmentLengths, n, null)) {
      this.totals.packets += n;
      this.totals.bytes += bytes;
    } else {
      this.totals.dropped += n;
    }
  }

  private grow(): void {
    const size = this.starts.length * 2;
    const starts = new Int32Array(size);
    const lengths = new Int32Array(size);
    const kinds = new Uint8Array(size);
    starts.set(this.starts);
    lengths.set(this.lengths);
    kinds.set(this.kinds);
    this.starts = starts;
    this.lengths = lengths;
    this.kinds = kinds;
  }
}

/** What one flush wrote to the TUN device. */
export interface WriteTotals {
  written: number;
  bytes: number;
  failed: number;
}

/**
 * Packets from links, checked by the caller (inboundProblem and its own rules), written to the TUN
 * device in one batch at the end of a socket read: runs of TCP segments are coalesced in C, and
 * super-packets go in as GSO packets.
 */
export class TunWrites {
  private readonly packets: Buffer[] = [];
  private kinds = new Uint8Array(64);
  private hasSuper = false;

  constructor(private readonly tcpMss: number) {}

  /** Queues a checked packet (clamping a SYN's MSS) or super-packet region; valid until flush(). */
  push(packet: Buffer, kind: number): void {
    const n = this.packets.length;
    if (n === this.kinds.length) {
      const kinds = new Uint8Array(n * 2);
      kinds.set(this.kinds);
      this.kinds = kinds;
    }
    this.kinds[n] = kind;
    if (kind === PACKET_KIND_SUPER) this.hasSuper = true;
    else clampTcpMss(packet, 0, packet.length, this.tcpMss);
    this.packets.push(packet);
  }

  /** Writes what is queued (tun null: forgotten, e.g. no device yet). */
  flush(tun: PacketDevice | null): WriteTotals {
    const n = this.packets.length;
    const totals = { written: 0, bytes: 0, failed: 0 };
    if (n === 0) return totals;
    if (tun) {
      const written = tun.writePackets(this.packets, n, this.hasSuper ? this.kinds : undefined);
      for (let i = 0; i < written; i++) totals.bytes += this.packets[i].length - ipv4Start(this.kinds[i]);
      totals.written = written;
      totals.failed = n - written;
    }
    this.packets.length = 0;
    this.hasSuper = false;
    return totals;
  }
}

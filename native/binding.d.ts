// The raw exports of build/Release/tun.node (tun.c). Only tun.ts and tests use these directly.

/**
 * Errors from a failed syscall: `code` is the errno name ("EPERM"), `errno` the positive errno
 * value, `syscall` what failed. Bad arguments throw a TypeError with code ERR_INVALID_ARG_TYPE.
 */
export interface NativeErrnoError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export interface NativePoller {
  /** Stops polling and releases the buffers and callback. Idempotent; safe inside onBatch. */
  stop(): void;
}

export interface NativeBinding {
  /** Opens /dev/net/tun (non-blocking, close-on-exec) and attaches IFF_TUN | IFF_NO_PI `name`. */
  open(name: string, vnetHdr?: boolean): { fd: number; name: string };
  close(fd: number): void;
  /**
   * Polls `fd` for readability; per event reads packets until EAGAIN, until `lengths` is full,
   * or until fewer than headroom + maxPacketBytes bytes of `scratch` remain. Packet i lands at
   * p_i + headroom with p_0 = 0 and p_{i+1} = p_i + headroom + lengths[i]. Then onBatch(count)
   * if count > 0. A read error stops the poller and calls onBatch(-errno). `fd` must be
   * non-blocking. Packets longer than maxPacketBytes are dropped. With vnetHdr, TSO reads are cut
   * into segments, and `scratch` must hold at least 65536 + 128 * (headroom + 120) bytes (reads
   * stop while less is left, so one read's segments always fit; up to 128 more entries than
   * without); `lengths` then needs 128 entries of slack.
   *
   * `kinds` (vnetHdr only; at least lengths.length entries): kinds[i] is set per entry. A TSO read
   * (TCPv4, with or without ECN) of 1..128 segments of gso_size >= 1 is not cut: kinds[i] = 1 and
   * the entry is a super-packet region of lengths[i] <= 4 + 65535 bytes: gso_size (u16
   * little-endian), flags (bit 0: ECN), 0, then the TCP/IPv4 packet, its TCP checksum field
   * rewritten to the CHECKSUM_PARTIAL seed (folded, not complemented, pseudo-header sum).
   * Everything else is kinds[i] = 0, as without kinds (maxPacketBytes limits only these).
   */
  startReading(
    fd: number,
    scratch: Uint8Array,
    lengths: Int32Array,
    headroom: number,
    maxPacketBytes: number,
    onBatch: (count: number) => void,
    /** The fd was opened with vnetHdr: each read starts with a virtio-net header, skipped. */
    vnetHdr?: boolean,
    kinds?: Uint8Array,
  ): NativePoller;
  /**
   * One write() per packet (or per coalesced run, with vnetHdr) for packets[0..count). Returns how many were written; stops at
   * EAGAIN, skips packets the kernel rejects (EINVAL, EIO, ...), throws on EBADF. With vnetHdr
   * each write starts with a virtio-net header, and runs of TCP segments of one flow are
   * coalesced into one GSO packet (counted as the segments it holds).
   *
   * `kinds` (vnetHdr only, else a TypeError; at least count entries, each 0 or 1): kinds[i] = 1
   * writes packets[i], a super-packet region (see startReading), as ONE GSO packet (NEEDS_CSUM,
   * TCPV4 | ECN per flag bit 0, hdr_len, gso_size from the region, csum_start = IHL * 4,
   * csum_offset 16), counted as 1, with the checksum seed recomputed from the packet's own header
   * (the caller's bytes are not modified). Runs are never coalesced across it. A region C cannot
   * use (shorter than 4 + 40, unknown flag bits or reserved byte set, not TCP/IPv4, a fragment,
   * IPv4 total length not the region's, headers outside it, no payload, gso_size 0 or more than
   * 128 segments) is skipped like a packet the kernel rejects.
   */
  writePackets(fd: number, packets: readonly Uint8Array[], count: number, vnetHdr?: boolean, kinds?: Uint8Array): number;
  /**
   * Cuts a super-packet region into segments of its gso_size payload bytes, in the batch layout in
   * `dst` from offset 0, with full checksums, IP ids, sequence numbers and flags as the vnet read
   * path cuts a TSO read. Returns the segment count; 0 when the region is not valid (as writePackets
   * skips) or dst/lengths lack room. TypeError on wrong argument types or overlapping region and dst.
   */
  segmentSuperPacket(region: Uint8Array, dst: Uint8Array, headroom: number, lengths: Int32Array): number;
  /**
   * Sends buffer[starts[i] .. starts[i] + lengths[i]) for i < count, in order, on a connected
   * stream socket, without blocking (sendmsg, MSG_DONTWAIT | MSG_NOSIGNAL). Returns the bytes the
   * kernel took: fewer than the total when the socket buffer is full. Throws on socket errors.
   */
  sendRegions(fd: number, buffer: Uint8Array, starts: Int32Array, lengths: Int32Array, count: number): number;
  /** fcntl(fd, F_DUPFD_CLOEXEC): a second descriptor for the same open socket. */
  dupFd(fd: number): number;
  /** SO_PEERCRED of a connected Unix socket. */
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
  /**
   * Test-only: the writes `writePackets(fd, packets, n, true)` would make, without a device. Each
   * group is `count` packets written as `packet` after `vnetHeader` (a struct virtio_net_hdr, host
   * byte order): a GSO super-packet when count > 1, else the packet as it is with a zero header.
   */
  groPlan(packets: readonly Uint8Array[]): { count: number; packet: Uint8Array; vnetHeader: Uint8Array }[];
  /**
   * Test-only: what one read of `vnetHeader` + `packet` from a vnet device adds to a batch, in the
   * batch layout (`bytes`, `lengths`); `lengths` is empty when the read is dropped.
   */
  tsoSegment(
    vnetHeader: Uint8Array,
    packet: Uint8Array,
    headroom: number,
    maxPacketBytes: number,
  ): { bytes: Uint8Array; lengths: number[] };
}

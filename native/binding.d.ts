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
   * non-blocking. Packets longer than maxPacketBytes are dropped.
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
  ): NativePoller;
  /**
   * One write() per packet (or per coalesced run, with vnetHdr) for packets[0..count). Returns how many were written; stops at
   * EAGAIN, skips packets the kernel rejects (EINVAL, EIO, ...), throws on EBADF. With vnetHdr
   * each write starts with a virtio-net header, and runs of TCP segments of one flow are
   * coalesced into one GSO packet (counted as the segments it holds).
   */
  writePackets(fd: number, packets: readonly Uint8Array[], count: number, vnetHdr?: boolean): number;
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

// TUN device on top of the C addon (tun.c). The addon does syscalls and the per-packet offload
// decisions (native/README.md); every other decision (buffer sizes, validation, error wording) is
// made here.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import type { NativeBinding, NativeErrnoError, NativePoller } from './binding';

/** Linux IFNAMSIZ - 1. */
export const MAX_INTERFACE_NAME_LENGTH = 15;
/** Segments one TSO super-packet may become (native/tun.c TSO_MAX_SEGMENTS). */
export const TSO_MAX_SEGMENTS = 128;
/** Bytes before the packet in a super-packet region: gso_size (u16 LE), flags, reserved. */
export const SUPER_PACKET_HEADER_BYTES = 4;
/** Flag bit of a super-packet region header: the TSO read was ECN (VIRTIO_NET_HDR_GSO_ECN). */
export const SUPER_PACKET_FLAG_ECN = 0x01;
/** Longest super-packet region: the header and the largest IPv4 packet. */
export const MAX_SUPER_PACKET_REGION_BYTES = SUPER_PACKET_HEADER_BYTES + 65535;
/** Whole super-packet regions one batch holds at most (about 1 MiB), besides maxBatch packets. */
const SUPER_REGIONS_PER_BATCH = 16;
/** BatchHandler kinds[i]: an ordinary packet, or a super-packet region. */
export const PACKET_KIND = { packet: 0, superPacket: 1 } as const;
const NAME_PATTERN = /^[A-Za-z0-9_.%-]*$/;
/** Largest IPv4/IPv6 packet a TUN without offloads can carry. */
const MAX_PACKET_BYTES = 65535;

export interface ReadOptions {
  /** Free bytes kept before each packet in the scratch buffer (e.g. 5 for a frame header). Default 0. */
  headroom?: number;
  /** Most packets delivered per onBatch call. Default 64. */
  maxBatch?: number;
  /** Longest packet accepted; longer ones are dropped. Must be at least the MTU. Default 65535. */
  maxPacketBytes?: number;
  /** Read failure (reading has stopped by then). Without it the error is thrown as uncaught. */
  onError?: (err: Error) => void;
  /**
   * Coalescing devices only: deliver a TSO read whole, as one super-packet region (kinds[i] = 1:
   * 4-byte header + the TCP/IPv4 packet with its checksum seed) instead of cutting it into segments.
   * For peers that negotiated super-packets; toward anyone else leave it off (or cut each region
   * with segmentSuperPacket).
   */
  superPackets?: boolean;
}

/**
 * Receives packets[i] = scratch.subarray(offset_i + headroom, offset_i + headroom + lengths[i]),
 * offset_0 = 0, offset_{i+1} = offset_i + headroom + lengths[i]. So scratch[0 .. offset_count)
 * is a run of back-to-back frames once the caller writes a header into each headroom gap.
 * `kinds` (null unless ReadOptions.superPackets): kinds[i] = PACKET_KIND.superPacket when entry i
 * is a super-packet region rather than a packet. Reused like scratch.
 */
export type BatchHandler = (scratch: Buffer, lengths: Int32Array, count: number, kinds: Uint8Array | null) => void;

/** A failed TUN operation: `code` is the errno name (or an ERR_TUN_* code), `message` says what to try. */
export class TunError extends Error {
  override readonly name = 'TunError';
  constructor(
    message: string,
    readonly code: string,
    readonly errno?: number,
    readonly syscall?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---- addon loading ---------------------------------------------------------------------------

let loaded: NativeBinding | undefined;

/** The raw addon, loaded on first use so that merely importing this module never fails. */
export function nativeBinding(): NativeBinding {
  if (loaded) return loaded;
  // dist/native/tun.js (compiled) or native/tun.ts (run from source).
  const candidates = [
    join(__dirname, '..', '..', 'native', 'build', 'Release', 'tun.node'),
    join(__dirname, 'build', 'Release', 'tun.node'),
  ];
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new TunError(
      `the TUN addon is not built (looked for ${candidates.join(', ')}): run "npm run build:native"`,
      'ERR_TUN_ADDON_MISSING',
    );
  }
  loaded = require(found) as NativeBinding;
  return loaded;
}

// ---- errors ----------------------------------------------------------------------------------

function isErrnoError(err: unknown): err is NativeErrnoError {
  return err instanceof Error && typeof (err as Partial<NativeErrnoError>).errno === 'number';
}

function describeErrno(errno: number): { code: string; text: string } {
  // The map is keyed by libuv codes, which are -errno on Linux.
  const entry = getSystemErrorMap().get(-errno);
  return entry ? { code: entry[0], text: entry[1] } : { code: `E${errno}`, text: `errno ${errno}` };
}

function openHint(code: string, name: string): string {
  const shown = name === '' ? 'a kernel-chosen name' : `"${name}"`;
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return 'need root or CAP_NET_ADMIN (or a persistent TUN made for this user: ' +
        '"ip tuntap add mode tun user <user> name <name>")';
    case 'ENOENT':
    case 'ENODEV':
    case 'ENXIO':
      return '/dev/net/tun is unavailable: load the module ("modprobe tun"), or give the ' +
        'container the device ("--device /dev/net/tun --cap-add NET_ADMIN")';
    case 'EBUSY':
      return `${shown} is already in use (another process, or this one, has it open); pick another ` +
        'name or a pattern like "4o6%d"';
    case 'EINVAL':
      return `the kernel refused ${shown}: an interface that is not a TUN (e.g. a TAP or ethernet ` +
        'device) may have that name; pick another name or a pattern like "4o6%d"';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files; close some or raise the limit ("ulimit -n")';
    default:
      return 'check that the tun module is loaded and the name is free';
  }
}

/** Turns an addon errno error into a TunError; anything else (usage errors) passes unchanged. */
function toTunError(err: unknown, what: string, hint = ''): unknown {
  if (!isErrnoError(err)) return err;
  return new TunError(`${what}: ${err.message}${hint ? `: ${hint}` : ''}`, err.code, err.errno, err.syscall, {
    cause: err,
  });
}

function readError(errno: number, name: string): TunError {
  const { code, text } = describeErrno(errno);
  const hint = code === 'EBADF' || code === 'EBADFD'
    ? ': the device was removed (e.g. "ip link del") or its fd was closed'
    : '';
  return new TunError(`reading from TUN "${name}" failed: ${text}${hint}`, code, errno, 'read');
}

// ---- validation ------------------------------------------------------------------------------

function checkName(name: string): void {
  const percents = name.split('%').length - 1;
  const valid = name.length <= MAX_INTERFACE_NAME_LENGTH && NAME_PATTERN.test(name) &&
    name !== '.' && name !== '..' && (percents === 0 || (percents === 1 && name.includes('%d')));
  if (!valid) {
    throw new TunError(
      `invalid TUN interface name ${JSON.stringify(name)}: use at most ${MAX_INTERFACE_NAME_LENGTH} ` +
        'characters from A-Z a-z 0-9 _ . - with at most one "%d" (the kernel fills in a number), ' +
        'or "" to let the kernel choose',
      'EINVAL',
    );
  }
}

function intOption(value: number | undefined, fallback: number, min: number, max: number, what: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`${what} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return n;
}

// ---- the device ------------------------------------------------------------------------------

export class TunDevice {
  private poller: NativePoller | undefined;
  private isClosed = false;

  private constructor(
    readonly fd: number,
    readonly name: string,
    /** Reads and writes carry a virtio-net header; writes coalesce TCP segments (GSO). */
    readonly coalescing = false,
  ) {}

  /**
   * Creates (or attaches to) TUN `name`; "" or a pattern like "4o6%d" lets the kernel pick.
   * `coalesce`: open with IFF_VNET_HDR so that writePackets hands the kernel runs of TCP segments
   * of one flow as one GSO super-packet (one inner-TCP receive instead of dozens).
   */
  static open(name = '', options: { coalesce?: boolean } = {}): TunDevice {
    if (typeof name !== 'string') throw new TypeError('TunDevice.open(name?: string)');
    checkName(name);
    const binding = nativeBinding();
    let opened: { fd: number; name: string };
    try {
      opened = binding.open(name, options.coalesce === true);
    } catch (err) {
      const code = isErrnoError(err) ? err.code : '';
      throw toTunError(err, `cannot open TUN ${name === '' ? '(kernel-chosen name)' : `"${name}"`}`, openHint(code, name));
    }
    return new TunDevice(opened.fd, opened.name, options.coalesce === true);
  }

  /**
   * Wraps an already attached, non-blocking TUN fd (e.g. one passed over a Unix socket by the
   * root helper). The device owns the fd from now on: close() closes it.
   */
  static fromFd(fd: number, name: string): TunDevice {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
    if (typeof name !== 'string') throw new TypeError('TunDevice.fromFd(fd: number, name: string)');
    nativeBinding();
    return new TunDevice(fd, name);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get reading(): boolean {
    return this.poller !== undefined;
  }

  /**
   * Readiness-driven batched reads. The batch buffer is a scratch buffer reused after onBatch
   * returns: copy what you keep.
   */
  startReading(onBatch: BatchHandler, options: ReadOptions = {}): void {
    this.assertOpen();
    if (this.poller) throw new TunError(`TUN "${this.name}" is already reading`, 'ERR_TUN_READING');
    if (typeof onBatch !== 'function') throw new TypeError('startReading(onBatch: function, options?)');
    const headroom = intOption(options.headroom, 0, 0, 65536, 'headroom');
    const maxBatch = intOption(options.maxBatch, 64, 1, 65536, 'maxBatch');
    const maxPacketBytes = intOption(options.maxPacketBytes, MAX_PACKET_BYTES, 1, MAX_PACKET_BYTES, 'maxPacketBytes');
    const { onError } = options;
    const superPackets = options.superPackets ?? false;
    if (typeof superPackets !== 'boolean') throw new TypeError(`superPackets must be a boolean, got ${String(superPackets)}`);
    if (superPackets && !this.coalescing) {
      throw new TunError(
        `TUN "${this.name}" cannot read super-packets: open it with { coalesce: true } (TSO reads need IFF_VNET_HDR)`,
        'ERR_TUN_NO_OFFLOAD',
      );
    }
    // Room for maxBatch packets of the largest size, so the count limit is the one that binds. The
    // tail a batch of small packets never reaches is address space only: large allocations are not
    // zero-filled, so their pages are not touched.
    // Coalescing devices also read TSO super-packets (up to 64 KiB, cut into up to 128 segments in
    // C): room for one more whole super-packet, so a batch may exceed maxBatch by its segments.
    // With superPackets, room for SUPER_REGIONS_PER_BATCH whole regions on top: a batch of them
    // stops there (the read loop reads only while a whole one still fits), which keeps one readiness
    // event's work near a megabyte.
    const superRoom = superPackets ? SUPER_REGIONS_PER_BATCH * (headroom + MAX_SUPER_PACKET_REGION_BYTES) : 0;
    const tsoRoom = this.coalescing ? 65536 + TSO_MAX_SEGMENTS * (headroom + 120) : 0;
    const scratch = Buffer.allocUnsafe(maxBatch * (headroom + maxPacketBytes) + superRoom + tsoRoom);
    const lengths = new Int32Array(maxBatch + (this.coalescing ? TSO_MAX_SEGMENTS : 0));
    const kinds = superPackets ? new Uint8Array(lengths.length) : null;
    const handler = (count: number): void => {
      if (count > 0) {
        onBatch(scratch, lengths, count, kinds);
        return;
      }
      // The addon has already stopped this poller.
      if (this.poller === poller) this.poller = undefined;
      const err = readError(-count, this.name);
      if (onError) onError(err);
      else throw err;
    };
    let poller: NativePoller;
    try {
      poller = nativeBinding().startReading(
        this.fd, scratch, lengths, headroom, maxPacketBytes, handler, this.coalescing, kinds ?? undefined,
      );
    } catch (err) {
      throw toTunError(err, `cannot start reading TUN "${this.name}"`);
    }
    this.poller = poller;
  }

  /** Stops delivering batches. Idempotent; may be called from inside onBatch. */
  stopReading(): void {
    const poller = this.poller;
    this.poller = undefined;
    poller?.stop();
  }

  /**
   * Writes packets[0..count), one packet per write. Returns how many the kernel took: it stops
   * early when the device queue is full (EAGAIN) and skips packets the kernel rejects.
   * `kinds` (coalescing devices only): kinds[i] = PACKET_KIND.superPacket writes packets[i], a
   * super-packet region, as one GSO packet (counted as 1); an invalid region is skipped.
   */
  writePackets(
    packets: readonly Uint8Array[],
    count = Array.isArray(packets) ? packets.length : 0,
    kinds?: Uint8Array,
  ): number {
    this.assertOpen();
    if (kinds !== undefined && !this.coalescing) {
      throw new TunError(
        `TUN "${this.name}" cannot write super-packets: open it with { coalesce: true } (GSO writes need IFF_VNET_HDR)`,
        'ERR_TUN_NO_OFFLOAD',
      );
    }
    try {
      return nativeBinding().writePackets(this.fd, packets, count, this.coalescing, kinds);
    } catch (err) {
      throw toTunError(err, `cannot write to TUN "${this.name}"`);
    }
  }

  /** Stops reading and releases the device (a non-persistent TUN disappears). Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true; // before close(2): never close an fd number twice, even if this throws
    this.stopReading();
    try {
      nativeBinding().close(this.fd);
    } catch (err) {
      throw toTunError(err, `closing TUN "${this.name}" failed`);
    }
  }

  private assertOpen(): void {
    if (this.isClosed) throw new TunError(`TUN "${this.name}" is closed`, 'ERR_TUN_CLOSED');
  }
}

/**
 * Cuts a super-packet region into segments of its gso_size payload bytes, in the batch layout in
 * `dst` from offset 0 (segment k at q_k + headroom, q_{k+1} = q_k + headroom + lengths[k]), each
 * with full IPv4 and TCP checksums, IP ids counting up, sequence numbers advancing, CWR on the first
 * and FIN/PSH on the last only. Returns the segment count: 0 when the region is not a valid TCP/IPv4
 * super-packet region or `dst`/`lengths` lack room (at most TSO_MAX_SEGMENTS segments; `dst` needs
 * segments * (headroom + headers) + payload bytes). For sending a super-packet to a legacy peer.
 */
export function segmentSuperPacket(region: Uint8Array, dst: Uint8Array, headroom: number, lengths: Int32Array): number {
  return nativeBinding().segmentSuperPacket(region, dst, headroom, lengths);
}

/** The pid/uid/gid of the process at the other end of a connected Unix socket (SO_PEERCRED). */
export function peerCredentials(fd: number): { pid: number; uid: number; gid: number } {
  return nativeBinding().peerCredentials(fd);
}

// One framed, optionally encrypted TCP connection: reads whole frames, writes whole frames in order,
// batches data frames into one socket write, and drops (never queues without bound) when the peer is slow.
import type { Socket } from 'node:net';
import { AuthenticationError, ENCRYPTION_OVERHEAD_BYTES, FrameCipher, MAX_INNER_FRAME_BYTES, MAX_NEGOTIATED_INNER_FRAME_BYTES } from '../protocol/crypto';
import {
  FRAME_HEADER_BYTES,
  FRAME_TYPE_OFFSET,
  FrameReader,
  MAX_NEGOTIATED_FRAME_BYTES,
  MalformedFrameError,
  MessageType,
  writeFrameHeader,
} from '../protocol/frame';
import { onSocketChunks } from './socket-read';
import { sendRegions } from './socket-send';

/**
 * Bytes one link may read per event-loop turn before it pauses until the next turn. Without it a
 * busy uploader's socket is drained ~2 MB per turn while the TUN reader gets one batch: traffic
 * toward clients starved (3.9 % delivered with 16 uploaders, bench/scale-bench.ts).
 */
const READ_BUDGET_BYTES = 256 * 1024;
/**
 * Sealed frames of one batch, before they go to the socket. One for all links: sendPackets fills
 * and sends it (copying what the kernel does not take) before returning, and JS runs one at a time.
 */
let sealArena = Buffer.allocUnsafeSlow(512 * 1024);
/** Frame regions of one batch (start, length), reused across calls and links. */
let regionStarts = new Int32Array(512);
let regionLengths = new Int32Array(512);
/** Kinds of the packets given to sendPackets (link/data-path.ts): 1 is a super-packet region. */
const KIND_SUPER = 1;
/**
 * How far past highWaterBytes control frames may still queue when the caller does not say: a data
 * batch goes out whenever the queue is under the bound, so one batch may take it past by its own size.
 */
export const DEFAULT_CONTROL_HEADROOM_BYTES = 512 * 1024;

/** The peer does not read: its queue passed the bound with a control frame, so the link was closed. */
export class SendQueueFullError extends Error {
  constructor(readonly queuedBytes: number) {
    super(`send queue full: ${queuedBytes} bytes queued and the peer is not reading`);
    this.name = 'SendQueueFullError';
  }
}

/**
 * Why a link closed, for its owner to act on (counters, failure reasons) without matching error
 * names: `peer` the other end closed; `socketError` the socket failed; `malformed` a frame length
 * that cannot be right (MalformedFrameError: the stream cannot be resynchronised); `queueFull` the
 * peer does not read (SendQueueFullError); `local` the owner called close().
 */
export type LinkCloseKind = 'peer' | 'socketError' | 'malformed' | 'queueFull' | 'local';

export interface LinkStats {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  /** Data packets dropped because the peer does not read fast enough. */
  packetsDroppedQueueFull: number;
  decryptFailures: number;
}

export interface FrameLinkHandlers {
  /** An inner frame (decrypted when it came as type 200 and a cipher is set). `payload` is valid until onChunkEnd. */
  onFrame(type: number, payload: Buffer, encrypted: boolean): void;
  /** All frames of one socket read were delivered: flush batched work (TUN writes). */
  onChunkEnd?(): void;
  onDecryptFailed?(err: AuthenticationError | MalformedFrameError): void;
  /**
   * The link is closed (called once): `reason` for logs, `kind` for decisions. `error` is set for
   * malformed input, a full queue and socket errors.
   */
  onClose(reason: string, error: Error | undefined, kind: LinkCloseKind): void;
}

export interface FrameLinkOptions {
  cipher: FrameCipher | null;
  /** Seal every outgoing frame (a keyed client: from its first frame). */
  encryptOutgoing: boolean;
  /**
   * The bound on bytes queued toward the peer (everything: data and control frames). Data packets
   * are dropped while the queue is over it, as a router would.
   */
  highWaterBytes: number;
  /**
   * Control frames (IP response, heartbeat, 199) are never dropped, but count against the same
   * queue: one that finds it past highWaterBytes + this closes the link (SendQueueFullError). Make
   * it at least the largest data batch the caller sends, which may overshoot the bound once.
   * Default DEFAULT_CONTROL_HEADROOM_BYTES.
   */
  controlHeadroomBytes?: number;
}

export class FrameLink {
  readonly stats: LinkStats = {
    bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, packetsDroppedQueueFull: 0, decryptFailures: 0,
  };
  private readonly reader = new FrameReader();
  private turnBytes = 0;
  private turnEndScheduled = false;
  private pausedForFairness = false;
  private closed = false;
  private readonly controlLimitBytes: number;
  private superPacketsOn = false;
  encryptOutgoing: boolean;

  constructor(readonly socket: Socket, private readonly opts: FrameLinkOptions, private readonly handlers: FrameLinkHandlers) {
    this.encryptOutgoing = opts.encryptOutgoing;
    this.controlLimitBytes = opts.highWaterBytes + (opts.controlHeadroomBytes ?? DEFAULT_CONTROL_HEADROOM_BYTES);
    socket.setNoDelay(true); // without it Nagle + pacing gives the legacy pair its 16 ms lockstep
    onSocketChunks(socket, (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.closeFor('socketError', `socket error: ${err.message}`, err));
    socket.on('close', () => this.closeFor('peer', 'connection closed by peer'));
    socket.on('end', () => this.closeFor('peer', 'connection closed by peer'));
  }

  get cipher(): FrameCipher | null {
    return this.opts.cipher;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Whether type-106 super-packet frames may cross this link (both ends said so: docs/protocol.md
   * "Super-packets"). Before that, frames keep the legacy 2,053-byte limit.
   */
  get superPackets(): boolean {
    return this.superPacketsOn;
  }

  /** Both ends agreed on super-packets: accept frames up to the negotiated limit from now on. */
  enableSuperPackets(): void {
    this.superPacketsOn = true;
    this.reader.maxFrameBytes = MAX_NEGOTIATED_FRAME_BYTES;
  }

  /** Bytes accepted by write() but not yet handed to the kernel. */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Sends one control frame (already encoded as a plain frame); sealed when encrypting. Never
   * dropped: false when the link is closed, or closes now because the peer's queue is past its
   * bound (see controlHeadroomBytes).
   */
  sendFrame(frame: Buffer): boolean {
    const cipher = this.encryptOutgoing ? this.opts.cipher : null;
    if (this.closed || !this.roomForControl(frame.length + (cipher ? ENCRYPTION_OVERHEAD_BYTES : 0))) return false;
    const out = cipher ? cipher.seal(frame) : frame;
    this.write(out, 1);
    return true;
  }

  /** Sends a frame plain even when encrypting (type 199 answers); bounded like sendFrame. */
  sendPlainFrame(frame: Buffer): boolean {
    if (this.closed || !this.roomForControl(frame.length)) return false;
    this.write(frame, 1);
    return true;
  }

  /** Whether a control frame of `bytes` fits under the queue's bound; closes the link when not. */
  private roomForControl(bytes: number): boolean {
    const queued = this.socket.writableLength;
    if (queued + bytes <= this.controlLimitBytes) return true;
    const err = new SendQueueFullError(queued);
    this.closeFor('queueFull', err.message, err);
    return false;
  }

  /**
   * Sends packets as frames of `type`, handed to the kernel in one sendmsg where it has room. Each
   * packet i is at scratch[starts[i]], with at least 5 writable bytes before it: the header is
   * written there, so neither plain sending nor sealing copies the packets first. `scratch` may be
   * reused when this returns. Returns false (and counts the drop) when the peer is too far behind.
   * `kinds[i] === 1` marks a super-packet region, sent as a type-106 frame (only once negotiated).
   */
  sendPackets(type: number, scratch: Buffer, starts: ArrayLike<number>, lengths: ArrayLike<number>, count: number, kinds: ArrayLike<number> | null = null): boolean {
    if (this.closed || count === 0) return false;
    if (this.socket.writableLength > this.opts.highWaterBytes) {
      this.stats.packetsDroppedQueueFull += count;
      return false;
    }
    const cipher = this.encryptOutgoing ? this.opts.cipher : null;
    let total = 0;
    if (cipher) {
      let need = 0;
      for (let i = 0; i < count; i++) need += lengths[i] + FRAME_HEADER_BYTES + ENCRYPTION_OVERHEAD_BYTES;
      if (need > sealArena.length) sealArena = Buffer.allocUnsafeSlow(need);
      for (let i = 0; i < count; i++) {
        const start = starts[i] - FRAME_HEADER_BYTES;
        if (kinds !== null && kinds[i] === KIND_SUPER) {
          this.assertSuperPackets();
          writeFrameHeader(scratch, start, MessageType.SuperPacket, lengths[i], MAX_NEGOTIATED_FRAME_BYTES);
          total += cipher.sealInto(sealArena, total, scratch.subarray(start, starts[i] + lengths[i]), MAX_NEGOTIATED_INNER_FRAME_BYTES);
        } else {
          writeFrameHeader(scratch, start, type, lengths[i]);
          total += cipher.sealInto(sealArena, total, scratch.subarray(start, starts[i] + lengths[i]), MAX_INNER_FRAME_BYTES);
        }
      }
      regionStarts[0] = 0;
      regionLengths[0] = total;
      this.stats.bytesOut += total;
      this.stats.framesOut += count;
      sendRegions(this.socket, sealArena, regionStarts, regionLengths, 1, total);
      return true;
    }
    // Plain: each frame is its packet plus the header written into the gap before it, sent from
    // `scratch` itself. The reader's layout makes most batches one contiguous region.
    if (count > regionStarts.length) {
      regionStarts = new Int32Array(count);
      regionLengths = new Int32Array(count);
    }
    for (let i = 0; i < count; i++) {
      const start = starts[i] - FRAME_HEADER_BYTES;
      if (kinds !== null && kinds[i] === KIND_SUPER) {
        this.assertSuperPackets();
        writeFrameHeader(scratch, start, MessageType.SuperPacket, lengths[i], MAX_NEGOTIATED_FRAME_BYTES);
      } else {
        writeFrameHeader(scratch, start, type, lengths[i]);
      }
      regionStarts[i] = start;
      regionLengths[i] = lengths[i] + FRAME_HEADER_BYTES;
      total += lengths[i] + FRAME_HEADER_BYTES;
    }
    this.stats.bytesOut += total;
    this.stats.framesOut += count;
    sendRegions(this.socket, scratch, regionStarts, regionLengths, count, total);
    return true;
  }

  /** A super-packet toward a peer that did not agree to them would be a protocol error on its side. */
  private assertSuperPackets(): void {
    if (!this.superPacketsOn) throw new Error('a super-packet frame was given to a link that did not negotiate super-packets');
  }

  /** Closes the link for a reason of the owner's own (kind `local`). */
  close(reason: string): void {
    this.closeFor('local', reason);
  }

  /**
   * Sends a last plaintext frame (e.g. a 199 that says why) and closes (kind `local`) without
   * resetting: the socket is ended and what the peer still sends is read and dropped for up to
   * `lingerMs`, since closing with unread input would reset the connection and could lose the frame.
   */
  closeAfterPlainFrame(frame: Buffer, reason: string, lingerMs = 2000): void {
    if (this.closed) return;
    this.closed = true;
    const socket = this.socket;
    const timer = setTimeout(() => socket.destroy(), lingerMs);
    socket.once('close', () => clearTimeout(timer));
    socket.end(frame);
    socket.resume();
    this.handlers.onClose(reason, undefined, 'local');
  }

  private closeFor(kind: LinkCloseKind, reason: string, error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.handlers.onClose(reason, error, kind);
  }

  private write(buf: Buffer, frames: number): void {
    this.stats.bytesOut += buf.length;
    this.stats.framesOut += frames;
    this.socket.write(buf);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.stats.bytesIn += chunk.length;
    this.turnBytes += chunk.length;
    if (!this.turnEndScheduled) {
      this.turnEndScheduled = true;
      setImmediate(this.endTurn);
    }
    if (this.turnBytes >= READ_BUDGET_BYTES && !this.pausedForFairness) {
      this.pausedForFairness = true;
      this.socket.pause(); // the rest waits in the kernel (TCP pushes back on the peer)
    }
    try {
      this.reader.pushEach(chunk, this.onWireFrame);
    } catch (err) {
      if (err instanceof MalformedFrameError) {
        this.closeFor('malformed', err.message, err);
        return;
      }
      throw err;
    }
    this.handlers.onChunkEnd?.();
  }

  private readonly endTurn = (): void => {
    this.turnEndScheduled = false;
    this.turnBytes = 0;
    if (this.pausedForFairness) {
      this.pausedForFairness = false;
      if (!this.closed) this.socket.resume();
    }
  };

  private readonly onWireFrame = (type: number, payload: Buffer): void => {
    if (this.closed) return;
    this.stats.framesIn++;
    const cipher = this.opts.cipher;
    if (type !== MessageType.Encrypted || cipher === null) {
      this.handlers.onFrame(type, payload, false);
      return;
    }
    // Opened where it lies (in the chunk, or the reader's buffer for a frame cut across reads): like
    // a plain frame's payload it stays valid until onChunkEnd, which hands everything on.
    let inner: Buffer;
    try {
      inner = cipher.openInPlace(payload);
    } catch (err) {
      if (err instanceof AuthenticationError || err instanceof MalformedFrameError) {
        this.stats.decryptFailures++;
        this.handlers.onDecryptFailed?.(err);
        return;
      }
      throw err;
    }
    this.handlers.onFrame(inner[FRAME_TYPE_OFFSET], inner.subarray(FRAME_HEADER_BYTES), true);
  };
}

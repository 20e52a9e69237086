// Frame codec: u32 length (little-endian, header included) | u8 type | payload. protocol.md "Frame".
import { MAX_SUPER_PACKET_BYTES, SUPER_HEADER_BYTES } from './super-packet';

export const FRAME_HEADER_BYTES = 5;
/** Largest payload legacy peers accept (protocol.md "Frame"). */
export const MAX_PAYLOAD_BYTES = 2048;
export const MAX_FRAME_BYTES = FRAME_HEADER_BYTES + MAX_PAYLOAD_BYTES; // 2053
/** Outer header, XChaCha20 nonce (24), Poly1305 tag (16): what sealing adds (crypto.ts, same sum). */
const SEALING_OVERHEAD_BYTES = FRAME_HEADER_BYTES + 24 + 16;
/**
 * Largest frame between our own peers once they negotiated super-packets (type 105): a sealed
 * type-106 frame holding the largest region. Before that, and always with legacy peers, MAX_FRAME_BYTES.
 */
export const MAX_NEGOTIATED_FRAME_BYTES =
  FRAME_HEADER_BYTES + SUPER_HEADER_BYTES + MAX_SUPER_PACKET_BYTES + SEALING_OVERHEAD_BYTES; // 65589
const LENGTH_OFFSET = 0;
/** Where a frame's type byte sits (after the u32 length). */
export const FRAME_TYPE_OFFSET = 4;

export const MessageType = {
  IpRequest: 100,
  IpResponse: 101,
  DataUp: 102,
  DataDown: 103,
  Heartbeat: 104,
  /** Ours only: the gateway's answer to `caps=` in an IP request (protocol.md). */
  Capabilities: 105,
  /** Ours only, after negotiation: one TCP super-packet region, either direction. */
  SuperPacket: 106,
  Unsupported: 199,
  Encrypted: 200,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** A frame whose length field cannot be right; the stream cannot be resynchronised after it. */
export class MalformedFrameError extends Error {
  readonly code = 'FRAME_LENGTH_INVALID';
  constructor(readonly length: number, detail?: string, maxFrameBytes: number = MAX_FRAME_BYTES) {
    super(
      detail ??
        `malformed frame: length field ${length} is outside ${FRAME_HEADER_BYTES}..${maxFrameBytes}`,
    );
    this.name = 'MalformedFrameError';
  }
}

export interface Frame {
  /** The type byte; may be a type this code does not know (callers ignore those). */
  type: number;
  /** A view into the reader's input (or a small reassembly buffer): no copy. */
  payload: Buffer;
}

/** Encodes one frame into a fresh buffer; refuses one longer than `maxFrameBytes`. */
export function encodeFrame(type: number, payload: Uint8Array = EMPTY, maxFrameBytes: number = MAX_FRAME_BYTES): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(frame, 0, type, payload.length, maxFrameBytes);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Writes a header at `offset` for a payload of `payloadBytes` that the caller places after it. */
export function writeFrameHeader(
  dst: Buffer,
  offset: number,
  type: number,
  payloadBytes: number,
  maxFrameBytes: number = MAX_FRAME_BYTES,
): void {
  const length = FRAME_HEADER_BYTES + payloadBytes;
  if (length > maxFrameBytes) {
    throw new RangeError(`frame of ${length} bytes exceeds the ${maxFrameBytes}-byte limit`);
  }
  dst.writeUInt32LE(length, offset + LENGTH_OFFSET);
  dst[offset + FRAME_TYPE_OFFSET] = type;
}

export function isValidFrameLength(length: number, maxFrameBytes: number = MAX_FRAME_BYTES): boolean {
  return length >= FRAME_HEADER_BYTES && length <= maxFrameBytes;
}

export const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Assembles whole frames from arbitrary TCP chunks. A chunk holding whole frames yields views
 * into that chunk; only a frame cut across chunks is copied (into a buffer of its own size).
 * After a MalformedFrameError the reader stays failed: the stream cannot be resynchronised.
 * Views stay valid as long as the caller does not overwrite the chunks it pushed (a cut frame
 * longer than the legacy limit: until the next push).
 * The length limit is MAX_FRAME_BYTES until the link raises it after negotiating super-packets.
 */
export class FrameReader {
  private limit = MAX_FRAME_BYTES;
  /** Bytes of a frame cut across chunks: header first, then the rest once its length is known. */
  private partial: Buffer | null = null;
  private partialBytes = 0;
  private readonly header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  private failure: MalformedFrameError | null = null;
  /**
   * Where cut frames longer than the legacy limit are assembled, in turn: a 64 KiB super-packet
   * frame is cut across reads about every other time, and a fresh buffer for each made the garbage
   * collector run hot. A frame assembled in one stays valid until the next push.
   */
  private readonly large: Buffer[] = [];
  private nextLarge = 0;

  /** Largest frame accepted: MAX_FRAME_BYTES (legacy) up to MAX_NEGOTIATED_FRAME_BYTES. */
  get maxFrameBytes(): number {
    return this.limit;
  }

  set maxFrameBytes(bytes: number) {
    if (!Number.isInteger(bytes) || bytes < MAX_FRAME_BYTES || bytes > MAX_NEGOTIATED_FRAME_BYTES) {
      throw new RangeError(`frame limit must be an integer in ${MAX_FRAME_BYTES}..${MAX_NEGOTIATED_FRAME_BYTES}, got ${bytes}`);
    }
    this.limit = bytes;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.partialBytes;
  }

  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    this.pushEach(chunk, (type, payload) => frames.push({ type, payload }));
    return frames;
  }

  /** Same as push, without the array: calls `onFrame` for each whole frame, in order. */
  pushEach(chunk: Buffer, onFrame: (type: number, payload: Buffer) => void): void {
    if (this.failure) throw this.failure;
    let offset = 0;
    if (this.partialBytes > 0) {
      offset = this.continuePartial(chunk, onFrame);
      if (offset < 0) return; // chunk consumed, frame still incomplete
    }
    const end = chunk.length;
    while (end - offset >= FRAME_HEADER_BYTES) {
      const length = chunk.readUInt32LE(offset + LENGTH_OFFSET);
      if (!isValidFrameLength(length, this.limit)) this.fail(length);
      if (end - offset < length) break;
      onFrame(chunk[offset + FRAME_TYPE_OFFSET], chunk.subarray(offset + FRAME_HEADER_BYTES, offset + length));
      offset += length;
    }
    if (offset < end) this.startPartial(chunk, offset);
  }

  /** Feeds the start of `chunk` to the cut frame; returns where whole-frame parsing resumes, or -1. */
  private continuePartial(chunk: Buffer, onFrame: (type: number, payload: Buffer) => void): number {
    let offset = 0;
    if (this.partial === null) {
      // Still collecting the 5-byte header.
      const take = Math.min(FRAME_HEADER_BYTES - this.partialBytes, chunk.length);
      chunk.copy(this.header, this.partialBytes, 0, take);
      this.partialBytes += take;
      offset = take;
      if (this.partialBytes < FRAME_HEADER_BYTES) return -1;
      const length = this.header.readUInt32LE(LENGTH_OFFSET);
      if (!isValidFrameLength(length, this.limit)) this.fail(length);
      this.partial = this.frameBuffer(length);
      this.header.copy(this.partial, 0);
    }
    const frame = this.partial;
    const take = Math.min(frame.length - this.partialBytes, chunk.length - offset);
    chunk.copy(frame, this.partialBytes, offset, offset + take);
    this.partialBytes += take;
    offset += take;
    if (this.partialBytes < frame.length) return -1;
    this.partial = null;
    this.partialBytes = 0;
    onFrame(frame[FRAME_TYPE_OFFSET], frame.subarray(FRAME_HEADER_BYTES));
    return offset;
  }

  private startPartial(chunk: Buffer, offset: number): void {
    const rest = chunk.length - offset;
    if (rest < FRAME_HEADER_BYTES) {
      chunk.copy(this.header, 0, offset);
      this.partial = null;
      this.partialBytes = rest;
      return;
    }
    const length = chunk.readUInt32LE(offset); // validated by the caller's loop
    this.partial = this.frameBuffer(length);
    chunk.copy(this.partial, 0, offset);
    this.partialBytes = rest;
  }

  /** Room for one cut frame: its own small buffer, or (past the legacy limit) the next of two reused ones. */
  private frameBuffer(length: number): Buffer {
    if (length <= MAX_FRAME_BYTES) return Buffer.allocUnsafe(length);
    const i = this.nextLarge;
    this.nextLarge = 1 - i;
    this.large[i] ??= Buffer.allocUnsafeSlow(MAX_NEGOTIATED_FRAME_BYTES);
    return this.large[i].subarray(0, length);
  }

  private fail(length: number): never {
    this.failure = new MalformedFrameError(length, undefined, this.limit);
    this.partial = null;
    this.partialBytes = 0;
    throw this.failure;
  }
}

// Frame codec: u32 length (little-endian, header included) | u8 type | payload. protocol.md "Frame".

export const FRAME_HEADER_BYTES = 5;
/** Largest payload legacy peers accept (protocol.md "Frame"). */
export const MAX_PAYLOAD_BYTES = 2048;
export const MAX_FRAME_BYTES = FRAME_HEADER_BYTES + MAX_PAYLOAD_BYTES; // 2053
const LENGTH_OFFSET = 0;
/** Where a frame's type byte sits (after the u32 length). */
export const FRAME_TYPE_OFFSET = 4;

export const MessageType = {
  IpRequest: 100,
  IpResponse: 101,
  DataUp: 102,
  DataDown: 103,
  Heartbeat: 104,
  Unsupported: 199,
  Encrypted: 200,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** A frame whose length field cannot be right; the stream cannot be resynchronised after it. */
export class MalformedFrameError extends Error {
  readonly code = 'FRAME_LENGTH_INVALID';
  constructor(readonly length: number, detail?: string) {
    super(
      detail ??
        `malformed frame: length field ${length} is outside ${FRAME_HEADER_BYTES}..${MAX_FRAME_BYTES}`,
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

/** Encodes one frame into a fresh buffer. */
export function encodeFrame(type: number, payload: Uint8Array = EMPTY): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(frame, 0, type, payload.length);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Writes a header at `offset` for a payload of `payloadBytes` that the caller places after it. */
export function writeFrameHeader(dst: Buffer, offset: number, type: number, payloadBytes: number): void {
  const length = FRAME_HEADER_BYTES + payloadBytes;
  if (length > MAX_FRAME_BYTES) {
    throw new RangeError(`frame of ${length} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
  }
  dst.writeUInt32LE(length, offset + LENGTH_OFFSET);
  dst[offset + FRAME_TYPE_OFFSET] = type;
}

export function isValidFrameLength(length: number): boolean {
  return length >= FRAME_HEADER_BYTES && length <= MAX_FRAME_BYTES;
}

export const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Assembles whole frames from arbitrary TCP chunks. A chunk holding whole frames yields views
 * into that chunk; only a frame cut across chunks is copied (into a buffer of its own size).
 * After a MalformedFrameError the reader stays failed: the stream cannot be resynchronised.
 * Views stay valid as long as the caller does not overwrite the chunks it pushed.
 */
export class FrameReader {
  /** Bytes of a frame cut across chunks: header first, then the rest once its length is known. */
  private partial: Buffer | null = null;
  private partialBytes = 0;
  private readonly header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  private failure: MalformedFrameError | null = null;

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
      if (!isValidFrameLength(length)) this.fail(length);
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
      if (!isValidFrameLength(length)) this.fail(length);
      this.partial = Buffer.allocUnsafe(length);
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
    this.partial = Buffer.allocUnsafe(length);
    chunk.copy(this.partial, 0, offset);
    this.partialBytes = rest;
  }

  private fail(length: number): never {
    this.failure = new MalformedFrameError(length);
    this.partial = null;
    this.partialBytes = 0;
    throw this.failure;
  }
}

// Type-200 frames: XChaCha20-Poly1305 (IETF) of a whole inner frame. protocol.md "Encrypted frame".
import sodium from 'sodium-native';
import { AEAD_NONCE_BYTES, AEAD_TAG_BYTES, AEAD_UUID_BYTES, type AeadEngine, frameAead } from './aead-engine';
import { isCanonicalUuid } from './names';
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES, MalformedFrameError, MessageType, writeFrameHeader } from './frame';
import { MAX_SUPER_PACKET_BYTES, SUPER_HEADER_BYTES } from './super-packet';

export const NONCE_BYTES = AEAD_NONCE_BYTES;
export const TAG_BYTES = AEAD_TAG_BYTES;
export const UUID_BYTES = AEAD_UUID_BYTES;
/** ASCII "19260817" and a NUL. */
export const ADDITIONAL_DATA = Buffer.from('19260817\0', 'latin1');
/** Encryption overhead added to an inner frame: outer header, nonce, tag. */
export const ENCRYPTION_OVERHEAD_BYTES = FRAME_HEADER_BYTES + NONCE_BYTES + TAG_BYTES; // 45
/** Largest inner frame that still fits a legacy-sized outer frame (2053 - 45). */
export const MAX_INNER_FRAME_BYTES = MAX_FRAME_BYTES - ENCRYPTION_OVERHEAD_BYTES; // 2008
/** Largest inner frame once super-packets are negotiated: a type-106 frame with the largest region. */
export const MAX_NEGOTIATED_INNER_FRAME_BYTES = FRAME_HEADER_BYTES + SUPER_HEADER_BYTES + MAX_SUPER_PACKET_BYTES; // 65544
/** Smallest valid encrypted payload: nonce, an empty inner frame, tag. */
const MIN_ENCRYPTED_PAYLOAD_BYTES = NONCE_BYTES + FRAME_HEADER_BYTES + TAG_BYTES;

export class AuthenticationError extends Error {
  readonly code = 'AUTHENTICATION_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

export class UuidError extends Error {
  readonly code = 'UUID_INVALID';
  constructor(readonly text: string, expected: string) {
    super(`"${text}" is not a UUID: expected ${expected}`);
    this.name = 'UuidError';
  }
}

const LEGACY_UUID = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

/**
 * Parses a UUID into its 16 raw bytes (text order). Canonical 8-4-4-4-12 hex, any case.
 * `legacy: true` also takes the forms legacy config files may hold: braces, or no dashes.
 */
export function parseUuid(text: string, options: { legacy?: boolean } = {}): Buffer {
  if (isCanonicalUuid(text)) return Buffer.from(text.replace(/-/g, ''), 'hex');
  if (options.legacy) {
    const m = LEGACY_UUID.exec(text);
    if (m && (text.startsWith('{') === text.endsWith('}'))) return Buffer.from(m.slice(1).join(''), 'hex');
    throw new UuidError(text, '8-4-4-4-12 hex digits, optionally in braces or without dashes');
  }
  throw new UuidError(text, '8-4-4-4-12 hex digits, e.g. bbde0d1c-083b-4f20-9cce-799367ba1a5a');
}

/** Formats 16 raw bytes as a canonical lower-case UUID. */
export function formatUuid(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export type NonceSource = (nonce: Buffer) => void;

/** Nonces drawn from libsodium's CSPRNG in blocks: one native call per 128 frames, not per frame. */
const NONCES_PER_REFILL = 128;
const noncePool = Buffer.alloc(NONCE_BYTES * NONCES_PER_REFILL);
let noncePoolOffset = noncePool.length;
const randomNonce: NonceSource = (nonce) => {
  if (noncePoolOffset === noncePool.length) {
    sodium.randombytes_buf(noncePool);
    noncePoolOffset = 0;
  }
  noncePool.copy(nonce, 0, noncePoolOffset, noncePoolOffset + NONCE_BYTES);
  noncePoolOffset += NONCE_BYTES;
};

/**
 * Seals and opens type-200 frames for one shared UUID (the gateway shares one instance among all its
 * connections). The cipher work is the engine's (aead-engine.ts): OpenSSL or libsodium, same bytes.
 */
export class FrameCipher {
  private readonly uuid = Buffer.alloc(UUID_BYTES);

  /** `engine`: the AEAD implementation (aead-engine.ts); by default the one chosen for the process. */
  constructor(uuid: Uint8Array, private readonly nextNonce: NonceSource = randomNonce, private readonly engine: AeadEngine = frameAead().engine) {
    if (uuid.length !== UUID_BYTES) throw new RangeError(`UUID must be ${UUID_BYTES} bytes, got ${uuid.length}`);
    this.uuid.set(uuid, 0);
  }

  /** What seals and opens: "OpenSSL 3.0.19 …" or "libsodium (sodium-native)" (aead-engine.ts). */
  get library(): string {
    return this.engine.library;
  }

  /** Size of the type-200 frame that wraps an inner frame of `innerBytes`. */
  static sealedBytes(innerBytes: number): number {
    return innerBytes + ENCRYPTION_OVERHEAD_BYTES;
  }

  /**
   * Encrypts a whole inner frame into a new type-200 frame. `maxInnerBytes` is the connection's
   * limit (MAX_NEGOTIATED_INNER_FRAME_BYTES after negotiation): a parameter, as one cipher serves
   * every session of a gateway.
   */
  seal(inner: Uint8Array, maxInnerBytes: number = MAX_INNER_FRAME_BYTES): Buffer {
    const out = Buffer.allocUnsafe(FrameCipher.sealedBytes(inner.length));
    this.sealInto(out, 0, inner, maxInnerBytes);
    return out;
  }

  /** Encrypts a whole inner frame into `dst` at `offset`; returns the bytes written. */
  sealInto(dst: Buffer, offset: number, inner: Uint8Array, maxInnerBytes: number = MAX_INNER_FRAME_BYTES): number {
    if (inner.length > maxInnerBytes) {
      throw new RangeError(`inner frame of ${inner.length} bytes is too large to encrypt (max ${maxInnerBytes})`);
    }
    const total = FrameCipher.sealedBytes(inner.length);
    writeFrameHeader(dst, offset, MessageType.Encrypted, total - FRAME_HEADER_BYTES, total);
    const nonce = dst.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + NONCE_BYTES);
    this.nextNonce(nonce);
    const ciphertext = dst.subarray(offset + FRAME_HEADER_BYTES + NONCE_BYTES, offset + total);
    this.engine.seal(this.uuid, nonce, ADDITIONAL_DATA, inner, ciphertext);
    return total;
  }

  /**
   * Decrypts a type-200 payload (nonce || ciphertext || tag) and returns the inner frame, checked:
   * its length field must equal the decrypted byte count. Writes into `out` when given (it must
   * hold payload.length - 40 bytes), else into a new buffer. `out` may be the ciphertext's own bytes,
   * payload.subarray(24) (see openInPlace).
   */
  open(payload: Buffer, out?: Buffer): Buffer {
    if (payload.length < MIN_ENCRYPTED_PAYLOAD_BYTES) {
      throw new AuthenticationError(
        `encrypted payload of ${payload.length} bytes is too short (at least ${MIN_ENCRYPTED_PAYLOAD_BYTES})`,
      );
    }
    const nonce = payload.subarray(0, NONCE_BYTES);
    const ciphertext = payload.subarray(NONCE_BYTES);
    const innerBytes = ciphertext.length - TAG_BYTES;
    const inner = out ? out.subarray(0, innerBytes) : Buffer.allocUnsafe(innerBytes);
    if (inner.length !== innerBytes) throw new RangeError(`output buffer too small: need ${innerBytes} bytes`);
    if (!this.engine.open(this.uuid, nonce, ADDITIONAL_DATA, ciphertext, inner)) {
      throw new AuthenticationError('encrypted frame failed authentication (wrong key or corrupted data)');
    }
    const length = inner.readUInt32LE(0);
    if (length !== innerBytes) {
      throw new MalformedFrameError(length, `decrypted inner frame says ${length} bytes but holds ${innerBytes}`);
    }
    return inner;
  }

  /**
   * Decrypts over the ciphertext itself: the inner frame is returned as payload.subarray(24, -16),
   * so no other buffer is written (one stream of 64 KiB fewer per super-packet frame). On failure the
   * ciphertext's bytes are zeroed (OpenSSL) or left as they were (libsodium): never plaintext.
   */
  openInPlace(payload: Buffer): Buffer {
    return this.open(payload, payload.subarray(NONCE_BYTES));
  }
}

// Type-200 frames: XChaCha20-Poly1305 (IETF) of a whole inner frame. protocol.md "Encrypted frame".
import sodium from 'sodium-native';
import { isCanonicalUuid } from './names';
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES, MalformedFrameError, MessageType, writeFrameHeader } from './frame';
import { MAX_SUPER_PACKET_BYTES, SUPER_HEADER_BYTES } from './super-packet';

export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;
export const UUID_BYTES = 16;
/** Bytes of the nonce that complete the per-frame key after the 16 UUID bytes. */
const NONCE_KEY_BYTES = 16;
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
 * Seals and opens type-200 frames for one shared UUID. Holds a 32-byte key scratch buffer, so one
 * instance serves one connection at a time (JS is single-threaded: no sharing issue).
 */
export class FrameCipher {
  private readonly key = Buffer.alloc(KEY_BYTES);

  constructor(uuid: Uint8Array, private readonly nextNonce: NonceSource = randomNonce) {
    if (uuid.length !== UUID_BYTES) throw new RangeError(`UUID must be ${UUID_BYTES} bytes, got ${uuid.length}`);
    this.key.set(uuid, 0);
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
    nonce.copy(this.key, UUID_BYTES, 0, NONCE_KEY_BYTES);
    const ciphertext = dst.subarray(offset + FRAME_HEADER_BYTES + NONCE_BYTES, offset + total);
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(ciphertext, inner, ADDITIONAL_DATA, null, nonce, this.key);
    return total;
  }

  /**
   * Decrypts a type-200 payload (nonce || ciphertext || tag) and returns the inner frame, checked:
   * its length field must equal the decrypted byte count. Writes into `out` when given (it must
   * hold payload.length - 40 bytes), else into a new buffer.
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
    nonce.copy(this.key, UUID_BYTES, 0, NONCE_KEY_BYTES);
    try {
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(inner, null, ciphertext, ADDITIONAL_DATA, nonce, this.key);
    } catch {
      throw new AuthenticationError('encrypted frame failed authentication (wrong key or corrupted data)');
    }
    const length = inner.readUInt32LE(0);
    if (length !== innerBytes) {
      throw new MalformedFrameError(length, `decrypted inner frame says ${length} bytes but holds ${innerBytes}`);
    }
    return inner;
  }
}

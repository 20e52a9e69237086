// Which implementation seals and opens type-200 frames. Both compute XChaCha20-Poly1305 (IETF) with
// the per-frame key UUID || nonce[0..16) (protocol.md 5.1), byte for byte the same:
// - "openssl": native/aead.c over the system's libcrypto, 1.3-1.6x faster on 64 KiB super-packet
//   frames (AVX2 Poly1305; docs/performance.md), used when it loads and passes a known-answer check
//   against sodium-native at start;
// - "sodium": sodium-native, always present, the fallback and the reference.
// FOUROVER6_AEAD=sodium (or openssl) forces one; the bench uses it to measure both in one run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sodium from 'sodium-native';

export const AEAD_UUID_BYTES = 16;
export const AEAD_NONCE_BYTES = 24;
export const AEAD_TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Bytes of the nonce that complete the per-frame key after the 16 UUID bytes. */
const NONCE_KEY_BYTES = 16;

export type AeadName = 'openssl' | 'sodium';

export interface AeadEngine {
  readonly name: AeadName;
  /** Human words for logs: "OpenSSL 3.0.19 …" or "libsodium (sodium-native)". */
  readonly library: string;
  /** Writes message's ciphertext and tag to `out` (exactly message.length + 16 bytes). */
  seal(uuid: Uint8Array, nonce: Uint8Array, ad: Uint8Array, message: Uint8Array, out: Uint8Array): void;
  /** Verifies and decrypts into `out` (sealed.length - 16 bytes). False when the tag does not verify. */
  open(uuid: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array, out: Uint8Array): boolean;
}

interface NativeAead {
  seal(uuid: Uint8Array, nonce: Uint8Array, ad: Uint8Array, message: Uint8Array, out: Uint8Array): void;
  open(uuid: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array, out: Uint8Array): boolean;
  library(): string;
}

function sodiumEngine(): AeadEngine {
  const key = Buffer.alloc(KEY_BYTES);
  const keyFor = (uuid: Uint8Array, nonce: Uint8Array) => {
    key.set(uuid, 0);
    key.set(nonce.subarray(0, NONCE_KEY_BYTES), AEAD_UUID_BYTES);
    return key;
  };
  return {
    name: 'sodium',
    library: 'libsodium (sodium-native)',
    seal(uuid, nonce, ad, message, out) {
      sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, message, ad, null, nonce, keyFor(uuid, nonce));
    },
    open(uuid, nonce, ad, sealed, out) {
      try {
        sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, sealed, ad, nonce, keyFor(uuid, nonce));
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** The OpenSSL engine, or why it cannot be used (addon not built, no libcrypto). */
export function opensslEngine(): AeadEngine | { unavailable: string } {
  const candidates = [
    join(__dirname, '..', '..', 'native', 'build', 'Release', 'aead.node'),
    join(__dirname, '..', 'native', 'build', 'Release', 'aead.node'),
  ];
  const found = candidates.find((path) => existsSync(path));
  if (!found) return { unavailable: 'the aead addon is not built' };
  try {
    const addon = require(found) as NativeAead;
    return { name: 'openssl', library: addon.library(), seal: addon.seal, open: addon.open };
  } catch (err) {
    return { unavailable: (err as Error).message };
  }
}

/**
 * Seals a fixed message of every length class with `candidate` and with sodium-native and
 * compares; opens each other's output and a tampered copy. Returns the first difference, or null.
 */
export function knownAnswerProblem(candidate: AeadEngine, reference: AeadEngine = sodiumEngine()): string | null {
  const uuid = Buffer.from('bbde0d1c083b4f209cce799367ba1a5a', 'hex');
  const ad = Buffer.from('19260817\0', 'latin1');
  for (const length of [0, 1, 63, 64, 65, 1505, 65544]) {
    const nonce = Buffer.alloc(AEAD_NONCE_BYTES, length & 0xff).fill(0xa5, 8, 16);
    const message = Buffer.alloc(length);
    for (let i = 0; i < length; i++) message[i] = (i * 31 + 7) & 0xff;
    const mine = Buffer.alloc(length + AEAD_TAG_BYTES);
    const theirs = Buffer.alloc(length + AEAD_TAG_BYTES);
    candidate.seal(uuid, nonce, ad, message, mine);
    reference.seal(uuid, nonce, ad, message, theirs);
    if (!mine.equals(theirs)) return `sealing ${length} bytes differs from libsodium`;
    const opened = Buffer.alloc(length);
    if (!candidate.open(uuid, nonce, ad, theirs, opened) || !opened.equals(message)) return `opening ${length} bytes sealed by libsodium failed`;
    theirs[theirs.length - 1] ^= 1;
    if (candidate.open(uuid, nonce, ad, theirs, opened)) return `a tampered ${length}-byte frame opened`;
  }
  return null;
}

/** What was chosen and, when OpenSSL was passed over, why: for the start-up log line. */
export interface AeadChoice {
  engine: AeadEngine;
  /** Set when OpenSSL was wanted (not forced off) but is not used. */
  fallbackReason: string | null;
}

/** `candidate`: where the OpenSSL engine comes from (tests give a broken or missing one). */
export function chooseAead(
  want: string | undefined = process.env.FOUROVER6_AEAD,
  candidate: () => AeadEngine | { unavailable: string } = opensslEngine,
): AeadChoice {
  if (want !== undefined && want !== '' && want !== 'sodium' && want !== 'openssl') {
    throw new Error(`FOUROVER6_AEAD must be "openssl" or "sodium", not "${want}"`);
  }
  const reference = sodiumEngine();
  if (want === 'sodium') return { engine: reference, fallbackReason: null };
  const openssl = candidate();
  if ('unavailable' in openssl) {
    if (want === 'openssl') throw new Error(`FOUROVER6_AEAD=openssl, but OpenSSL cannot be used: ${openssl.unavailable}`);
    return { engine: reference, fallbackReason: openssl.unavailable };
  }
  const problem = knownAnswerProblem(openssl, reference);
  if (problem) {
    if (want === 'openssl') throw new Error(`FOUROVER6_AEAD=openssl, but its check failed: ${problem}`);
    return { engine: reference, fallbackReason: `its check against libsodium failed: ${problem}` };
  }
  return { engine: openssl, fallbackReason: null };
}

let chosen: AeadChoice | undefined;

/** The engine every FrameCipher uses, chosen once per process on first use. */
export function frameAead(): AeadChoice {
  chosen ??= chooseAead();
  return chosen;
}

export { sodiumEngine };

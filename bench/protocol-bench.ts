// Protocol core throughput: 1500-byte IPv4 payload frames encoded and decoded per second,
// plain and encrypted, and the same for each crypto library we considered (docs/dependencies.md).
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import sodium from 'sodium-native';
import { type AeadEngine, opensslEngine, sodiumEngine } from '../protocol/aead-engine';
import { ADDITIONAL_DATA, FrameCipher, NONCE_BYTES, TAG_BYTES, parseUuid } from '../protocol/crypto';
import { FrameReader, MessageType, encodeFrame } from '../protocol/frame';

const PACKET_BYTES = 1500;
const UUID = parseUuid('bbde0d1c-083b-4f20-9cce-799367ba1a5a');
const packet = Buffer.alloc(PACKET_BYTES, 0x45);

export interface BenchRow { name: string; framesPerSecond: number; note: string }

/** Runs `fn` in rounds until `ms` have passed; returns operations per second. */
function rate(fn: () => void, ms = 1500): number {
  for (let i = 0; i < 2000; i++) fn(); // warm up
  let ops = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 500; i++) fn();
    ops += 500;
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - start) / 1e9);
}

function plain(): number {
  const reader = new FrameReader();
  return rate(() => {
    const frame = encodeFrame(MessageType.DataUp, packet);
    const [f] = reader.push(frame);
    if (f.payload.length !== PACKET_BYTES) throw new Error('bad decode');
  });
}

/** Seal + open of a 1500-byte packet's frame with one AEAD engine (protocol/aead-engine.ts). */
function encrypted(engine: AeadEngine): number {
  const cipher = new FrameCipher(UUID, undefined, engine);
  const reader = new FrameReader();
  const out = Buffer.allocUnsafe(2048);
  return rate(() => {
    const sealed = cipher.seal(encodeFrame(MessageType.DataUp, packet));
    const [f] = reader.push(sealed);
    if (cipher.open(f.payload, out).length !== PACKET_BYTES + 5) throw new Error('bad decode');
  });
}

async function libsodiumWrappers(): Promise<number> {
  const lsw = (await import('libsodium-wrappers')).default;
  await lsw.ready;
  const key = Buffer.alloc(32);
  UUID.copy(key);
  const reader = new FrameReader();
  return rate(() => {
    const inner = encodeFrame(MessageType.DataUp, packet);
    const nonce = lsw.randombytes_buf(NONCE_BYTES);
    key.set(nonce.subarray(0, 16), 16);
    const ct = lsw.crypto_aead_xchacha20poly1305_ietf_encrypt(inner, ADDITIONAL_DATA, null, nonce, key);
    const sealed = encodeFrame(MessageType.Encrypted, Buffer.concat([nonce, ct]));
    const [f] = reader.push(sealed);
    const n = f.payload.subarray(0, NONCE_BYTES);
    key.set(n.subarray(0, 16), 16);
    const pt = lsw.crypto_aead_xchacha20poly1305_ietf_decrypt(null, f.payload.subarray(NONCE_BYTES), ADDITIONAL_DATA, n, key);
    if (pt.length !== PACKET_BYTES + 5) throw new Error('bad decode');
  });
}

// HChaCha20 (draft-irtf-cfrg-xchacha §2.2) in JS + OpenSSL's ChaCha20-Poly1305: no dependency at all.
function hchacha20(key: Buffer, nonce16: Buffer): Buffer {
  const s = new Uint32Array(16);
  s[0] = 0x61707865; s[1] = 0x3320646e; s[2] = 0x79622d32; s[3] = 0x6b206574;
  for (let i = 0; i < 8; i++) s[4 + i] = key.readUInt32LE(i * 4);
  for (let i = 0; i < 4; i++) s[12 + i] = nonce16.readUInt32LE(i * 4);
  const rotl = (v: number, c: number) => (v << c) | (v >>> (32 - c));
  const qr = (a: number, b: number, c: number, d: number) => {
    s[a] += s[b]; s[d] = rotl(s[d] ^ s[a], 16); s[c] += s[d]; s[b] = rotl(s[b] ^ s[c], 12);
    s[a] += s[b]; s[d] = rotl(s[d] ^ s[a], 8); s[c] += s[d]; s[b] = rotl(s[b] ^ s[c], 7);
  };
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15);
    qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14);
  }
  const out = Buffer.allocUnsafe(32);
  [0, 1, 2, 3, 12, 13, 14, 15].forEach((w, i) => out.writeUInt32LE(s[w], i * 4));
  return out;
}

function nodeCrypto(): number {
  const key = Buffer.alloc(32);
  UUID.copy(key);
  const reader = new FrameReader();
  const iv = Buffer.alloc(12);
  return rate(() => {
    const inner = encodeFrame(MessageType.DataUp, packet);
    const nonce = randomFillSync(Buffer.allocUnsafe(NONCE_BYTES));
    nonce.copy(key, 16, 0, 16);
    nonce.copy(iv, 4, 16, 24);
    const enc = createCipheriv('chacha20-poly1305', hchacha20(key, nonce.subarray(0, 16)), iv, { authTagLength: TAG_BYTES });
    enc.setAAD(ADDITIONAL_DATA, { plaintextLength: inner.length });
    const sealed = encodeFrame(MessageType.Encrypted, Buffer.concat([nonce, enc.update(inner), enc.final(), enc.getAuthTag()]));
    const [f] = reader.push(sealed);
    const n = f.payload.subarray(0, NONCE_BYTES);
    n.copy(key, 16, 0, 16);
    n.copy(iv, 4, 16, 24);
    const ct = f.payload.subarray(NONCE_BYTES, f.payload.length - TAG_BYTES);
    const dec = createDecipheriv('chacha20-poly1305', hchacha20(key, n.subarray(0, 16)), iv, { authTagLength: TAG_BYTES });
    dec.setAAD(ADDITIONAL_DATA, { plaintextLength: ct.length });
    dec.setAuthTag(f.payload.subarray(f.payload.length - TAG_BYTES));
    const pt = Buffer.concat([dec.update(ct), dec.final()]);
    if (pt.length !== PACKET_BYTES + 5) throw new Error('bad decode');
  });
}

/** Cross-check: the node:crypto construction must open what sodium-native sealed. */
function checkNodeCryptoAgrees(): void {
  const sealed = new FrameCipher(UUID).seal(encodeFrame(MessageType.Heartbeat));
  const nonce = sealed.subarray(5, 29);
  const key = Buffer.concat([UUID, nonce.subarray(0, 16)]);
  const iv = Buffer.concat([Buffer.alloc(4), nonce.subarray(16)]);
  const dec = createDecipheriv('chacha20-poly1305', hchacha20(key, nonce.subarray(0, 16)), iv, { authTagLength: 16 });
  dec.setAAD(ADDITIONAL_DATA, { plaintextLength: 5 });
  dec.setAuthTag(sealed.subarray(sealed.length - 16));
  const pt = Buffer.concat([dec.update(sealed.subarray(29, sealed.length - 16)), dec.final()]);
  if (pt.toString('hex') !== '0500000068') throw new Error('node:crypto XChaCha construction disagrees with libsodium');
}

export interface SealCostRow { innerBytes: number; framesPerSecond: number; gbps: number; microsPerFrame: number }

/**
 * Seal + open of one inner frame per size, one core (sodium-native): what a frame costs before its
 * bytes (subkey derivation, Poly1305 set-up, two N-API calls), which super-packets spread over 64 KiB
 * and a batched native seal would only trim by its N-API share (napiCallMicros: the cheapest call).
 */
export function sealCost(engine: AeadEngine): { rows: SealCostRow[]; napiCallMicros: number } {
  const cipher = new FrameCipher(UUID, undefined, engine);
  const rows = [64, 1505, 16_389, 65_544].map((innerBytes) => {
    const inner = Buffer.alloc(innerBytes, 0x45);
    inner.writeUInt32LE(innerBytes, 0);
    const sealed = Buffer.allocUnsafe(innerBytes + 45);
    const out = Buffer.allocUnsafe(innerBytes);
    const framesPerSecond = rate(() => {
      cipher.sealInto(sealed, 0, inner, 65_544);
      cipher.open(sealed.subarray(5), out);
    }, 1000);
    return { innerBytes, framesPerSecond, gbps: (framesPerSecond * innerBytes * 8) / 1e9, microsPerFrame: 1e6 / framesPerSecond };
  });
  const one = Buffer.alloc(1);
  const napiCallMicros = 1e6 / rate(() => sodium.sodium_memzero(one), 500);
  return { rows, napiCallMicros };
}

export async function protocolBench(): Promise<BenchRow[]> {
  checkNodeCryptoAgrees();
  void sodium;
  const found = opensslEngine();
  const openssl = 'unavailable' in found ? null : found;
  return [
    { name: 'plain encode+decode', framesPerSecond: plain(), note: 'encodeFrame + FrameReader' },
    ...(openssl ? [{ name: 'encrypted, OpenSSL libcrypto (chosen)', framesPerSecond: encrypted(openssl), note: 'native/aead.c, system libcrypto.so.3' }] : []),
    { name: `encrypted, sodium-native${openssl ? ' (fallback)' : ' (chosen)'}`, framesPerSecond: encrypted(sodiumEngine()), note: 'native libsodium, N-API prebuilds' },
    { name: 'encrypted, libsodium-wrappers', framesPerSecond: await libsodiumWrappers(), note: 'libsodium compiled to WASM/JS' },
    { name: 'encrypted, node:crypto + JS HChaCha20', framesPerSecond: nodeCrypto(), note: 'OpenSSL ChaCha20-Poly1305, no dependency' },
  ];
}

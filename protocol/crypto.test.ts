import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { hex } from '../test/support/hex';
import {
  AuthenticationError,
  ENCRYPTION_OVERHEAD_BYTES,
  FrameCipher,
  MAX_INNER_FRAME_BYTES,
  MAX_NEGOTIATED_INNER_FRAME_BYTES,
  UuidError,
  formatUuid,
  parseUuid,
} from './crypto';
import { FrameReader, MAX_NEGOTIATED_FRAME_BYTES, MalformedFrameError, MessageType, encodeFrame } from './frame';
import { encodeIpRequestPayload } from './ip-request';
import { HEARTBEAT_FRAME, encodeDataUp } from './messages';

const UUID = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const OTHER = 'bbde0d1c-083b-4f20-9cce-799367ba1a5b';
const fixedNonce = (bytes: Buffer) => (nonce: Buffer) => bytes.copy(nonce);
const NONCE_0_23 = hex('000102030405060708090a0b0c0d0e0f1011121314151617');
const NONCE_F0 = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff0001020304050607');

const ENCRYPTED_HEARTBEAT = hex(
  '32000000c8 000102030405060708090a0b0c0d0e0f1011121314151617 8a206685d8 260cdfffb43d984234a008dcd6e36c24');
const ENCRYPTED_IP_RESPONSE = hex(
  '4f000000c8f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00010203040506076ff48f2861dd65569ff982e3782cfced65a24501282b87caf1f6434a98b5481edb781cb27ee3aff36bd7f141e367c8acf156');

test('UUID bytes are the text-order hex', () => {
  assert.deepEqual(parseUuid(UUID), hex('bbde0d1c083b4f209cce799367ba1a5a'));
  assert.deepEqual(parseUuid(UUID.toUpperCase()), hex('bbde0d1c083b4f209cce799367ba1a5a'));
  assert.equal(formatUuid(parseUuid(UUID)), UUID);
});

test('UUID validation: canonical only, legacy forms only when asked', () => {
  for (const bad of ['', 'bbde0d1c083b4f209cce799367ba1a5a', '{bbde0d1c-083b-4f20-9cce-799367ba1a5a}', 'bbde0d1c-083b-4f20-9cce-799367ba1a5g', `${UUID}0`]) {
    assert.throws(() => parseUuid(bad), UuidError, bad);
  }
  assert.deepEqual(parseUuid('{BBDE0D1C-083B-4F20-9CCE-799367BA1A5A}', { legacy: true }), parseUuid(UUID));
  assert.deepEqual(parseUuid('bbde0d1c083b4f209cce799367ba1a5a', { legacy: true }), parseUuid(UUID));
  assert.throws(() => parseUuid('{bbde0d1c083b4f209cce799367ba1a5a', { legacy: true }), UuidError);
  assert.throws(() => parseUuid('nope', { legacy: true }), /not a UUID/);
});

test('encrypted heartbeat vector (nonce 00..17)', () => {
  const cipher = new FrameCipher(parseUuid(UUID), fixedNonce(NONCE_0_23));
  assert.deepEqual(cipher.seal(HEARTBEAT_FRAME), ENCRYPTED_HEARTBEAT);
  const [frame] = new FrameReader().push(ENCRYPTED_HEARTBEAT);
  assert.equal(frame.type, MessageType.Encrypted);
  assert.deepEqual(cipher.open(frame.payload), hex('0500000068'));
});

test('encrypted IP response vector (nonce f0..ff 00..07)', () => {
  const inner = encodeFrame(MessageType.IpResponse, Buffer.from('198.18.0.7 0.0.0.0 198.18.0.1'));
  const cipher = new FrameCipher(parseUuid(UUID), fixedNonce(NONCE_F0));
  assert.equal(ENCRYPTED_IP_RESPONSE.length, 79);
  assert.deepEqual(cipher.seal(inner), ENCRYPTED_IP_RESPONSE);
  const opened = cipher.open(ENCRYPTED_IP_RESPONSE.subarray(5));
  assert.equal(opened.subarray(5).toString(), '198.18.0.7 0.0.0.0 198.18.0.1');
});

// docs/protocol.md section 9: an extended IP request and a data frame, sealed.
const EXTENDED_IP_REQUEST = hex(
  '3e00000064 346f362f312069643d3031323334353637383961626364656630313233343536373839616263646566 20616464723d3139382e31382e302e37');
const ENCRYPTED_EXTENDED_IP_REQUEST = hex(
  '6b000000c8 a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7 cf14348de6286340770b41d47d49406cfcf9872a53220008cab07525428f211e77a0c52fe6e132be78423d9be75f88409e134bf14b3909f372de34c205cc8cfb4c9427cc8bb6febbc39c6f5c562e');
const ICMP_DATA_UP = hex('2500000066 45000020000040004001aeb0c6120007c6120001 080043601234000133346f36');
const ENCRYPTED_ICMP_DATA_UP = hex(
  '52000000c8 000102030405060708090a0b0c0d0e0f1011121314151617 aa206685d6429d1f96e53ecc4eb4dabf3825fba09b33511bb5978c6512e0448c3e1d9f4e69af7d5b008a2b5bc7058fd0559437e1d1');

test('protocol.md vectors: extended IP request and ICMP data frame, plain and sealed', () => {
  const payload = encodeIpRequestPayload({ clientId: '0123456789abcdef0123456789abcdef', previousAddress: '198.18.0.7' });
  assert.deepEqual(encodeFrame(MessageType.IpRequest, payload), EXTENDED_IP_REQUEST);
  const nonceA0 = hex('a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7');
  assert.deepEqual(new FrameCipher(parseUuid(UUID), fixedNonce(nonceA0)).seal(EXTENDED_IP_REQUEST), ENCRYPTED_EXTENDED_IP_REQUEST);
  const packet = ICMP_DATA_UP.subarray(5);
  assert.equal(ipv4Checksum(packet.subarray(0, 20)), 0, 'IPv4 header checksum');
  assert.equal(ipv4Checksum(packet.subarray(20)), 0, 'ICMP checksum');
  assert.deepEqual(encodeDataUp(packet), ICMP_DATA_UP);
  const cipher = new FrameCipher(parseUuid(UUID), fixedNonce(NONCE_0_23));
  assert.deepEqual(cipher.seal(ICMP_DATA_UP), ENCRYPTED_ICMP_DATA_UP);
  assert.deepEqual(cipher.open(ENCRYPTED_ICMP_DATA_UP.subarray(5)), ICMP_DATA_UP);
});

test('openInPlace: the inner frame is the ciphertext\'s own bytes, checked like open()', () => {
  const cipher = new FrameCipher(parseUuid(UUID), fixedNonce(NONCE_0_23));
  const payload = Buffer.from(ENCRYPTED_ICMP_DATA_UP.subarray(5));
  const inner = cipher.openInPlace(payload);
  assert.deepEqual(inner, ICMP_DATA_UP);
  assert.equal(inner.buffer, payload.buffer);
  assert.equal(inner.byteOffset, payload.byteOffset + 24);
  assert.throws(() => new FrameCipher(parseUuid(OTHER)).openInPlace(Buffer.from(ENCRYPTED_ICMP_DATA_UP.subarray(5))), AuthenticationError);
  assert.throws(() => cipher.openInPlace(Buffer.alloc(44)), AuthenticationError);
});

/** The Internet checksum of bytes that already hold one: 0 when it is right. */
function ipv4Checksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

test('a UUID of the wrong size is refused', () => {
  assert.throws(() => new FrameCipher(Buffer.alloc(15)), /UUID must be 16 bytes, got 15/);
  assert.throws(() => new FrameCipher(Buffer.alloc(17)), RangeError);
});

test('sealing uses a fresh random nonce per frame', () => {
  const cipher = new FrameCipher(parseUuid(UUID));
  const a = cipher.seal(HEARTBEAT_FRAME);
  const b = cipher.seal(HEARTBEAT_FRAME);
  assert.notDeepEqual(a.subarray(5, 29), b.subarray(5, 29));
  assert.deepEqual(cipher.open(a.subarray(5)), HEARTBEAT_FRAME);
  assert.deepEqual(cipher.open(b.subarray(5)), HEARTBEAT_FRAME);
});

test('wrong key, flipped bit, flipped AD, truncation: AuthenticationError each', () => {
  const payload = ENCRYPTED_IP_RESPONSE.subarray(5);
  const wrong = new FrameCipher(parseUuid('bbde0d1c-083b-4f20-9cce-799367ba1a5b'));
  assert.throws(() => wrong.open(payload), AuthenticationError);

  const right = new FrameCipher(parseUuid(UUID));
  for (const index of [0, 23, 24, 40, payload.length - 1]) {
    const flipped = Buffer.from(payload);
    flipped[index] ^= 0x01;
    assert.throws(() => right.open(flipped), AuthenticationError, `bit at ${index}`);
  }
  for (const len of [0, 10, 44, payload.length - 1]) {
    assert.throws(() => right.open(payload.subarray(0, len)), AuthenticationError, `truncated to ${len}`);
  }
});

test('a frame sealed with other additional data does not open', async () => {
  const sodium = (await import('sodium-native')).default;
  const key = Buffer.concat([parseUuid(UUID), NONCE_0_23.subarray(0, 16)]);
  const ct = Buffer.alloc(HEARTBEAT_FRAME.length + 16);
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(ct, HEARTBEAT_FRAME, Buffer.from('19260818\0'), null, NONCE_0_23, key);
  assert.throws(() => new FrameCipher(parseUuid(UUID)).open(Buffer.concat([NONCE_0_23, ct])), AuthenticationError);
  // Control: the same construction with the right AD opens.
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(ct, HEARTBEAT_FRAME, Buffer.from('19260817\0'), null, NONCE_0_23, key);
  assert.deepEqual(new FrameCipher(parseUuid(UUID)).open(Buffer.concat([NONCE_0_23, ct])), HEARTBEAT_FRAME);
});

test('an inner length that disagrees with the decrypted size is malformed, either way', () => {
  const cipher = new FrameCipher(parseUuid(UUID));
  for (const [what, inner] of [
    ['says 9 bytes, holds 5', hex('0900000068')],
    ['says 5 bytes, holds 9', hex('0500000068 00000000')],
    ['says 4 bytes, holds 5', hex('0400000068')],
    ['says 6 bytes, holds 5', hex('0600000068')],
    ['says 0 bytes, holds 5', hex('0000000068')],
    ['says 16,777,221 bytes (the high byte set), holds 5', hex('05000001 68')],
  ] as const) {
    assert.throws(() => cipher.open(cipher.seal(inner).subarray(5)), MalformedFrameError, what);
  }
  // The exact size opens, and into a caller's buffer too.
  const out = Buffer.alloc(64, 0xee);
  const opened = cipher.open(cipher.seal(hex('0700000066 abcd')).subarray(5), out);
  assert.deepEqual(opened, hex('0700000066 abcd'));
  assert.equal(opened.buffer, out.buffer, 'written into the buffer given');
  assert.throws(() => cipher.open(cipher.seal(hex('0700000066 abcd')).subarray(5), Buffer.alloc(6)), RangeError);
});

test('nonces: 10,000 frames sealed by two ciphers (one shared pool) never repeat a nonce', () => {
  // The pool is refilled every 128 nonces: a refill that stopped drawing new randomness would
  // repeat nonces after the first block, a confidentiality break for XChaCha20-Poly1305.
  const a = new FrameCipher(parseUuid(UUID));
  const b = new FrameCipher(parseUuid('bbde0d1c-083b-4f20-9cce-799367ba1a5b'));
  const seen = new Set<string>();
  const prefixes = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const frame = (i % 2 ? a : b).seal(HEARTBEAT_FRAME);
    const nonce = frame.subarray(5, 29).toString('hex');
    seen.add(nonce);
    prefixes.add(nonce.slice(0, 32)); // the 16 bytes that complete the key
  }
  assert.equal(seen.size, 10_000);
  assert.equal(prefixes.size, 10_000);
});

test('the nonce source fills each frame\'s own nonce, and its first 16 bytes complete the key', () => {
  let n = 0;
  const counter = (nonce: Buffer) => {
    nonce.fill(0);
    nonce.writeUInt32BE(++n, 20);
  };
  const cipher = new FrameCipher(parseUuid(UUID), counter);
  const one = cipher.seal(HEARTBEAT_FRAME);
  const two = cipher.seal(HEARTBEAT_FRAME);
  assert.equal(one.readUInt32BE(5 + 20), 1);
  assert.equal(two.readUInt32BE(5 + 20), 2);
  assert.deepEqual(new FrameCipher(parseUuid(UUID)).open(two.subarray(5)), HEARTBEAT_FRAME);
  // sealInto writes the same frame at an offset, leaves the bytes around it, and says how many it wrote.
  n = 1;
  const dst = Buffer.alloc(100, 0xaa);
  assert.equal(cipher.sealInto(dst, 7, HEARTBEAT_FRAME), two.length);
  assert.deepEqual(dst.subarray(7, 7 + two.length), two);
  assert.ok(dst.subarray(0, 7).every((b) => b === 0xaa) && dst.subarray(7 + two.length).every((b) => b === 0xaa));
  assert.equal(FrameCipher.sealedBytes(5), 50);
});

test('an inner frame over 2008 bytes is refused, 2008 fits a legacy-sized frame', () => {
  const cipher = new FrameCipher(parseUuid(UUID));
  assert.throws(() => cipher.seal(encodeFrame(MessageType.DataUp, Buffer.alloc(MAX_INNER_FRAME_BYTES - 4))), RangeError);
  const max = cipher.seal(encodeFrame(MessageType.DataUp, Buffer.alloc(MAX_INNER_FRAME_BYTES - 5)));
  assert.equal(max.length, 2053);
  assert.equal(new FrameReader().push(max).length, 1);
});

test('property: seal then open round-trips any inner frame', () => {
  const cipher = new FrameCipher(parseUuid(UUID));
  fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: MAX_INNER_FRAME_BYTES - 5 }), (type, payload) => {
    const inner = encodeFrame(type, payload);
    assert.deepEqual(cipher.open(cipher.seal(inner).subarray(5)), inner);
  }), { numRuns: 200 });
});

test('error messages, codes and names say what went wrong', () => {
  const cipher = new FrameCipher(parseUuid(UUID));
  assert.throws(() => cipher.seal(encodeFrame(MessageType.DataUp, Buffer.alloc(MAX_INNER_FRAME_BYTES - 4))),
    /inner frame of 2009 bytes is too large to encrypt \(max 2008\)/);
  const sealed = cipher.seal(HEARTBEAT_FRAME).subarray(5);
  assert.throws(() => cipher.open(sealed.subarray(0, 44)), (err: AuthenticationError) =>
    err.message === 'encrypted payload of 44 bytes is too short (at least 45)' && err.code === 'AUTHENTICATION_FAILED' && err.name === 'AuthenticationError');
  assert.throws(() => cipher.open(sealed, Buffer.alloc(4)), /output buffer too small: need 5 bytes/);
  assert.throws(() => new FrameCipher(parseUuid(OTHER)).open(sealed), /failed authentication \(wrong key or corrupted data\)/);
  assert.throws(() => cipher.open(cipher.seal(hex('0900000068')).subarray(5)), (err: MalformedFrameError) =>
    err.message === 'decrypted inner frame says 9 bytes but holds 5' && err.name === 'MalformedFrameError' && err.length === 9);
  assert.throws(() => parseUuid('nope'), (err: UuidError) =>
    err.code === 'UUID_INVALID' && err.name === 'UuidError' && err.message === '"nope" is not a UUID: expected 8-4-4-4-12 hex digits, e.g. bbde0d1c-083b-4f20-9cce-799367ba1a5a');
  assert.throws(() => parseUuid('nope', { legacy: true }), /expected 8-4-4-4-12 hex digits, optionally in braces or without dashes$/);
  // The legacy forms are whole-string matches: nothing before or after.
  assert.throws(() => parseUuid(`x${UUID}`, { legacy: true }), UuidError);
  assert.throws(() => parseUuid(`${UUID}x`, { legacy: true }), UuidError);
  assert.throws(() => parseUuid(`x{${UUID}}`, { legacy: true }), UuidError);
});

test('each process draws its own nonces: the first frame of two fresh processes differs, and is not zeros', () => {
  const script = `const { FrameCipher, parseUuid } = require(${JSON.stringify(join(__dirname, 'crypto.js'))});
    const dst = Buffer.alloc(50);
    new FrameCipher(parseUuid('${UUID}')).sealInto(dst, 0, Buffer.from('0500000068', 'hex'));
    process.stdout.write(dst.subarray(5, 29).toString('hex'));`;
  const first = () => execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
  const [a, b] = [first(), first()];
  assert.match(a, /^[0-9a-f]{48}$/);
  assert.notEqual(a, '0'.repeat(48));
  assert.notEqual(a, b);
});

test('negotiated limit: inner frames up to 65544 bytes seal into frames of exactly the reader\'s raised limit', () => {
  assert.equal(MAX_NEGOTIATED_INNER_FRAME_BYTES, 65544); // 5 + 4 + 65535
  assert.equal(FrameCipher.sealedBytes(MAX_NEGOTIATED_INNER_FRAME_BYTES), MAX_NEGOTIATED_FRAME_BYTES);
  assert.equal(ENCRYPTION_OVERHEAD_BYTES, 45);
  const cipher = new FrameCipher(parseUuid(UUID), fixedNonce(NONCE_0_23));
  const payload = Buffer.alloc(MAX_NEGOTIATED_INNER_FRAME_BYTES - 5);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 255;
  const inner = encodeFrame(MessageType.SuperPacket, payload, MAX_NEGOTIATED_INNER_FRAME_BYTES);
  const sealed = cipher.seal(inner, MAX_NEGOTIATED_INNER_FRAME_BYTES);
  assert.deepEqual(sealed.subarray(0, 5), hex('35000100 c8'));
  assert.equal(sealed.length, 65589);
  const reader = new FrameReader();
  reader.maxFrameBytes = MAX_NEGOTIATED_FRAME_BYTES;
  const [frame] = reader.push(sealed);
  assert.deepEqual(cipher.open(frame.payload), inner, 'open() takes any length its exact-length check accepts');
  assert.throws(() => cipher.seal(Buffer.alloc(MAX_NEGOTIATED_INNER_FRAME_BYTES + 1), MAX_NEGOTIATED_INNER_FRAME_BYTES),
    /^RangeError: inner frame of 65545 bytes is too large to encrypt \(max 65544\)$/);
});

test('the limit is per call: the same cipher still refuses 2009 bytes without it, and sealInto takes it too', () => {
  const cipher = new FrameCipher(parseUuid(UUID), fixedNonce(NONCE_0_23));
  const inner = encodeFrame(MessageType.SuperPacket, Buffer.alloc(2004, 0x5a), MAX_NEGOTIATED_INNER_FRAME_BYTES); // 2009 bytes
  assert.equal(cipher.seal(inner, MAX_NEGOTIATED_INNER_FRAME_BYTES).length, 2054);
  assert.throws(() => cipher.seal(inner), /inner frame of 2009 bytes is too large to encrypt \(max 2008\)/);
  assert.throws(() => cipher.sealInto(Buffer.alloc(3000), 0, inner), /max 2008/);
  assert.throws(() => cipher.seal(inner, 2008), /max 2008/);
  const dst = Buffer.alloc(2060, 0xee);
  assert.equal(cipher.sealInto(dst, 3, inner, 2009), 2054);
  assert.deepEqual(dst.subarray(0, 8), hex('eeeeee 06080000 c8'));
  assert.deepEqual(dst.subarray(2057), hex('eeeeee'));
  assert.deepEqual(cipher.open(dst.subarray(8, 2057)), inner);
});

// docs/protocol.md section 9: the type-106 frame (a 52-byte super-packet region), sealed.
const SUPER_PACKET_FRAME = hex(
  '39000000 6a 0400 00 00 450000301234400040069c6cc6120002c6120001 04d20050000000010000000250 10ffff8c4a0000 33346f3633346f36');
// Produced with the system libsodium through Python's ctypes: a binding independent of sodium-native.
const ENCRYPTED_SUPER_PACKET_FRAME = hex(
  '66000000c8 000102030405060708090a0b0c0d0e0f1011121314151617 b6206685da039d1fb6a03e8c7ee6ef5188a3ef3cf033511bb6599e2673f6a28c6f2eab215e5d6dccf8ed5bd668fd569a7116b77b2336678227ca122b5af75dc29e8524a4c7846d4427');

test('sealed super-packet frame vector (nonce 00..17): a 106 inner frame like any other', () => {
  const cipher = new FrameCipher(parseUuid(UUID), fixedNonce(NONCE_0_23));
  const sealed = cipher.seal(SUPER_PACKET_FRAME, MAX_NEGOTIATED_INNER_FRAME_BYTES);
  assert.equal(sealed.length, 102);
  assert.deepEqual(cipher.seal(SUPER_PACKET_FRAME), sealed, 'small enough for the legacy limit too');
  assert.deepEqual(sealed, ENCRYPTED_SUPER_PACKET_FRAME);
  assert.deepEqual(cipher.open(sealed.subarray(5)), SUPER_PACKET_FRAME);
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { skipUnless } from '../test/support/requirements';
import { hex } from '../test/support/hex';
import { type AeadEngine, chooseAead, knownAnswerProblem, opensslEngine, sodiumEngine } from './aead-engine';
import { FrameCipher, parseUuid } from './crypto';
import { HEARTBEAT_FRAME } from './messages';

const openssl = opensslEngine();
const missing = 'unavailable' in openssl ? `needs OpenSSL's libcrypto for the aead addon (${openssl.unavailable})` : false;
const sodium = sodiumEngine();
const AD = Buffer.from('19260817\0', 'latin1');
const UUID = parseUuid('bbde0d1c-083b-4f20-9cce-799367ba1a5a');
// protocol.md section 9: the heartbeat sealed with nonce 00 01 … 17.
const ENCRYPTED_HEARTBEAT = hex('32000000c8 000102030405060708090a0b0c0d0e0f1011121314151617 8a206685d8 260cdfffb43d984234a008dcd6e36c24');

describe('OpenSSL engine against libsodium', { skip: skipUnless(missing) }, () => {
  const engine = openssl as AeadEngine;

  test('names the library it runs on', () => {
    assert.equal(engine.name, 'openssl');
    assert.match(engine.library, /^OpenSSL \d+\.\d+/);
  });

  test('the protocol test vector: a sealed heartbeat, byte for byte, and back', () => {
    const cipher = new FrameCipher(UUID, (nonce) => hex('000102030405060708090a0b0c0d0e0f1011121314151617').copy(nonce), engine);
    assert.deepEqual(cipher.seal(HEARTBEAT_FRAME), ENCRYPTED_HEARTBEAT);
    assert.deepEqual(cipher.open(ENCRYPTED_HEARTBEAT.subarray(5)), HEARTBEAT_FRAME);
  });

  test('property: any key, nonce, data and length up to a super-packet frame seal to the same bytes, and each opens the other\'s', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 24, maxLength: 24 }),
      fc.uint8Array({ maxLength: 32 }), fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 300, max: 65544 })),
      fc.integer({ min: 0, max: 255 }),
      (uuid, nonce, ad, length, seed) => {
        const message = Buffer.alloc(length);
        for (let i = 0; i < length; i++) message[i] = (i * 131 + seed) & 0xff;
        const mine = Buffer.alloc(length + 16);
        const theirs = Buffer.alloc(length + 16);
        engine.seal(uuid, nonce, ad, message, mine);
        sodium.seal(uuid, nonce, ad, message, theirs);
        assert.deepEqual(mine, theirs);
        const opened = Buffer.alloc(length);
        assert.equal(engine.open(uuid, nonce, ad, theirs, opened), true);
        assert.deepEqual(opened, message);
        const back = Buffer.alloc(length);
        assert.equal(sodium.open(uuid, nonce, ad, mine, back), true);
        assert.deepEqual(back, message);
      }), { numRuns: 150 });
  });

  test('property: a change to any one byte of tag, ciphertext, nonce, key or data fails to open, and nothing of the plaintext is left in the output', () => {
    const message = Buffer.from('the inner frame: a TCP/IPv4 packet of some length'.repeat(7));
    const nonce = Buffer.alloc(24, 0x5a);
    const sealed = Buffer.alloc(message.length + 16);
    engine.seal(UUID, nonce, AD, message, sealed);
    fc.assert(fc.property(fc.constantFrom('sealed', 'nonce', 'uuid', 'ad'), fc.nat(), fc.integer({ min: 1, max: 255 }), (part, at, flip) => {
      const copies = { sealed: Buffer.from(sealed), nonce: Buffer.from(nonce), uuid: Buffer.from(UUID), ad: Buffer.from(AD) };
      const target = copies[part];
      target[at % target.length] ^= flip;
      const out = Buffer.alloc(message.length, 0xee);
      assert.equal(engine.open(copies.uuid, copies.nonce, copies.ad, copies.sealed, out), false);
      assert.deepEqual(out, Buffer.alloc(message.length), 'the output must be zeroed, not hold unverified plaintext');
    }), { numRuns: 300 });
  });

  test('bad arguments are refused with what was expected, before anything is written', () => {
    const out = Buffer.alloc(16);
    assert.throws(() => engine.seal(Buffer.alloc(15), Buffer.alloc(24), AD, Buffer.alloc(0), out), { name: 'RangeError', message: /uuid: 16 bytes/ });
    assert.throws(() => engine.seal(UUID, Buffer.alloc(23), AD, Buffer.alloc(0), out), RangeError);
    assert.throws(() => engine.seal(UUID, Buffer.alloc(24), AD, Buffer.alloc(1), out), { name: 'RangeError', message: /message\.length \+ 16/ });
    assert.throws(() => engine.open(UUID, Buffer.alloc(24), AD, Buffer.alloc(15), Buffer.alloc(0)), { name: 'RangeError', message: />= 16 bytes/ });
    assert.throws(() => engine.open(UUID, Buffer.alloc(24), AD, Buffer.alloc(20), Buffer.alloc(5)), RangeError);
    assert.throws(() => (engine.seal as (...args: unknown[]) => void)(UUID, 'nonce', AD, Buffer.alloc(0), out), TypeError);
    assert.throws(() => (engine.seal as (...args: unknown[]) => void)(UUID, Buffer.alloc(24), AD, Buffer.alloc(0)), TypeError);
  });

  test('the process picks OpenSSL when it passes its check, libsodium when told to', () => {
    assert.equal(chooseAead(undefined).engine.name, 'openssl');
    assert.equal(chooseAead('openssl').engine.name, 'openssl');
    assert.equal(chooseAead('sodium').engine.name, 'sodium');
    assert.equal(knownAnswerProblem(engine), null);
  });
});

test('both engines open in place (the ciphertext\'s own bytes as output), as the frame link does', () => {
  const engines = [sodium, ...('unavailable' in openssl ? [] : [openssl])];
  for (const engine of engines) {
    fc.assert(fc.property(fc.integer({ min: 0, max: 70_000 }), fc.uint8Array({ minLength: 24, maxLength: 24 }), (length, nonce) => {
      const message = Buffer.alloc(length, length & 0xff).fill(0x3c, 0, Math.min(length, 100));
      const buf = Buffer.alloc(length + 16);
      engine.seal(UUID, nonce, AD, message, buf);
      assert.equal(engine.open(UUID, nonce, AD, buf, buf.subarray(0, length)), true, engine.name);
      assert.deepEqual(buf.subarray(0, length), message, engine.name);
    }), { numRuns: 40 });
  }
});

test('OpenSSL missing or failing its check: libsodium does the work and the reason is kept, unless OpenSSL was demanded', () => {
  const missingAddon = () => ({ unavailable: 'the aead addon is not built' });
  const without = chooseAead(undefined, missingAddon);
  assert.equal(without.engine.name, 'sodium');
  assert.equal(without.fallbackReason, 'the aead addon is not built');
  assert.equal(chooseAead('sodium', missingAddon).fallbackReason, null, 'libsodium asked for: nothing to report');
  assert.throws(() => chooseAead('openssl', missingAddon), /^Error: FOUROVER6_AEAD=openssl, but OpenSSL cannot be used: the aead addon is not built$/);
  const broken: AeadEngine = { ...sodium, name: 'openssl', seal: (u, n, a, m, out) => { sodium.seal(u, n, a, m, out); out[0] ^= 1; } };
  const fallback = chooseAead(undefined, () => broken);
  assert.equal(fallback.engine.name, 'sodium');
  assert.equal(fallback.fallbackReason, 'its check against libsodium failed: sealing 0 bytes differs from libsodium');
  assert.throws(() => chooseAead('openssl', () => broken), /^Error: FOUROVER6_AEAD=openssl, but its check failed: sealing 0 bytes differs from libsodium$/);
  assert.equal(chooseAead('', () => broken).engine.name, 'sodium', 'an empty value is no choice');
  assert.match(sodium.library, /^libsodium/);
});

test('a bad FOUROVER6_AEAD value is refused by name', () => {
  assert.throws(() => chooseAead('aes'), /FOUROVER6_AEAD must be "openssl" or "sodium", not "aes"/);
});

test('the known-answer check catches an engine that seals wrong bytes, cannot open libsodium\'s, or opens a tampered frame', () => {
  const wrongSeal: AeadEngine = { ...sodium, seal: (u, n, a, m, out) => { sodium.seal(u, n, a, m, out); out[0] ^= 1; } };
  assert.equal(knownAnswerProblem(wrongSeal), 'sealing 0 bytes differs from libsodium');
  const lateWrong: AeadEngine = { ...sodium, seal: (u, n, a, m, out) => { sodium.seal(u, n, a, m, out); if (m.length > 60000) out[5] ^= 1; } };
  assert.equal(knownAnswerProblem(lateWrong), 'sealing 65544 bytes differs from libsodium');
  const cannotOpen: AeadEngine = { ...sodium, open: () => false };
  assert.equal(knownAnswerProblem(cannotOpen), 'opening 0 bytes sealed by libsodium failed');
  const opensAnything: AeadEngine = { ...sodium, open: (u, n, a, s, out) => { sodium.open(u, n, a, s, out); return true; } };
  assert.equal(knownAnswerProblem(opensAnything), 'a tampered 0-byte frame opened');
  const garbles: AeadEngine = { ...sodium, open: (u, n, a, s, out) => { const ok = sodium.open(u, n, a, s, out); if (out.length > 0) out[0] ^= 1; return ok; } };
  assert.equal(knownAnswerProblem(garbles), 'opening 1 bytes sealed by libsodium failed');
  assert.equal(knownAnswerProblem(sodium), null);
});

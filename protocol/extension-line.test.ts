import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  EXTENSION_MAGIC,
  MAX_EXTENSION_LINE_BYTES,
  encodeCapabilityList,
  encodeExtensionLine,
  isCapabilityName,
  parseCapabilityList,
  parseExtensionLine,
} from './extension-line';

test('the line: magic, then key=value tokens joined by single spaces', () => {
  assert.equal(EXTENSION_MAGIC, '4o6/1');
  assert.equal(MAX_EXTENSION_LINE_BYTES, 256);
  assert.equal(encodeExtensionLine([['a', '1'], ['b', 'x,y']]).toString('latin1'), '4o6/1 a=1 b=x,y');
  assert.equal(encodeExtensionLine([]).length, 0, 'no fields: the legacy empty payload');
  assert.deepEqual(parseExtensionLine(Buffer.from('4o6/1 a=1 b=x,y')), [['a', '1'], ['b', 'x,y']]);
});

test('256 bytes is a line, 257 is not: the encoder refuses what the parser would ignore', () => {
  const at = (n: number) => `4o6/1 k=${'v'.repeat(n - 8)}`;
  assert.equal(at(256).length, 256);
  assert.equal(encodeExtensionLine([['k', 'v'.repeat(248)]]).length, 256);
  assert.throws(() => encodeExtensionLine([['k', 'v'.repeat(249)]]), /^RangeError: extension line of 257 bytes exceeds 256$/);
  assert.deepEqual(parseExtensionLine(Buffer.from(at(256))), [['k', 'v'.repeat(248)]]);
  assert.equal(parseExtensionLine(Buffer.from(at(257))), null);
});

test('not ours: empty, another magic or version, the magic not a whole token', () => {
  for (const text of ['', '4o6/2 a=1', '4o6/1a=1', 'x 4o6/1 a=1', ' 4o6/1 a=1', '4O6/1 a=1']) {
    assert.equal(parseExtensionLine(Buffer.from(text, 'latin1')), null, JSON.stringify(text));
  }
  assert.deepEqual(parseExtensionLine(Buffer.from('4o6/1')), []);
});

test('tokens without "=" or with an empty key are skipped; values keep later "=" and may be empty', () => {
  assert.deepEqual(parseExtensionLine(Buffer.from('4o6/1 junk =x a= b=c=d  e=f')), [['a', ''], ['b', 'c=d'], ['e', 'f']]);
  assert.deepEqual(parseExtensionLine(Buffer.from('4o6/1 k=1 k=2')), [['k', '1'], ['k', '2']], 'duplicates kept in order');
});

test('a view into a larger buffer is read at its offset, not from the start of its memory', () => {
  const big = Buffer.from('zz4o6/1 a=1zz', 'latin1');
  assert.deepEqual(parseExtensionLine(big.subarray(2, 11)), [['a', '1']]);
});

test('capability names: 1..32 of a-z 0-9 "-"; lists split on commas, bad names dropped', () => {
  for (const good of ['gso', 'a', '0-9', 'x'.repeat(32)]) assert.equal(isCapabilityName(good), true, good);
  for (const bad of ['', 'x'.repeat(33), 'GSO', 'a_b', 'a b', 'a,b', 'gso\n', 'é']) assert.equal(isCapabilityName(bad), false, bad);
  assert.deepEqual(parseCapabilityList('gso,,BAD,x-1'), ['gso', 'x-1']);
  assert.deepEqual(parseCapabilityList(''), []);
  assert.equal(encodeCapabilityList(['gso', 'x-1']), 'gso,x-1');
  assert.equal(encodeCapabilityList([]), '');
  assert.throws(() => encodeCapabilityList(['ok', 'No']), /^RangeError: bad capability name: "No"$/);
});

test('property: fields with space-free keys and values round-trip in order', () => {
  const word = fc.stringMatching(/^[a-z0-9,.:=-]{0,12}$/);
  const key = fc.stringMatching(/^[a-z0-9-]{1,8}$/);
  fc.assert(
    fc.property(fc.array(fc.tuple(key, word), { minLength: 1, maxLength: 10 }), (fields) => {
      assert.deepEqual(parseExtensionLine(encodeExtensionLine(fields)), fields);
    }),
    { numRuns: 300 },
  );
});

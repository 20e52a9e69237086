import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hex } from '../test/support/hex';
import { encodeCapabilitiesPayload, parseCapabilitiesPayload, sharedCapabilities } from './capabilities';
import { FrameReader, MessageType, encodeFrame } from './frame';
import { CAP_SUPER_PACKETS } from './super-packet';

test('type-105 vector: "4o6/1 caps=gso" in a 19-byte frame', () => {
  const payload = encodeCapabilitiesPayload([CAP_SUPER_PACKETS]);
  assert.deepEqual(payload, Buffer.from('4o6/1 caps=gso', 'latin1'));
  const frame = encodeFrame(MessageType.Capabilities, payload);
  assert.deepEqual(frame, hex('13000000 69 346f362f31 20 636170733d67736f'));
  const [read] = new FrameReader().push(frame);
  assert.equal(read.type, 105);
  assert.deepEqual(parseCapabilitiesPayload(read.payload), ['gso']);
});

test('several names keep their order; none encodes as an empty payload', () => {
  assert.equal(encodeCapabilitiesPayload(['gso', 'x-2']).toString('latin1'), '4o6/1 caps=gso,x-2');
  assert.deepEqual(parseCapabilitiesPayload(Buffer.from('4o6/1 caps=x-2,gso')), ['x-2', 'gso']);
  assert.equal(encodeCapabilitiesPayload([]).length, 0);
  assert.throws(() => encodeCapabilitiesPayload(['GSO']), /bad capability name: "GSO"/);
  assert.throws(() => encodeCapabilitiesPayload(['a,b']), /bad capability name/);
});

test('a payload that is not our line grants nothing', () => {
  for (const text of ['', 'caps=gso', '4o6/2 caps=gso', '4o6/1', '4o6/1 gso', '4o6/1caps=gso', ' 4o6/1 caps=gso', '4o6/1 caps=', '4o6/1 caps=GSO']) {
    assert.deepEqual(parseCapabilitiesPayload(Buffer.from(text, 'latin1')), [], JSON.stringify(text));
  }
  assert.deepEqual(parseCapabilitiesPayload(Buffer.from(`4o6/1 caps=gso ${'x'.repeat(242)}`)), [], '257 bytes: too long');
  assert.deepEqual(parseCapabilitiesPayload(Buffer.from(`4o6/1 caps=gso ${'x'.repeat(241)}`)), ['gso'], '256 bytes: still ours');
});

test('malformed names are dropped one by one; other fields are ignored; the last caps= counts', () => {
  assert.deepEqual(parseCapabilitiesPayload(Buffer.from('4o6/1 id=0123 caps=gso,BAD,,ok future=1')), ['gso', 'ok']);
  assert.deepEqual(parseCapabilitiesPayload(Buffer.from('4o6/1 caps=a caps=b')), ['b']);
  assert.deepEqual(parseCapabilitiesPayload(Buffer.from(`4o6/1 caps=${'a'.repeat(32)},${'b'.repeat(33)}`)), ['a'.repeat(32)]);
});

test('a view into a larger buffer is read at its own offset', () => {
  const big = Buffer.from('xx4o6/1 caps=gsoyy', 'latin1');
  assert.deepEqual(parseCapabilitiesPayload(big.subarray(2, 16)), ['gso']);
});

test('shared capabilities: what the gateway supports that the client offered, in the gateway\'s order', () => {
  assert.deepEqual(sharedCapabilities(['future', 'gso'], ['gso']), ['gso']);
  assert.deepEqual(sharedCapabilities(['future'], ['gso']), []);
  assert.deepEqual(sharedCapabilities([], ['gso']), []);
  assert.deepEqual(sharedCapabilities(['b', 'a'], ['a', 'b', 'c']), ['a', 'b']);
});

test('property: any list of valid names round-trips; any bytes parse to valid names without throwing', () => {
  const name = fc.stringMatching(/^[a-z0-9-]{1,32}$/);
  fc.assert(
    fc.property(fc.array(name, { minLength: 1, maxLength: 7 }), (caps) => {
      const payload = encodeCapabilitiesPayload(caps);
      assert.ok(payload.length <= 256);
      assert.deepEqual(parseCapabilitiesPayload(payload), caps);
      const [frame] = new FrameReader().push(encodeFrame(MessageType.Capabilities, payload));
      assert.deepEqual(parseCapabilitiesPayload(frame.payload), caps);
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 80 }).map((t) => Buffer.from(`4o6/1 caps=${t}`, 'latin1'))), (bytes) => {
      for (const c of parseCapabilitiesPayload(bytes)) assert.match(c, /^[a-z0-9-]{1,32}$/);
    }),
    { numRuns: 500 },
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeCapabilitiesPayload, parseCapabilitiesPayload } from './capabilities';
import { encodeFrame, FrameReader, MessageType } from './frame';
import { encodeIpRequestPayload, parseIpRequestPayload, MAX_IP_REQUEST_PAYLOAD_BYTES } from './ip-request';

const ID = '0123456789abcdef0123456789abcdef';

test('IP request extension vector: the ASCII line, byte for byte', () => {
  const payload = encodeIpRequestPayload({ clientId: ID, previousAddress: '198.18.0.7', caps: ['gso'] });
  assert.equal(payload.toString('latin1'), `4o6/1 id=${ID} addr=198.18.0.7 caps=gso`);
  const [frame] = new FrameReader().push(encodeFrame(MessageType.IpRequest, payload));
  assert.equal(frame.type, MessageType.IpRequest);
  assert.deepEqual(parseIpRequestPayload(frame.payload), { clientId: ID, previousAddress: '198.18.0.7', caps: ['gso'] });
});

test('nothing to say encodes as the legacy empty request', () => {
  assert.equal(encodeIpRequestPayload({}).length, 0);
  assert.equal(encodeIpRequestPayload({ caps: [] }).length, 0);
});

test('a legacy (empty) or foreign payload is not our extension', () => {
  assert.equal(parseIpRequestPayload(Buffer.alloc(0)), null);
  assert.equal(parseIpRequestPayload(Buffer.from('hello')), null);
  assert.equal(parseIpRequestPayload(Buffer.from(`4o6/2 id=${ID}`)), null);
  const long = Buffer.from(`4o6/1 id=${ID} ${'x'.repeat(MAX_IP_REQUEST_PAYLOAD_BYTES)}`);
  assert.equal(parseIpRequestPayload(long), null);
});

test('malformed fields are dropped one by one, unknown keys ignored', () => {
  assert.deepEqual(parseIpRequestPayload(Buffer.from('4o6/1 id=XYZ addr=198.18.0.300 caps=ok,BAD,a-b future=1 =x junk')),
    { caps: ['ok', 'a-b'] });
  assert.deepEqual(parseIpRequestPayload(Buffer.from(`4o6/1 id=${ID.toUpperCase()} addr=198.18.0.9`)), { previousAddress: '198.18.0.9', caps: [] });
  assert.deepEqual(parseIpRequestPayload(Buffer.from('4o6/1')), { caps: [] });
});

test('the encoder refuses what the parser would drop', () => {
  assert.throws(() => encodeIpRequestPayload({ clientId: 'abc' }), /32 lowercase hex/);
  assert.throws(() => encodeIpRequestPayload({ previousAddress: '1.2.3' }), /not an IPv4/);
  assert.throws(() => encodeIpRequestPayload({ caps: ['Has Space'] }), /capability/);
});

test('one grammar with type 105: the same caps= field reads the same in both payloads', () => {
  const request = encodeIpRequestPayload({ clientId: ID, caps: ['gso', 'x-1'] });
  assert.deepEqual(parseCapabilitiesPayload(request), ['gso', 'x-1'], 'the capability parser reads the request');
  assert.deepEqual(parseIpRequestPayload(encodeCapabilitiesPayload(['gso'])), { caps: ['gso'] });
});

test('the encoder refuses a request line over 256 bytes (the parser would ignore it)', () => {
  const caps = Array.from({ length: 7 }, (_, i) => `${i}`.repeat(32)); // 7 * 33 - 1 = 230 bytes of names
  assert.throws(() => encodeIpRequestPayload({ clientId: ID, caps }), /extension line of \d+ bytes exceeds 256/);
  assert.equal(encodeIpRequestPayload({ caps: caps.slice(0, 6) }).length, 6 + 5 + 6 * 33 - 1);
});

test('a value is read only under its own key, and an id is exactly 32 hex digits', () => {
  // A valid id or address under another key is not taken for one.
  assert.deepEqual(parseIpRequestPayload(Buffer.from(`4o6/1 future=${ID} other=198.18.0.9`)), { caps: [] });
  assert.deepEqual(parseIpRequestPayload(Buffer.from(`4o6/1 id=0${ID} addr=198.18.0.9`)), { previousAddress: '198.18.0.9', caps: [] });
  assert.deepEqual(parseIpRequestPayload(Buffer.from(`4o6/1 id=${ID}0`)), { caps: [] });
  assert.deepEqual(parseIpRequestPayload(Buffer.from(`4o6/1 id=${ID.slice(1)}`)), { caps: [] });
});

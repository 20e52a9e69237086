import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hex } from '../test/support/hex';
import { FrameReader, MessageType } from './frame';
import { HEARTBEAT_FRAME, IP_REQUEST_FRAME, IpResponseError, UNSUPPORTED_FRAME, encodeIpResponse, parseIpResponse } from './messages';

const RESPONSE_TEXT = '198.18.0.7 0.0.0.0 198.18.0.1 198.18.0.53 198.18.0.54';

test('constant frames match the contract vectors', () => {
  assert.deepEqual(HEARTBEAT_FRAME, hex('0500000068'));
  assert.deepEqual(IP_REQUEST_FRAME, hex('0500000064'));
  assert.deepEqual(UNSUPPORTED_FRAME, hex('05000000c7'));
});

test('IP response vector: 58 bytes, 3a000000 65 then the ASCII text', () => {
  const frame = encodeIpResponse({ address: '198.18.0.7', route: '0.0.0.0', dns: ['198.18.0.1', '198.18.0.53', '198.18.0.54'] });
  assert.equal(frame.length, 58);
  assert.deepEqual(frame, Buffer.concat([hex('3a00000065'), Buffer.from(RESPONSE_TEXT, 'ascii')]));
});

test('our server pads to 5 fields like legacy servers', () => {
  const frame = encodeIpResponse({ address: '198.18.0.7', route: '0.0.0.0', dns: ['198.18.0.1'] });
  assert.equal(frame.subarray(5).toString(), '198.18.0.7 0.0.0.0 198.18.0.1 0.0.0.0 0.0.0.0');
});

test('parses the legacy 5-field response from real frame bytes', () => {
  const [frame] = new FrameReader().push(Buffer.concat([hex('3a00000065'), Buffer.from(RESPONSE_TEXT)]));
  assert.equal(frame.type, MessageType.IpResponse);
  assert.deepEqual(parseIpResponse(frame.payload), {
    address: '198.18.0.7', route: '0.0.0.0', dns: ['198.18.0.1', '198.18.0.53', '198.18.0.54'],
  });
});

test('accepts 3 fields, any whitespace, drops 0.0.0.0 DNS', () => {
  assert.deepEqual(parseIpResponse(Buffer.from('198.18.0.7\t0.0.0.0   198.18.0.1\n')), {
    address: '198.18.0.7', route: '0.0.0.0', dns: ['198.18.0.1'],
  });
  assert.deepEqual(parseIpResponse(Buffer.from('198.18.0.7 0.0.0.0 0.0.0.0 198.18.0.9 0.0.0.0')).dns, ['198.18.0.9']);
});

test('rejects bad responses naming the field', () => {
  const field = (text: string) => {
    try {
      parseIpResponse(Buffer.from(text));
    } catch (err) {
      assert.ok(err instanceof IpResponseError);
      return err.field;
    }
    assert.fail(`accepted "${text}"`);
  };
  assert.equal(field('198.18.0.7 0.0.0.0'), 'text');
  assert.equal(field('1 2 3 4 5 6'), 'text');
  assert.equal(field(''), 'text');
  assert.equal(field('198.18.0.256 0.0.0.0 198.18.0.1'), 'address');
  assert.equal(field('198.18.0.7 default 198.18.0.1'), 'route');
  assert.equal(field('198.18.0.7 0.0.0.0 198.18.0.1 ::1'), 'dns2');
  assert.equal(field('198.18.0.7 0.0.0.0 198.18.0.1 1.2.3.4 01.2.3.4x'), 'dns3');
  assert.equal(field('0.0.0.0 0.0.0.0 198.18.0.1'), 'address');
  assert.equal(field('198.18.0.7 0.0.0.0 198.18.0.1\u00ff'), 'text');
});

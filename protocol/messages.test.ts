import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hex } from '../test/support/hex';
import { FrameReader, MessageType } from './frame';
import { HEARTBEAT_FRAME, IP_REQUEST_FRAME, IpResponseError, UNSUPPORTED_FRAME, encodeDataDown, encodeDataUp, encodeIpResponse, parseIpResponse } from './messages';

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

test('every field is checked as a dotted-quad IPv4 address, and the error names it', () => {
  const good = ['198.18.0.7', '0.0.0.0', '198.18.0.1', '198.18.0.53', '198.18.0.54'];
  const names = ['address', 'route', 'dns1', 'dns2', 'dns3'];
  const bad = ['198.18.0.256', '256.18.0.1', '198.18.0', '198.18.0.1.2', '198.18.0.01', '0x7f.0.0.1', '1e2.0.0.1',
    '-1.18.0.1', '198.18.0.1/24', '::1', 'fd00::1', '3323068417', 'a.b.c.d', '198.18.0.1:53', '198,18,0,1'];
  for (let i = 0; i < 5; i++) {
    for (const value of bad) {
      const fields = [...good];
      fields[i] = value;
      assert.throws(() => parseIpResponse(Buffer.from(fields.join(' '))), (err: unknown) => {
        assert.ok(err instanceof IpResponseError, `${value} as ${names[i]}`);
        assert.equal(err.field, names[i], `${value} as ${names[i]}`);
        assert.equal(err.code, 'IP_RESPONSE_INVALID');
        assert.match(err.message, new RegExp(`field ${names[i]} is not an IPv4 address: "${value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"`));
        return true;
      });
    }
  }
  // Each field's value lands where it belongs.
  assert.deepEqual(parseIpResponse(Buffer.from(good.join(' '))), { address: '198.18.0.7', route: '0.0.0.0', dns: good.slice(2) });
});

test('an IP response error says what was wrong in words a log reader understands', () => {
  assert.throws(() => parseIpResponse(Buffer.from('0.0.0.0 0.0.0.0 198.18.0.1')), /offers no address \(0\.0\.0\.0\)/);
  assert.throws(() => parseIpResponse(Buffer.from('198.18.0.7 0.0.0.0')), /has 2 fields, expected 3 to 5 \(address, route, DNS\): "198\.18\.0\.7 0\.0\.0\.0"/);
  assert.throws(() => parseIpResponse(Buffer.from([0x31, 0x00, 0x32])), /not ASCII text/);
  assert.throws(() => parseIpResponse(Buffer.from('')), /has 0 fields/);
  assert.throws(() => parseIpResponse(Buffer.from(' \t\n')), /has 0 fields/);
  assert.throws(() => parseIpResponse(Buffer.from('x')), (err: IpResponseError) => err.name === 'IpResponseError' && /has 1 fields/.test(err.message));
  assert.throws(() => parseIpResponse(Buffer.from(`1 2 3 4 5 6 ${'x'.repeat(200)}`)), (err: Error) => err.message.length < 200);
  // Only the payload's own bytes are read, not the rest of the buffer it sits in.
  const wire = Buffer.from('XX198.18.0.7 0.0.0.0 198.18.0.1YY');
  assert.equal(parseIpResponse(wire.subarray(2, wire.length - 2)).address, '198.18.0.7');
});

test('the encoder refuses what is not an IPv4 address and keeps at most three DNS servers', () => {
  assert.throws(() => encodeIpResponse({ address: 'fd00::1', route: '0.0.0.0', dns: [] }), /not an IPv4 address: fd00::1/);
  assert.throws(() => encodeIpResponse({ address: '198.18.0.7', route: '0.0.0.0', dns: ['198.18.0.300'] }), RangeError);
  const frame = encodeIpResponse({ address: '198.18.0.7', route: '0.0.0.0', dns: ['198.18.0.1', '198.18.0.2', '198.18.0.3', '198.18.0.4'] });
  assert.equal(frame.subarray(5).toString(), '198.18.0.7 0.0.0.0 198.18.0.1 198.18.0.2 198.18.0.3');
  assert.deepEqual(encodeDataUp(hex('4500')), hex('0700000066 4500'));
  assert.deepEqual(encodeDataDown(hex('4500')), hex('0700000067 4500'));
});

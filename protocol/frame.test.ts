import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hex } from '../test/support/hex';
import {
  EMPTY,
  FrameReader,
  MAX_FRAME_BYTES,
  MAX_NEGOTIATED_FRAME_BYTES,
  MalformedFrameError,
  MessageType,
  encodeFrame,
  isValidFrameLength,
  writeFrameHeader,
} from './frame';

function readAll(...chunks: Buffer[]): Array<{ type: number; payload: string }> {
  const reader = new FrameReader();
  return chunks.flatMap((c) => reader.push(c)).map((f) => ({ type: f.type, payload: f.payload.toString('hex') }));
}

test('heartbeat, IP request and unsupported are five bytes (protocol.md vectors)', () => {
  assert.deepEqual(encodeFrame(MessageType.Heartbeat, EMPTY), hex('05000000 68'));
  assert.deepEqual(encodeFrame(MessageType.IpRequest, EMPTY), hex('05000000 64'));
  assert.deepEqual(encodeFrame(MessageType.Unsupported, EMPTY), hex('05000000 c7'));
});

test('data frame: little-endian length including header, then type 102, then the packet', () => {
  const packet = hex('45000014 00010000 40000000 c6120002 c6120001'); // 20-byte IPv4 header
  assert.deepEqual(encodeFrame(MessageType.DataUp, packet), hex('19000000 66' + '45000014 00010000 40000000 c6120002 c6120001'));
  const big = Buffer.alloc(300, 0xab);
  const frame = encodeFrame(MessageType.DataDown, big);
  assert.deepEqual(frame.subarray(0, 5), hex('31010000 67')); // 305 = 0x131
});

test('reader parses known bytes: two frames in one chunk', () => {
  assert.deepEqual(readAll(hex('05000000 68 07000000 66 abcd')), [
    { type: 104, payload: '' },
    { type: 102, payload: 'abcd' },
  ]);
});

test('reader yields views, not copies, for whole frames in a chunk', () => {
  const chunk = hex('07000000 66 abcd 05000000 68');
  const [first] = new FrameReader().push(chunk);
  assert.equal(first.payload.buffer, chunk.buffer);
  assert.equal(first.payload.byteOffset, chunk.byteOffset + 5);
});

test('reader passes unknown types through', () => {
  assert.deepEqual(readAll(hex('06000000 2a 01')), [{ type: 42, payload: '01' }]);
});

test('a length above 2053 is malformed and names the length', () => {
  assert.throws(() => readAll(hex('06080000 66')), (err: unknown) =>
    err instanceof MalformedFrameError && err.length === 0x806 && err.code === 'FRAME_LENGTH_INVALID' && /2054/.test(err.message));
});

test('a length below 5 is malformed, also when the header arrives byte by byte', () => {
  assert.throws(() => readAll(hex('04000000 68')), MalformedFrameError);
  assert.throws(() => readAll(hex('04'), hex('00'), hex('00'), hex('00'), hex('68')), (e: unknown) =>
    e instanceof MalformedFrameError && e.length === 4);
});

test('the reader stays failed after a malformed frame', () => {
  const reader = new FrameReader();
  assert.throws(() => reader.push(hex('00000000 00')), MalformedFrameError);
  assert.throws(() => reader.push(hex('05000000 68')), MalformedFrameError);
});

test('a 2053-byte frame split byte by byte comes out whole', () => {
  const payload = Buffer.alloc(MAX_FRAME_BYTES - 5);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 255;
  const frame = encodeFrame(MessageType.DataDown, payload);
  const reader = new FrameReader();
  const out = [];
  for (let i = 0; i < frame.length; i++) {
    out.push(...reader.push(frame.subarray(i, i + 1)));
    if (i < frame.length - 1) assert.equal(out.length, 0);
  }
  assert.equal(out.length, 1);
  assert.equal(out[0].type, 103);
  assert.deepEqual(out[0].payload, payload);
  assert.equal(reader.bufferedBytes, 0);
});

const frameArb = fc.record({
  type: fc.integer({ min: 0, max: 255 }),
  payload: fc.uint8Array({ minLength: 0, maxLength: MAX_FRAME_BYTES - 5 }),
});

test('property: any valid frames, cut at any points, come out identical', () => {
  fc.assert(
    fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cutSeeds) => {
      const stream = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.payload)));
      const cuts = [...new Set(cutSeeds.map((c) => (stream.length ? c % stream.length : 0)))].sort((a, b) => a - b);
      const chunks: Buffer[] = [];
      let prev = 0;
      for (const c of [...cuts, stream.length]) {
        chunks.push(stream.subarray(prev, c));
        prev = c;
      }
      const reader = new FrameReader();
      const out = chunks.flatMap((c) => reader.push(c));
      assert.equal(out.length, frames.length);
      out.forEach((f, i) => {
        assert.equal(f.type, frames[i].type);
        assert.deepEqual(new Uint8Array(f.payload), frames[i].payload);
      });
      assert.equal(reader.bufferedBytes, 0);
    }),
    { numRuns: 300 },
  );
});

test('property: garbage yields frames or a MalformedFrameError, never another error or a hang', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }), (chunks) => {
      const reader = new FrameReader();
      let consumed = 0;
      let yielded = 0;
      try {
        for (const c of chunks) {
          for (const f of reader.push(Buffer.from(c))) yielded += 5 + f.payload.length;
          consumed += c.length;
        }
        assert.equal(yielded + reader.bufferedBytes, consumed);
      } catch (err) {
        assert.ok(err instanceof MalformedFrameError, `unexpected ${String(err)}`);
      }
    }),
    { numRuns: 500 },
  );
});

test('boundaries: lengths 5 and 2053 are frames, 4 and 2054 are not; the encoder stops at 2048 payload bytes', () => {
  assert.equal(isValidFrameLength(4), false);
  assert.equal(isValidFrameLength(5), true);
  assert.equal(isValidFrameLength(2053), true);
  assert.equal(isValidFrameLength(2054), false);
  assert.equal(encodeFrame(7, Buffer.alloc(2048)).length, 2053);
  assert.throws(() => encodeFrame(7, Buffer.alloc(2049)), /frame of 2054 bytes exceeds the 2053-byte limit/);
  const dst = Buffer.alloc(12, 0xee);
  writeFrameHeader(dst, 3, 0x66, 4);
  assert.deepEqual(dst, hex('eeeeee 09000000 66 eeeeeeee'));
  assert.deepEqual(encodeFrame(0x68), hex('0500000068'));
});

test('bufferedBytes: what a cut frame holds back, header first, then the rest', () => {
  const reader = new FrameReader();
  const frame = encodeFrame(0x66, Buffer.from('abcdefgh'));
  assert.deepEqual(reader.push(frame.subarray(0, 3)), []);
  assert.equal(reader.bufferedBytes, 3);
  assert.deepEqual(reader.push(frame.subarray(3, 7)), []);
  assert.equal(reader.bufferedBytes, 7);
  const [f] = reader.push(Buffer.concat([frame.subarray(7), frame.subarray(0, 6)]));
  assert.equal(f.type, 0x66);
  assert.equal(f.payload.toString(), 'abcdefgh');
  assert.equal(reader.bufferedBytes, 6, 'the next frame\'s first six bytes');
  const [g] = reader.push(frame.subarray(6));
  assert.equal(g.payload.toString(), 'abcdefgh');
  assert.equal(reader.bufferedBytes, 0);
  assert.equal(new MalformedFrameError(9).message, 'malformed frame: length field 9 is outside 5..2053');
  assert.equal(new MalformedFrameError(9).code, 'FRAME_LENGTH_INVALID');
  assert.equal(new MalformedFrameError(9).name, 'MalformedFrameError', 'the gateway and the engine tell it apart by name');
});

test('our own types: 105 capabilities, 106 super-packet; the negotiated limit is 65589 bytes', () => {
  assert.equal(MessageType.Capabilities, 105);
  assert.equal(MessageType.SuperPacket, 106);
  // outer header 5 + region header 4 + largest IPv4 packet 65535 + sealing overhead 45
  assert.equal(MAX_NEGOTIATED_FRAME_BYTES, 65589);
  assert.deepEqual(encodeFrame(MessageType.SuperPacket, hex('e803 00 00')).subarray(0, 5), hex('09000000 6a'));
});

test('isValidFrameLength with a raised limit: 5 and 65589 are frames, 4 and 65590 are not', () => {
  assert.equal(isValidFrameLength(4, MAX_NEGOTIATED_FRAME_BYTES), false);
  assert.equal(isValidFrameLength(5, MAX_NEGOTIATED_FRAME_BYTES), true);
  assert.equal(isValidFrameLength(2054, MAX_NEGOTIATED_FRAME_BYTES), true);
  assert.equal(isValidFrameLength(65589, MAX_NEGOTIATED_FRAME_BYTES), true);
  assert.equal(isValidFrameLength(65590, MAX_NEGOTIATED_FRAME_BYTES), false);
  assert.equal(isValidFrameLength(2054), false, 'the default stays the legacy limit');
});

test('the reader starts at the legacy limit and refuses 2054 bytes, also when the header is cut', () => {
  const reader = new FrameReader();
  assert.equal(reader.maxFrameBytes, 2053);
  assert.throws(() => reader.push(hex('06080000 66')), /outside 5\.\.2053/);
  const cut = new FrameReader();
  assert.deepEqual(cut.push(hex('060800')), []);
  assert.throws(() => cut.push(hex('00 66')), (e: unknown) => e instanceof MalformedFrameError && e.length === 2054);
});

test('a raised reader takes a 65589-byte frame whole, cut, and with a cut header; 65590 is malformed naming 65589', () => {
  const payload = Buffer.alloc(MAX_NEGOTIATED_FRAME_BYTES - 5);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 13) & 255;
  const frame = encodeFrame(MessageType.Encrypted, payload, MAX_NEGOTIATED_FRAME_BYTES);
  assert.deepEqual(frame.subarray(0, 5), hex('35000100 c8')); // 65589 = 0x10035

  const whole = new FrameReader();
  whole.maxFrameBytes = MAX_NEGOTIATED_FRAME_BYTES;
  const [a] = whole.push(frame);
  assert.deepEqual(a.payload, payload);

  for (const cutAt of [3, 5, 40_000]) {
    const reader = new FrameReader();
    reader.maxFrameBytes = MAX_NEGOTIATED_FRAME_BYTES;
    assert.deepEqual(reader.push(frame.subarray(0, cutAt)), []);
    assert.equal(reader.bufferedBytes, cutAt);
    const [b] = reader.push(frame.subarray(cutAt));
    assert.equal(b.type, 200);
    assert.deepEqual(b.payload, payload);
  }

  const over = new FrameReader();
  over.maxFrameBytes = MAX_NEGOTIATED_FRAME_BYTES;
  assert.throws(() => over.push(hex('36000100 c8')), (e: unknown) =>
    e instanceof MalformedFrameError && e.length === 65590 && e.message === 'malformed frame: length field 65590 is outside 5..65589');
  const overCut = new FrameReader();
  overCut.maxFrameBytes = MAX_NEGOTIATED_FRAME_BYTES;
  overCut.push(hex('36'));
  assert.throws(() => overCut.push(hex('000100 c8')), /outside 5\.\.65589/);
});

test('maxFrameBytes: 2053..65589 only, and lowering it restores the legacy limit', () => {
  const reader = new FrameReader();
  for (const bad of [2052, 65590, 3000.5, Number.NaN]) {
    assert.throws(() => { reader.maxFrameBytes = bad; }, RangeError, String(bad));
  }
  assert.throws(() => { reader.maxFrameBytes = 2052; }, /frame limit must be an integer in 2053\.\.65589, got 2052/);
  assert.equal(reader.maxFrameBytes, 2053, 'a refused value changes nothing');
  reader.maxFrameBytes = 65589;
  assert.equal(reader.maxFrameBytes, 65589);
  assert.equal(reader.push(encodeFrame(0x6a, Buffer.alloc(2049), 65589)).length, 1);
  reader.maxFrameBytes = 2053;
  assert.throws(() => reader.push(encodeFrame(0x6a, Buffer.alloc(2049), 65589)), /outside 5\.\.2053/);
});

test('writeFrameHeader and encodeFrame with a raised limit stop exactly at it', () => {
  const dst = Buffer.alloc(8, 0xee);
  writeFrameHeader(dst, 1, 0x6a, 65584, 65589);
  assert.deepEqual(dst, hex('ee 35000100 6a eeee'));
  assert.throws(() => writeFrameHeader(dst, 1, 0x6a, 65585, 65589), /^RangeError: frame of 65590 bytes exceeds the 65589-byte limit$/);
  assert.throws(() => writeFrameHeader(dst, 1, 0x6a, 2049), /frame of 2054 bytes exceeds the 2053-byte limit/);
  assert.throws(() => encodeFrame(0x6a, Buffer.alloc(65585), 65589), /65590 bytes exceeds the 65589-byte limit/);
  assert.equal(encodeFrame(0x6a, Buffer.alloc(65584), 65589).length, 65589);
  assert.equal(new MalformedFrameError(9, undefined, 65589).message, 'malformed frame: length field 9 is outside 5..65589');
});

test('a limit raised while handling a frame applies to the very next frame of the same chunk', () => {
  // The link raises the limit when it handles type 105; the gateway's first 106 may share its TCP read.
  const big = encodeFrame(MessageType.SuperPacket, Buffer.alloc(3000, 0x6a), MAX_NEGOTIATED_FRAME_BYTES);
  const chunk = Buffer.concat([encodeFrame(MessageType.Capabilities, Buffer.from('4o6/1 caps=gso')), big]);
  for (const cutAt of [chunk.length, 19 + 2, 19 + 100]) {
    const reader = new FrameReader();
    const types: number[] = [];
    const onFrame = (type: number) => {
      types.push(type);
      if (type === MessageType.Capabilities) reader.maxFrameBytes = MAX_NEGOTIATED_FRAME_BYTES;
    };
    reader.pushEach(chunk.subarray(0, cutAt), onFrame);
    reader.pushEach(chunk.subarray(cutAt), onFrame);
    assert.deepEqual(types, [105, 106], `cut at ${cutAt}`);
  }
  const unraised = new FrameReader();
  assert.throws(() => unraised.push(chunk), /length field 3005 is outside 5\.\.2053/);
});

test('property: with the negotiated limit, frames of any size up to 65589 bytes, cut anywhere, come out identical', () => {
  const sizes = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 2000, max: 2100 }), fc.integer({ min: 65500, max: MAX_NEGOTIATED_FRAME_BYTES - 5 }));
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), sizes, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 8 }), (specs, cutSeeds) => {
        const frames = specs.map(([type, size, fill]) => ({ type, payload: Buffer.alloc(size, fill) }));
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.payload, MAX_NEGOTIATED_FRAME_BYTES)));
        const cuts = [...new Set(cutSeeds.map((c) => c % stream.length))].sort((a, b) => a - b);
        const reader = new FrameReader();
        reader.maxFrameBytes = MAX_NEGOTIATED_FRAME_BYTES;
        const out: Array<{ type: number; payload: Buffer }> = [];
        let prev = 0;
        for (const c of [...cuts, stream.length]) {
          out.push(...reader.push(stream.subarray(prev, c)).map((f) => ({ type: f.type, payload: Buffer.from(f.payload) })));
          prev = c;
        }
        assert.equal(out.length, frames.length);
        out.forEach((f, i) => {
          assert.equal(f.type, frames[i].type);
          assert.ok(f.payload.equals(frames[i].payload));
        });
        assert.equal(reader.bufferedBytes, 0);
      }),
    { numRuns: 100 },
  );
});

test('super-packet frames cut across reads come out whole, in order, each intact until the next push', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: MAX_FRAME_BYTES - 5, max: MAX_NEGOTIATED_FRAME_BYTES - 5 }), { minLength: 1, maxLength: 6 }),
    fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 12 }),
    (sizes, cuts) => {
      const frames = sizes.map((n, i) => encodeFrame(i % 2 ? MessageType.SuperPacket : MessageType.Encrypted, Buffer.alloc(n, i + 1), MAX_NEGOTIATED_FRAME_BYTES));
      const stream = Buffer.concat(frames);
      const reader = new FrameReader();
      reader.maxFrameBytes = MAX_NEGOTIATED_FRAME_BYTES;
      const seen: Buffer[] = [];
      let offset = 0;
      let c = 0;
      while (offset < stream.length) {
        const end = Math.min(stream.length, offset + cuts[c++ % cuts.length]);
        const delivered: Buffer[] = [];
        reader.pushEach(Buffer.from(stream.subarray(offset, end)), (_type, payload) => delivered.push(payload));
        // Checked after the whole push: a later cut frame of the same push must not overwrite them.
        for (const p of delivered) seen.push(Buffer.from(p));
        offset = end;
      }
      assert.equal(seen.length, frames.length);
      seen.forEach((p, i) => assert.ok(p.equals(frames[i].subarray(5)), `frame ${i}`));
    },
  ), { numRuns: 60 });
});

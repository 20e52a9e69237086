import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatLogEntry, formatRate } from './format';

test('bytes in binary units', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(formatBytes(50 * 1024 * 1024), '50.0 MiB');
});

test('rates in bits per second, decimal units', () => {
  assert.equal(formatRate(0), '0 bit/s');
  assert.equal(formatRate(125), '1.00 kbit/s');
  assert.equal(formatRate(125_000_000), '1.00 Gbit/s');
  assert.equal(formatRate(2_500_000), '20.0 Mbit/s');
});

test('unit boundaries and precision: 1023 B / 1 KiB, two decimals below 10, one below 100, none above, TiB and Gbit/s at the top', () => {
  assert.deepEqual([1023, 1024, 10 * 1024 - 1, 10 * 1024, 100 * 1024, 1024 ** 2, 1024 ** 3, 1024 ** 4, 5000 * 1024 ** 4].map(formatBytes),
    ['1023 B', '1.00 KiB', '10.00 KiB', '10.0 KiB', '100 KiB', '1.00 MiB', '1.00 GiB', '1.00 TiB', '5000 TiB']);
  assert.deepEqual([124, 125, 1249, 1250, 12_500, 125_000, 1.25e8, 1.25e9 * 1000].map(formatRate),
    ['992 bit/s', '1.00 kbit/s', '9.99 kbit/s', '10.0 kbit/s', '100 kbit/s', '1.00 Mbit/s', '1.00 Gbit/s', '10000 Gbit/s']);
  assert.equal(formatBytes(9.999 * 1024), '10.00 KiB');
  assert.equal(formatBytes(99.99 * 1024), '100.0 KiB');
});

test('a log entry reads as ISO time, source, level and message on one line', () => {
  assert.equal(formatLogEntry({ seq: 7, atMs: Date.UTC(2026, 10, 30, 18, 36, 37, 123), source: 'helper', level: 'warn', message: 'no heartbeat for 60 s' }),
    '2026-11-30T18:36:37.123Z helper warn: no heartbeat for 60 s');
});

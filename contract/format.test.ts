import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatRate } from './format';

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

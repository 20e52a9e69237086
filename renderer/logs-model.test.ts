import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogEntry } from '../contract/ipc-schema';
import { copyText, filterByLevel, mergeEntries } from './logs-model';

const e = (seq: number, level: LogEntry['level'], message = `m${seq}`): LogEntry => ({ seq, atMs: Date.UTC(2026, 0, 1, 0, 0, seq), source: seq % 2 ? 'app' : 'helper', level, message });
const list = [e(1, 'debug'), e(2, 'info'), e(3, 'warn'), e(4, 'error'), e(5, 'info')];

test('a level shows itself and everything more severe', () => {
  assert.deepEqual(filterByLevel(list, 'debug').map((x) => x.seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(filterByLevel(list, 'info').map((x) => x.seq), [2, 3, 4, 5]);
  assert.deepEqual(filterByLevel(list, 'warn').map((x) => x.seq), [3, 4]);
  assert.deepEqual(filterByLevel(list, 'error').map((x) => x.seq), [4]);
});

test('pushes that overlap the first read are not shown twice; the list stays bounded', () => {
  assert.deepEqual(mergeEntries(list.slice(0, 3), list.slice(1)).map((x) => x.seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(mergeEntries(list, [e(6, 'info')], 3).map((x) => x.seq), [4, 5, 6]);
});

test('copy: one line per event with time, source and level', () => {
  assert.equal(copyText([e(3, 'warn', 'route busy'), e(4, 'error', 'x')]),
    '2026-01-01T00:00:03.000Z app warn: route busy\n2026-01-01T00:00:04.000Z helper error: x');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimitedLog, createLogger } from './logger';

function limiter(burst = 1) {
  let t = 0;
  const lines: string[] = [];
  const log = new RateLimitedLog((m) => lines.push(m), 1000, () => t, burst);
  return { log, lines, at: (ms: number) => (t = ms) };
}

test('one line per key per window; the next line carries the count of what was left out', () => {
  const { log, lines, at } = limiter();
  for (let i = 0; i < 5; i++) log.event('a', `a${i}`);
  log.event('b', 'b0'); // another key has its own window
  assert.deepEqual(lines, ['a0', 'b0']);
  assert.equal(log.suppressedTotal, 4);
  at(999);
  log.event('a', 'a5');
  at(1000);
  log.event('a', 'a6');
  assert.deepEqual(lines, ['a0', 'b0', 'a6 (5 more since last report)']);
});

test('a burst of lines per window passes before counting starts', () => {
  const { log, lines } = limiter(3);
  for (let i = 0; i < 10; i++) log.event('k', `k${i}`);
  assert.deepEqual(lines, ['k0', 'k1', 'k2']);
  assert.equal(log.suppressedTotal, 7);
});

test('flush reports suppressed counts once the window is over, even when no further event comes', () => {
  const { log, lines, at } = limiter();
  log.event('k', 'first');
  log.event('k', 'second');
  log.event('k', 'third');
  log.flush();
  assert.deepEqual(lines, ['first'], 'not before the window ends');
  at(1000);
  log.flush();
  assert.deepEqual(lines, ['first', 'suppressed 2 more like: third']);
  log.event('k', 'fourth'); // a new window started with the report: this one passes
  assert.deepEqual(lines.at(-1), 'fourth');
  at(5000);
  log.flush();
  assert.equal(lines.length, 3, 'nothing suppressed, nothing reported');
});

test('a total per window over all keys: many kinds at once still make that many lines, the rest counted per key', () => {
  let t = 0;
  const lines: string[] = [];
  const log = new RateLimitedLog((m) => lines.push(m), 1000, () => t, 2, 5);
  for (let k = 0; k < 10; k++) for (let i = 0; i < 3; i++) log.event(`k${k}`, `k${k}-${i}`);
  assert.deepEqual(lines, ['k0-0', 'k0-1', 'k1-0', 'k1-1', 'k2-0']);
  assert.equal(log.suppressedTotal, 25);
  t = 1000;
  log.event('k9', 'k9-again');
  assert.deepEqual(lines.at(-1), 'k9-again (3 more since last report)', 'a key kept out by the total reports its count later');
  log.flush();
  assert.ok(lines.includes('suppressed 2 more like: k2-2'), 'flush reports every key that lost lines');
  assert.ok(lines.includes('suppressed 3 more like: k3-2'));
});

test('forget reports what a key suppressed before dropping it', () => {
  const { log, lines } = limiter();
  log.event('s1:x', 'x');
  log.event('s1:x', 'y');
  log.event('s2:x', 'z');
  log.forget('s1:');
  assert.deepEqual(lines, ['x', 'z', 'suppressed 1 more like: y']);
  log.event('s1:x', 'again');
  assert.equal(lines.at(-1), 'again', 'a forgotten key starts afresh');
});

test('the logger drops lines below its level and prefixes level and name', () => {
  const out: string[] = [];
  const log = createLogger({ level: 'warn', name: 'gw', write: (l) => out.push(l) });
  log.info('hidden');
  log.warn('shown');
  assert.equal(out.length, 1);
  assert.match(out[0], /^\S+Z WARN  gw shown$/);
});

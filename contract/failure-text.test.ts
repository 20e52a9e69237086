// The words a user reads for each failure: every reason has its own, non-empty sentence.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAILURE_TEXT } from './tunnel-state';

test('every failure reason has its own sentence, in lower case, naming what went wrong', () => {
  const texts = Object.entries(FAILURE_TEXT);
  assert.ok(texts.length >= 12);
  for (const [reason, text] of texts) {
    assert.ok(text.length >= 20, `${reason}: "${text}"`);
    assert.match(text, /^[a-z]/, `${reason}: starts a sentence fragment ("<reason>: <detail>")`);
  }
  assert.equal(new Set(texts.map(([, t]) => t)).size, texts.length, 'two reasons share a sentence');
  assert.match(FAILURE_TEXT['wrong-key'], /another key/);
  assert.match(FAILURE_TEXT['dns-failed'], /IPv6 address/);
  assert.match(FAILURE_TEXT['heartbeat-lost'], /heartbeat/);
  assert.match(FAILURE_TEXT['tun-failed'], /tunnel device/);
});

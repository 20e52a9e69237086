// The gateway soak (bench/soak.ts) for 60 seconds: 200 clients with steady traffic while abusive
// connections come and go; fails if the gateway's RSS or fds grow after the warm-up, a client loses its
// session, or a new client gets no lease. `npm run soak` runs the same code for 10 minutes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runSoak, summaryText } from '../bench/soak';
import { needsProgram, needsRoot, skipUnless } from './support/requirements';

const skip = skipUnless(needsRoot(), needsProgram('ip', 'apt-get install iproute2'));

test('gateway soak, 60 s: bounded memory and fds, no client lost, new clients leased', { skip, timeout: 240_000 }, async () => {
  const result = await runSoak({ seconds: 60, outDir: join(__dirname, '..', '..', 'test', 'artifacts', 'soak'), log: () => undefined });
  assert.ok(result.passed, summaryText(result));
  // It measured what it claims to: samples across the run, traffic that flowed, abuse that happened.
  assert.ok(result.samples.length >= 5, summaryText(result));
  assert.ok(result.legit.echoReplies > 0 && result.legit.echoReplies >= result.legit.echoSent * 0.9, summaryText(result));
  assert.ok(Object.values(result.abuse).every((k) => (k.opened ?? 0) > 0), summaryText(result));
});

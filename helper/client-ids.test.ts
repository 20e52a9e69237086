// The client's identity per gateway: made once, kept, 0600, a broken file replaced.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { clientIdFor, defaultClientIdsPath, gatewayKey } from './client-ids';

const dir = mkdtempSync(join(tmpdir(), '4o6-ids-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('one id per gateway, the same on every call, stored 0600', () => {
  const path = join(dir, 'sub', 'ids.json');
  const a = clientIdFor(path, 'GW.example', 5555);
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.equal(clientIdFor(path, 'gw.example', 5555), a, 'names compare without case');
  const b = clientIdFor(path, 'gw.example', 5556);
  const c = clientIdFor(path, 'fd00::2', 5555);
  assert.equal(new Set([a, b, c]).size, 3);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { '[gw.example]:5555': a, '[gw.example]:5556': b, '[fd00::2]:5555': c });
  assert.equal(gatewayKey('fd00::2', 5555), '[fd00::2]:5555');
});

test('a file that is not ours is replaced, with a warning, never half trusted', () => {
  for (const junk of ['not json', '[]', '{"[gw]:1": "short"}', '{"__proto__": "0123456789abcdef0123456789abcdef", "[gw]:1": 5}']) {
    const path = join(dir, 'junk.json');
    writeFileSync(path, junk);
    const warnings: string[] = [];
    const id = clientIdFor(path, 'gw', 1, (m) => warnings.push(m));
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(warnings.length, 1, junk);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { '[gw]:1': id });
  }
});

test('without --client-ids the ids live beside the journal (a test or a second instance that moves its journal moves them too)', () => {
  assert.equal(defaultClientIdsPath('/var/lib/4over6/cli-journal.jsonl'), '/var/lib/4over6/client-ids.json');
  assert.equal(defaultClientIdsPath('/tmp/t1/journal.jsonl'), '/tmp/t1/client-ids.json');
});

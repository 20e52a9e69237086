// Every test that skips for a missing requirement goes through test/support/requirements.ts, so under
// CI (process.env.CI) it fails instead. This scans the test sources for the hand-made skips that
// would stay green with nothing tested (`{ skip: !isRoot && 'needs root' }`, `t.skip(...)`).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const REPO = join(__dirname, '..', '..');
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', '.stryker-tmp', 'reports']);

function testSources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIPPED_DIRS.has(name)) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testSources(path);
    return name.endsWith('.test.ts') && path !== join(REPO, 'test', 'skips.test.ts') ? [path] : [];
  });
}

const HAND_MADE_SKIPS: [RegExp, string][] = [
  [/skip:\s*[^,}]*getuid/, 'a root check in a skip option'],
  [/skip:\s*!\s*\w+\s*&&\s*['"`]/, 'a condition && "reason" skip option'],
  [/skip:\s*!?\s*existsSync/, 'a file check in a skip option'],
  [/\bt\.skip\(/, 't.skip() inside a test'],
];

test('skips for a missing requirement use test/support/requirements.ts (they fail under CI)', () => {
  const files = testSources(REPO);
  assert.ok(files.length > 20, `found only ${files.length} test files under ${REPO}`);
  const found: string[] = [];
  for (const file of files) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      for (const [re, what] of HAND_MADE_SKIPS) if (re.test(line)) found.push(`${relative(REPO, file)}:${i + 1}: ${what}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, [], 'use skipUnless() or skipOrFail() from test/support/requirements.ts');
});

// The layering, checked on the sources: contract/ sits below the app's main process, the helper and the
// window (it may use protocol/ and libraries only), and the renderer reaches the rest of the code only
// through contract/. A circle (contract importing electron/) or a renderer import of a main-process
// module fails here, before it bundles Node code into the window.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const REPO = join(__dirname, '..', '..');

/** Relative imports (static, dynamic and type-only) of every .ts/.tsx file in a folder. */
function relativeImports(folder: string): { file: string; target: string }[] {
  const out: { file: string; target: string }[] = [];
  for (const name of readdirSync(join(REPO, folder))) {
    if (!/\.tsx?$/.test(name) || name.endsWith('.test.ts')) continue;
    const text = readFileSync(join(REPO, folder, name), 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) out.push({ file: `${folder}/${name}`, target: m[1] });
  }
  return out;
}

test('contract/ imports only contract/ and protocol/', () => {
  const bad = relativeImports('contract').filter(({ target }) => !target.startsWith('./') && !target.startsWith('../protocol/'));
  assert.deepEqual(bad, []);
});

test('the renderer imports only contract/ and its own files', () => {
  const bad = relativeImports('renderer').filter(({ target }) => !target.startsWith('./') && !target.startsWith('../contract/'));
  assert.deepEqual(bad, []);
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readAppInfo } from './about';

const REPO = join(__dirname, '..', '..');

test('the app\'s version and licence, and each runtime dependency\'s, from the installed package files', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
  const info = readAppInfo(REPO, 'Node test');
  assert.equal(info.appVersion, pkg.version);
  assert.equal(info.appLicense, 'MIT');
  assert.equal(info.runtime, 'Node test');
  assert.deepEqual(info.licences.map((l) => l.name), Object.keys(pkg.dependencies).sort());
  const react = info.licences.find((l) => l.name === 'react');
  const reactPkg = JSON.parse(readFileSync(join(REPO, 'node_modules', 'react', 'package.json'), 'utf8')) as { version: string };
  assert.deepEqual(react, { name: 'react', version: reactPkg.version, license: 'MIT' });
  assert.ok(info.licences.every((l) => l.license !== 'unknown'), JSON.stringify(info.licences));
});

test('a missing dependency or licence field says so instead of failing', () => {
  const dir = mkdtempSync(join(tmpdir(), '4o6-about-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', version: '1.0.0', license: 'MIT', dependencies: { gone: '1', odd: '1' } }));
  mkdirSync(join(dir, 'node_modules', 'odd'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'odd', 'package.json'), JSON.stringify({ version: '2.0.0', license: { type: 'BSD' } }));
  assert.deepEqual(readAppInfo(dir, 'n').licences, [
    { name: 'gone', version: 'not installed', license: 'unknown' },
    { name: 'odd', version: '2.0.0', license: 'unknown' },
  ]);
});

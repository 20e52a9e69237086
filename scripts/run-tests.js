#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with node's test runner (Node 20 has no glob in --test).
// Usage: node scripts/run-tests.js [filter-substring ...]
//
// No hangs: each test and hook gets at most TEST_TIMEOUT_MS (default 5 min; scripts/test-timeout.js),
// each file at most TEST_FILE_TIMEOUT_MS (default 30 min; `--test-timeout`, which Node 20 applies to a
// whole file under --test). A bug that makes a test wait forever fails it with a message instead of
// stalling CI.
const { readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return find(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}
const filters = process.argv.slice(2);
const files = find(join(__dirname, '..', 'dist')).sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files found under dist/: run npm run build first');
  process.exit(1);
}
function positiveMs(name, fallback) {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`${name}: expected a positive number of milliseconds, got ${process.env[name]}`);
    process.exit(1);
  }
  return value;
}
const testTimeoutMs = positiveMs('TEST_TIMEOUT_MS', 300_000);
const fileTimeoutMs = positiveMs('TEST_FILE_TIMEOUT_MS', 1_800_000);
const result = spawnSync(process.execPath, [
  '--test', '--test-concurrency=1', `--test-timeout=${fileTimeoutMs}`, '--require', join(__dirname, 'test-timeout.js'), ...files,
], { stdio: 'inherit', env: { ...process.env, TEST_TIMEOUT_MS: String(testTimeoutMs) } });
process.exit(result.status ?? 1);

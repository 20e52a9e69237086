// The helper refuses, through pkexec, the options that choose files or who may drive it: a user who
// starts it with pkexec picks its argv, so those options stay root's own (tests, the demo).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { needsRoot, skipUnless } from './support/requirements';

const HELPER = join(__dirname, '..', 'helper', 'main.js');
const skip = skipUnless(needsRoot('to run the helper, and to drop root'));

test('through pkexec: --journal, --resolv-conf, --allow-uid and --socket are refused', { skip }, () => {
  for (const args of [['--journal', '/etc/shadow'], ['--resolv-conf', '/etc/passwd'], ['--allow-uid', '0'], ['--socket', '/tmp/x.sock']]) {
    const r = spawnSync(process.execPath, [HELPER, '--mode', 'spawned', ...args], {
      env: { ...process.env, PKEXEC_UID: '1000' }, input: '', encoding: 'utf8', timeout: 10_000,
    });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`not accepted: ${args[0]}`));
  }
});

test('the helper refuses to run without root', { skip }, () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, HELPER], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /must run as root/);
});

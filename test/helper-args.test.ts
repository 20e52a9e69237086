// The helper refuses, through pkexec, the options that choose files or who may drive it: a user who
// starts it with pkexec picks its argv, so those options stay root's own (tests, the demo).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { needsRoot, skipUnless } from './support/requirements';

const HELPER = join(__dirname, '..', 'helper', 'main.js');
const skip = skipUnless(needsRoot('to run the helper, and to drop root'));

/**
 * Runs the helper as pkexec would (PKEXEC_UID set) in a private mount namespace with empty /run and
 * /var/lib: a helper that wrongly accepted its options cannot touch the host's sockets or journal.
 */
function runAsIfPkexec(args: string[]) {
  return spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
    'mount -t tmpfs none /run && mount -t tmpfs none /var/lib && exec "$@"', 'sh', process.execPath, HELPER, ...args], {
    env: { ...process.env, PKEXEC_UID: '1000' }, input: '', encoding: 'utf8', timeout: 5_000,
  });
}

test('through pkexec: every option choosing files or who may drive the helper is refused', { skip }, () => {
  for (const args of [['--journal', '/etc/shadow'], ['--resolv-conf', '/etc/passwd'], ['--allow-uid', '0'], ['--socket', '/tmp/x.sock'], ['--group', 'users']]) {
    const r = runAsIfPkexec(['--mode', 'spawned', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`not accepted: ${args[0]}`));
  }
});

test('through pkexec: only spawned mode (service mode, its default included, would serve a group)', { skip }, () => {
  for (const args of [['--mode', 'service'], ['--mode', 'service', '--group', 'users'], []]) {
    const r = runAsIfPkexec(args);
    assert.equal(r.status, 2, `${args.join(' ') || '(no options)'}: ${r.stderr}`);
    assert.match(r.stderr, args.includes('--group') ? /not accepted: --group/ : /only in spawned mode/);
  }
});

test('the helper refuses to run without root', { skip }, () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, HELPER], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /must run as root/);
});

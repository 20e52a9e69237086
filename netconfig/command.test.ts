// Tests of runCommand: stdin input, clear errors with command line and stderr, timeouts, "already gone" detection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandError, isAlreadyGone, runCommand } from './command';

describe('runCommand', () => {
  it('returns stdout and passes input on stdin', async () => {
    assert.equal(await runCommand('cat', [], { input: 'table inet x {}\n' }), 'table inet x {}\n');
    assert.equal(await runCommand('echo', ['a b', '$(no shell)']), 'a b $(no shell)\n');
  });

  it('throws a CommandError naming the command line and the trimmed stderr', async () => {
    await assert.rejects(runCommand('sh', ['-c', 'echo "  it broke  " >&2; exit 3', 'arg with space']), (e: unknown) => {
      assert.ok(e instanceof CommandError);
      assert.equal(e.exitCode, 3);
      assert.equal(e.message, 'sh -c "echo \\"  it broke  \\" >&2; exit 3" "arg with space" failed (exit 3): it broke');
      return true;
    });
    await assert.rejects(runCommand('4over6-no-such-tool', []), /4over6-no-such-tool failed \(4over6-no-such-tool: not installed\)/);
  });

  it('kills a command that runs too long', async () => {
    await assert.rejects(runCommand('sleep', ['5'], { timeoutMs: 100 }), /sleep 5 failed \(timed out after 100 ms\)/);
  });

  it('refuses odd namespace names', async () => {
    await assert.rejects(runCommand('true', [], { netns: '../etc' }), /invalid network namespace name/);
    await assert.rejects(runCommand('true', [], { netns: '-x' }), /invalid network namespace name/);
  });

  it('recognises "already gone" failures only', () => {
    const err = (stderr: string) => new CommandError('ip', [], 2, stderr, '', 'exit 2');
    assert.equal(isAlreadyGone(err('RTNETLINK answers: No such process')), true);
    assert.equal(isAlreadyGone(err('Cannot find device "tun0"')), true);
    assert.equal(isAlreadyGone(err('Error: Could not process rule: No such file or directory')), true);
    assert.equal(isAlreadyGone(err('RTNETLINK answers: Operation not permitted')), false);
    assert.equal(isAlreadyGone(err('exec of "nft" failed: No such file or directory')), false);
    assert.equal(isAlreadyGone(new Error('No such process')), false);
  });
});

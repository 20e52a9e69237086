// What a test file needs from the machine (root, Chromium, a program). Run by hand without it, the
// file's tests are skipped and say why. Under CI (process.env.CI set) a missing requirement FAILS
// instead: a broken install step in .ci/run must not turn into a green run with nothing tested.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type TestContext, test } from 'node:test';

/** A missing requirement, said as "needs …", or false when it is met. */
export type Missing = string | false;

export function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

export function needsRoot(why = 'network namespaces, TUN devices'): Missing {
  return process.getuid?.() === 0 ? false : `needs root (${why})`;
}

export function needsFile(path: string, what: string): Missing {
  return existsSync(path) ? false : `needs ${what} at ${path}`;
}

/** A program on PATH (looked up without a shell). */
export function needsProgram(name: string, installHint: string): Missing {
  const found = spawnSync('which', [name], { stdio: 'ignore' }).status === 0;
  return found ? false : `needs ${name} on PATH (${installHint})`;
}

function failure(reason: string): string {
  return `${reason}, and CI is set: CI must provide it (.ci/run runs as root and installs every program the tests use), else these tests would pass without running`;
}

/**
 * The skip option for a file's describe()/test(): false when every requirement is met, else the first
 * missing one. Under CI it also registers a test that fails with that reason.
 */
export function skipUnless(...requirements: Missing[]): string | false {
  const missing = requirements.find((r): r is string => r !== false);
  if (missing === undefined) return false;
  if (inCi()) {
    test(`requirement: ${missing}`, () => assert.fail(failure(missing)));
  } else {
    console.log(`# skipped: ${missing}`);
  }
  return missing;
}

/** Inside a running test: skip it (by hand) or fail it (under CI) when a requirement is missing. Returns true when the test must stop. */
export function skipOrFail(t: TestContext, ...requirements: Missing[]): boolean {
  const missing = requirements.find((r): r is string => r !== false);
  if (missing === undefined) return false;
  if (inCi()) assert.fail(failure(missing));
  t.skip(missing);
  return true;
}

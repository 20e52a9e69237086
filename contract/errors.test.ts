// Typed errors crossing process boundaries: what survives the trip, and the problem line a user reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProblem, type ProblemInfo, VpnError } from './errors';

const problem: ProblemInfo = { source: 'office.json', entry: 2, entryName: 'Office', field: 'port', message: 'expected a port 1-65535' };

test('a VpnError carries its code, message, problems and cause, and is named for logs', () => {
  const cause = new Error('EACCES');
  const e = new VpnError('FILE_FAILED', 'cannot read office.json', { cause, problems: [problem] });
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'VpnError');
  assert.equal(e.code, 'FILE_FAILED');
  assert.equal(e.message, 'cannot read office.json');
  assert.deepEqual(e.problems, [problem]);
  assert.equal(e.cause, cause);
  assert.match(String(e), /^VpnError: cannot read office\.json$/);

  const plain = new VpnError('INTERNAL', 'a bug');
  assert.deepEqual(plain.problems, []);
  assert.equal('cause' in plain, false, 'no cause given: none recorded (not an undefined one)');
  // A falsy cause is still a cause.
  assert.equal(new VpnError('INTERNAL', 'x', { cause: 0 }).cause, 0);
  assert.equal('cause' in new VpnError('INTERNAL', 'x', { cause: null }), true);
});

test('toInfo sends code and message, and problems only when there are some; fromInfo rebuilds the error', () => {
  assert.deepEqual(new VpnError('PROFILE_NOT_FOUND', 'no profile x').toInfo(), { code: 'PROFILE_NOT_FOUND', message: 'no profile x' });
  const info = new VpnError('IMPORT_INVALID', 'office.json has 1 problem', { problems: [problem], cause: new Error('hidden') }).toInfo();
  assert.deepEqual(info, { code: 'IMPORT_INVALID', message: 'office.json has 1 problem', problems: [problem] });
  assert.equal('cause' in info, false, 'the cause (a stack) stays in this process');

  const back = VpnError.fromInfo(info);
  assert.ok(back instanceof VpnError);
  assert.equal(back.code, 'IMPORT_INVALID');
  assert.equal(back.message, 'office.json has 1 problem');
  assert.deepEqual(back.problems, [problem]);
  assert.deepEqual(VpnError.fromInfo({ code: 'TUNNEL_BUSY', message: 'busy' }).problems, []);
});

test('a problem reads as file, entry (with its name when it has one), field and message', () => {
  assert.equal(formatProblem(problem), 'office.json: profiles[2] (Office): port: expected a port 1-65535');
  assert.equal(formatProblem({ ...problem, entryName: null }), 'office.json: profiles[2]: port: expected a port 1-65535');
  assert.equal(formatProblem({ ...problem, entryName: '' }), 'office.json: profiles[2]: port: expected a port 1-65535');
  assert.equal(formatProblem({ ...problem, entry: 0 }), 'office.json: profiles[0] (Office): port: expected a port 1-65535');
  assert.equal(formatProblem({ ...problem, entry: null, entryName: null, field: '' }), 'office.json: expected a port 1-65535');
  assert.equal(formatProblem({ source: 'profile', entry: null, entryName: null, field: 'name', message: 'is taken' }), 'profile: name: is taken');
});

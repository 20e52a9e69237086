// The profile form's model under Node (compiled by renderer/tsconfig.tests.json).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ProfileFormValues, emptyForm, validateForm } from './profile-form';

const KEY = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const form = (more: Partial<ProfileFormValues>): ProfileFormValues => ({ ...emptyForm(), name: 'Office', server: 'fd00::1', uuid: KEY, ...more });

test('a valid form gives a draft and no errors or warnings', () => {
  const r = validateForm(form({}));
  assert.deepEqual(r.errors, {});
  assert.deepEqual(r.warnings, {});
  assert.equal(r.draft?.server, 'fd00::1');
});

test('a 300-character host: one error, and it says too long', () => {
  const r = validateForm(form({ server: `${'a'.repeat(296)}.org` }));
  assert.equal(r.errors.server, 'Too long: 300 characters; a host name has at most 253');
  assert.equal(r.draft, null);
});

test('one message per field, even when the schema finds two problems', () => {
  // Longer than 253 and not a host name: two schema issues, one message.
  assert.equal(validateForm(form({ server: '-'.repeat(260) })).errors.server, 'Too long: 260 characters; a host name has at most 253');
  assert.equal(validateForm(form({ server: 'not a host!' })).errors.server, 'Expected an IPv6 address (fd00::1) or a host name (vpn.example.org)');
});

test('fd00::1:5555 is a valid address, with a hint that it may be host:port', () => {
  const r = validateForm(form({ server: 'fd00::1:5555' }));
  assert.deepEqual(r.errors, {});
  assert.equal(r.warnings.server, 'If 5555 is the port, enter fd00::1 here and 5555 as the port');
  assert.ok(r.draft, 'the warning does not stop a save');
  assert.deepEqual(validateForm(form({ server: 'fd00::1:abcd' })).warnings, {}, 'hex: not a port');
  assert.deepEqual(validateForm(form({ server: '2001:db8::5' })).warnings, {}, 'a short last group is not a port');
});

test('port errors are short enough for the narrow port field', () => {
  for (const port of ['70000', 'abc', '0', '-1', '5555x']) {
    const e = validateForm(form({ port })).errors.port;
    assert.equal(e, 'Use 1 to 65535', port);
  }
  assert.equal(validateForm(form({ port: ' ' })).errors.port, 'Enter a port');
});

test('a taken name (any case, extra spaces) is an error that names it', () => {
  const r = validateForm(form({ name: ' office ' }), ['Lab', 'Office']);
  assert.equal(r.errors.name, 'A profile named “office” already exists: choose another name');
  assert.equal(r.draft, null);
  assert.deepEqual(validateForm(form({ name: 'Office 2' }), ['Office']).errors, {});
});

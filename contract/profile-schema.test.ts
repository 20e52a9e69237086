// The profile schema and its problems as a user reads them (an import's problem list, the form's
// field errors): each field's expectation, what was found, names compared as a person would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import {
  PROFILES_FORMAT, SERVER_HOST_MAX_CHARS, checkDocument, checkEntry, emptyDocument, entryNameOf, isProfileKey, parseJson, problemsFrom,
  profileDraftSchema, profilePatchSchema, profileSchema, profilesDocumentJsonSchema, sameName, sameProfile, toHelperProfile,
} from './profile-schema';

const KEY = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const ID = '0b9f3c3e-5d6a-4c1b-9d7e-2f4a6b8c0d1e';
const at = { source: 'x.json', entry: 3, entryName: 'Lab' };
const draft = { name: 'Office', server: 'fd00::1', port: 5555, encryption: true, uuid: KEY };

/** Each problem as "field: message". */
function problems(schema: z.ZodType, value: unknown): string[] {
  const r = checkEntry(schema, value, at);
  assert.ok('problems' in r, `accepted: ${JSON.stringify(value)}`);
  for (const p of r.problems) assert.deepEqual({ source: p.source, entry: p.entry, entryName: p.entryName }, at);
  return r.problems.map((p) => `${p.field}: ${p.message}`);
}

test('a draft gets its defaults, a trimmed name and a lower-case key', () => {
  assert.deepEqual(checkEntry(profileDraftSchema, { ...draft, name: '  Office ', uuid: KEY.toUpperCase(), extra: 1 }, at),
    { value: { ...draft, autoReconnect: true, dns: true } });
  assert.deepEqual(checkEntry(profileDraftSchema, { name: 'n'.repeat(100), server: 'vpn.example.org', port: 1, encryption: false }, at),
    { value: { name: 'n'.repeat(100), server: 'vpn.example.org', port: 1, encryption: false, uuid: null, autoReconnect: true, dns: true } });
  assert.equal(SERVER_HOST_MAX_CHARS, 253);
});

test('every field says what it expects and what it found', () => {
  assert.deepEqual(problems(profileDraftSchema, { name: '  ', server: 'fd00::1 x', port: 0, encryption: 'yes', uuid: 'abc', autoReconnect: 1, dns: null }), [
    'name: expected a name of 1-100 characters, got ""',
    'server: expected an IPv6 address or a DNS host name, got "fd00::1 x"',
    'port: expected a port 1-65535, got 0',
    'encryption: expected true or false, got "yes"',
    'uuid: expected a UUID (8-4-4-4-12 hex digits), got "abc"',
    'autoReconnect: expected true or false, got 1',
    'dns: expected true or false, got null',
  ]);
  assert.deepEqual(problems(profileDraftSchema, {}), [
    'name: required: expected a name of 1-100 characters',
    'server: required: expected an IPv6 address or a DNS host name',
    'port: required: expected a port 1-65535',
    'encryption: required: expected true or false',
  ]);
  assert.deepEqual(problems(profileDraftSchema, 'Office'), [': expected a profile (a JSON object), got "Office"']);
  assert.deepEqual(problems(profileDraftSchema, [draft]), [': expected a profile (a JSON object), got a list']);
  assert.deepEqual(problems(profileDraftSchema, { ...draft, port: 70000, uuid: null }), [
    'port: expected a port 1-65535, got 70000',
    'uuid: required when encryption is on: expected the key: a UUID (8-4-4-4-12 hex digits)',
  ]);
  assert.deepEqual(problems(profileDraftSchema, { ...draft, uuid: '' }),
    ['uuid: expected a UUID (8-4-4-4-12 hex digits), got ""', 'uuid: required when encryption is on: expected the key: a UUID (8-4-4-4-12 hex digits)']);
  assert.deepEqual(problems(profileDraftSchema, { ...draft, encryption: false, uuid: '' }), ['uuid: expected a UUID (8-4-4-4-12 hex digits), got ""']);
  assert.deepEqual(problems(profileDraftSchema, { ...draft, port: 5.5, dns: { on: true }, autoReconnect: [] }), [
    'port: expected a port 1-65535, got 5.5', 'autoReconnect: expected true or false, got a list', 'dns: expected true or false, got an object',
  ]);
  assert.deepEqual(problems(profileSchema, { ...draft, id: 'nope' }), ['id: expected a UUID, got "nope"']);
  assert.deepEqual(problems(profileSchema, draft), ['id: required: expected a UUID']);
  assert.deepEqual(checkEntry(profileSchema, { ...draft, id: ID }, at), { value: { ...draft, id: ID, autoReconnect: true, dns: true } });
});

test('what was found is quoted up to 60 characters', () => {
  const found = (name: string) => problems(profileDraftSchema, { ...draft, server: name })[0];
  const sixty = `${'a'.repeat(59)} `;
  assert.equal(found(sixty), `server: expected an IPv6 address or a DNS host name, got "${sixty}"`);
  assert.equal(found(`${sixty}b`), `server: expected an IPv6 address or a DNS host name, got "${'a'.repeat(57)}..."`);
  assert.equal(problems(profileDraftSchema, { ...draft, name: 'n'.repeat(101) })[0], `name: expected a name of 1-100 characters, got "${'n'.repeat(57)}..."`);
});

test('problems of fields this module does not name use zod\'s expectation', () => {
  const r = z.object({ mtu: z.number(), mode: z.enum(['on', 'off']), deep: z.object({ x: z.string().min(2) }) })
    .safeParse({ mtu: 'big', mode: 'auto', deep: { x: 'y' } }, { reportInput: true });
  assert.ok(!r.success);
  assert.deepEqual(problemsFrom(r.error, at).map((p) => `${p.field}: ${p.message}`), [
    'mtu: expected number, got "big"',
    'mode: expected "on" or "off", got "auto"',
    `deep.x: ${z.string().min(2).safeParse('y').error!.issues[0].message}, got "y"`,
  ]);
  // Without the input (a parse that did not report it) a problem says nothing of what was found; a null found is said.
  const unreported = z.object({ x: z.string().min(2) }).safeParse({ x: 'y' });
  assert.deepEqual(problemsFrom(unreported.error!, at).map((p) => p.message), [z.string().min(2).safeParse('y').error!.issues[0].message]);
  const nullFound = z.object({ x: z.null().refine(() => false, { error: 'must not be set' }) }).safeParse({ x: null }, { reportInput: true });
  assert.deepEqual(problemsFrom(nullFound.error!, at).map((p) => p.message), ['must not be set, got null']);
  const missing = z.object({ mode: z.enum(['on', 'off']) }).safeParse({}, { reportInput: true });
  assert.deepEqual(problemsFrom(missing.error!, at).map((p) => p.message), ['required: expected "on" or "off"']);
});

test('a patch may leave any field out, and refuses fields it may not change', () => {
  assert.deepEqual(checkEntry(profilePatchSchema, {}, at), { value: {} });
  assert.deepEqual(checkEntry(profilePatchSchema, { port: 443 }, at), { value: { port: 443 } });
  assert.deepEqual(problems(profilePatchSchema, { id: ID, version: 2 }), [': unknown field(s) "id", "version"']);
});

test('a document is checked head first, then entry by entry; every problem is named', () => {
  const notObject = `expected a JSON object {"format": "${PROFILES_FORMAT}", "version": 1, "profiles": [...]}`;
  for (const json of [null, [], 'text', 1]) {
    const r = checkDocument(json, 'x.json', profileDraftSchema, { unique: true });
    assert.deepEqual(r.valid, []);
    assert.deepEqual(r.problems.map((p) => `${p.source} ${p.entry} ${p.field}${p.message}`), [`x.json null ${notObject}`], JSON.stringify(json));
  }
  const head = checkDocument({ format: 'other', version: 2, profiles: {} }, 'x.json', profileDraftSchema, { unique: true });
  assert.deepEqual(head.problems.map((p) => `${p.field}: ${p.message}`),
    ['format: expected "4over6-profiles", got "other"', 'version: expected 1, got 2', 'profiles: expected a list of profiles, got an object']);
  assert.equal(head.problems[0].entry, null);
  assert.deepEqual(checkDocument({ version: 1 }, 'x.json', profileDraftSchema, { unique: true }).problems.map((p) => p.message),
    ['required: expected "4over6-profiles"', 'required: expected a list of profiles']);

  const doc = { ...emptyDocument(), profiles: [draft, { ...draft, name: ' office ' }, { name: '  Broken ', port: 0 }, { ...draft, name: 'Café' }, { ...draft, name: 'Cafe' }] };
  const store = checkDocument(doc, 'x.json', profileDraftSchema, { unique: true });
  assert.deepEqual(store.valid.map((p) => p.name), ['Office', 'Café', 'Cafe']);
  assert.deepEqual(store.problems.map((p) => `${p.entry} ${p.entryName} ${p.field}: ${p.message}`), [
    '1 office name: the same name as an earlier profile ("Office")',
    '2 Broken server: required: expected an IPv6 address or a DNS host name',
    '2 Broken port: expected a port 1-65535, got 0',
    '2 Broken encryption: required: expected true or false',
  ]);
  // An import renames instead: both kept.
  assert.deepEqual(checkDocument(doc, 'x.json', profileDraftSchema, { unique: false }).valid.map((p) => p.name), ['Office', 'office', 'Café', 'Cafe']);
  // The store's ids are unique too.
  const ids = checkDocument({ ...emptyDocument(), profiles: [{ ...draft, id: ID }, { ...draft, id: ID, name: 'Home' }, { ...draft, id: KEY, name: 'Lab' }] },
    's.json', profileSchema, { unique: true });
  assert.deepEqual(ids.valid.map((p) => p.name), ['Office', 'Lab']);
  assert.deepEqual(ids.problems.map((p) => `${p.field}: ${p.message}`), ['id: the same id as an earlier profile ("Office")']);
});

test('an entry\'s readable name: a non-blank string name, trimmed and cut to 100 characters', () => {
  assert.equal(entryNameOf({ name: '  Lab  ' }), 'Lab');
  assert.equal(entryNameOf({ name: `${'n'.repeat(100)}xyz` }), 'n'.repeat(100));
  for (const raw of [null, 'Lab', ['Lab'], {}, { name: 7 }, { name: '   ' }, { name: '' }]) assert.equal(entryNameOf(raw), null, JSON.stringify(raw));
});

test('names compare as a person reads them: case and spaces aside, accents not', () => {
  assert.equal(sameName('Office', ' office '), true);
  assert.equal(sameName('  Office', 'office'), true);
  assert.equal(sameName('Café', 'cafe'), false);
  assert.equal(sameName('Office', 'Offices'), false);
  const a = { ...draft, autoReconnect: true, dns: true };
  assert.equal(sameProfile(a, { ...a, name: 'OFFICE', server: 'FD00::1' }), true);
  const differing = [{ name: 'Home' }, { server: 'fd00::2' }, { port: 5556 }, { encryption: false }, { uuid: null }, { autoReconnect: false }, { dns: false }];
  for (const change of differing) assert.equal(sameProfile(a, { ...a, ...change }), false, JSON.stringify(change));
  assert.equal(sameProfile({ ...a, uuid: null }, { ...a, uuid: undefined as unknown as null }), true, 'no key either way');
});

test('keys, JSON text, the JSON Schema of the store, and what the helper gets', () => {
  assert.equal(isProfileKey(KEY), true);
  assert.equal(isProfileKey(KEY.toUpperCase()), true);
  assert.equal(isProfileKey(KEY.slice(1)), false);
  assert.equal(isProfileKey(''), false);
  assert.deepEqual(parseJson('{"a":1}', 'x.json'), { json: { a: 1 } });
  const bad = parseJson('{', 'x.json');
  assert.ok('problems' in bad);
  assert.deepEqual({ ...bad.problems[0], message: '' }, { source: 'x.json', entry: null, entryName: null, field: '', message: '' });
  assert.match(bad.problems[0].message, /^not valid JSON: .*position 1/);
  assert.deepEqual(emptyDocument(), { format: '4over6-profiles', version: 1, profiles: [] });
  const schema = profilesDocumentJsonSchema();
  assert.deepEqual(schema.required, ['format', 'version', 'profiles']);
  assert.deepEqual(Object.keys(schema.properties).sort(), ['format', 'profiles', 'version']);
  assert.deepEqual(schema.properties.format, { type: 'string', const: '4over6-profiles' });

  const stored = { ...draft, id: ID, autoReconnect: false, dns: true };
  assert.deepEqual(toHelperProfile(stored), { name: 'Office', server: 'fd00::1', port: 5555, uuid: KEY, autoReconnect: false, dns: true });
  assert.equal(toHelperProfile({ ...stored, encryption: false }).uuid, null, 'a key kept while encryption is off stays here');
});

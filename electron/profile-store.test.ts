import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { VpnError } from '../contract/ipc-schema';
import { openConfBackend } from './conf-backend';
import { type ProfileDraft, toHelperProfile } from '../contract/profile-schema';
import { openProfileStore, storeFileOptions } from './profile-store';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), '4o6-store-'));
  dirs.push(d);
  return d;
}

const KEY = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const office: ProfileDraft = { name: 'Office', server: 'fd00:46::1', port: 5555, encryption: true, uuid: KEY.toUpperCase() };
const home: ProfileDraft = { name: 'Home', server: 'vpn.example.net', port: 443, encryption: false };

test('a second store instance reads what the first wrote (conf backend)', async () => {
  const dir = tempDir();
  const first = (await openProfileStore(dir, openConfBackend)).store;
  const a = first.create(office);
  const b = first.create(home);
  const second = await openProfileStore(dir, openConfBackend);
  assert.equal(second.status.recovery, null);
  assert.deepEqual(second.store.list(), [a, b]);
  assert.equal(second.store.path, join(dir, 'profiles.json'));
});

test('create fills defaults, normalises the key and keeps the file owner-only', async () => {
  const dir = tempDir();
  const { store } = await openProfileStore(dir, openConfBackend);
  const p = store.create(office);
  assert.match(p.id, /^[0-9a-f-]{36}$/);
  assert.deepEqual({ ...p, id: 'x' }, { id: 'x', name: 'Office', server: 'fd00:46::1', port: 5555, encryption: true, uuid: KEY, autoReconnect: true, dns: true });
  assert.equal(statSync(join(dir, 'profiles.json')).mode & 0o777, 0o600);
  const doc = JSON.parse(readFileSync(join(dir, 'profiles.json'), 'utf8'));
  assert.equal(doc.format, '4over6-profiles');
  assert.equal(doc.version, 1);
});

test('edit, delete and duplicate', async () => {
  const { store } = await openProfileStore(tempDir(), openConfBackend);
  const p = store.create(office);
  const edited = store.update(p.id, { port: 6000, encryption: false });
  assert.equal(edited.port, 6000);
  assert.equal(edited.uuid, KEY, 'the key survives switching encryption off');
  assert.deepEqual(store.get(p.id), edited);

  const copy = store.duplicate(p.id);
  const copy2 = store.duplicate(p.id);
  assert.equal(copy.name, 'Office (copy)');
  assert.equal(copy2.name, 'Office (copy 2)');
  assert.notEqual(copy.id, p.id);
  assert.equal(copy.port, 6000);

  store.remove(copy.id);
  assert.deepEqual(store.list().map((x) => x.name), ['Office', 'Office (copy 2)']);
  assert.throws(() => store.remove(copy.id), { code: 'PROFILE_NOT_FOUND' });
  assert.throws(() => store.update('nope', { port: 1 }), { code: 'PROFILE_NOT_FOUND' });
});

test('names are unique (ignoring case); a rename onto a taken name is refused', async () => {
  const { store } = await openProfileStore(tempDir(), openConfBackend);
  const a = store.create(office);
  store.create(home);
  assert.throws(() => store.create({ ...home, name: ' home ' }), { code: 'PROFILE_NAME_TAKEN' });
  assert.throws(() => store.update(a.id, { name: 'HOME' }), { code: 'PROFILE_NAME_TAKEN' });
  assert.equal(store.update(a.id, { name: 'office' }).name, 'office', 'a profile may change its own case');
});

test('invalid profiles are refused with every problem named by field', async () => {
  const { store } = await openProfileStore(tempDir(), openConfBackend);
  assert.throws(() => store.create({ name: '', server: 'not a host', port: 0, encryption: true }), (err: unknown) => {
    assert.ok(err instanceof VpnError);
    assert.equal(err.code, 'PROFILE_INVALID');
    assert.deepEqual(err.problems.map((p) => p.field), ['name', 'server', 'port', 'uuid']);
    assert.match(err.message, /port: expected a port 1-65535, got 0/);
    return true;
  });
  const p = store.create(home);
  assert.throws(() => store.update(p.id, { encryption: true }), { code: 'PROFILE_INVALID' }, 'encryption needs a key');
  assert.throws(() => store.update(p.id, { id: 'x' } as never), /unknown field/);
  assert.equal(store.list().length, 1);
});

test('a file that is not JSON is moved aside and reported, not crashed on', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'profiles.json'), '{"format": "4over6-prof');
  const { store, status } = await openProfileStore(dir, openConfBackend, () => new Date('2025-01-02T03:04:05Z'));
  assert.deepEqual(store.list(), []);
  assert.ok(status.recovery);
  assert.equal(status.recovery.backupPath, join(dir, 'profiles.json.corrupt-2025-01-02T03-04-05-000Z'));
  assert.equal(readFileSync(status.recovery.backupPath, 'utf8'), '{"format": "4over6-prof', 'the original is kept');
  assert.match(status.recovery.problems[0].message, /not valid JSON/);
});

test('a partly invalid file keeps its valid profiles and names each bad entry', async () => {
  const dir = tempDir();
  const { store } = await openProfileStore(dir, openConfBackend);
  store.create(office);
  store.create(home);
  const file = join(dir, 'profiles.json');
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  doc.profiles[1].port = 'https';
  writeFileSync(file, JSON.stringify(doc));

  // While running: reported as an error, not a crash.
  assert.throws(() => store.list(), { code: 'STORE_CORRUPT' });

  const reopened = await openProfileStore(dir, openConfBackend);
  assert.deepEqual(reopened.store.list().map((p) => p.name), ['Office']);
  assert.equal(reopened.status.recovery?.kept, 1);
  assert.deepEqual(reopened.status.recovery?.problems, [
    { source: 'profiles.json', entry: 1, entryName: 'Home', field: 'port', message: 'expected a port 1-65535, got "https"' },
  ]);
  assert.equal(readdirSync(dir).filter((f) => f.includes('.corrupt-')).length, 1);
});

test('both backends get the same options: file name, folder, schema, owner-only', () => {
  const options = storeFileOptions('/some/dir');
  assert.equal(options.cwd, '/some/dir');
  assert.equal(options.configName, 'profiles');
  assert.equal(options.configFileMode, 0o600);
  assert.deepEqual(Object.keys(options.schema), ['format', 'version', 'profiles']);
  assert.equal(options.clearInvalidConfig, false);
});

test('the helper gets the key only when encryption is on, and no app fields', async () => {
  const { store } = await openProfileStore(tempDir(), openConfBackend);
  const p = store.create(office);
  assert.deepEqual(toHelperProfile(p), { name: 'Office', server: 'fd00:46::1', port: 5555, uuid: KEY, autoReconnect: true, dns: true });
  assert.equal(toHelperProfile(store.update(p.id, { encryption: false })).uuid, null);
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tunnelProfileSchema } from '../contract/helper-api';
import { VpnError } from '../contract/ipc-schema';
import { openConfBackend } from './conf-backend';
import { toHelperProfile } from '../contract/profile-schema';
import { type ProfileStore, openProfileStore } from './profile-store';
import {
  MAX_IMPORT_BYTES, exportDocument, exportProfilesToFile, exportProfilesToText, importProfilesFromFile, importProfilesFromText, nameFromFileName, parseImport,
  selectProfiles,
} from './profile-transfer';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), '4o6-transfer-'));
  dirs.push(d);
  return d;
}
async function newStore(): Promise<ProfileStore> {
  return (await openProfileStore(tempDir(), openConfBackend)).store;
}

const KEY = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const doc = (profiles: unknown[]) => JSON.stringify({ format: '4over6-profiles', version: 1, profiles });

test('a good file imports every profile, with fresh ids and defaults filled', async () => {
  const store = await newStore();
  const result = importProfilesFromText(store, 'backup.json', doc([
    { id: 'ignored', name: 'Office', server: 'fd00:46::1', port: 5555, encryption: true, uuid: KEY },
    { name: 'Lab', server: 'lab.example.org', port: 7000, encryption: false, dns: false, futureField: 1 },
  ]));
  assert.deepEqual(result.renamed, []);
  assert.deepEqual(store.list(), result.imported);
  assert.deepEqual(result.imported.map((p) => [p.name, p.autoReconnect, p.dns]), [['Office', true, true], ['Lab', true, false]]);
  assert.notEqual(result.imported[0].id, 'ignored');
  for (const p of store.list()) tunnelProfileSchema.parse(toHelperProfile(p)); // the helper accepts them
});

test('a broken file changes nothing and names every problem with entry and field', async () => {
  const store = await newStore();
  const existing = store.create({ name: 'Office', server: 'fd00::1', port: 1, encryption: false });
  const text = doc([
    { name: 'Good', server: 'fd00::2', port: 5555, encryption: false },
    { name: 'Bad port', server: 'fd00::3', port: 70000, encryption: false },
    { name: 'No key', server: 'fd00::4', port: 5555, encryption: true },
    { server: 'not a host!', port: '5555', encryption: 'yes' },
  ]);
  assert.throws(() => importProfilesFromText(store, 'team.json', text), (err: unknown) => {
    assert.ok(err instanceof VpnError);
    assert.equal(err.code, 'IMPORT_INVALID');
    assert.deepEqual(err.problems.map((p) => [p.source, p.entry, p.entryName, p.field]), [
      ['team.json', 1, 'Bad port', 'port'],
      ['team.json', 2, 'No key', 'uuid'],
      ['team.json', 3, null, 'name'],
      ['team.json', 3, null, 'server'],
      ['team.json', 3, null, 'port'],
      ['team.json', 3, null, 'encryption'],
    ]);
    assert.match(err.message, /nothing was imported: team.json has 6 problems/);
    assert.match(err.message, /team.json: profiles\[1\] \(Bad port\): port: expected a port 1-65535, got 70000/);
    assert.match(err.message, /profiles\[2\] \(No key\): uuid: required when encryption is on/);
    assert.match(err.message, /profiles\[3\]: encryption: expected true or false, got "yes"/);
    return true;
  });
  assert.deepEqual(store.list(), [existing], 'existing profiles untouched, nothing added');
});

test('a file that is not our document says what it expected', async () => {
  const store = await newStore();
  const expectProblem = (fileName: string, text: string, pattern: RegExp) =>
    assert.throws(() => importProfilesFromText(store, fileName, text), (err: VpnError) => {
      assert.equal(err.code, 'IMPORT_INVALID');
      assert.match(err.problems.map((p) => `${p.field}: ${p.message}`).join('\n'), pattern);
      return true;
    });
  expectProblem('x.json', '{ "format": "4over6-profiles", ', /not valid JSON/);
  expectProblem('x.json', '{"format": "other", "version": 1, "profiles": []}', /format: expected "4over6-profiles", got "other"/);
  expectProblem('x.json', '{"format": "4over6-profiles", "version": 2, "profiles": []}', /version: expected 1, got 2/);
  expectProblem('x.json', '{"format": "4over6-profiles", "version": 1, "profiles": []}', /holds no profiles/);
  expectProblem('x.json', '[1, 2]', /expected a JSON object/);
  assert.deepEqual(store.list(), []);
});

test('a legacy client_config.yaml imports as one profile named after the file', async () => {
  const store = await newStore();
  const result = importProfilesFromText(store, '/home/me/office-vpn.yaml', [
    'server: "fd00:46::1"',
    'port: 5555',
    'pk: "{BBDE0D1C-083B-4F20-9CCE-799367BA1A5A}"',
    'mtu: 1400',
    'colour: blue',
  ].join('\n'));
  assert.equal(result.imported.length, 1);
  const p = result.imported[0];
  assert.deepEqual({ ...p, id: '' }, { id: '', name: 'office-vpn', server: 'fd00:46::1', port: 5555, encryption: true, uuid: KEY, autoReconnect: true, dns: true });
  assert.ok(result.warnings.some((w) => /unknown key "colour"/.test(w)));
  assert.ok(result.warnings.some((w) => /mtu 1400 is not kept/.test(w)));

  const plain = importProfilesFromText(store, 'client_config.yaml', 'server: gw.example.net\nport: "6000"\n').imported[0];
  assert.equal(plain.name, 'client_config');
  assert.equal(plain.encryption, false);
  assert.equal(plain.uuid, null);
  assert.equal(plain.port, 6000);
});

test('a broken legacy file names its keys and imports nothing', async () => {
  const store = await newStore();
  assert.throws(() => importProfilesFromText(store, 'client_config.yaml', 'server: "fd00::1"\nport: 99999\npk: nope\n'), (err: VpnError) => {
    assert.equal(err.code, 'IMPORT_INVALID');
    assert.deepEqual(err.problems.map((p) => [p.source, p.field]), [['client_config.yaml', 'port'], ['client_config.yaml', 'pk']]);
    return true;
  });
  assert.throws(() => importProfilesFromText(store, 'c.yaml', 'port: 5555\n'), (err: VpnError) =>
    err.problems[0].field === 'server' && /required/.test(err.problems[0].message));
  assert.deepEqual(store.list(), []);
});

test('names already taken are renamed "name (2)", never overwritten', async () => {
  const store = await newStore();
  const office = store.create({ name: 'Office', server: 'fd00::1', port: 1, encryption: false });
  const result = importProfilesFromText(store, 'x.json', doc([
    { name: 'office', server: 'fd00::2', port: 2, encryption: false },
    { name: 'Office', server: 'fd00::3', port: 3, encryption: false },
    { name: 'Home', server: 'fd00::4', port: 4, encryption: false },
  ]));
  assert.deepEqual(result.renamed, [{ from: 'office', to: 'office (2)' }, { from: 'Office', to: 'Office (3)' }]);
  assert.deepEqual(store.list().map((p) => [p.name, p.port]), [['Office', 1], ['office (2)', 2], ['Office (3)', 3], ['Home', 4]]);
  assert.deepEqual(store.get(office.id), office);
});

test('export then import round-trips every profile', async () => {
  const source = await newStore();
  source.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: true, uuid: KEY, dns: false });
  source.create({ name: 'Home', server: 'home.example.net', port: 443, encryption: false, autoReconnect: false });
  const exported = exportProfilesToText(source);
  assert.equal(exported.count, 2);
  assert.equal(exported.fileName, '4over6-profiles.json');

  const target = await newStore();
  importProfilesFromText(target, exported.fileName, exported.text);
  const strip = (ps: { id: string }[]) => ps.map(({ id: _id, ...rest }) => rest);
  assert.deepEqual(strip(target.list()), strip(source.list()));
});

test('export and import through files; the export is owner-only', async () => {
  const source = await newStore();
  const a = source.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: true, uuid: KEY });
  source.create({ name: 'Home', server: 'fd00::9', port: 1, encryption: false });
  const path = join(tempDir(), 'backup.json');
  assert.deepEqual(await exportProfilesToFile(source, path, [a.id]), { path, count: 1 });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).profiles.length, 1);

  const target = await newStore();
  const result = await importProfilesFromFile(target, path);
  assert.deepEqual(result.imported.map((p) => p.name), ['Office']);
  await assert.rejects(exportProfilesToFile(source, path, ['missing']), { code: 'PROFILE_NOT_FOUND' });
  await assert.rejects(exportProfilesToFile(source, join(path, 'no', 'such', 'dir.json')), { code: 'FILE_FAILED' });
});

test('unreadable or oversized import files are FILE_FAILED', async () => {
  const store = await newStore();
  await assert.rejects(importProfilesFromFile(store, join(tempDir(), 'missing.json')), { code: 'FILE_FAILED' });
  const big = join(tempDir(), 'big.json');
  writeFileSync(big, ' '.repeat(MAX_IMPORT_BYTES + 1));
  await assert.rejects(importProfilesFromFile(store, big), /at most/);
});

test('importing something that is not a regular file is refused at once, without reading it', async () => {
  const store = await newStore();
  const dir = tempDir();
  const fifo = join(dir, 'profiles.fifo');
  execFileSync('mkfifo', [fifo]); // reading it would wait forever for a writer
  const link = join(dir, 'link-to-dir.json');
  symlinkSync(dir, link);
  for (const path of [dir, fifo, '/dev/zero', link]) {
    // Bounded: a reader stuck on the FIFO is released by opening it for writing.
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (path === fifo) closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        reject(new Error(`importing ${path} did not return within 2 s: it is being read`));
      }, 2000);
    });
    try {
      await assert.rejects(Promise.race([importProfilesFromFile(store, path), stuck]), (err: VpnError) => {
        assert.equal(err.code, 'FILE_FAILED', `${path}: ${err.message}`);
        assert.match(err.message, /not a regular file/, path);
        return true;
      });
    } finally {
      clearTimeout(timer);
    }
  }
  assert.deepEqual(store.list(), []);
  // A symlink to a regular file is followed: the file is read (and judged on its content).
  const real = join(dir, 'real.json');
  writeFileSync(real, exportDocument([]));
  const toFile = join(dir, 'link-to-file.json');
  symlinkSync(real, toFile);
  await assert.rejects(importProfilesFromFile(store, toFile), { code: 'IMPORT_INVALID' });
  // Exactly the size limit is read (and then judged on its content).
  const limit = join(dir, 'limit.json');
  writeFileSync(limit, ' '.repeat(MAX_IMPORT_BYTES));
  await assert.rejects(importProfilesFromFile(store, limit), (err: VpnError) => err.code !== 'FILE_FAILED');
});

test('profile names from file names', () => {
  assert.equal(nameFromFileName('/x/Office VPN.yaml'), 'Office VPN');
  assert.equal(nameFromFileName('client_config.yml'), 'client_config');
  assert.equal(nameFromFileName('.yaml'), '.yaml');
  assert.equal(nameFromFileName('a'.repeat(150) + '.yaml').length, 100);
});

test('re-importing our own export skips every identical profile and says so; a changed one is renamed', async () => {
  const store = await newStore();
  store.create({ name: 'Office', server: 'fd00:46::1', port: 5555, encryption: true, uuid: KEY });
  store.create({ name: 'Lab', server: 'lab.example.org', port: 7000, encryption: false });
  const exported = exportProfilesToText(store).text;
  const before = store.list();

  const again = importProfilesFromText(store, '4over6-profiles.json', exported);
  assert.deepEqual(again.imported, []);
  assert.deepEqual(again.skipped, ['Office', 'Lab']);
  assert.deepEqual(again.renamed, []);
  assert.deepEqual(store.list(), before, 'nothing added, nothing renamed "(2)"');

  // The same name with another port is a different profile: imported under a free name. An entry
  // repeated in the file counts once. A name differing only in case and spaces is the same name.
  const mixed = importProfilesFromText(store, 'mixed.json', doc([
    { name: 'Office', server: 'fd00:46::1', port: 6000, encryption: true, uuid: KEY },
    { name: ' lab ', server: 'LAB.example.org', port: 7000, encryption: false },
    { name: 'New', server: 'fd00::9', port: 1, encryption: false },
    { name: 'New', server: 'fd00::9', port: 1, encryption: false },
  ]));
  assert.deepEqual(mixed.imported.map((p) => p.name), ['Office (2)', 'New']);
  assert.deepEqual(mixed.skipped, ['lab', 'New']);
  assert.deepEqual(mixed.renamed, [{ from: 'Office', to: 'Office (2)' }]);
});

test('the format is told by the extension, else by the content: our document, or a legacy YAML file', () => {
  const ours = doc([{ name: 'Office', server: 'fd00::1', port: 1, encryption: false }]);
  const legacy = 'server: "fd00::2"\nport: 2\n';
  const server = (fileName: string, text: string) => parseImport(fileName, text).drafts.map((d) => d.server).join();
  assert.equal(server('x.json', ours), 'fd00::1');
  assert.deepEqual(parseImport('x.json', ours).warnings, [], 'our own document warns of nothing');
  assert.equal(server('X.JSON', ours), 'fd00::1');
  assert.equal(server('profiles.txt', `\n  ${ours}`), 'fd00::1', 'no extension of ours: an object naming our format');
  assert.equal(server('profiles', ours), 'fd00::1');
  assert.equal(server('client.conf', legacy), 'fd00::2');
  assert.equal(server('client', legacy), 'fd00::2');
  // A .json file is ours whatever it holds; a .yaml/.yml file is legacy even when it looks like ours.
  assert.throws(() => parseImport('x.json', legacy), (err: VpnError) => /not valid JSON/.test(err.problems[0].message));
  for (const name of ['x.yaml', 'x.YML']) {
    assert.throws(() => parseImport(name, ours), (err: VpnError) => err.problems.some((p) => p.field === 'server' && /required/.test(p.message)), name);
  }
  // Our format named only inside a legacy file (a comment) does not make it ours: ours starts with "{".
  assert.equal(server('c.txt', `${legacy}# exported from {"format": "4over6-profiles"}\n`), 'fd00::2');
  // An object that does not name our format is read as a legacy (YAML flow) mapping.
  assert.equal(server('c.txt', '{"server": "fd00::3", "port": 3}'), 'fd00::3');
});

test('a refused import says how many problems and lists each on its own line', () => {
  assert.throws(() => parseImport('/tmp/one.json', doc([{ name: 'A', server: 'fd00::1', port: 0, encryption: false }])), (err: VpnError) => {
    assert.equal(err.message, 'nothing was imported: one.json has 1 problem:\none.json: profiles[0] (A): port: expected a port 1-65535, got 0');
    return true;
  });
  assert.throws(() => parseImport('two.json', doc([{ name: 'A', server: 'fd00::1', port: 0, encryption: 'no' }])), (err: VpnError) => {
    assert.equal(err.message, 'nothing was imported: two.json has 2 problems:\n' +
      'two.json: profiles[0] (A): port: expected a port 1-65535, got 0\ntwo.json: profiles[0] (A): encryption: expected true or false, got "no"');
    assert.equal(err.problems.length, 2);
    return true;
  });
  assert.throws(() => parseImport('e.json', doc([])), (err: VpnError) => {
    assert.deepEqual(err.problems, [{ source: 'e.json', entry: null, entryName: null, field: 'profiles', message: 'the file holds no profiles' }]);
    return true;
  });
});

test('a legacy file\'s settings that app profiles do not keep are named in a warning, defaults are not', () => {
  assert.deepEqual(parseImport('c.yaml', 'server: "fd00::1"\nport: 1\n').warnings, []);
  const kept = parseImport('c.yaml', 'server: "fd00::1"\nport: 1\nmtu: 1500\nprefix_length: 24\ndefault_route: true\nallow_plaintext: false\ntun_name: 4over6\n');
  assert.deepEqual(kept.warnings, []);
  const changed = parseImport('c.yaml', 'server: "fd00::1"\nport: 1\nmtu: 1400\nprefix_length: 16\ndefault_route: false\nallow_plaintext: true\ntun_name: vpn0\n');
  assert.deepEqual(changed.warnings, [
    'c.yaml: mtu 1400 is not kept: app profiles use 1500',
    'c.yaml: prefix_length 16 is not kept: app profiles use 24',
    'c.yaml: default_route false is not kept: app profiles use true',
    'c.yaml: allow_plaintext true is not kept: app profiles use false',
    'c.yaml: tun_name "vpn0" is not kept: app profiles use "4over6"',
  ]);
  assert.deepEqual(changed.drafts, [{ name: 'c', server: 'fd00::1', port: 1, encryption: false, uuid: null, autoReconnect: true, dns: true }]);
  assert.equal(parseImport('c.yaml', 'server: "fd00::1"\nport: 1\ndns: false\n').drafts[0].dns, false);
  // A legacy key's problem is named by the key, for the file as a whole.
  assert.throws(() => parseImport('c.yaml', `server: ${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}\nport: 1\n`),
    (err: VpnError) => err.code === 'IMPORT_INVALID' && err.problems.length === 1 &&
      err.problems[0].source === 'c.yaml' && err.problems[0].entry === null && err.problems[0].field === 'server');
});

test('export: the chosen profiles in store order, pretty JSON with a final newline; unknown ids are named', async () => {
  const store = await newStore();
  const a = store.create({ name: 'A', server: 'fd00::1', port: 1, encryption: false });
  const b = store.create({ name: 'B', server: 'fd00::2', port: 2, encryption: false });
  assert.deepEqual(selectProfiles(store, [b.id, a.id]).map((p) => p.name), ['A', 'B']);
  assert.deepEqual(selectProfiles(store, [b.id]).map((p) => p.name), ['B']);
  assert.deepEqual(selectProfiles(store, []), []);
  assert.deepEqual(selectProfiles(store).map((p) => p.name), ['A', 'B']);
  assert.throws(() => selectProfiles(store, [a.id, 'x', 'y']), (err: VpnError) => err.code === 'PROFILE_NOT_FOUND' && err.message === 'no profile with id "x", "y"');
  assert.equal(exportDocument([a]), `{\n  "format": "4over6-profiles",\n  "version": 1,\n  "profiles": [\n    ${JSON.stringify(a, null, 2).replace(/\n/g, '\n    ')}\n  ]\n}\n`);
  assert.deepEqual(exportProfilesToText(store, [b.id]), { fileName: '4over6-profiles.json', text: exportDocument([b]), count: 1 });
});

test('an export that cannot be written leaves no file behind, temporary or not, and says where', async () => {
  const store = await newStore();
  store.create({ name: 'A', server: 'fd00::1', port: 1, encryption: false });
  const dir = tempDir();
  const target = join(dir, 'taken');
  mkdirSync(join(target, 'inside'), { recursive: true }); // rename() cannot replace a non-empty directory
  await assert.rejects(exportProfilesToFile(store, target), (err: VpnError) => {
    assert.equal(err.code, 'FILE_FAILED');
    assert.ok(err.message.startsWith(`cannot export to ${target}: `), err.message);
    assert.ok(err.cause instanceof Error);
    return true;
  });
  assert.deepEqual(readdirSync(dir), ['taken'], 'the temporary file was removed');
  // A successful export leaves only its file.
  await exportProfilesToFile(store, join(dir, 'out.json'));
  assert.deepEqual(readdirSync(dir).sort(), ['out.json', 'taken']);
});

test('a failed read says which file and why', async () => {
  const store = await newStore();
  const missing = join(tempDir(), 'missing.json');
  await assert.rejects(importProfilesFromFile(store, missing), (err: VpnError) => {
    assert.equal(err.code, 'FILE_FAILED');
    assert.match(err.message, new RegExp(`^cannot import ${missing.replace(/[.]/g, '\\.')}: ENOENT`));
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT', 'the system error is kept as the cause, for the log');
    return true;
  });
  const big = join(tempDir(), 'big.json');
  writeFileSync(big, ' '.repeat(MAX_IMPORT_BYTES + 1));
  await assert.rejects(importProfilesFromFile(store, big), (err: VpnError) =>
    err.message === `cannot import ${big}: ${MAX_IMPORT_BYTES + 1} bytes; a profiles file is at most ${MAX_IMPORT_BYTES}`);
  assert.equal(MAX_IMPORT_BYTES, 1 << 20);
});

test('a file name without a stem names the profile "Imported profile"', () => {
  assert.equal(nameFromFileName(' .yaml'), 'Imported profile');
  assert.equal(nameFromFileName('/x/  office  .yaml'), 'office');
});

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ipv4ToInt } from '../protocol/config';
import { waitFor } from '../test/support/netns';
import { LeaseFileError, LeaseFileWriter, decodeLeaseFile, encodeLeaseFile, maxLeaseFileBytes, readLeaseFile, writeFileAtomic } from './lease-store';
import { identityOf, isIdentity } from './lease-table';

const ID = 'id:0123456789abcdef0123456789abcdef';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), '4o6-leases-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('identities: a client id, else the source address; only those forms read back', () => {
  assert.equal(identityOf('0123456789abcdef0123456789abcdef', 'fd00::1'), ID);
  assert.equal(identityOf(undefined, 'fd00::1'), 'src:fd00::1');
  assert.equal(identityOf(undefined, '198.18.3.4'), 'src:198.18.3.4');
  for (const ok of [ID, 'src:fd00::1', 'src:198.18.3.4']) assert.equal(isIdentity(ok), true, ok);
  for (const bad of ['id:0123', 'id:0123456789ABCDEF0123456789ABCDEF', 'src:', 'src:fd00::1 x', 'fd00::1', `src:${'f'.repeat(46)}`]) {
    assert.equal(isIdentity(bad), false, bad);
  }
});

test('encode: one line per lease, addresses dotted, in use as null; decode reads it back', () => {
  const records = [
    { address: ipv4ToInt('198.18.0.2'), holder: ID },
    { address: ipv4ToInt('198.18.0.3'), holder: 'src:fd00::1', until: 1_796_040_000_000 },
  ];
  const text = encodeLeaseFile(records, Date.UTC(2026, 10, 30, 12));
  assert.equal(text, '{"version":1,"savedAt":"2026-11-30T12:00:00.000Z","leases":[\n' +
    `["198.18.0.2","${ID}",null],\n["198.18.0.3","src:fd00::1",1796040000000]\n]}\n`);
  assert.deepEqual(decodeLeaseFile(text), { records, skipped: 0 });
  assert.deepEqual(decodeLeaseFile(encodeLeaseFile([], 0)), { records: [], skipped: 0 });
});

test('decode: a file that is not ours as a whole is an error; bad entries are skipped one by one', () => {
  for (const [text, why] of [['{"version":1,"leases":[', /not JSON/], ['{"version":2,"leases":[]}', /not a version-1 lease file/],
    ['[]', /not a version-1/], ['null', /not a version-1/], ['{"version":1}', /no "leases" list/]] as const) {
    assert.throws(() => decodeLeaseFile(text), (e: Error) => e instanceof LeaseFileError && why.test(e.message), text);
  }
  const { records, skipped } = decodeLeaseFile(JSON.stringify({ version: 1, leases: [
    ['198.18.0.2', ID, null],
    ['198.18.0.300', ID, null], // not an address
    ['198.18.0.4', 'id:nothex', null], // not an identity
    ['198.18.0.5', ID, 'soon'], // not a deadline
    ['198.18.0.6', ID], // too short
    'x',
    ['198.18.0.7', 'src:fd00::7', 5],
  ] }));
  assert.equal(skipped, 5);
  assert.deepEqual(records, [{ address: ipv4ToInt('198.18.0.2'), holder: ID }, { address: ipv4ToInt('198.18.0.7'), holder: 'src:fd00::7', until: 5 }]);
});

test('read: no file is null; a file larger than the pool can need is refused unread', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'leases.json');
  assert.equal(readLeaseFile(path, maxLeaseFileBytes(10)), null);
  writeFileSync(path, ' '.repeat(maxLeaseFileBytes(10) + 1));
  assert.throws(() => readLeaseFile(path, maxLeaseFileBytes(10)), /more than this pool can need/);
  assert.throws(() => readLeaseFile(dir, 100), (e: Error) => e instanceof LeaseFileError && /cannot read it/.test(e.message));
  // The longest entry a pool address can have fits the per-address allowance.
  const longest = encodeLeaseFile([{ address: ipv4ToInt('255.255.255.255'), holder: `src:${'ffff:'.repeat(7)}ffff`, until: 9_999_999_999_999 }], 0);
  assert.ok(longest.length <= maxLeaseFileBytes(1), `${longest.length} bytes`);
});

test('atomic write: the whole new file under its name, 0600, no temporary file left; the directory is made', async (t) => {
  const dir = join(tempDir(t), 'state', 'gateway');
  const path = join(dir, 'leases.json');
  await writeFileAtomic(path, 'one');
  await writeFileAtomic(path, 'two');
  assert.equal(readFileSync(path, 'utf8'), 'two');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(dir), ['leases.json']);
});

test('writer: changes within the debounce window make one write; flush writes what is pending at once', async (t) => {
  const path = join(tempDir(t), 'leases.json');
  let snapshots = 0;
  let content = 'a';
  const errors: Error[] = [];
  const w = new LeaseFileWriter(path, () => { snapshots++; return content; }, (e) => errors.push(e), 50);
  w.schedule();
  w.schedule();
  content = 'b';
  w.schedule();
  await waitFor(() => snapshots === 1 && readFileSync(path, 'utf8') === 'b', { timeoutMs: 2000, what: 'one debounced write' });
  content = 'c';
  w.schedule();
  await w.flush();
  assert.equal(readFileSync(path, 'utf8'), 'c');
  assert.equal(snapshots, 2);
  await w.flush();
  assert.equal(snapshots, 2, 'nothing pending, nothing written');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(snapshots, 2, 'the cancelled timer did not write again');
  assert.deepEqual(errors, []);
});

test('writer: a failed write is reported, not thrown', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'file'), '');
  const errors: Error[] = [];
  const blocked = new LeaseFileWriter(join(dir, 'file', 'leases.json'), () => 'x', (e) => errors.push(e), 10);
  blocked.schedule();
  await blocked.flush();
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /EEXIST|ENOTDIR/);
});

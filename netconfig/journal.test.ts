// Tests of ChangeJournal: durable JSON lines, cancel records, torn and corrupt lines, the in-memory variant.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NetChange } from './changes';
import { ChangeJournal } from './journal';

const address: NetChange = { kind: 'link-address', dev: 'tun0', cidr: '198.18.0.1/24' };
const route: NetChange = { kind: 'route', dest: '0.0.0.0/1', dev: 'tun0' };
const table: NetChange = { kind: 'nft-table', family: 'inet', name: 'fourover6' };

describe('ChangeJournal', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), '4o6-journal-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes one JSON line per record, creating its directory, and reads them back in order', async () => {
    const path = join(dir, 'run', '4over6', 'journal.jsonl');
    const journal = new ChangeJournal(path);
    assert.deepEqual(await journal.entries(), []); // no file yet
    await journal.record(address);
    await journal.record(route);
    const text = await fs.readFile(path, 'utf8');
    assert.equal(text.split('\n').length, 3);
    assert.equal((await fs.stat(path)).mode & 0o777, 0o600);
    // A second instance (the next process) sees the same entries.
    assert.deepEqual(await new ChangeJournal(path).entries(), [address, route]);
    await journal.clear();
    await assert.rejects(fs.stat(path), { code: 'ENOENT' });
    assert.deepEqual(await journal.entries(), []);
  });

  it('drops cancelled records', async () => {
    const journal = new ChangeJournal(join(dir, 'cancel.jsonl'));
    await journal.record(address);
    const id = await journal.record(route);
    await journal.record(table);
    await journal.cancel(id);
    assert.deepEqual(await journal.entries(), [address, table]);
  });

  it('tolerates a torn last line, and the next record starts on a fresh line', async () => {
    const path = join(dir, 'torn.jsonl');
    await new ChangeJournal(path).record(address);
    await fs.appendFile(path, '{"v":1,"id":"x","change":{"kind":"link-');
    const next = new ChangeJournal(path);
    const read = await next.read();
    assert.deepEqual({ ...read, records: read.records.map((r) => r.change) }, { entries: [address], records: [address], skipped: [], tornTail: true });
    assert.match(read.records[0]!.id, /^[0-9a-f-]{36}$/);
    await next.record(route);
    const again = await next.read();
    assert.deepEqual(again.entries, [address, route]);
    // The torn fragment is now a complete (bad) line in the middle: reported, not fatal.
    assert.deepEqual(again.skipped, [{ line: 2, reason: 'not valid JSON' }]);
    assert.equal(again.tornTail, false);
  });

  it('skips and reports lines that are not valid changes instead of failing recovery', async () => {
    const path = join(dir, 'bad.jsonl');
    const lines = [
      JSON.stringify({ v: 1, id: 'a', change: address }),
      JSON.stringify({ v: 1, id: 'b', change: { kind: 'route', dest: '198.18.1.5/24', dev: 'tun0' } }),
      JSON.stringify({ v: 1, id: 'c', change: { kind: 'resolv-conf', path: '/etc/resolv.conf', backupPath: '/etc/shadow' } }),
      JSON.stringify({ v: 1, id: 'd', change: { kind: 'link-up', dev: 'eth0; reboot' } }),
      JSON.stringify({ v: 2, id: 'e', change: route }),
      JSON.stringify({ v: 1, id: 'f', change: table }),
    ];
    await fs.writeFile(path, lines.join('\n') + '\n');
    const read = await new ChangeJournal(path).read();
    assert.deepEqual(read.entries, [address, table]);
    assert.deepEqual(read.skipped.map((s) => s.line), [2, 3, 4, 5]);
    assert.match(read.skipped[0]!.reason, /host bits set/);
    assert.match(read.skipped[1]!.reason, /backup path/);
    assert.match(read.skipped[2]!.reason, /invalid interface name/);
    assert.match(read.skipped[3]!.reason, /format version 2/);
  });

  it('has an in-memory variant with the same behaviour', async () => {
    const journal = new ChangeJournal();
    assert.equal(journal.persistent, false);
    const id = await journal.record(address);
    await journal.record(route);
    await journal.cancel(id);
    assert.deepEqual(await journal.entries(), [route]);
    await journal.clear();
    assert.deepEqual(await journal.entries(), []);
  });
});

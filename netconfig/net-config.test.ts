// End-to-end tests of NetConfigurator against a real network namespace, plus input validation and the resolvectl path with a fake runner.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { needsRoot, skipUnless } from '../test/support/requirements';
import { cleanupStaleNamespaces, createTestNamespace, waitFor, type TestNamespace } from '../test/support/netns';
import type { NetChange } from './changes';
import { CommandError, type CommandRunner } from './command';
import { ChangeJournal } from './journal';
import { NetConfigurator, RESOLV_HEADER } from './net-config';

const skip = skipUnless(needsRoot('ip netns'));

interface NsState {
  addrs: string[];
  mtu: number;
  up: boolean;
  routes: string[];
  forwarding: string;
  tables: string[];
}

async function state(ns: TestNamespace, dev = 'd0'): Promise<NsState> {
  const links = JSON.parse(await ns.exec('ip', ['-j', 'addr', 'show', 'dev', dev])) as {
    mtu: number;
    flags: string[];
    addr_info: { family: string; local: string; prefixlen: number }[];
  }[];
  const link = links[0]!;
  const routes = JSON.parse(await ns.exec('ip', ['-j', '-4', 'route', 'show'])) as { dst: string; dev: string }[];
  const nft = JSON.parse(await ns.exec('nft', ['-j', 'list', 'tables'])) as { nftables: { table?: { family: string; name: string } }[] };
  return {
    addrs: link.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
    mtu: link.mtu,
    up: link.flags.includes('UP'),
    routes: routes.map((r) => `${r.dst} ${r.dev}`).sort(),
    forwarding: (await ns.exec('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim(),
    tables: nft.nftables.flatMap((e) => (e.table ? [`${e.table.family} ${e.table.name}`] : [])),
  };
}

/** A fresh namespace with a veth pair d0/d1 (d1 up, so d0 gets carrier once up); removed even if the test fails. */
async function withNamespace(tag: string, fn: (ns: TestNamespace) => Promise<void>): Promise<void> {
  const ns = await createTestNamespace(tag);
  try {
    // Dummy devices need a kernel module that is not always there; a veth pair works everywhere.
    await ns.exec('ip', ['link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
    await ns.exec('ip', ['link', 'set', 'd1', 'up']);
    await fn(ns);
  } finally {
    await ns.cleanup();
  }
}

describe('NetConfigurator in a network namespace', { skip }, () => {
  let tmp: string;
  before(async () => {
    await cleanupStaleNamespaces();
    tmp = await fs.mkdtemp(join(tmpdir(), '4o6-netconfig-'));
  });
  after(async () => {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('adds address, MTU, up, routes and split default route, and undoAll removes exactly them', async () => {
    await withNamespace('links', async (ns) => {
      // A pre-existing default route must survive both the tunnel and its undo.
      await ns.exec('ip', ['addr', 'add', '198.18.200.1/24', 'dev', 'd1']);
      await ns.exec('ip', ['route', 'add', 'default', 'via', '198.18.200.254', 'dev', 'd1']);
      const before = await state(ns);
      const journal = new ChangeJournal(join(tmp, 'links.jsonl'));
      const log: string[] = [];
      const net = new NetConfigurator({ journal, netns: ns.name, log: (l) => log.push(l) });

      await net.addAddress('d0', '198.18.5.1', 24);
      await net.setMtu('d0', 1400);
      await net.setUp('d0');
      await net.addRoute('198.19.0.0/16', 'd0');
      await net.addDefaultRoute('d0');

      const during = await state(ns);
      assert.deepEqual(during.addrs, ['198.18.5.1/24']);
      assert.equal(during.mtu, 1400);
      assert.equal(during.up, true);
      for (const r of ['0.0.0.0/1 d0', '128.0.0.0/1 d0', '198.19.0.0/16 d0', 'default d1']) assert.ok(during.routes.includes(r), `missing route ${r}`);
      assert.deepEqual(net.changes.map((c) => c.kind), ['link-address', 'link-mtu', 'link-up', 'route', 'route', 'route']);
      assert.deepEqual(net.changes[1], { kind: 'link-mtu', dev: 'd0', previous: before.mtu });
      assert.deepEqual(await journal.entries(), net.changes);

      const report = await net.undoAll();
      assert.deepEqual(report.failed, []);
      assert.equal(report.undone.length, 6);
      assert.deepEqual(await state(ns), before);
      assert.deepEqual(net.changes, []);
      assert.deepEqual(await journal.entries(), []);
      await assert.rejects(fs.stat(journal.path!), { code: 'ENOENT' });
      assert.ok(log.some((l) => l.startsWith('changed: route 0.0.0.0/1 via d0')), log.join('\n'));
    });
  });

  it('records nothing for what was already so, and leaves pre-existing objects alone on undo', async () => {
    await withNamespace('exist', async (ns) => {
      await ns.exec('ip', ['addr', 'add', '198.18.6.1/24', 'dev', 'd0']);
      await ns.exec('ip', ['link', 'set', 'd0', 'up']);
      const net = new NetConfigurator({ netns: ns.name });
      await net.setUp('d0'); // already up: nothing to undo
      await net.setMtu('d0', 1500); // already 1500
      // Already there: the failed add must not be recorded, or undo would delete someone else's address.
      await assert.rejects(net.addAddress('d0', '198.18.6.1', 24), (e: unknown) => e instanceof CommandError && /already assigned|File exists/.test(e.message));
      await assert.rejects(net.addRoute('198.18.6.0/24', 'd0'), /File exists/);
      // Failing for a missing device: clear message with the command line, nothing recorded.
      await assert.rejects(net.addAddress('nosuch0', '198.18.9.1', 24), /ip addr add 198\.18\.9\.1\/24 dev nosuch0 failed \(exit \d+\): Cannot find device "nosuch0"/);
      assert.deepEqual(net.changes, []);
      const report = await net.undoAll();
      assert.deepEqual(report, { undone: [], alreadyGone: [], kept: [], failed: [], skippedLines: 0 });
      const after = await state(ns);
      assert.deepEqual(after.addrs, ['198.18.6.1/24']);
      assert.equal(after.up, true);
      assert.ok(after.routes.includes('198.18.6.0/24 d0'));
    });
  });

  it('counts changes whose object vanished as undone, and keeps going after a failing undo', async () => {
    await withNamespace('gone', async (ns) => {
      const journal = new ChangeJournal(join(tmp, 'gone.jsonl'));
      const log: string[] = [];
      const net = new NetConfigurator({ journal, netns: ns.name, log: (l) => log.push(l) });
      await ns.exec('ip', ['link', 'add', 'g0', 'type', 'veth', 'peer', 'name', 'g1']);
      await net.addAddress('g0', '198.18.8.1', 24);
      await net.setUp('g0');
      await net.addRoute('198.19.8.0/24', 'g0');
      await net.addAddress('d0', '198.18.9.1', 24);
      await net.setUp('d0'); // the kernel refuses routes via a link that is down
      // An undo that genuinely fails: sysctl rejects the value (recorded directly, as a corrupted entry would be).
      await journal.record({ kind: 'sysctl', key: 'net.ipv4.ip_forward', previous: 'abc' });
      await net.addRoute('198.19.9.0/24', 'd0');
      await ns.exec('ip', ['link', 'del', 'g0']); // takes g0's address and route with it

      const report = await net.undoAll();
      assert.equal(report.failed.length, 1);
      assert.equal(report.failed[0]!.change.kind, 'sysctl');
      assert.match(report.failed[0]!.error, /sysctl -w net\.ipv4\.ip_forward=abc failed.*Invalid argument/);
      assert.equal(report.undone.length, 6);
      assert.ok(log.some((l) => /^undone: route 198\.19\.8\.0\/24 via g0 \(already gone\)$/.test(l)), log.join('\n'));
      assert.ok(log.some((l) => l.startsWith('undo failed: sysctl net.ipv4.ip_forward')), log.join('\n'));
      // The changes listed before the failing one were still undone.
      const after = await state(ns);
      assert.deepEqual(after.addrs, []);
      assert.deepEqual(after.routes, []);
      assert.deepEqual(await journal.entries(), []);
    });
  });

  it('setDns with resolvConfPath writes our servers and undo restores the original bytes, mode and symlink', async () => {
    const dir = await fs.mkdtemp(join(tmp, 'dns-'));
    const original = Buffer.from('# original\nnameserver 192.0.2.1\nsearch example.\n\xff\x00 no trailing newline', 'latin1');
    const file = join(dir, 'resolv.conf');
    await fs.writeFile(file, original, { mode: 0o600 });
    const journal = new ChangeJournal(join(dir, 'journal.jsonl'));
    const net = new NetConfigurator({ journal });

    await net.setDns('tun0', ['198.18.0.53', '198.18.0.54', '198.18.0.53'], { resolvConfPath: file });
    const ours = await fs.readFile(file, 'utf8');
    assert.equal(ours, `${RESOLV_HEADER}\nnameserver 198.18.0.53\nnameserver 198.18.0.54\n`);
    assert.deepEqual(await fs.readFile(`${file}.4over6-backup`), original);
    // Setting again rewrites ours; the backup still holds the user's original.
    await net.setDns('tun0', ['198.18.0.99'], { resolvConfPath: file });
    assert.match(await fs.readFile(file, 'utf8'), /^nameserver 198\.18\.0\.99$/m);
    assert.deepEqual(await fs.readFile(`${file}.4over6-backup`), original);
    assert.deepEqual(net.changes, [{ kind: 'resolv-conf', path: file, backupPath: `${file}.4over6-backup` }]);

    assert.deepEqual((await net.undoAll()).failed, []);
    assert.deepEqual(await fs.readFile(file), original);
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    await assert.rejects(fs.stat(`${file}.4over6-backup`), { code: 'ENOENT' });

    // A symlinked resolv.conf (systemd, resolvconf) comes back as the same symlink, its target untouched.
    const link = join(dir, 'linked.conf');
    await fs.symlink(file, link);
    await net.setDns('tun0', ['198.18.0.53'], { resolvConfPath: link });
    assert.equal((await fs.lstat(link)).isSymbolicLink(), false);
    assert.deepEqual(await fs.readFile(file), original);
    await net.undoAll();
    assert.equal(await fs.readlink(link), file);
    assert.deepEqual(await fs.readFile(file), original);

    // No file before: ours is created, and undo removes it.
    const fresh = join(dir, 'new', 'resolv.conf');
    await net.setDns('tun0', ['198.18.0.53'], { resolvConfPath: fresh });
    assert.deepEqual(net.changes, [{ kind: 'resolv-conf', path: fresh, backupPath: `${fresh}.4over6-backup`, created: true }]);
    await net.undoAll();
    await assert.rejects(fs.stat(fresh), { code: 'ENOENT' });

    // A backup left by someone else may be the only copy of the original: refuse instead of overwriting it.
    await fs.writeFile(`${file}.4over6-backup`, 'precious');
    await assert.rejects(net.setDns('tun0', ['198.18.0.53'], { resolvConfPath: file }), /4over6-backup already exists/);
    assert.deepEqual(await fs.readFile(file), original);
    assert.equal(await fs.readFile(`${file}.4over6-backup`, 'utf8'), 'precious');
    assert.deepEqual(net.changes, []);
  });

  it('setDns with netns and no path uses /etc/netns/<ns>/resolv.conf, never the host file', async () => {
    await withNamespace('dns', async (ns) => {
      const hostBefore = await fs.readFile('/etc/resolv.conf').catch(() => null);
      const net = new NetConfigurator({ netns: ns.name });
      await net.setDns('d0', ['198.18.0.53']);
      const nsFile = `/etc/netns/${ns.name}/resolv.conf`;
      assert.match(await fs.readFile(nsFile, 'utf8'), /^nameserver 198\.18\.0\.53$/m);
      // `ip netns exec` bind-mounts it over /etc/resolv.conf (only possible when the host has that file).
      if (hostBefore !== null) assert.match(await ns.exec('cat', ['/etc/resolv.conf']), /^nameserver 198\.18\.0\.53$/m);
      assert.deepEqual(await fs.readFile('/etc/resolv.conf').catch(() => null), hostBefore);
      await net.undoAll();
      await assert.rejects(fs.stat(nsFile), { code: 'ENOENT' });
      assert.deepEqual(await fs.readFile('/etc/resolv.conf').catch(() => null), hostBefore);
    });
  });

  it('a namespace\'s own resolv.conf is backed up outside /etc/netns/<ns>/, so `ip netns exec` binds cleanly', async () => {
    await withNamespace('dnsbak', async (ns) => {
      const dir = `/etc/netns/${ns.name}`;
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(`${dir}/resolv.conf`, 'nameserver 198.18.9.9\n');
      const net = new NetConfigurator({ netns: ns.name });
      await net.setDns('d0', ['198.18.0.53']);
      assert.deepEqual(await fs.readdir(dir), ['resolv.conf'], 'only the files ip netns exec should bind');
      const run = spawnSync('ip', ['netns', 'exec', ns.name, 'cat', '/etc/resolv.conf'], { encoding: 'utf8' });
      assert.equal(run.stderr, '', 'ip netns exec complained');
      assert.match(run.stdout, /^nameserver 198\.18\.0\.53$/m);
      await net.undoAll();
      assert.equal(await fs.readFile(`${dir}/resolv.conf`, 'utf8'), 'nameserver 198.18.9.9\n');
      assert.deepEqual((await fs.readdir('/etc/netns')).filter((f) => f.includes(ns.name) && f !== ns.name), [], 'no backup left');
    });
  });

  it('enableNat creates the inet fourover6 table and turns forwarding on; undo removes it and restores ip_forward', async () => {
    await withNamespace('nat', async (ns) => {
      const hostForwarding = await fs.readFile('/proc/sys/net/ipv4/ip_forward', 'utf8');
      const before = await state(ns);
      assert.equal(before.forwarding, '0');
      const net = new NetConfigurator({ netns: ns.name });
      await net.enableNat('d0', 'd1', '198.18.0.0/15');
      await net.enableNat('d0', 'd1', '198.18.0.0/15'); // replaces the table atomically, nothing new recorded
      assert.deepEqual(net.changes, [
        { kind: 'sysctl', key: 'net.ipv4.ip_forward', previous: '0' },
        { kind: 'nft-table', family: 'inet', name: 'fourover6' },
      ]);
      const during = await state(ns);
      assert.equal(during.forwarding, '1');
      assert.deepEqual(during.tables, ['inet fourover6']);
      const table = await ns.exec('nft', ['list', 'table', 'inet', 'fourover6']);
      assert.match(table, /iifname "d0" oifname "d1" accept/);
      assert.match(table, /iifname "d1" oifname "d0" ct state established,related accept/);
      assert.match(table, /ip saddr 198\.18\.0\.0\/15 oifname "d1" masquerade/);
      // The namespace's sysctl is its own: the host's forwarding setting is untouched.
      assert.equal(await fs.readFile('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostForwarding);

      assert.deepEqual((await net.undoAll()).failed, []);
      const after = await state(ns);
      assert.equal(after.forwarding, '0');
      assert.deepEqual(after.tables, []);
    });
  });

  it('replaceAddress swaps a tunnel address in place: routes kept, the new one journalled, the old one forgotten', async () => {
    await withNamespace('swap', async (ns) => {
      const journal = new ChangeJournal(join(tmp, 'swap.jsonl'));
      const net = new NetConfigurator({ journal, netns: ns.name });
      await net.setSysctl('net.ipv4.conf.d0.promote_secondaries', '1');
      await net.addAddress('d0', '198.18.7.2', 24);
      await net.setUp('d0');
      await net.addDefaultRoute('d0');
      await net.replaceAddress('d0', '198.18.7.2', '198.18.7.9', 24);
      const during = await state(ns);
      assert.deepEqual(during.addrs, ['198.18.7.9/24']);
      for (const r of ['0.0.0.0/1 d0', '128.0.0.0/1 d0']) assert.ok(during.routes.includes(r), `route ${r} kept: ${during.routes.join(', ')}`);
      const addresses = (await journal.entries()).filter((c) => c.kind === 'link-address');
      assert.deepEqual(addresses, [{ kind: 'link-address', dev: 'd0', cidr: '198.18.7.9/24' }]);
      assert.deepEqual(net.changes.filter((c) => c.kind === 'link-address'), addresses);
      await net.undoAll();
      assert.deepEqual((await state(ns)).addrs, []);
    });
  });

  it('the guard table: journalled once however often it is replaced; undoTunnel keeps it, removeGuard takes it', async () => {
    await withNamespace('guard', async (ns) => {
      const journal = new ChangeJournal(join(tmp, 'guard.jsonl'));
      const changed: number[] = [];
      const net = new NetConfigurator({ journal, netns: ns.name, onChange: () => changed.push(1) });
      await net.setGuard({ tunnelDev: null, dnsServers: null, gateway: null, lanNetworks: [] });
      await net.setGuard({ tunnelDev: 'd0', dnsServers: ['198.18.7.53'], gateway: { address: 'fd00::2', port: 5555 }, lanNetworks: [] });
      await net.addAddress('d0', '198.18.7.2', 24);
      assert.deepEqual((await state(ns)).tables, ['inet fourover6-guard']);
      assert.match(await ns.exec('nft', ['list', 'table', 'inet', 'fourover6-guard']), /oifname "d0" ip daddr 198\.18\.7\.53/);
      assert.equal((await journal.entries()).filter((c) => c.kind === 'nft-table').length, 1);
      assert.equal(changed.length, 3, 'each change told, the replacement too');

      await net.undoTunnel();
      assert.deepEqual((await state(ns)).addrs, []);
      assert.deepEqual((await state(ns)).tables, ['inet fourover6-guard'], 'the tunnel gone, the guard stays');
      assert.deepEqual(await journal.entries(), [{ kind: 'nft-table', family: 'inet', name: 'fourover6-guard' }]);
      // A process killed now leaves a journal that still removes the table.
      const replayed = await NetConfigurator.replayJournal(new ChangeJournal(journal.path), { netns: ns.name });
      assert.deepEqual(replayed.undone, [{ kind: 'nft-table', family: 'inet', name: 'fourover6-guard' }]);
      assert.deepEqual((await state(ns)).tables, []);
      await assert.rejects(fs.stat(journal.path!), { code: 'ENOENT' });

      await net.setGuard({ tunnelDev: null, dnsServers: null, gateway: null, lanNetworks: [] });
      await net.removeGuard();
      assert.deepEqual((await state(ns)).tables, []);
      assert.deepEqual(net.changes, []);
      await assert.rejects(fs.stat(journal.path!), { code: 'ENOENT' });
    });
  });

  it('replayJournal undoes everything a process killed with -9 left behind, tolerating a torn last line', async () => {
    await withNamespace('crash', async (ns) => {
      const dir = await fs.mkdtemp(join(tmp, 'crash-'));
      const journalPath = join(dir, 'run', 'journal.jsonl');
      const resolvConf = join(dir, 'resolv.conf');
      const original = Buffer.from('nameserver 192.0.2.1\n');
      await fs.writeFile(resolvConf, original);
      const before = await state(ns);

      const childScript = join(__dirname, '..', 'test', 'support', 'netconfig-crash-child.js');
      const child = spawn(process.execPath, [childScript, journalPath, ns.name, 'd0', resolvConf], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        await waitFor(() => out.includes('ready') || child.exitCode !== null, { timeoutMs: 20_000, what: 'the crash child to make its changes' });
        assert.ok(out.includes('ready'), `child failed: ${err}`);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      assert.equal(child.signalCode, 'SIGKILL');

      const crashed = await state(ns);
      assert.deepEqual(crashed.addrs, ['198.18.7.1/24']);
      assert.deepEqual(crashed.tables, ['inet fourover6']);
      assert.ok(crashed.routes.includes('0.0.0.0/1 d0'));
      assert.notDeepEqual(await fs.readFile(resolvConf), original);
      // Simulate dying in the middle of writing one more record.
      await fs.appendFile(journalPath, '{"v":1,"id":"torn","change":{"kind":"rou');

      const journal = new ChangeJournal(journalPath);
      const read = await journal.read();
      assert.equal(read.tornTail, true);
      assert.deepEqual(read.entries.map((c: NetChange) => c.kind), [
        'link-address', 'link-mtu', 'link-up', 'route', 'route', 'route', 'resolv-conf', 'sysctl', 'nft-table',
      ]);
      const log: string[] = [];
      const report = await NetConfigurator.replayJournal(journal, { netns: ns.name, log: (l) => log.push(l) });
      assert.deepEqual(report.failed, []);
      assert.equal(report.undone.length, 9);
      assert.ok(log.some((l) => /incomplete last line/.test(l)));
      assert.deepEqual(await state(ns), before);
      assert.deepEqual(await fs.readFile(resolvConf), original);
      await assert.rejects(fs.stat(journalPath), { code: 'ENOENT' });
      // Replaying an empty (already cleared) journal is a no-op.
      assert.deepEqual(await NetConfigurator.replayJournal(journal, { netns: ns.name }), { undone: [], alreadyGone: [], kept: [], failed: [], skippedLines: 0 });
    });
  });
});

describe('NetConfigurator input validation', () => {
  const noCommands: CommandRunner = async (file, args) => {
    throw new Error(`no command should run for invalid input: ${file} ${args.join(' ')}`);
  };
  const net = new NetConfigurator({ run: noCommands });

  it('rejects bad interface names', async () => {
    for (const dev of ['', 'a-very-long-interface', 'eth 0', 'eth0;rm', '-x', '..', 'tun/0']) {
      await assert.rejects(net.setUp(dev), /invalid interface name/, dev);
    }
    await assert.rejects(net.enableNat('tun0', 'bad name', '198.18.0.0/15'), /invalid outgoing interface name "bad name"/);
    await assert.rejects(net.enableNat('tun0', 'tun0', '198.18.0.0/15'), /both tun0/);
  });

  it('rejects bad addresses, prefixes, routes and MTUs', async () => {
    await assert.rejects(net.addAddress('tun0', '300.1.1.1', 24), /invalid IPv4 address "300\.1\.1\.1"/);
    await assert.rejects(net.addAddress('tun0', '1', 24), /invalid IPv4 address "1"/);
    await assert.rejects(net.addAddress('tun0', 'fd00::1', 24), /invalid IPv4 address/);
    await assert.rejects(net.addAddress('tun0', '198.18.0.1', 33), /prefix length 33: expected an integer 0-32/);
    await assert.rejects(net.addAddress('tun0', '198.18.0.1', 1.5), /prefix length/);
    await assert.rejects(net.addRoute('198.18.1.5/24', 'tun0'), /host bits set \(did you mean 198\.18\.1\.0\/24\?\)/);
    await assert.rejects(net.addRoute('198.18.0.0', 'tun0'), /invalid route destination/);
    await assert.rejects(net.enableNat('tun0', 'eth0', '198.18.0.0/40'), /prefix length 40/);
    await assert.rejects(net.setMtu('tun0', 575), /invalid MTU 575: expected an integer 576-65535/);
    await assert.rejects(net.setMtu('tun0', 65536), /invalid MTU/);
  });

  it('rejects bad DNS input', async () => {
    await assert.rejects(net.setDns('tun0', []), /at least one DNS server/);
    await assert.rejects(net.setDns('tun0', ['198.18.0.53\nnameserver 192.0.2.66']), /invalid DNS server/);
    await assert.rejects(net.setDns('tun0', ['fe80::1%eth0']), /invalid DNS server/);
    await assert.rejects(net.setDns('tun0', ['198.18.0.53'], { resolvConfPath: '' }), /invalid resolv.conf path/);
    await assert.rejects(net.setSysctl('-p', '1'), /invalid sysctl key/);
    assert.deepEqual(net.changes, []);
  });
});

describe('NetConfigurator with systemd-resolved (fake runner)', () => {
  it('uses per-link DNS with a ~. routing domain and reverts the link on undo', async () => {
    const calls: string[] = [];
    const run: CommandRunner = async (file, args, opts) => {
      calls.push([file, ...args].join(' ') + (opts?.netns ? ` [${opts.netns}]` : ''));
      return '';
    };
    const net = new NetConfigurator({ run });
    await net.setDns('tun0', ['198.18.0.53', 'fd00::53']);
    assert.deepEqual(calls, ['resolvectl status', 'resolvectl dns tun0 198.18.0.53 fd00::53', 'resolvectl domain tun0 ~.']);
    assert.deepEqual(net.changes, [{ kind: 'resolved-dns', dev: 'tun0' }]);
    calls.length = 0;
    assert.deepEqual((await net.undoAll()).failed, []);
    assert.deepEqual(calls, ['resolvectl revert tun0']);
  });

  it('reverts the link if setting the routing domain fails, and records nothing', async () => {
    const calls: string[] = [];
    const run: CommandRunner = async (file, args) => {
      calls.push([file, ...args].join(' '));
      if (args[0] === 'domain') throw new CommandError(file, args, 1, 'Failed to set domain', '', 'exit 1');
      return '';
    };
    const net = new NetConfigurator({ run });
    await assert.rejects(net.setDns('tun0', ['198.18.0.53']), /resolvectl domain tun0 "~\." failed \(exit 1\): Failed to set domain/);
    assert.equal(calls.at(-1), 'resolvectl revert tun0');
    assert.deepEqual(net.changes, []);
  });
});

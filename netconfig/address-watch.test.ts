import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createTestNamespace, waitFor } from '../test/support/netns';
import { parseMonitorLine, removedAddress } from './address-watch';
import { runCommand } from './command';
import { needsRoot, skipUnless } from '../test/support/requirements';

const skip = skipUnless(needsRoot('ip netns, ip monitor'));

describe('address watch', () => {
  it('reads the removed address from `ip -6 -o monitor address` lines', () => {
    assert.equal(removedAddress('Deleted 2: veth0    inet6 fd00:1::1/64 scope global nodad \\       valid_lft forever preferred_lft forever'), 'fd00:1::1');
    assert.equal(removedAddress('Deleted 7: wlp0s20f3    inet6 FD00:AB:0:1::42/128 scope global dynamic noprefixroute'), 'fd00:ab:0:1::42');
    assert.equal(removedAddress('2: veth0    inet6 fd00:1::3/64 scope global nodad'), null, 'an added address');
    assert.equal(removedAddress('Deleted 2: veth0    inet 198.18.0.2/24 scope global veth0'), null, 'IPv4');
    assert.equal(removedAddress(''), null);
  });

  it('reads what an `ip -o monitor address link route` line says about the network', () => {
    // Lines as `ip` 6.x prints them (captured in a namespace).
    const lines: Array<[string, ReturnType<typeof parseMonitorLine>]> = [
      ['3: v0    inet6 fd00:9::1/64 scope global nodad \\       valid_lft forever preferred_lft forever', { kind: 'address-added', dev: 'v0', address: 'fd00:9::1' }],
      ['3: v0    inet6 fd00:9::5/64 scope global tentative \\       valid_lft forever preferred_lft forever', null],
      ['3: v0    inet6 fd00:9::5/64 scope global \\       valid_lft forever preferred_lft forever', { kind: 'address-added', dev: 'v0', address: 'fd00:9::5' }],
      ['3: v0    inet6 fd00:9::6/64 scope global dadfailed tentative \\       valid_lft forever', null],
      ['3: v0    inet6 fe80::74c8:5bff:fe05:f27a/64 scope link \\       valid_lft forever preferred_lft forever', null],
      ['3: v0    inet 198.18.9.1/24 scope global v0\\       valid_lft forever preferred_lft forever', null],
      ['Deleted 3: v0    inet6 fd00:9::1/64 scope global nodad \\       valid_lft forever preferred_lft forever', { kind: 'address-removed', address: 'fd00:9::1' }],
      ['3: v0@v1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether 76:c8:5b:05:f2:7a brd ff:ff:ff:ff:ff:ff', { kind: 'link-up', dev: 'v0' }],
      ['5: wlp2s0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DORMANT group default', { kind: 'link-up', dev: 'wlp2s0' }],
      ['3: v0@v1: <NO-CARRIER,BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state LOWERLAYERDOWN group default', null],
      ['3: v0@v1: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN group default \\    link/ether 76:c8:5b:05:f2:7a', null],
      ['default via fd00:9::2 dev v0 metric 1024 pref medium', { kind: 'default-route', dev: 'v0' }],
      ['Deleted default via fd00:9::2 dev v0 metric 1024 pref medium', null],
      ['fd00:9::/64 dev v0 proto kernel metric 256 pref medium', null],
      ['local fd00:9::1 dev v0 table local proto kernel metric 0 pref medium', null],
      ['', null],
    ];
    for (const [line, expected] of lines) assert.deepEqual(parseMonitorLine(line), expected, line);
  });

  it('reports an address removed in its namespace, and only removals', { skip }, async () => {
    const ns = await createTestNamespace('addrwatch');
    try {
      await ns.exec('ip', ['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
      await ns.exec('ip', ['link', 'set', 'v0', 'up']);
      // The watcher runs inside the namespace, as the client does on its host.
      const script = `require(${JSON.stringify(join(__dirname, 'address-watch.js'))}).watchRemovedAddresses((a) => console.log('removed ' + a)); console.log('watching');`;
      const child = ns.spawn(process.execPath, ['-e', script]);
      let out = '';
      child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      await waitFor(() => out.includes('watching'), { timeoutMs: 5000, what: 'the watcher to start' });
      // `ip monitor` subscribes a moment after it starts: probe with an address of our own until a
      // removal is reported, so the real checks below run against a live subscription.
      await waitFor(async () => {
        await ns.exec('ip', ['-6', 'addr', 'add', 'fd00:77::99/64', 'dev', 'v0', 'nodad']);
        await ns.exec('ip', ['-6', 'addr', 'del', 'fd00:77::99/64', 'dev', 'v0']);
        await waitFor(() => out.includes('removed fd00:77::99'), { timeoutMs: 300, what: 'the probe removal' }).catch(() => undefined);
        return out.includes('removed fd00:77::99');
      }, { timeoutMs: 10_000, what: '`ip monitor` to report a probe removal' });
      await ns.exec('ip', ['-6', 'addr', 'add', 'fd00:77::1/64', 'dev', 'v0', 'nodad']);
      await ns.exec('ip', ['-6', 'addr', 'add', 'fd00:77::2/64', 'dev', 'v0', 'nodad']);
      await ns.exec('ip', ['-6', 'addr', 'del', 'fd00:77::2/64', 'dev', 'v0']);
      await waitFor(() => out.includes('removed fd00:77::2'), { timeoutMs: 5000, what: 'the removal to be reported' });
      assert.doesNotMatch(out, /removed fd00:77::1/, 'an address that was only added is not reported');
      // Killed with -9, the watcher leaves no `ip monitor` behind (parent-death signal via setpriv).
      const monitorPid = Number((await runCommand('pgrep', ['-P', String(child.pid)])).trim());
      assert.ok(monitorPid > 0);
      child.kill('SIGKILL');
      await waitFor(() => !existsSync(`/proc/${monitorPid}`), { timeoutMs: 5000, what: '`ip monitor` to exit with its parent' });
    } finally {
      await ns.cleanup();
    }
  });
});

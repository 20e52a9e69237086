import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createTestNamespace, waitFor } from '../test/support/netns';
import { removedAddress } from './address-watch';
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
      await new Promise((r) => setTimeout(r, 300)); // `ip monitor` subscribes right after it starts
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

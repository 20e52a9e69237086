// The gateway journals its system changes in <state_dir>: a gateway with NAT killed with -9 leaves the
// `inet fourover6` table and ip_forward=1; the next start undoes them first (one log line) and a clean
// stop after it restores ip_forward to its original 0; `--cleanup` does the same on demand. Real
// gateway processes in one namespace, whose ip_forward is the namespace's own (never the host's).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type TestNamespace, cleanupStaleNamespaces, createTestNamespace, waitFor } from './support/netns';
import { Proc } from './support/proc';
import { needsProgram, needsRoot, skipUnless } from './support/requirements';
import { testGatewayYaml } from './support/gateway-config';

const SERVER = join(__dirname, '..', 'server', 'main.js');
const skip = skipUnless(needsRoot(), needsProgram('nft', 'apt-get install nftables'));

describe('the gateway journal: kill -9 with NAT on, then a start or --cleanup', { skip }, () => {
  let ns: TestNamespace;
  let dir: string;
  let config: string;
  let stateDir: string;
  const procs: Proc[] = [];

  before(async () => {
    await cleanupStaleNamespaces();
    ns = await createTestNamespace('gwjournal');
    // The interface NAT masquerades out of: one end of a veth pair inside the test namespace.
    await ns.exec('ip', ['link', 'add', 'nat0', 'type', 'veth', 'peer', 'name', 'nat1']);
    await ns.exec('ip', ['link', 'set', 'nat0', 'up']);
    dir = mkdtempSync(join(tmpdir(), '4o6-gwjournal-'));
    stateDir = join(dir, 'state');
    config = join(dir, 'server.yaml');
    writeFileSync(config, testGatewayYaml({ stateDir, tunName: '4o6j%d', extra: ['nat: true', 'nat_interface: "nat0"'] }));
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await ns?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const ipForward = async () => (await ns.exec('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim();
  const natTable = async () => (await ns.exec('nft', ['list', 'tables'])).includes('inet fourover6');
  const tunDevices = async () => (await ns.exec('ip', ['-o', 'link', 'show'])).split('\n').filter((l) => /: 4o6j\d+[:@]/.test(l)).length;

  async function startGateway(): Promise<Proc> {
    const p = new Proc(ns.spawn(process.execPath, [SERVER, '-c', config]), 'gateway');
    procs.push(p);
    await p.waitFor(/listening on/);
    return p;
  }

  async function killHard(p: Proc): Promise<void> {
    assert.equal(await p.stop('SIGKILL'), 128);
  }

  test('a start after kill -9 undoes the leftovers (one line), and its clean stop restores ip_forward=0', async () => {
    await ns.exec('sysctl', ['-w', 'net.ipv4.ip_forward=0']);
    const first = await startGateway();
    assert.equal(await ipForward(), '1');
    assert.ok(await natTable());
    await killHard(first);
    // What the issue saw: the table and ip_forward=1 outlive the process (its TUN device does not).
    assert.ok(await natTable(), 'the table is left by the killed gateway');
    assert.equal(await ipForward(), '1');
    assert.equal(await tunDevices(), 0);

    const second = await startGateway();
    const recovered = second.out.split('\n').filter((l) => /a gateway that did not stop cleanly/.test(l));
    assert.equal(recovered.length, 1, second.out);
    assert.match(recovered[0], / WARN  server undid what a gateway that did not stop cleanly left: nftables table inet fourover6, sysctl net\.ipv4\.ip_forward changed \(was 0\); \d+ more already gone with its TUN device$/);
    // Started again: NAT on, and the original 0 recorded anew (not the 1 the killed gateway left).
    assert.equal(await ipForward(), '1');
    assert.ok(await natTable());
    assert.match(readFileSync(join(stateDir, 'journal.jsonl'), 'utf8'), /"key":"net\.ipv4\.ip_forward","previous":"0"/);

    assert.equal(await second.stop('SIGTERM'), 0, second.out);
    assert.equal(await ipForward(), '0', 'the clean stop restores the original value');
    assert.equal(await natTable(), false);
    assert.equal(await tunDevices(), 0);
    assert.equal(existsSync(join(stateDir, 'journal.jsonl')), false, 'nothing left to undo');
    assert.equal(existsSync(join(stateDir, 'gateway.pid')), false);
  });

  test('--cleanup undoes what a killed gateway left, and refuses while a gateway runs', async () => {
    await ns.exec('sysctl', ['-w', 'net.ipv4.ip_forward=0']);
    const running = await startGateway();

    // A running gateway's changes are its own: --cleanup refuses, in one line, and changes nothing.
    const refused = new Proc(ns.spawn(process.execPath, [SERVER, '--cleanup', '-c', config]), 'cleanup');
    assert.equal(await refused.exited, 2, refused.out);
    assert.equal(refused.out, `4over6-server: a gateway (pid ${running.child.pid}) is running with state directory ${stateDir}: stop it first\n`);
    assert.ok(await natTable());
    assert.equal(await ipForward(), '1');

    await killHard(running);
    const cleanup = new Proc(ns.spawn(process.execPath, [SERVER, '--cleanup', '-c', config]), 'cleanup');
    assert.equal(await cleanup.exited, 0, cleanup.out);
    assert.match(cleanup.out, /undid what a gateway that did not stop cleanly left: nftables table inet fourover6, sysctl net\.ipv4\.ip_forward changed \(was 0\);/);
    assert.equal(await ipForward(), '0');
    assert.equal(await natTable(), false);

    const again = new Proc(ns.spawn(process.execPath, [SERVER, '--cleanup', '-c', config]), 'cleanup');
    assert.equal(await again.exited, 0, again.out);
    assert.match(again.out, /nothing to undo/);
  });

  test('a TUN name taken by another device since the kill: nothing recorded on it is undone', async () => {
    await ns.exec('sysctl', ['-w', 'net.ipv4.ip_forward=0']);
    const killed = await startGateway();
    const tun = /TUN (4o6j\d+)/.exec(killed.out)?.[1];
    assert.ok(tun, killed.out);
    await killHard(killed);
    // Someone else's (persistent) TUN device under the same name, with the same address on it.
    await ns.exec('ip', ['tuntap', 'add', 'dev', tun, 'mode', 'tun']);
    await ns.exec('ip', ['addr', 'add', '198.18.0.1/24', 'dev', tun]);
    try {
      const cleanup = new Proc(ns.spawn(process.execPath, [SERVER, '--cleanup', '-c', config]), 'cleanup');
      assert.equal(await cleanup.exited, 0, cleanup.out);
      assert.match(cleanup.out, /left \d+ on a device that belongs to another process now/);
      assert.match(await ns.exec('ip', ['-o', 'addr', 'show', 'dev', tun]), /198\.18\.0\.1\/24/, 'their address stays');
      assert.equal(await ipForward(), '0', 'the rest is undone');
      assert.equal(await natTable(), false);
    } finally {
      await ns.exec('ip', ['link', 'delete', tun]);
    }
  });

  test('a stale pid file (its process gone) does not block a start', async () => {
    writeFileSync(join(stateDir, 'gateway.pid'), '999999\n');
    const p = await startGateway();
    await waitFor(() => readFileSync(join(stateDir, 'gateway.pid'), 'utf8') === `${p.child.pid}\n`, { timeoutMs: 5000, what: 'our pid in the pid file' });
    assert.equal(await p.stop('SIGTERM'), 0, p.out);
  });
});

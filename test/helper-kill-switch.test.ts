// The kill switch through the root helper, as the app drives it (electron/helper-client.ts): the
// connect command's mode, setKillSwitch at any time, and what the status and `system` events say is in
// place (the guard table, and the tunnel's changes kept while reconnecting). Real helper and gateway
// processes in two namespaces; needs root.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import type { SystemStatus } from '../contract/helper-api';
import { HelperClient } from '../electron/helper-client';
import { Proc } from './support/proc';
import { type TwoHostNet, cleanupStaleNamespaces, createTwoHostNet, waitFor } from './support/netns';
import { needsProgram, needsRoot, skipUnless } from './support/requirements';
import { testGatewayYaml } from './support/gateway-config';

const DIST = join(__dirname, '..');
const skip = skipUnless(needsRoot(), needsProgram('nft', 'apt-get install nftables'));

describe('kill switch through the root helper', { skip, timeout: 120_000 }, () => {
  let net: TwoHostNet;
  let dir: string;
  let socketPath: string;
  const token = randomBytes(32).toString('hex');
  const procs: Proc[] = [];
  let server: Proc;

  async function startServer(): Promise<Proc> {
    const config = join(dir, 'server.yaml');
    writeFileSync(config, testGatewayYaml({ stateDir: join(dir, 'gw') }));
    const p = new Proc(net.spawn(net.server, process.execPath, [join(DIST, 'server', 'main.js'), '-c', config]), 'server');
    procs.push(p);
    await p.waitFor(/listening on/);
    return p;
  }

  async function startHelper(): Promise<Proc> {
    const p = new Proc(net.spawn(net.client, process.execPath, [
      join(DIST, 'helper', 'main.js'), '--mode', 'spawned', '--socket', socketPath, '--allow-uid', '0',
      '--journal', join(dir, 'journal.jsonl'), '--client-ids', join(dir, 'ids.json'), '--resolv-conf', join(dir, 'resolv.conf'),
      '--tun-name', '4o6g0', '--app-gone-seconds', '60',
    ]), 'helper');
    p.child.stdin?.end(token + '\n');
    procs.push(p);
    await p.waitFor(/READY /);
    return p;
  }

  const tables = async () => (await net.exec(net.client, 'nft', ['list', 'tables'])).trim();

  before(async () => {
    await cleanupStaleNamespaces();
    net = await createTwoHostNet('hks');
    dir = mkdtempSync(join(tmpdir(), '4o6-hks-'));
    mkdirSync(join(dir, 'run'), { mode: 0o755 });
    socketPath = join(dir, 'run', 'helper.sock');
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 198.18.9.9\n');
    server = await startServer();
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await net?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('lockdown before any tunnel, the guard while connected and reconnecting, lifted by setKillSwitch; lockdown outlives the helper and its next start keeps it until the mode changes', async () => {
    const helper = await startHelper();
    const app = await HelperClient.connect({ socketPath, token });
    const system: SystemStatus[] = [];
    app.on('system', (s) => system.push(s));
    await app.subscribe();

    // Lockdown while idle: blocked at once, and said so.
    const locked = await app.setKillSwitch('lockdown', false);
    assert.deepEqual(locked.guard, { mode: 'lockdown', allowLan: false, active: true, blocking: true });
    assert.ok(locked.changes.some((c) => /^kill switch: nftables table inet fourover6-guard/.test(c)), locked.changes.join('\n'));
    assert.match(await tables(), /inet fourover6-guard/);
    await waitFor(() => system.some((s) => s.guard.active && s.guard.mode === 'lockdown'), { timeoutMs: 5000, what: 'a system event with the lockdown' });

    // A tunnel with the default mode (on): the guard lets the tunnel through; nothing blocks.
    await app.connectTunnel({ name: 'gw', server: net.serverAddress, port: 5555, uuid: null, autoReconnect: true });
    await waitFor(async () => (await app.status()).state.kind === 'connected', { timeoutMs: 15_000, what: 'connected' });
    const up = await app.status();
    assert.deepEqual(up.guard, { mode: 'on', allowLan: false, active: true, blocking: false });
    // "Connected" is said once the guard lets the tunnel through.
    assert.match(await net.exec(net.client, 'nft', ['list', 'table', 'inet', 'fourover6-guard']), /oifname "4o6g0" accept/);

    // Reconnecting: the tunnel's changes are still listed (they are still in place), and traffic is blocked.
    await server.stop();
    await waitFor(async () => (await app.status()).state.kind === 'reconnecting', { timeoutMs: 10_000, what: 'reconnecting' });
    const down = await app.status();
    assert.deepEqual(down.guard, { mode: 'on', allowLan: false, active: true, blocking: true });
    assert.ok(down.changes.some((c) => /198\.18\.0\.2\/24 on 4o6g0/.test(c)), `the address is still listed:\n${down.changes.join('\n')}`);
    assert.ok(down.changes.some((c) => /route 0\.0\.0\.0\/1 via 4o6g0/.test(c)), down.changes.join('\n'));
    await waitFor(() => system.some((s) => s.guard.blocking && s.changes.some((c) => /4o6g0/.test(c))), { timeoutMs: 5000, what: 'a system event: blocked, tunnel still in place' });

    // Disconnect with "on": everything goes, the table too.
    const idle = await app.disconnectTunnel();
    assert.deepEqual(idle.changes, []);
    assert.deepEqual(idle.guard, { mode: 'on', allowLan: false, active: false, blocking: false });
    assert.equal(await tables(), '');

    // Lockdown again, then the helper exits: the block stays (journalled), and its next start keeps
    // it before any app is back (kill-switch.json beside the journal), until the app changes the mode.
    await app.setKillSwitch('lockdown', false);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'kill-switch.json'), 'utf8')), { mode: 'lockdown', allowLan: false });
    await app.shutdown().catch(() => null);
    app.close();
    await helper.exited;
    assert.match(helper.out, /every change undone but the kill switch's block \(lockdown\), which the next start keeps/);
    assert.match(await tables(), /inet fourover6-guard/);
    const next = await startHelper();
    assert.doesNotMatch(next.out, /undoing|undone/, 'the block is kept through the start, not lifted and set again');
    assert.match(next.out, /kill switch: lockdown kept from the last run/);
    assert.match(await tables(), /inet fourover6-guard/, 'lockdown holds across the restart');
    const app2 = await HelperClient.connect({ socketPath, token });
    assert.deepEqual((await app2.status()).guard, { mode: 'lockdown', allowLan: false, active: true, blocking: true });
    const lifted = await app2.setKillSwitch('on', false);
    assert.deepEqual(lifted.guard, { mode: 'on', allowLan: false, active: false, blocking: false });
    assert.equal(await tables(), '');
    assert.equal(existsSync(join(dir, 'kill-switch.json')), false, 'the default mode keeps no file');
    await app2.shutdown().catch(() => null);
    app2.close();
    await next.exited;
    const third = await startHelper();
    assert.equal(await tables(), '', 'with "on" saved, a start blocks nothing');
    const app3 = await HelperClient.connect({ socketPath, token });
    assert.deepEqual((await app3.status()).guard, { mode: 'on', allowLan: false, active: false, blocking: false });
    await app3.shutdown().catch(() => null);
    app3.close();
    await third.exited;
  });
});

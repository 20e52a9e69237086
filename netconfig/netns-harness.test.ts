// Tests of the namespace harness (test/support/netns.ts) that every end-to-end test relies on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { needsRoot, skipUnless } from '../test/support/requirements';
import { runCommand } from './command';
import { cleanupStaleNamespaces, createTwoHostNet, listNamespaces, TEST_NETNS_PREFIX, waitFor } from '../test/support/netns';

const skip = skipUnless(needsRoot('ip netns'));

describe('test namespace harness', { skip }, () => {
  it('createTwoHostNet joins two namespaces over IPv6 and cleanup removes both and their processes', async () => {
    const net = await createTwoHostNet('ping');
    let sleeper;
    try {
      assert.match(net.client, /^4o6t-\d+-\d+ping-c$/);
      assert.match(net.clientAddress, /^fd00:[0-9a-f]+::1$/);
      const names = await listNamespaces();
      assert.ok(names.includes(net.client) && names.includes(net.server));
      await waitFor(
        async () => {
          await net.exec(net.client, 'ping', ['-6', '-c', '1', '-W', '1', net.serverAddress]);
          return true;
        },
        { timeoutMs: 10_000, what: `ping6 ${net.serverAddress} from ${net.client}` },
      );
      const out = await net.exec(net.server, 'ping', ['-6', '-c', '2', '-i', '0.2', net.clientAddress]);
      assert.match(out, /2 received/);
      // The host sees none of it.
      assert.doesNotMatch(await runCommand('ip', ['-6', 'addr']), /fd00:[0-9a-f]+::[12]\//);
      sleeper = net.spawn(net.server, 'sleep', ['60']);
    } finally {
      await net.cleanup();
    }
    const names = await listNamespaces();
    assert.ok(!names.includes(net.client) && !names.includes(net.server));
    await waitFor(() => sleeper?.exitCode !== null || sleeper?.signalCode !== null, { timeoutMs: 5000, what: 'the spawned sleep to be killed' });
    await net.cleanup(); // idempotent
  });

  it('cleanupStaleNamespaces removes only leftovers of dead test processes', async () => {
    // A pid that certainly belonged to a process that has exited.
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    const stale = `${TEST_NETNS_PREFIX}${dead.pid}-1stale`;
    const mine = `${TEST_NETNS_PREFIX}${process.pid}-999mine`;
    await runCommand('ip', ['netns', 'add', stale]);
    await runCommand('ip', ['netns', 'add', mine]);
    try {
      await cleanupStaleNamespaces(TEST_NETNS_PREFIX);
      const names = await listNamespaces();
      assert.ok(!names.includes(stale), 'stale namespace left');
      assert.ok(names.includes(mine), 'live process namespace removed');
      await assert.rejects(cleanupStaleNamespaces('4o'), /too-broad prefix/);
    } finally {
      for (const ns of [stale, mine]) await runCommand('ip', ['netns', 'delete', ns]).catch(() => {});
    }
  });

  it('waitFor names what it waited for', async () => {
    await assert.rejects(waitFor(() => false, { timeoutMs: 100, what: 'the moon' }), /timed out after 100 ms waiting for the moon/);
    await assert.rejects(
      waitFor(() => { throw new Error('boom'); }, { timeoutMs: 100, what: 'x' }),
      /waiting for x \(last error: boom\)/,
    );
  });
});

// Super-packets through real TUN devices and the real kernel: two namespaces, each with a coalescing
// TUN read with superPackets, joined by a minimal tunnel (super-relay.ts, one process per namespace,
// over a Unix socket). A TCP transfer from one namespace to a socket in the other crosses it: the
// sender's kernel hands TSO super-packets to the TUN read whole (kind 1, gso_size = the MSS), they
// travel as regions and are written to the other TUN as one GSO packet each, and the receiving
// socket must get every byte intact. Needs root.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { createTestNamespace } from '../test/support/netns';
import { needsRoot, skipUnless } from '../test/support/requirements';
import type { RelayConfig, RelayStats } from './super-relay';

const RELAY = join(__dirname, 'super-relay.js');
const MTU = 1500;
const MSS = MTU - 20 - 20 - 12; // Linux TCP uses timestamps: 12 option bytes per segment

interface Event {
  event: string;
  [key: string]: unknown;
}

function relay(t: TestContext, spawnIn: (file: string, args: string[]) => ChildProcess, config: RelayConfig) {
  const child = spawnIn(process.execPath, [RELAY, JSON.stringify(config)]);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const queue: Event[] = [];
  let wake: (() => void) | undefined;
  let exited = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    queue.push(JSON.parse(line) as Event);
    wake?.();
  });
  child.on('exit', () => {
    exited = true;
    wake?.();
  });
  const next = async (event: string, timeoutMs = 15_000): Promise<Event> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const fatal = queue.find((e) => e.event === 'fatal');
      if (fatal) assert.fail(`relay ${config.side} failed: ${String(fatal.message)}; stderr: ${stderr}`);
      const index = queue.findIndex((e) => e.event === event);
      if (index >= 0) return queue.splice(index, 1)[0]!;
      if (exited) assert.fail(`relay ${config.side} exited before "${event}"; stderr: ${stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`no "${event}" from relay ${config.side} within ${timeoutMs} ms; stderr: ${stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  const send = (command: string) => child.stdin!.write(`${command}\n`);
  const stats = async (): Promise<RelayStats> => {
    send('stats');
    return (await next('stats')).stats as RelayStats;
  };
  return { next, send, stats };
}

test('TSO reads travel whole as super-packet regions and are written as one GSO packet: a TCP transfer arrives intact', { skip: skipUnless(needsRoot()) }, async (t) => {
  const nsA = await createTestNamespace('spa');
  t.after(() => nsA.cleanup());
  const nsB = await createTestNamespace('spb');
  t.after(() => nsB.cleanup());
  const dir = mkdtempSync(join(tmpdir(), '4o6-relay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socketPath = join(dir, 'relay.sock');
  const bytes = 8 << 20;
  const common = { socketPath, port: 5201, sinkAddress: '198.18.21.1', bytes };
  const a = relay(t, nsA.spawn, { ...common, side: 'a', tunName: '4o6spa', address: '198.18.20.1/24', peerNet: '198.18.21.0/24' });
  await a.next('listening');
  const b = relay(t, nsB.spawn, { ...common, side: 'b', tunName: '4o6spb', address: '198.18.21.1/24', peerNet: '198.18.20.0/24' });
  await b.next('ready');
  await b.next('sinking');
  await a.next('ready');

  // Bogus regions on the real device are skipped (written 0), and the device keeps working.
  b.send('bogus');
  assert.equal((await b.next('bogus')).written, 0);

  a.send('go');
  const received = await b.next('received', 60_000);
  assert.equal(received.bytes, bytes);
  assert.equal(received.mismatch, null, 'every byte intact');

  const sender = await a.stats();
  const receiver = await b.stats();
  const detail = JSON.stringify({ sender, receiver });
  t.diagnostic(detail);
  assert.ok(sender.superRead > 0, `the sender's TUN read super-packets whole: ${detail}`);
  assert.deepEqual(sender.gsoSizes, [MSS], `gso_size is the flow's MSS: ${detail}`);
  assert.ok(sender.largestRegion > 4 + MTU, `a region longer than the MTU: ${detail}`);
  assert.ok(sender.largestRegion <= 4 + 65535, detail);
  // Most of the data went as super-packets, and the receiver's kernel took each as one write.
  assert.equal(receiver.superSent, sender.superRead, `every region crossed: ${detail}`);
  assert.equal(receiver.superWritten, receiver.superSent, `each region written as one GSO packet: ${detail}`);
  a.send('exit');
  b.send('exit');
});

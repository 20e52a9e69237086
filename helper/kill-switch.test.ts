// Which guard each (mode, state) calls for, and the kill switch keeping the table in line with it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KillSwitchMode } from '../contract/helper-api';
import { IDLE, type LeaseInfo, type TunnelState } from '../contract/tunnel-state';
import { createLogger } from '../log/logger';
import type { GuardSpec } from '../netconfig/guard-table';
import { KillSwitch, guardSpecFor } from './kill-switch';

const LEASE: LeaseInfo = { address: '198.18.0.2', prefixLength: 24, route: '0.0.0.0', dns: ['198.18.0.53'], tunName: '4o6c0', mtu: 1500 };
const GW = 'fd00:1::2';
const LAN = ['198.18.77.0/24'];
const failure = { reason: 'connection-lost' as const, message: '' };
const first = (phase: 'resolving' | 'tcp' | 'awaiting-ip'): TunnelState =>
  ({ kind: 'connecting', server: 'gw', phase, attempt: 1, serverAddress: phase === 'resolving' ? null : GW, onLoss: 'reconnect', held: null });
const states: Record<string, TunnelState> = {
  idle: IDLE,
  failed: { kind: 'failed', failure },
  resolving: first('resolving'),
  tcp: first('tcp'),
  awaiting: first('awaiting-ip'),
  connected: { kind: 'connected', server: 'gw', serverAddress: GW, lease: LEASE, sinceMs: 0, attempt: 1, onLoss: 'reconnect', previousAddress: null },
  reconnecting: { kind: 'reconnecting', server: 'gw', serverAddress: GW, held: LEASE, attempt: 0, retryInMs: 1000, lastFailure: failure },
  retrying: { kind: 'connecting', server: 'gw', phase: 'tcp', attempt: 1, serverAddress: GW, onLoss: 'reconnect', held: LEASE },
  disconnecting: { kind: 'disconnecting', then: 'idle', failure: null },
};
const block = (gateway: boolean): GuardSpec => ({ tunnelDev: null, dnsServers: null, gateway: gateway ? { address: GW, port: 5555 } : null, lanNetworks: LAN });
const tunnel: GuardSpec = { tunnelDev: '4o6c0', dnsServers: ['198.18.0.53'], gateway: { address: GW, port: 5555 }, lanNetworks: LAN };

test('guardSpecFor: the table of mode x state', () => {
  const expected: Record<KillSwitchMode, Record<string, GuardSpec | null>> = {
    off: Object.fromEntries(Object.keys(states).map((k) => [k, null])),
    on: {
      idle: null, failed: null, resolving: null, tcp: block(true), awaiting: block(true),
      connected: tunnel, reconnecting: tunnel, retrying: tunnel, disconnecting: block(false),
    },
    lockdown: {
      idle: block(false), failed: block(false), resolving: block(false), tcp: block(true), awaiting: block(true),
      connected: tunnel, reconnecting: tunnel, retrying: tunnel, disconnecting: block(false),
    },
  };
  for (const mode of ['off', 'on', 'lockdown'] as const) {
    for (const [name, state] of Object.entries(states)) {
      assert.deepEqual(guardSpecFor(mode, state, 5555, LAN), expected[mode][name], `${mode} / ${name}`);
    }
  }
});

test('guardSpecFor: a tunnel without the server\'s DNS leaves DNS unrestricted', () => {
  const noDns: TunnelState = { ...states.connected, lease: { ...LEASE, dns: [] } } as TunnelState;
  assert.equal(guardSpecFor('on', noDns, 5555, [])?.dnsServers, null);
});

class FakeTable {
  readonly calls: string[] = [];
  failNext: Error | null = null;
  async setGuard(spec: GuardSpec) {
    if (this.failNext) { const e = this.failNext; this.failNext = null; throw e; }
    this.calls.push(`set ${spec.tunnelDev ?? 'block'}${spec.lanNetworks.length ? ` lan ${spec.lanNetworks.join(',')}` : ''}`);
  }
  async removeGuard() { this.calls.push('remove'); }
}
const quiet = createLogger({ level: 'error', write: () => {} });

test('the kill switch follows the tunnel: one table change per change of spec, lifted at the end (on)', async () => {
  const table = new FakeTable();
  const ks = new KillSwitch(table, { mode: 'on', allowLan: false, log: quiet });
  for (const s of ['resolving', 'tcp', 'awaiting', 'connected', 'reconnecting', 'retrying', 'connected', 'disconnecting', 'idle']) {
    await ks.follow(states[s]!, 5555);
  }
  assert.deepEqual(table.calls, ['set block', 'set 4o6c0', 'set block', 'remove']);
  assert.deepEqual(ks.status(), { mode: 'on', allowLan: false, active: false, blocking: false });
});

test('status: blocking whenever the table is up and no tunnel carries traffic', async () => {
  const ks = new KillSwitch(new FakeTable(), { mode: 'on', allowLan: false, log: quiet });
  await ks.follow(states.connected!, 5555);
  assert.deepEqual(ks.status(), { mode: 'on', allowLan: false, active: true, blocking: false });
  await ks.follow(states.reconnecting!, 5555);
  assert.deepEqual(ks.status(), { mode: 'on', allowLan: false, active: true, blocking: true });
});

test('lockdown blocks while idle, stays after disconnect, and goes only when the mode changes', async () => {
  const table = new FakeTable();
  const ks = new KillSwitch(table, { mode: 'off', allowLan: false, log: quiet });
  await ks.set('lockdown', false);
  assert.deepEqual(ks.status(), { mode: 'lockdown', allowLan: false, active: true, blocking: true });
  await ks.follow(states.connected!, 5555);
  await ks.follow(states.disconnecting!, 5555);
  await ks.follow(IDLE, 5555);
  assert.equal(ks.status().active, true);
  await ks.set('on', false);
  assert.deepEqual(table.calls, ['set block', 'set 4o6c0', 'set block', 'remove']);
  assert.deepEqual(ks.status(), { mode: 'on', allowLan: false, active: false, blocking: false });
});

test('allow LAN: the networks are read without the tunnel device, and re-read at each change', async () => {
  const table = new FakeTable();
  const asked: string[][] = [];
  const ks = new KillSwitch(table, { mode: 'on', allowLan: true, log: quiet, readLanNetworks: async (exclude) => { asked.push(exclude); return LAN; } });
  await ks.follow(states.connected!, 5555);
  await ks.set('off', true);
  assert.deepEqual(asked, [['4o6c0']], 'mode off reads nothing');
  assert.deepEqual(table.calls, ['set 4o6c0 lan 198.18.77.0/24', 'remove']);
});

test('a report taken when the table says it changed is followed by one taken after the status changed', async () => {
  // The helper's `system` event on the table's change notice said "active" after the lift (the app
  // kept showing the block): onStatusChange comes once status() is up to date.
  const seen: string[] = [];
  let ks: KillSwitch;
  const table = {
    async setGuard() { seen.push(`table set, status active=${ks.status().active}`); },
    async removeGuard() { seen.push(`table removed, status active=${ks.status().active}`); },
  };
  ks = new KillSwitch(table, { mode: 'on', allowLan: false, log: quiet, onStatusChange: () => seen.push(`changed, status active=${ks.status().active}`) });
  await ks.follow(states.connected!, 5555);
  await ks.follow(states.connected!, 5555); // the same spec: nothing changes, nothing reported
  await ks.follow(IDLE, 5555);
  assert.deepEqual(seen, [
    'table set, status active=false', 'changed, status active=true',
    'table removed, status active=true', 'changed, status active=false',
  ]);
});

test('a table that cannot be set: the caller hears of it, and the next change tries again', async () => {
  const table = new FakeTable();
  const ks = new KillSwitch(table, { mode: 'on', allowLan: false, log: quiet });
  table.failNext = new Error('nft: not installed');
  await assert.rejects(ks.follow(states.connected!, 5555), /not installed/);
  assert.equal(ks.status().active, false);
  await ks.follow(states.connected!, 5555);
  assert.deepEqual(table.calls, ['set 4o6c0']);
});

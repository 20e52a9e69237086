import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AboutInfo, TunnelSnapshot } from '../contract/ipc-schema';
import { emptyStats } from '../contract/stats';
import { Redactor, diagnosticsBundle, diagnosticsFileName } from './diagnostics';
import { LogBook } from './log-book';

const KEY = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';

test('keys, IPv6 and IPv4 addresses and server names become numbered placeholders, the same per value', () => {
  const r = new Redactor(['vpn.example.org']);
  assert.equal(r.text(`key ${KEY} and ${KEY.toUpperCase()}`), 'key <key-1> and <key-1>');
  assert.equal(r.text('connect ENETUNREACH fd00:46::1:5555 - Local (:::0)'), 'connect ENETUNREACH <ipv6-1> - Local (:::0)');
  assert.equal(r.text('cannot connect to [fd00:46:0::1]:5555 via fe80::1%veth0'), 'cannot connect to [<ipv6-2>]:5555 via <ipv6-3>');
  assert.equal(r.text('address 198.18.0.2/24 on 4o6u0, DNS 198.18.0.53, route 0.0.0.0/1'), 'address <ipv4-1>/24 on 4o6u0, DNS <ipv4-2>, route 0.0.0.0/1');
  assert.equal(r.text('resolving vpn.example.org (VPN.EXAMPLE.ORG) but not myvpn.example.org.uk'), 'resolving <host-1> (<host-1>) but not myvpn.example.org.uk');
  assert.equal(r.text('fd00:46::1 again'), '<ipv6-2> again', 'the same address (however written), the same placeholder');
  // Things that look a bit like addresses are left alone.
  assert.equal(r.text('2026-11-30T18:36:37.123Z connected for 1:02:03, version 1.2.3.4.5, ::1 and 127.0.0.1'),
    '2026-11-30T18:36:37.123Z connected for 1:02:03, version 1.2.3.4.5, ::1 and 127.0.0.1');
});

test('the bundle holds state, profiles and logs, and none of the keys, addresses or server names', () => {
  const log = new LogBook();
  log.add('helper', 'info', `connecting to [fd00:46::1]:5555 with key ${KEY}`, 1_000);
  log.add('app', 'warn', 'lease 198.18.0.2 from gw.example.net', 2_000);
  const snapshot: TunnelSnapshot = {
    state: { kind: 'failed', failure: { reason: 'server-unreachable', message: 'connect ECONNREFUSED fd00:46::1:5555' } } as TunnelSnapshot['state'],
    profileId: 'p1', profileName: 'Office', stats: emptyStats(), changes: ['address 198.18.0.2/24 on 4o6u0'],
    helper: { status: 'connected', mode: 'spawned', error: null },
  } as TunnelSnapshot;
  const about: AboutInfo = { appName: '4over6', appVersion: '0.1.0', appLicense: 'MIT', runtime: 'Node 20', helper: { protocolVersion: 1, mode: 'spawned', pid: 42 }, licences: [{ name: 'zod', version: '4', license: 'MIT' }] };
  const profiles = [
    { id: '2f0e4a52-6a43-4d0e-9a57-4f1f3c1f9b10', name: 'Office', server: 'fd00:46::1', port: 5555, encryption: true, uuid: KEY, autoReconnect: true, dns: true },
    { id: '3f0e4a52-6a43-4d0e-9a57-4f1f3c1f9b10', name: 'Lab', server: 'gw.example.net', port: 6000, encryption: false, uuid: null, autoReconnect: true, dns: false },
  ];
  const text = diagnosticsBundle({ about, snapshot, profiles, logs: log.list(), nowMs: Date.UTC(2026, 10, 30) });
  const doc = JSON.parse(text) as { format: string; about: AboutInfo; profiles: { name: string; server: string; uuid: string | null; port: number }[]; log: string[]; tunnel: TunnelSnapshot };
  for (const secret of [KEY, 'fd00:46::1', '198.18.0.2', 'gw.example.net', '2f0e4a52']) {
    assert.equal(text.toLowerCase().includes(secret.toLowerCase()), false, `${secret} is in the bundle`);
  }
  assert.equal(doc.format, '4over6-diagnostics');
  assert.equal(doc.about.appVersion, '0.1.0');
  assert.deepEqual(doc.profiles.map((p) => [p.name, p.server, p.uuid, p.port]), [['Office', '<ipv6-2>', '<key-1>', 5555], ['Lab', '<host-1>', null, 6000]]);
  assert.match(doc.log[0], /helper info: connecting to \[<ipv6-2>\]:5555 with key <key-1>$/);
  assert.match(doc.log[1], /app warn: lease <ipv4-1> from <host-1>$/);
  assert.equal(doc.tunnel.changes[0], 'address <ipv4-1>/24 on 4o6u0');
  assert.equal(diagnosticsFileName(Date.UTC(2026, 10, 30, 18, 5, 6)), '4over6-diagnostics-2026-11-30T18-05-06-000Z.json');
});

test('the log book keeps the newest entries, numbered, with long lines cut', () => {
  const log = new LogBook(3);
  for (let i = 1; i <= 5; i++) log.add('app', 'info', `line ${i}`, i);
  assert.deepEqual(log.list().map((e) => [e.seq, e.message]), [[3, 'line 3'], [4, 'line 4'], [5, 'line 5']]);
  const long = log.add('helper', 'warn', 'x'.repeat(10_000), 6);
  assert.ok(long.message.length < 2100 && long.message.endsWith('(10000 characters)'));
});

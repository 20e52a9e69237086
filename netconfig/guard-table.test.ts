// The guard table's ruleset, byte for byte, and what it refuses to build; the LAN from `ip -j` output.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GUARD_TABLE, guardRuleset, isGuardTable, localIpv4Networks } from './guard-table';
import { NetConfigInputError } from './validate';

const TUNNEL = { tunnelDev: '4o6c0', dnsServers: ['198.18.0.53', '198.18.0.54'], gateway: { address: 'FD00:1:0::2', port: 5555 }, lanNetworks: [] };

test('tunnel: IPv4 only through the device, DNS only to its servers, the gateway and DHCP let through', () => {
  assert.equal(guardRuleset(TUNNEL), `table inet fourover6-guard {}
delete table inet fourover6-guard
table inet fourover6-guard {
  chain output {
    type filter hook output priority filter; policy accept;
    oifname "lo" accept
    ip6 daddr fd00:1::2 tcp dport 5555 accept
    udp sport 68 udp dport 67 accept
    oifname "4o6c0" ip daddr { 198.18.0.53, 198.18.0.54 } meta l4proto { tcp, udp } th dport 53 accept
    meta l4proto { tcp, udp } th dport 53 reject with icmpx admin-prohibited
    meta nfproto ipv4 oifname "4o6c0" accept
    meta nfproto ipv4 reject with icmpx admin-prohibited
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    meta nfproto ipv4 oifname "4o6c0" accept
    meta nfproto ipv4 drop
  }
}
`);
});

test('block: no device, no DNS rule, the LAN allowed both ways out', () => {
  const text = guardRuleset({ tunnelDev: null, dnsServers: null, gateway: null, lanNetworks: ['198.18.77.0/24', '198.18.77.0/24', '198.19.0.0/16'] });
  assert.doesNotMatch(text, /oifname "4o6/);
  assert.doesNotMatch(text, /dport 53/);
  assert.doesNotMatch(text, /ip6 daddr/);
  assert.match(text, /udp sport 68 udp dport 67 accept\n    ip daddr \{ 198\.18\.77\.0\/24, 198\.19\.0\.0\/16 \} accept\n    meta nfproto ipv4 reject/);
  assert.match(text, /chain forward \{\n.*\n    ip daddr \{ 198\.18\.77\.0\/24, 198\.19\.0\.0\/16 \} accept\n    meta nfproto ipv4 drop\n/);
});

test('a tunnel without the server\'s DNS leaves DNS alone; with an empty list, all DNS is refused', () => {
  assert.doesNotMatch(guardRuleset({ ...TUNNEL, dnsServers: null }), /dport 53/);
  const none = guardRuleset({ ...TUNNEL, dnsServers: [] });
  assert.doesNotMatch(none, /dport 53 accept/);
  assert.match(none, /th dport 53 reject/);
});

test('nothing unchecked reaches nft', () => {
  const bad: Array<[string, Parameters<typeof guardRuleset>[0]]> = [
    ['device with a quote', { ...TUNNEL, tunnelDev: 'x" accept #' }],
    ['device too long', { ...TUNNEL, tunnelDev: 'a'.repeat(16) }],
    ['DNS not IPv4', { ...TUNNEL, dnsServers: ['198.18.0.53; flush ruleset'] }],
    ['DNS without a device', { ...TUNNEL, tunnelDev: null }],
    ['gateway not IPv6', { ...TUNNEL, gateway: { address: '198.18.0.1', port: 5555 } }],
    ['gateway with a zone', { ...TUNNEL, gateway: { address: 'fe80::1%eth0', port: 5555 } }],
    ['port 0', { ...TUNNEL, gateway: { address: 'fd00::2', port: 0 } }],
    ['port 65536', { ...TUNNEL, gateway: { address: 'fd00::2', port: 65536 } }],
    ['port not whole', { ...TUNNEL, gateway: { address: 'fd00::2', port: 1.5 } }],
    ['LAN with host bits', { ...TUNNEL, lanNetworks: ['198.18.77.1/24'] }],
    ['LAN not a network', { ...TUNNEL, lanNetworks: ['} accept'] }],
  ];
  for (const [what, spec] of bad) assert.throws(() => guardRuleset(spec), NetConfigInputError, what);
});

test('isGuardTable: only our table', () => {
  assert.equal(isGuardTable({ kind: 'nft-table', ...GUARD_TABLE }), true);
  assert.equal(isGuardTable({ kind: 'nft-table', family: 'inet', name: 'fourover6' }), false);
  assert.equal(isGuardTable({ kind: 'nft-table', family: 'ip', name: 'fourover6-guard' }), false);
  assert.equal(isGuardTable({ kind: 'link-up', dev: 'fourover6-guard' }), false);
});

test('the LAN: IPv4 networks of every interface but loopback and the tunnel', () => {
  const json = JSON.stringify([
    { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
    { ifindex: 2, ifname: 'veth1', flags: ['UP'], addr_info: [{ family: 'inet', local: '198.18.77.1', prefixlen: 24 }, { family: 'inet', local: '198.19.3.9', prefixlen: 16 }] },
    { ifindex: 3, ifname: '4o6c0', flags: ['UP'], addr_info: [{ family: 'inet', local: '198.18.0.2', prefixlen: 24 }] },
    { ifindex: 4, ifname: 'eth9', flags: ['UP'], addr_info: [{ family: 'inet6', local: 'fd00::1', prefixlen: 64 }, { family: 'inet', local: 'bogus', prefixlen: 24 },
      { family: 'inet', local: '198.18.5.5', prefixlen: 0 }, { family: 'inet', local: '198.18.6.6', prefixlen: 32 }] },
    { ifindex: 5, ifname: 'odd', flags: ['UP'], addr_info: [{ family: 'inet', local: '127.1.2.3', prefixlen: 16 }] },
    null,
  ]);
  assert.deepEqual(localIpv4Networks(json, ['4o6c0']), ['198.18.6.6/32', '198.18.77.0/24', '198.19.0.0/16']);
  assert.deepEqual(localIpv4Networks('not json', []), []);
  assert.deepEqual(localIpv4Networks('{}', []), []);
});

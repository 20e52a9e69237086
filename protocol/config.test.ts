import assert from 'node:assert/strict';
import { test } from 'node:test';
import { YAMLParseError, parse as parseYaml } from 'yaml';
import { ConfigError, intToIpv4, ipv4ToInt, parseClientConfig, parseServerConfig } from './config';

// The contract's sample, byte for byte (its private addresses are only parsed, never used).
const LEGACY_SERVER = `listen_address: "::"
port: 5555
gateway: "10.0.100.1"
address_range: "10.0.100.2-10.0.100.250"
netmask: "255.255.255.0"
dns0: "192.168.10.1"
dns1: "192.168.10.3"
dns2: "114.114.114.114"
pk: "bbde0d1c-083b-4f20-9cce-799367ba1a5a"   # optional; presence enables encryption
`;
const LEGACY_CLIENT = `server: tunnel.example.org   # IPv6 literal or a name with an AAAA record
port: 5555
pk: "bbde0d1c-083b-4f20-9cce-799367ba1a5a"   # optional; presence enables encryption
`;

function problems(fn: () => unknown): Record<string, string> {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return Object.fromEntries(err.problems.map((p) => [p.key, p.message]));
  }
  return assert.fail('accepted');
}

test('the legacy server_config.yaml is accepted as it is, with our defaults', () => {
  const { config, warnings } = parseServerConfig(LEGACY_SERVER);
  assert.deepEqual(warnings, []);
  assert.equal(config.listenAddress, '::');
  assert.equal(config.port, 5555);
  assert.equal(config.gateway, '10.0.100.1');
  assert.equal(intToIpv4(config.poolFirst), '10.0.100.2');
  assert.equal(intToIpv4(config.poolLast), '10.0.100.250');
  assert.equal(config.prefixLength, 24);
  assert.deepEqual(config.dns, ['192.168.10.1', '192.168.10.3', '114.114.114.114']);
  assert.equal(config.key?.toString('hex'), 'bbde0d1c083b4f209cce799367ba1a5a');
  assert.equal(config.requireEncryption, true);
  assert.equal(config.nat, false);
  assert.equal(config.heartbeatIntervalS, 20);
  assert.equal(config.heartbeatTimeoutS, 60);
});

test('pk is optional; legacy UUID forms (braces, no dashes) are accepted', () => {
  const noKey = LEGACY_SERVER.replace(/^pk:.*$/m, '');
  assert.equal(parseServerConfig(noKey).config.key, null);
  const braces = LEGACY_SERVER.replace(/pk: .*/, 'pk: "{BBDE0D1C-083B-4F20-9CCE-799367BA1A5A}"');
  assert.equal(parseServerConfig(braces).config.key?.toString('hex'), 'bbde0d1c083b4f209cce799367ba1a5a');
});

test('unknown keys are warned about, not fatal', () => {
  const { warnings } = parseServerConfig(LEGACY_SERVER + 'colour: blue\n');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /unknown key "colour"/);
});

test('each bad server value names its key and what was expected', () => {
  const bad = problems(() => parseServerConfig(LEGACY_SERVER
    .replace('port: 5555', 'port: 70000')
    .replace('"10.0.100.1"', '"10.0.100"')
    .replace('listen_address: "::"', 'listen_address: "0.0.0.0"')
    .replace('dns2: "114.114.114.114"', 'dns2: "dns.example"')
    .replace(/pk: .*/, 'pk: "not-a-uuid"')));
  assert.equal(bad.port, 'must be a port number 1-65535, got the number 70000');
  assert.equal(bad.gateway, 'must be a dotted IPv4 address like 198.51.100.1, got "10.0.100"');
  assert.equal(bad.listen_address, 'must be an IPv6 address such as "::", got "0.0.0.0"');
  assert.equal(bad.dns2, 'must be a dotted IPv4 address like 198.51.100.1, got "dns.example"');
  assert.equal(bad.pk, 'must be a UUID like bbde0d1c-083b-4f20-9cce-799367ba1a5a, got "not-a-uuid", which is not a UUID');
});

// One line per case: the whole message a user sees, for a value of the wrong type or a plan that cannot work.
const SERVER = `listen_address: "::"
port: 5555
gateway: "198.18.0.1"
address_range: "198.18.0.2-198.18.0.250"
netmask: "255.255.255.0"
dns0: "198.18.0.53"
dns1: "0.0.0.0"
dns2: "0.0.0.0"
`;
function serverError(edit: (text: string) => string): string {
  try {
    parseServerConfig(edit(SERVER), 'server.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  return assert.fail('accepted');
}
const set = (key: string, value: string) => (text: string) =>
  new RegExp(`^${key}:`, 'm').test(text) ? text.replace(new RegExp(`^${key}:.*$`, 'm'), `${key}: ${value}`) : `${text}${key}: ${value}\n`;

test('a value of the wrong type is named as such, not as a missing key', () => {
  assert.equal(serverError(set('gateway', '123')), 'server.yaml: `gateway` must be a dotted IPv4 address like 198.51.100.1, got the number 123');
  assert.equal(serverError(set('netmask', '24')), 'server.yaml: `netmask` must be a dotted IPv4 mask like 255.255.255.0, got the number 24');
  assert.equal(serverError(set('pk', '12345')), 'server.yaml: `pk` must be a UUID like bbde0d1c-083b-4f20-9cce-799367ba1a5a, got the number 12345');
  assert.equal(serverError(set('max_queue_bytes', '"lots"')), 'server.yaml: `max_queue_bytes` must be a whole number 16384-67108864, got "lots"');
  assert.equal(serverError(set('port', '[5555]')), 'server.yaml: `port` must be a port number 1-65535, got a list');
  assert.equal(serverError(set('nat', 'yes')), 'server.yaml: `nat` must be true or false, got "yes"');
  assert.equal(serverError(set('gateway', '')), 'server.yaml: `gateway` must be a dotted IPv4 address like 198.51.100.1, got an empty value');
  assert.equal(serverError(set('log_level', 'loud')), 'server.yaml: `log_level` must be one of debug, info, warn, error, got "loud"');
  assert.equal(serverError(set('tun_name', '"4o6%d%d"')),
    'server.yaml: `tun_name` must be a network interface name (1-15 letters, digits, "_", ".", ":" or "-", and at most one "%d"), got "4o6%d%d"');
  assert.equal(parseServerConfig(set('tun_name', '"4o6s%d"')(SERVER)).config.tunName, '4o6s%d');
  assert.equal(serverError(set('mtu', '9000')), 'server.yaml: `mtu` must be a whole number 576-2003, got the number 9000');
});

test('missing keys are reported as missing', () => {
  const bad = problems(() => parseServerConfig(LEGACY_SERVER.replace(/^dns1:.*$/m, '').replace(/^gateway:.*$/m, '')));
  assert.equal(bad.dns1, 'is required but missing');
  assert.equal(bad.gateway, 'is required but missing');
});

test('address_range is split at its first "-" and checked', () => {
  const range = (value: string) => set('address_range', `"${value}"`);
  assert.equal(serverError(range('198.18.0.2')),
    'server.yaml: `address_range` must be "first-last", two dotted IPv4 addresses like "198.51.100.2-198.51.100.250", got "198.18.0.2"');
  assert.equal(serverError(range('198.18.0.2-198.18.0.3-4')),
    'server.yaml: `address_range` must be "first-last", two dotted IPv4 addresses like "198.51.100.2-198.51.100.250", got "198.18.0.2-198.18.0.3-4"');
  const spaced = parseServerConfig(range('198.18.0.2 - 198.18.0.3')(SERVER)).config;
  assert.equal(spaced.poolLast - spaced.poolFirst, 1);
});

test('the gateway, its subnet and the pool must fit together', () => {
  const range = (value: string) => set('address_range', `"${value}"`);
  assert.equal(serverError(range('198.18.0.9-198.18.0.2')),
    'server.yaml: `address_range` is reversed: 198.18.0.9 comes after 198.18.0.2; write the lower address first');
  assert.equal(serverError(range('10.0.0.1-10.0.0.10')),
    "server.yaml: `address_range` must lie inside the gateway's subnet 198.18.0.0/24 (gateway 198.18.0.1 with its netmask), got 10.0.0.1-10.0.0.10");
  assert.equal(serverError(range('198.18.0.200-198.18.1.10')),
    "server.yaml: `address_range` must lie inside the gateway's subnet 198.18.0.0/24 (gateway 198.18.0.1 with its netmask), got 198.18.0.200-198.18.1.10");
  assert.equal(serverError(range('198.18.0.0-198.18.0.10')),
    "server.yaml: `address_range` must not contain the subnet's network address 198.18.0.0, got 198.18.0.0-198.18.0.10");
  assert.equal(serverError(range('198.18.0.2-198.18.0.255')),
    "server.yaml: `address_range` must not contain the subnet's broadcast address 198.18.0.255, got 198.18.0.2-198.18.0.255");
  assert.equal(serverError(range('198.18.0.1-198.18.0.10')),
    "server.yaml: `address_range` must not contain the gateway's own address 198.18.0.1, got 198.18.0.1-198.18.0.10");
  assert.equal(serverError(set('gateway', '"198.18.0.0"')),
    'server.yaml: `gateway` must be a host address of its subnet 198.18.0.0/24, got 198.18.0.0, its network address');
  assert.equal(serverError(set('netmask', '"255.0.255.0"')), 'server.yaml: `netmask` must be a contiguous mask like 255.255.255.0, got "255.0.255.0"');
  // A /16 pool with the gateway outside it, in the same subnet, is fine.
  const wide = parseServerConfig(set('netmask', '"255.255.0.0"')(range('198.18.1.0-198.18.7.255')(SERVER))).config;
  assert.equal(wide.prefixLength, 16);
  assert.equal(intToIpv4(wide.poolLast), '198.18.7.255');
});

test('a gateway no client could route to is refused', () => {
  const gateway = (value: string) => set('gateway', `"${value}"`);
  assert.equal(serverError(gateway('127.0.0.1')),
    'server.yaml: `gateway` must be a unicast address clients can route to, got 127.0.0.1, a loopback address (127.0.0.0/8)');
  assert.equal(serverError(gateway('224.0.0.1')),
    'server.yaml: `gateway` must be a unicast address clients can route to, got 224.0.0.1, a multicast address (224.0.0.0/4)');
  assert.equal(serverError(gateway('0.0.0.0')),
    'server.yaml: `gateway` must be a unicast address clients can route to, got 0.0.0.0, an unspecified address (0.0.0.0/8)');
  assert.equal(serverError(gateway('255.255.255.255')),
    'server.yaml: `gateway` must be a unicast address clients can route to, got 255.255.255.255, the broadcast address');
});

test('heartbeat_timeout must exceed heartbeat_interval; nat needs nat_interface', () => {
  assert.equal(serverError((t) => `${t}heartbeat_interval: 30\nheartbeat_timeout: 30\n`),
    'server.yaml: `heartbeat_timeout` must be longer than heartbeat_interval (30 s), got 30 s');
  assert.equal(serverError((t) => `${t}nat: true\n`),
    'server.yaml: `nat_interface` is required when nat is true: the outbound interface to masquerade on');
});

test('not YAML, or not a mapping, is a clear error', () => {
  assert.match(Object.values(problems(() => parseServerConfig('port: [5555')))[0], /not valid YAML/);
  assert.match(Object.values(problems(() => parseServerConfig('- a\n- b')))[0], /mapping/);
});

test('the legacy client_config.yaml is accepted as it is', () => {
  const { config, warnings } = parseClientConfig(LEGACY_CLIENT);
  assert.deepEqual(warnings, []);
  assert.equal(config.server, 'tunnel.example.org');
  assert.equal(config.port, 5555);
  assert.equal(config.key?.length, 16);
  assert.equal(config.mtu, 1500);
  assert.equal(config.defaultRoute, true);
  assert.equal(config.dns, true);
  assert.equal(config.allowPlaintext, false);
});

test('client: IPv6 literal (also bracketed), quoted port; bad host named', () => {
  assert.equal(parseClientConfig('server: "fd00::1"\nport: "5555"\n').config.server, 'fd00::1');
  assert.equal(parseClientConfig('server: "[fd00::1]"\nport: 1\n').config.server, 'fd00::1');
  assert.equal(problems(() => parseClientConfig('server: "bad host!"\nport: 5555\n')).server, 'must be an IPv6 address or a host name, got "bad host!"');
  assert.equal(problems(() => parseClientConfig('server: "fd00::1"\nport: 0\n')).port, 'must be a port number 1-65535, got the number 0');
  assert.equal(problems(() => parseClientConfig('server: 12\nport: 5555\n')).server, 'must be an IPv6 address or a host name, got the number 12');
});

test('every optional server key has its documented default', () => {
  const { config } = parseServerConfig(SERVER);
  assert.deepEqual({ ...config, key: null }, {
    listenAddress: '::', port: 5555, gateway: '198.18.0.1', poolFirst: 0xc6120002, poolLast: 0xc61200fa, netmask: '255.255.255.0', prefixLength: 24,
    dns: ['198.18.0.53', '0.0.0.0', '0.0.0.0'], key: null, requireEncryption: true, nat: false, natInterface: null, tunName: '4over6srv%d', mtu: 1500,
    tunOffload: true, heartbeatIntervalS: 20, heartbeatTimeoutS: 60, logLevel: 'info', metricsListen: null, maxQueueBytes: 1024 * 1024,
    stateDir: '/var/lib/4over6/gateway', ipRequestTimeoutS: 10, maxUnleasedPerAddress: 16, maxUnleasedPerPrefix: 64, maxUnleased: 1024, leaseGraceS: 600,
  });
  assert.equal(config.key, null);
});

test('every optional server key is read when given', () => {
  const text = `${SERVER}require_encryption: false
nat: true
nat_interface: eth1
tun_name: gw0
mtu: 1400
tun_offload: false
heartbeat_interval: 5
heartbeat_timeout: 6
log_level: debug
metrics_listen: " /run/4over6/metrics.sock "
max_queue_bytes: 16384
state_dir: /srv/4over6
ip_request_timeout: 3
max_unleased_per_address: 1
max_unleased_per_prefix: 2
max_unleased: 1000000
lease_grace: 0
`;
  const { config, warnings } = parseServerConfig(text);
  assert.deepEqual(warnings, []);
  assert.deepEqual({ ...config, key: null }, {
    listenAddress: '::', port: 5555, gateway: '198.18.0.1', poolFirst: 0xc6120002, poolLast: 0xc61200fa, netmask: '255.255.255.0', prefixLength: 24,
    dns: ['198.18.0.53', '0.0.0.0', '0.0.0.0'], key: null, requireEncryption: false, nat: true, natInterface: 'eth1', tunName: 'gw0', mtu: 1400,
    tunOffload: false, heartbeatIntervalS: 5, heartbeatTimeoutS: 6, logLevel: 'debug', metricsListen: '/run/4over6/metrics.sock', maxQueueBytes: 16384,
    stateDir: '/srv/4over6', ipRequestTimeoutS: 3, maxUnleasedPerAddress: 1, maxUnleasedPerPrefix: 2, maxUnleased: 1_000_000, leaseGraceS: 0,
  });
  assert.equal(parseServerConfig(`${SERVER}lease_grace: 604800\n`).config.leaseGraceS, 7 * 24 * 3600);
});

test('whole numbers and ports at both ends of their range; text around values is trimmed', () => {
  const accepted: [string, string][] = [
    ['port', '1'], ['port', '65535'], ['port', '" 6000 "'], ['mtu', '576'], ['mtu', '2003'], ['heartbeat_interval', '1'], ['max_queue_bytes', '67108864'],
  ];
  for (const [key, value] of accepted) assert.doesNotThrow(() => parseServerConfig(set(key, value)(SERVER)), `${key}: ${value}`);
  assert.equal(parseServerConfig(set('port', '" 6000 "')(SERVER)).config.port, 6000);
  assert.equal(parseServerConfig(set('gateway', '" 198.18.0.1 "')(SERVER)).config.gateway, '198.18.0.1');
  const refused: [string, string, string][] = [
    ['port', '0', 'must be a port number 1-65535, got the number 0'],
    ['port', '65536', 'must be a port number 1-65535, got the number 65536'],
    ['port', '5555.5', 'must be a port number 1-65535, got the number 5555.5'],
    ['port', '"0x15b3"', 'must be a port number 1-65535, got "0x15b3"'],
    ['port', '"-1"', 'must be a port number 1-65535, got "-1"'],
    ['port', 'true', 'must be a port number 1-65535, got the boolean true'],
    ['port', '{ a: 1 }', 'must be a port number 1-65535, got a mapping'],
    ['mtu', '575', 'must be a whole number 576-2003, got the number 575'],
    ['mtu', '2004', 'must be a whole number 576-2003, got the number 2004'],
    ['mtu', '1400.5', 'must be a whole number 576-2003, got the number 1400.5'],
    ['heartbeat_interval', '0', 'must be a whole number 1-3600, got the number 0'],
    ['heartbeat_timeout', '3601', 'must be a whole number 1-3600, got the number 3601'],
    ['max_queue_bytes', '16383', 'must be a whole number 16384-67108864, got the number 16383'],
    ['lease_grace', '-1', 'must be a whole number 0-604800, got the number -1'],
    ['lease_grace', '604801', 'must be a whole number 0-604800, got the number 604801'],
    ['max_unleased', '0', 'must be a whole number 1-1000000, got the number 0'],
    ['state_dir', 'var/lib/4over6', 'must be an absolute directory path, got "var/lib/4over6"'],
    ['metrics_listen', '" "', 'must be "host:port" or an absolute socket path, got ""'],
    ['nat_interface', 'a-very-long-interface-name', 'must be a network interface name (1-15 letters, digits, "_", ".", ":" or "-"), got "a-very-long-interface-name"'],
    ['nat_interface', '"eth 1"', 'must be a network interface name (1-15 letters, digits, "_", ".", ":" or "-"), got "eth 1"'],
    ['tun_name', '"0123456789abcdef"', 'must be a network interface name (1-15 letters, digits, "_", ".", ":" or "-", and at most one "%d"), got "0123456789abcdef"'],
    ['tun_name', '""', 'must be a network interface name (1-15 letters, digits, "_", ".", ":" or "-", and at most one "%d"), got ""'],
    ['tun_name', '"a b"', 'must be a network interface name (1-15 letters, digits, "_", ".", ":" or "-", and at most one "%d"), got "a b"'],
    ['require_encryption', '1', 'must be true or false, got the number 1'],
    ['listen_address', '"fd00::1 x"', 'must be an IPv6 address such as "::", got "fd00::1 x"'],
  ];
  for (const [key, value, message] of refused) {
    assert.equal(serverError(set(key, value)), `server.yaml: \`${key}\` ${message}`, `${key}: ${value}`);
  }
  assert.equal(parseServerConfig(set('tun_name', '"a.b:c_d-%d"')(SERVER)).config.tunName, 'a.b:c_d-%d');
  assert.equal(parseServerConfig(set('tun_name', '"%dx"')(SERVER)).config.tunName, '%dx');
  assert.equal(parseServerConfig(set('tun_name', '"012345678901234"')(SERVER)).config.tunName, '012345678901234');
  assert.equal(parseServerConfig(set('nat_interface', '"e.t:h_0-1"')(SERVER)).config.natInterface, 'e.t:h_0-1');
});

test('small subnets: /31 and /32 have no network or broadcast address to avoid; /30 does', () => {
  const plan = (gateway: string, netmask: string, range: string) => (t: string) =>
    set('address_range', `"${range}"`)(set('netmask', `"${netmask}"`)(set('gateway', `"${gateway}"`)(t)));
  const p31 = parseServerConfig(plan('198.18.0.0', '255.255.255.254', '198.18.0.1-198.18.0.1')(SERVER)).config;
  assert.deepEqual([p31.prefixLength, intToIpv4(p31.poolFirst), intToIpv4(p31.poolLast)], [31, '198.18.0.1', '198.18.0.1']);
  const p31b = parseServerConfig(plan('198.18.0.1', '255.255.255.254', '198.18.0.0-198.18.0.0')(SERVER)).config;
  assert.equal(intToIpv4(p31b.poolFirst), '198.18.0.0');
  assert.equal(serverError(plan('198.18.0.0', '255.255.255.252', '198.18.0.1-198.18.0.2')),
    'server.yaml: `gateway` must be a host address of its subnet 198.18.0.0/30, got 198.18.0.0, its network address');
  assert.equal(serverError(plan('198.18.0.3', '255.255.255.252', '198.18.0.1-198.18.0.2')),
    'server.yaml: `gateway` must be a host address of its subnet 198.18.0.0/30, got 198.18.0.3, its broadcast address');
  const p30 = parseServerConfig(plan('198.18.0.1', '255.255.255.252', '198.18.0.2-198.18.0.2')(SERVER)).config;
  assert.equal(p30.prefixLength, 30);
  // The gateway at the pool's last address, or inside a one-address pool.
  assert.equal(serverError(plan('198.18.0.10', '255.255.255.0', '198.18.0.2-198.18.0.10')),
    "server.yaml: `address_range` must not contain the gateway's own address 198.18.0.10, got 198.18.0.2-198.18.0.10");
  assert.equal(serverError(plan('198.18.0.5', '255.255.255.0', '198.18.0.5-198.18.0.5')),
    "server.yaml: `address_range` must not contain the gateway's own address 198.18.0.5, got 198.18.0.5-198.18.0.5");
  // A whole /0: every address is in the subnet.
  const all = parseServerConfig(plan('198.18.0.1', '0.0.0.0', '198.18.0.2-198.18.0.9')(SERVER)).config;
  assert.equal(all.prefixLength, 0);
  // A pool right below the gateway's subnet.
  assert.equal(serverError(plan('198.18.1.1', '255.255.255.0', '198.18.0.254-198.18.1.9')),
    "server.yaml: `address_range` must lie inside the gateway's subnet 198.18.1.0/24 (gateway 198.18.1.1 with its netmask), got 198.18.0.254-198.18.1.9");
  // A bad gateway with a bad range: both said, the subnet checks skipped.
  assert.equal(serverError(plan('127.0.0.1', '255.255.255.0', '198.18.0.9-198.18.0.2')),
    'server.yaml: `gateway` must be a unicast address clients can route to, got 127.0.0.1, a loopback address (127.0.0.0/8); ' +
    '`address_range` is reversed: 198.18.0.9 comes after 198.18.0.2; write the lower address first');
  assert.equal(serverError(plan('127.0.0.1', '255.255.255.0', '198.18.0.2-198.18.0.9')),
    'server.yaml: `gateway` must be a unicast address clients can route to, got 127.0.0.1, a loopback address (127.0.0.0/8)');
  // Several problems at once are all named, in one message.
  assert.equal(serverError((t) => `${plan('198.18.0.0', '255.255.255.0', '198.18.0.0-198.18.0.9')(t)}heartbeat_timeout: 20\nnat: true\n`),
    'server.yaml: `gateway` must be a host address of its subnet 198.18.0.0/24, got 198.18.0.0, its network address; ' +
    "`address_range` must not contain the subnet's network address 198.18.0.0, got 198.18.0.0-198.18.0.9; " +
    '`heartbeat_timeout` must be longer than heartbeat_interval (20 s), got 20 s; ' +
    '`nat_interface` is required when nat is true: the outbound interface to masquerade on');
  assert.equal(parseServerConfig(`${SERVER}heartbeat_timeout: 21\n`).config.heartbeatTimeoutS, 21);
});

test('addresses as 32-bit numbers, both ways', () => {
  for (const [text, n] of [['0.0.0.0', 0], ['255.255.255.255', 0xffffffff], ['198.18.0.1', 0xc6120001], ['1.2.3.4', 0x01020304], ['128.0.0.0', 0x80000000]] as const) {
    assert.equal(ipv4ToInt(text), n, text);
    assert.equal(intToIpv4(n), text, text);
  }
});

test('the document: warnings name the file and the key; YAML errors give the line; a problem names the file', () => {
  const { warnings } = parseServerConfig(`${SERVER}colour: blue\nsize: 2\n`, 'gw.yaml');
  assert.deepEqual(warnings, ['gw.yaml: unknown key "colour" ignored', 'gw.yaml: unknown key "size" ignored']);
  assert.deepEqual(parseClientConfig('server: "fd00::1"\nport: 1\nx: 1\n', 'c.yaml').warnings, ['c.yaml: unknown key "x" ignored']);
  const yaml = problems(() => parseServerConfig('port: 5555\nlisten: [1\n'));
  assert.match(yaml[''], /^not valid YAML \(line \d+\): /);
  assert.doesNotMatch(yaml[''], /\n/, 'the first line of the parser\'s message only');
  for (const text of ['', '42', '"text"', '- a\n- b']) {
    assert.deepEqual(problems(() => parseServerConfig(text)), { '': 'the file must be a YAML mapping of keys to values' }, JSON.stringify(text));
  }
  try {
    parseServerConfig('- a', 'gw.yaml');
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.name, 'ConfigError');
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(err.source, 'gw.yaml');
    assert.equal(err.message, 'gw.yaml: the file must be a YAML mapping of keys to values');
  }
  assert.throws(() => parseClientConfig('port: 1\n'), (err: Error) => err.message === 'client_config.yaml: `server` is required but missing');
  assert.throws(() => parseServerConfig('port: 1\n'), (err: Error) => err.message.startsWith('server_config.yaml: `listen_address` is required but missing; `gateway`'));
  // A key present with an empty value is not missing: it has the wrong type.
  assert.equal(problems(() => parseClientConfig('server:\nport: 1\n')).server, 'must be an IPv6 address or a host name, got an empty value');
});

test('every optional client key: its default and its value when given', () => {
  assert.deepEqual(parseClientConfig('server: "fd00::1"\nport: 1\n').config,
    { server: 'fd00::1', port: 1, key: null, mtu: 1500, prefixLength: 24, defaultRoute: true, dns: true, allowPlaintext: false, tunName: '4over6' });
  const given = parseClientConfig('server: " vpn.example.org "\nport: 2\nmtu: 576\nprefix_length: 32\ndefault_route: false\ndns: false\nallow_plaintext: true\ntun_name: vpn0\n');
  assert.deepEqual(given.config,
    { server: 'vpn.example.org', port: 2, key: null, mtu: 576, prefixLength: 32, defaultRoute: false, dns: false, allowPlaintext: true, tunName: 'vpn0' });
  assert.equal(parseClientConfig('server: "fd00::1"\nport: 1\nprefix_length: 1\n').config.prefixLength, 1);
  assert.equal(problems(() => parseClientConfig('server: "fd00::1"\nport: 1\nprefix_length: 0\n')).prefix_length, 'must be a whole number 1-32, got the number 0');
  assert.equal(problems(() => parseClientConfig('server: "fd00::1"\nport: 1\nprefix_length: 33\n')).prefix_length, 'must be a whole number 1-32, got the number 33');
  // Brackets around an IPv6 literal are taken off; inside it they are refused.
  assert.equal(parseClientConfig('server: "[fd00::1]"\nport: 1\n').config.server, 'fd00::1');
  assert.equal(problems(() => parseClientConfig('server: "fd00::[1]"\nport: 1\n')).server, 'must be an IPv6 address or a host name, got "fd00::[1]"');
  // One bracket alone is a typo, not an IPv6 literal: refused, not quietly taken off.
  for (const host of ['[fd00::1', 'fd00::1]', '[vpn.example.org', '[]', '[[fd00::1]]']) {
    assert.equal(problems(() => parseClientConfig(`server: "${host}"\nport: 1\n`)).server, `must be an IPv6 address or a host name, got "${host}"`, host);
  }
  assert.equal(problems(() => parseClientConfig('server: "fd00::1"\nport: 1\npk: "{nope}"\n')).pk, 'must be a UUID like bbde0d1c-083b-4f20-9cce-799367ba1a5a, got "{nope}", which is not a UUID');
  assert.equal(parseClientConfig('server: "fd00::1"\nport: 1\npk: " BBDE0D1C083B4F209CCE799367BA1A5A "\n').config.key?.toString('hex'), 'bbde0d1c083b4f209cce799367ba1a5a');
});

test('each key words its own refusal, for a value of the wrong type as for a bad one', () => {
  const wrongType: [string, string][] = [
    ['nat_interface', 'a network interface name (1-15 letters, digits, "_", ".", ":" or "-")'],
    ['tun_name', 'a network interface name (1-15 letters, digits, "_", ".", ":" or "-", and at most one "%d")'],
    ['metrics_listen', '"host:port" or an absolute socket path'],
    ['state_dir', 'an absolute directory path'],
    ['listen_address', 'an IPv6 address such as "::"'],
    ['dns0', 'a dotted IPv4 address like 198.51.100.1'],
    ['heartbeat_interval', 'a whole number 1-3600'],
    ['log_level', 'one of debug, info, warn, error'],
  ];
  for (const [key, what] of wrongType) assert.equal(serverError(set(key, '[1]')), `server.yaml: \`${key}\` must be ${what}, got a list`, key);
  assert.equal(serverError(set('metrics_listen', '7')), 'server.yaml: `metrics_listen` must be "host:port" or an absolute socket path, got the number 7');
  // A path with a NUL in it is no path.
  assert.equal(serverError(set('state_dir', '"/srv/4over6\\0x"')), 'server.yaml: `state_dir` must be an absolute directory path, got "/srv/4over6\\u0000x"');
  // One address with no "-" is no range, even one whose text begins with another address.
  assert.equal(serverError(set('address_range', '"198.18.0.22"')),
    'server.yaml: `address_range` must be "first-last", two dotted IPv4 addresses like "198.51.100.2-198.51.100.250", got "198.18.0.22"');
  // A "]" inside a host name is not a bracket around an IPv6 literal.
  assert.equal(problems(() => parseClientConfig('server: "fd00::]1"\nport: 1\n')).server, 'must be an IPv6 address or a host name, got "fd00::]1"');
});

test('a YAML error is the parser\'s first line with its line number', () => {
  for (const text of ['port: 5555\nlisten: [1\n', 'x: "unterminated', 'a: b: c']) {
    let expected = '';
    try {
      parseYaml(text);
    } catch (err) {
      assert.ok(err instanceof YAMLParseError && err.linePos);
      expected = `not valid YAML (line ${err.linePos[0].line}): ${err.message.split('\n')[0]}`;
    }
    assert.ok(expected.length > 40, text);
    assert.deepEqual(problems(() => parseServerConfig(text)), { '': expected }, text);
  }
});

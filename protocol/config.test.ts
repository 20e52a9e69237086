import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, intToIpv4, parseClientConfig, parseServerConfig } from './config';

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

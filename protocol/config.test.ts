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
  assert.match(bad.port, /port number 1-65535.*70000/);
  assert.match(bad.gateway, /IPv4.*10\.0\.100"/);
  assert.match(bad.listen_address, /IPv6/);
  assert.match(bad.dns2, /IPv4/);
  assert.match(bad.pk, /not a UUID/);
});

test('missing keys are reported as missing', () => {
  const bad = problems(() => parseServerConfig(LEGACY_SERVER.replace(/^dns1:.*$/m, '').replace(/^gateway:.*$/m, '')));
  assert.equal(bad.dns1, 'required key is missing');
  assert.equal(bad.gateway, 'required key is missing');
});

test('address_range is split at its first "-" and checked', () => {
  assert.match(problems(() => parseServerConfig(LEGACY_SERVER.replace('10.0.100.2-10.0.100.250', '10.0.100.2'))).address_range, /first-last/);
  assert.match(problems(() => parseServerConfig(LEGACY_SERVER.replace('10.0.100.2-10.0.100.250', '10.0.100.9-10.0.100.2'))).address_range, /after/);
  assert.match(problems(() => parseServerConfig(LEGACY_SERVER.replace('10.0.100.2-10.0.100.250', '10.0.100.2-10.0.100.3-4'))).address_range, /first-last/);
  const spaced = parseServerConfig(LEGACY_SERVER.replace('10.0.100.2-10.0.100.250', '10.0.100.2 - 10.0.100.3')).config;
  assert.equal(spaced.poolLast - spaced.poolFirst, 1);
});

test('a non-contiguous netmask is refused', () => {
  assert.match(problems(() => parseServerConfig(LEGACY_SERVER.replace('255.255.255.0', '255.0.255.0'))).netmask, /contiguous/);
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
  assert.match(problems(() => parseClientConfig('server: "bad host!"\nport: 5555\n')).server, /IPv6 address or a host name/);
  assert.match(problems(() => parseClientConfig('server: "fd00::1"\nport: 0\n')).port, /1-65535/);
});

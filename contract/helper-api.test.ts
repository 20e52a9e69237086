// The helper's command set from raw lines, as any local peer of the helper socket may write them:
// what is accepted (with the defaults filled in), what is refused, and the error a client reads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DEFAULT_KILL_SWITCH, HelperProtocolError, KILL_SWITCH_MODES, PKEXEC_REFUSED_HELPER_OPTIONS, SERVICE_GROUP, SERVICE_SOCKET_PATH, parseHelperRequest,
} from './helper-api';

const KEY = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const profile = { name: 'Office', server: 'fd00::1', port: 5555, uuid: KEY };
const line = (o: unknown) => JSON.stringify(o);

/** The refusal for `text`: its code, message and the id it answers. */
function refusal(text: string): { code: string; message: string; requestId: number | null } {
  try {
    parseHelperRequest(text);
  } catch (e) {
    assert.ok(e instanceof HelperProtocolError, String(e));
    assert.equal(e.name, 'HelperProtocolError');
    return { code: e.code, message: e.message, requestId: e.requestId };
  }
  assert.fail(`accepted: ${text}`);
}

test('each command parses; a connect gets its defaults filled in', () => {
  assert.deepEqual(parseHelperRequest(line({ id: 0, cmd: 'hello', token: 't', version: 1 })), { id: 0, cmd: 'hello', token: 't', version: 1 });
  assert.deepEqual(parseHelperRequest(line({ id: 1, cmd: 'hello' })), { id: 1, cmd: 'hello' });
  for (const cmd of ['disconnect', 'status', 'subscribe', 'shutdown']) assert.deepEqual(parseHelperRequest(line({ id: 2, cmd })), { id: 2, cmd });
  assert.deepEqual(parseHelperRequest(line({ id: 3, cmd: 'connect', profile })), {
    id: 3, cmd: 'connect', killSwitch: DEFAULT_KILL_SWITCH, allowLan: false,
    profile: { ...profile, allowPlaintext: false, autoReconnect: true, dns: true, defaultRoute: true, mtu: 1500 },
  });
  assert.equal(DEFAULT_KILL_SWITCH, 'on');
  const full = { name: 'Lab', server: 'vpn.example.org', port: 1, uuid: null, allowPlaintext: true, autoReconnect: false, dns: false, defaultRoute: false, mtu: 576 };
  assert.deepEqual(parseHelperRequest(line({ id: 4, cmd: 'connect', profile: full, killSwitch: 'lockdown', allowLan: true })),
    { id: 4, cmd: 'connect', profile: full, killSwitch: 'lockdown', allowLan: true });
  assert.deepEqual(KILL_SWITCH_MODES, ['off', 'on', 'lockdown']);
  for (const mode of KILL_SWITCH_MODES) {
    assert.deepEqual(parseHelperRequest(line({ id: 5, cmd: 'setKillSwitch', killSwitch: mode })), { id: 5, cmd: 'setKillSwitch', killSwitch: mode, allowLan: false });
  }
});

test('a line that is not JSON, or not an object, is refused without an id', () => {
  for (const text of ['', '{', 'hello', '{"id":1,"cmd":"status"}x']) {
    assert.deepEqual(refusal(text), { code: 'BAD_REQUEST', message: 'message is not JSON', requestId: null }, text);
  }
  for (const text of ['null', '42', '"status"', '[1]']) {
    const r = refusal(text);
    assert.equal(r.requestId, null, text);
    assert.match(r.message, /^message: /, text);
  }
});

test('a bad field is named by its path, and the refusal answers the request\'s id when it has a numeric one', () => {
  const cases: [unknown, string, number | null][] = [
    [{ id: 7, cmd: 'reboot' }, 'cmd: ', 7],
    [{ id: 7 }, 'cmd: ', 7],
    [{ id: '7', cmd: 'status' }, 'id: ', null],
    [{ id: -1, cmd: 'status' }, 'id: ', -1],
    [{ id: 1.5, cmd: 'status' }, 'id: ', 1.5],
    [{ id: 2 ** 53, cmd: 'status' }, 'id: ', 2 ** 53],
    [{ id: 8, cmd: 'status', extra: true }, 'message: ', 8],
    [{ id: 9, cmd: 'connect', profile: { ...profile, port: 0 } }, 'profile.port: expected a port 1-65535', 9],
    [{ id: 9, cmd: 'connect', profile: { ...profile, port: 65536 } }, 'profile.port: expected a port 1-65535', 9],
    [{ id: 9, cmd: 'connect', profile: { ...profile, uuid: KEY.toUpperCase().slice(1) } }, 'profile.uuid: expected a UUID (8-4-4-4-12 hex digits)', 9],
    [{ id: 9, cmd: 'connect', profile: { ...profile, server: 'fd00::1 ; reboot' } }, 'profile.server: expected an IPv6 address or a DNS host name', 9],
    [{ id: 9, cmd: 'connect', profile: { ...profile, server: `${'a'.repeat(63)}.`.repeat(4) + 'b' } }, 'profile.server: ', 9],
    [{ id: 9, cmd: 'connect', profile: { ...profile, name: '' } }, 'profile.name: ', 9],
    [{ id: 9, cmd: 'connect', profile: { ...profile, mtu: 575 } }, 'profile.mtu: ', 9],
    [{ id: 9, cmd: 'connect', profile: { ...profile, mtu: 2004 } }, 'profile.mtu: ', 9],
    [{ id: 9, cmd: 'connect', profile: { ...profile, tunName: 'eth0' } }, 'profile: ', 9],
    [{ id: 9, cmd: 'connect', profile, killSwitch: 'ON' }, 'killSwitch: ', 9],
    [{ id: 9, cmd: 'hello', token: 'x'.repeat(257) }, 'token: ', 9],
  ];
  for (const [request, message, requestId] of cases) {
    const r = refusal(line(request));
    assert.equal(r.code, 'BAD_REQUEST', line(request));
    // A path with zod's own words after it, or our whole sentence.
    if (message.endsWith(': ')) assert.ok(r.message.startsWith(message) && r.message.length > message.length + 3, `${line(request)}: ${r.message}`);
    else assert.equal(r.message, message, line(request));
    assert.equal(r.requestId, requestId, line(request));
  }
  // The edges that are allowed.
  for (const p of [{ ...profile, port: 1, mtu: 576 }, { ...profile, port: 65535, mtu: 2003, name: 'n'.repeat(100) }, { ...profile, uuid: KEY.toUpperCase() }]) {
    assert.equal(parseHelperRequest(line({ id: Number.MAX_SAFE_INTEGER, cmd: 'connect', profile: p })).cmd, 'connect');
  }
});

test('the service socket and group are the ones the package installs', () => {
  const unit = readFileSync(join(__dirname, '..', '..', 'packaging', '4over6-helper.service'), 'utf8');
  assert.match(unit, new RegExp(`--socket ${SERVICE_SOCKET_PATH.replace(/\./g, '\\.')}( |$)`, 'm'));
  assert.match(unit, /^RuntimeDirectory=4over6$/m);
  assert.equal(SERVICE_SOCKET_PATH, '/run/4over6/helper.sock', 'inside the unit\'s RuntimeDirectory');
  const postinst = readFileSync(join(__dirname, '..', '..', 'packaging', 'deb-after-install.sh'), 'utf8');
  assert.match(postinst, new RegExp(`groupadd --system ${SERVICE_GROUP}$`, 'm'));
  assert.equal(SERVICE_GROUP, '4over6');
});

test('through pkexec every helper option that chooses a file or who may drive it is refused', () => {
  const main = readFileSync(join(__dirname, '..', '..', 'helper', 'main.ts'), 'utf8');
  const options = [...main.matchAll(/\.option\('(--[a-z-]+) <(\w+)>/g)].map(([, name, arg]) => ({ name, arg }));
  assert.ok(options.length >= 8, 'the helper\'s options were found');
  const choosing = options.filter((o) => o.arg === 'path' || o.arg === 'uid' || o.arg === 'name' && o.name === '--group').map((o) => o.name).sort();
  assert.deepEqual([...PKEXEC_REFUSED_HELPER_OPTIONS].sort(), choosing);
});

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultKillSwitchSettingPath, loadKillSwitchSetting, saveKillSwitchSetting } from './kill-switch-setting';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), '4o6-ks-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('kept beside the journal', () => {
  assert.equal(defaultKillSwitchSettingPath('/var/lib/4over6/journal.jsonl'), '/var/lib/4over6/kill-switch.json');
});

test('nothing saved: the default ("on", no LAN), without a warning', () => withDir((dir) => {
  const warnings: string[] = [];
  assert.deepEqual(loadKillSwitchSetting(join(dir, 'kill-switch.json'), (m) => warnings.push(m)), { mode: 'on', allowLan: false });
  assert.deepEqual(warnings, []);
}));

test('lockdown saved is lockdown loaded, in a root-only file; the default removes the file', () => withDir((dir) => {
  const path = join(dir, 'state', 'kill-switch.json');
  saveKillSwitchSetting(path, { mode: 'lockdown', allowLan: true });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { mode: 'lockdown', allowLan: true });
  assert.deepEqual(loadKillSwitchSetting(path, () => assert.fail('no warning expected')), { mode: 'lockdown', allowLan: true });
  saveKillSwitchSetting(path, { mode: 'off', allowLan: false });
  assert.deepEqual(loadKillSwitchSetting(path, () => assert.fail('no warning expected')), { mode: 'off', allowLan: false });
  saveKillSwitchSetting(path, { mode: 'on', allowLan: false });
  assert.equal(existsSync(path), false);
  saveKillSwitchSetting(path, { mode: 'on', allowLan: false }); // nothing to remove: no error either
  saveKillSwitchSetting(path, { mode: 'on', allowLan: true });
  assert.deepEqual(loadKillSwitchSetting(path, () => assert.fail('no warning expected')), { mode: 'on', allowLan: true });
}));

test('a file that is not ours is named, ignored, and the default used', () => withDir((dir) => {
  const path = join(dir, 'kill-switch.json');
  const cases: Array<[string, RegExp]> = [
    ['{"mode": "lockdown"', /is not JSON/],
    ['{"mode": "panic", "allowLan": false}', /not valid \(mode: /],
    ['{"mode": "lockdown", "allowLan": "yes"}', /not valid \(allowLan: /],
    ['{"mode": "lockdown", "allowLan": false, "extra": 1}', /not valid \(value: .*extra/],
    ['[]', /not valid/],
    ['{"mode": 1, "allowLan": 2}', /not valid \(mode: .*; allowLan: .*\)/],
  ];
  for (const [text, expected] of cases) {
    writeFileSync(path, text);
    const warnings: string[] = [];
    assert.deepEqual(loadKillSwitchSetting(path, (m) => warnings.push(m)), { mode: 'on', allowLan: false }, text);
    assert.equal(warnings.length, 1, text);
    assert.match(warnings[0], expected, text);
    assert.match(warnings[0], /using "on"$/);
  }
  rmSync(path);
  mkdirSync(path);
  const warnings: string[] = [];
  assert.deepEqual(loadKillSwitchSetting(path, (m) => warnings.push(m)), { mode: 'on', allowLan: false });
  assert.match(warnings[0], /cannot read the kill switch setting .*EISDIR/);
}));

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type AppSettings, settingsPatchSchema } from '../contract/settings';
import { AUTOSTART_FILE, autostartEntry, defaultAutostartPath, quoteExecArg, xdgAutostart } from './autostart';
import { SettingsStore } from './settings-store';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), '4o6-settings-'));
  dirs.push(d);
  return d;
};
const DEFAULTS: AppSettings = { killSwitch: 'on', allowLan: false, connectOnStart: false, startAtLogin: false, lastProfileId: null };

test('settings: defaults without a file; saved next to the profiles, owner-only, and read back by the next start', () => {
  const dir = tempDir();
  const store = SettingsStore.inDirectory(dir);
  assert.deepEqual(store.get(), DEFAULTS);
  assert.equal(store.problem, null);
  store.set({ killSwitch: 'lockdown', allowLan: true, lastProfileId: 'p1' });
  const path = join(dir, 'settings.json');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { format: '4over6-settings', ...DEFAULTS, killSwitch: 'lockdown', allowLan: true, lastProfileId: 'p1' });
  assert.deepEqual(SettingsStore.inDirectory(dir).get(), { ...DEFAULTS, killSwitch: 'lockdown', allowLan: true, lastProfileId: 'p1' });
});

test('a damaged file gives the defaults (whole or field by field) and says which; it never stops the app', () => {
  const dir = tempDir();
  const path = join(dir, 'settings.json');
  writeFileSync(path, '{"killSwitch": "sometimes", "allowLan": true, "futureSetting": 1}');
  const store = SettingsStore.inDirectory(dir);
  assert.deepEqual(store.get(), { ...DEFAULTS, allowLan: true });
  assert.match(store.problem ?? '', /invalid killSwitch; using the default/);
  writeFileSync(path, 'not json');
  assert.deepEqual(SettingsStore.inDirectory(dir).get(), DEFAULTS);
  assert.match(SettingsStore.inDirectory(dir).problem ?? '', /not valid JSON/);
});

test('the Settings screen may change the four settings, nothing else', () => {
  assert.ok(settingsPatchSchema.safeParse({ killSwitch: 'off', startAtLogin: true }).success);
  assert.equal(settingsPatchSchema.safeParse({ lastProfileId: 'x' }).success, false);
  assert.equal(settingsPatchSchema.safeParse({ killSwitch: 'sometimes' }).success, false);
});

test('start at login: an XDG autostart entry written and removed; the Exec line quoted per the spec', () => {
  const dir = tempDir();
  const path = join(dir, 'autostart', AUTOSTART_FILE);
  const a = xdgAutostart(path, ['/opt/4over6 app/4over6', '--hidden']);
  a.enable();
  const text = readFileSync(path, 'utf8');
  assert.match(text, /^\[Desktop Entry\]\nType=Application\nName=4over6\n/);
  assert.match(text, /\nExec="\/opt\/4over6 app\/4over6" --hidden\n/);
  assert.match(text, /\nX-GNOME-Autostart-enabled=true\n/);
  a.disable();
  assert.throws(() => statSync(path), { code: 'ENOENT' });
  a.disable(); // twice is harmless
  assert.equal(quoteExecArg('a"b$c`d\\e'), '"a\\"b\\$c\\`d\\\\e"');
  assert.equal(quoteExecArg('50%'), '50%%');
  assert.equal(defaultAutostartPath({ XDG_CONFIG_HOME: '/x/cfg' }), '/x/cfg/autostart/4over6.desktop');
  assert.match(defaultAutostartPath({ XDG_CONFIG_HOME: 'relative' }), /\/\.config\/autostart\/4over6\.desktop$/);
  assert.equal(autostartEntry(['/usr/bin/4over6']).includes('Exec=/usr/bin/4over6\n'), true);
});

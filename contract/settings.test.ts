import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SETTINGS_FORMAT, appSettingsSchema, defaultSettings, settingsPatchSchema } from './settings';

test('settings: every switch off by default, the kill switch on, no last profile', () => {
  assert.deepEqual(defaultSettings(), { killSwitch: 'on', allowLan: false, connectOnStart: false, startAtLogin: false, lastProfileId: null });
});

test('a settings file with a bad value keeps the rest: that value falls back to its default, unknown keys dropped', () => {
  const read = appSettingsSchema.parse({
    killSwitch: 'sometimes', allowLan: 'yes', connectOnStart: 1, startAtLogin: null, lastProfileId: 42, fromTheFuture: true,
  });
  assert.deepEqual(read, { killSwitch: 'on', allowLan: false, connectOnStart: false, startAtLogin: false, lastProfileId: null });
  const kept = appSettingsSchema.parse({ killSwitch: 'lockdown', allowLan: true, connectOnStart: true, startAtLogin: true, lastProfileId: 'p1' });
  assert.deepEqual(kept, { killSwitch: 'lockdown', allowLan: true, connectOnStart: true, startAtLogin: true, lastProfileId: 'p1' });
});

test('a last profile id is at most 100 characters (longer is not an id of ours: forgotten)', () => {
  assert.equal(appSettingsSchema.parse({ lastProfileId: 'x'.repeat(100) }).lastProfileId, 'x'.repeat(100));
  assert.equal(appSettingsSchema.parse({ lastProfileId: 'x'.repeat(101) }).lastProfileId, null);
});

test('the Settings screen may change the four switches only', () => {
  assert.equal(settingsPatchSchema.safeParse({ allowLan: true }).success, true);
  assert.equal(settingsPatchSchema.safeParse({ lastProfileId: 'p1' }).success, false);
  assert.equal(settingsPatchSchema.safeParse({ killSwitch: 'sometimes' }).success, false);
});

test('the settings file says what it is: files written by earlier versions carry the same marker', () => {
  assert.equal(SETTINGS_FORMAT, '4over6-settings');
});

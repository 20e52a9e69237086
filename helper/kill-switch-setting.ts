// The kill switch's mode, kept by the helper across its restarts (a reboot, an upgrade, a crash), so
// that lockdown holds before the app has started again: a lockdown user's IPv4 must not flow just
// because the helper came back first. Written whenever the app sets the mode; read at start.
//
// File: `{"mode": "lockdown", "allowLan": false}`, root-only, replaced atomically, beside the journal.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { writePrivateFileSync } from './private-file';
import { DEFAULT_KILL_SWITCH, type KillSwitchMode, killSwitchModeSchema } from '../contract/helper-api';

export interface KillSwitchSetting {
  mode: KillSwitchMode;
  allowLan: boolean;
}

export const DEFAULT_KILL_SWITCH_SETTING: KillSwitchSetting = { mode: DEFAULT_KILL_SWITCH, allowLan: false };

const settingSchema = z.strictObject({ mode: killSwitchModeSchema, allowLan: z.boolean() });

/** Where the setting is kept: beside the helper's change journal (by default /var/lib/4over6). */
export function defaultKillSwitchSettingPath(journalPath: string): string {
  return join(dirname(journalPath), 'kill-switch.json');
}

/**
 * The setting saved at path; the default when there is none. A file that is not ours (bad JSON, an
 * unknown mode) is reported through `warn` and ignored, never trusted field by field.
 */
export function loadKillSwitchSetting(path: string, warn: (message: string) => void): KillSwitchSetting {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read the kill switch setting ${path}: ${(err as Error).message}; using "${DEFAULT_KILL_SWITCH}"`);
    return { ...DEFAULT_KILL_SWITCH_SETTING };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    warn(`the kill switch setting ${path} is not JSON; using "${DEFAULT_KILL_SWITCH}"`);
    return { ...DEFAULT_KILL_SWITCH_SETTING };
  }
  const parsed = settingSchema.safeParse(json);
  if (!parsed.success) {
    warn(`the kill switch setting ${path} is not valid (${parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')}); using "${DEFAULT_KILL_SWITCH}"`);
    return { ...DEFAULT_KILL_SWITCH_SETTING };
  }
  return parsed.data;
}

/** Saves the setting (0600, atomically); the default mode removes the file instead. */
export function saveKillSwitchSetting(path: string, setting: KillSwitchSetting): void {
  if (setting.mode === DEFAULT_KILL_SWITCH_SETTING.mode && setting.allowLan === DEFAULT_KILL_SWITCH_SETTING.allowLan) {
    rmSync(path, { force: true });
    return;
  }
  writePrivateFileSync(path, `${JSON.stringify({ mode: setting.mode, allowLan: setting.allowLan })}\n`);
}

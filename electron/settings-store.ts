// The app's settings on disk: settings.json next to profiles.json (the same folder, owner-only), as
// `{ "format": "4over6-settings", ...settings }`. Written through a temporary file (a crash leaves the
// old file or the new one, never half of one). A file that is missing, unreadable or invalid gives
// the defaults, field by field, and is rewritten on the next change: settings are never worth an
// error that stops the app.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VpnError } from '../contract/ipc-schema';
import { type AppSettings, SETTINGS_FORMAT, appSettingsSchema, defaultSettings } from '../contract/settings';

export const SETTINGS_FILE = 'settings.json';

export class SettingsStore {
  private current: AppSettings;
  /** Why the file on disk was not used as it was (null: it was, or there was none). */
  readonly problem: string | null;

  constructor(readonly path: string) {
    const { settings, problem } = readSettings(path);
    this.current = settings;
    this.problem = problem;
  }

  static inDirectory(dir: string): SettingsStore {
    return new SettingsStore(join(dir, SETTINGS_FILE));
  }

  get(): AppSettings {
    return { ...this.current };
  }

  /** Saves the whole settings with `changes` applied; answers them. */
  set(changes: Partial<AppSettings>): AppSettings {
    const next = appSettingsSchema.parse({ ...this.current, ...changes });
    const temp = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      mkdirSync(join(this.path, '..'), { recursive: true, mode: 0o700 });
      writeFileSync(temp, `${JSON.stringify({ format: SETTINGS_FORMAT, ...next }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      renameSync(temp, this.path);
    } catch (err) {
      try {
        unlinkSync(temp);
      } catch {
        // never written
      }
      throw new VpnError('STORE_FAILED', `could not save the settings to ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    this.current = next;
    return this.get();
  }
}

function readSettings(path: string): { settings: AppSettings; problem: string | null } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { settings: defaultSettings(), problem: missing ? null : `${path}: ${(err as Error).message}; using the defaults` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { settings: defaultSettings(), problem: `${path} is not valid JSON (${(err as Error).message}); using the defaults` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { settings: defaultSettings(), problem: `${path} does not hold an object; using the defaults` };
  }
  // Field by field: a bad value falls back to its default (the schema's catch), the rest is kept.
  const settings = appSettingsSchema.parse(json);
  const raw = json as Record<string, unknown>;
  const replaced = Object.keys(settings).filter((k) => k in raw && JSON.stringify(raw[k]) !== JSON.stringify(settings[k as keyof AppSettings]));
  return { settings, problem: replaced.length > 0 ? `${path}: invalid ${replaced.join(', ')}; using the default instead` : null };
}

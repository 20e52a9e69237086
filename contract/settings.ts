// The app's settings (the Settings screen), kept next to the profiles in settings.json: the schema
// main validates with and the renderer's types come from. No Node imports.
import { z } from 'zod';
import { DEFAULT_KILL_SWITCH, killSwitchModeSchema } from './helper-api';

export const SETTINGS_FORMAT = '4over6-settings';

/** What the user sets. Unknown keys are dropped (a newer app's file); a bad value falls back to its default. */
export const appSettingsSchema = z.object({
  /** off | on (block IPv4 outside the tunnel while connected or reconnecting) | lockdown (always). */
  killSwitch: killSwitchModeSchema.catch(DEFAULT_KILL_SWITCH).default(DEFAULT_KILL_SWITCH),
  /** Let the local IPv4 subnets through the kill switch (printers, file shares). */
  allowLan: z.boolean().catch(false).default(false),
  /** Connect to the last profile when the app starts. */
  connectOnStart: z.boolean().catch(false).default(false),
  /** An XDG autostart entry starts the app at login. */
  startAtLogin: z.boolean().catch(false).default(false),
  /** The profile connected last (for connectOnStart); set by main, not by the Settings screen. */
  lastProfileId: z.string().max(100).nullable().catch(null).default(null),
});
export type AppSettings = z.output<typeof appSettingsSchema>;

/** What the Settings screen may change; unknown keys (and lastProfileId) are refused. */
export const settingsPatchSchema = z.strictObject({
  killSwitch: killSwitchModeSchema,
  allowLan: z.boolean(),
  connectOnStart: z.boolean(),
  startAtLogin: z.boolean(),
}).partial();
export type SettingsPatch = z.input<typeof settingsPatchSchema>;

export function defaultSettings(): AppSettings {
  return appSettingsSchema.parse({});
}

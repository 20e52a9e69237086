// "Start at login": an XDG autostart entry (~/.config/autostart/4over6.desktop, per the freedesktop
// Desktop Application Autostart spec) written and removed by the app. The path is injectable for tests.
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { VpnError } from '../contract/ipc-schema';

export const AUTOSTART_FILE = '4over6.desktop';

/** $XDG_CONFIG_HOME/autostart/4over6.desktop, else ~/.config/autostart/4over6.desktop. */
export function defaultAutostartPath(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(config, 'autostart', AUTOSTART_FILE);
}

/** One argument of an Exec line, quoted by the Desktop Entry spec's rules when it needs it. */
export function quoteExecArg(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg.replace(/%/g, '%%');
  return `"${arg.replace(/[\\"`$]/g, (c) => `\\${c}`).replace(/%/g, '%%')}"`;
}

/** The entry's text: starts `command` (program and arguments) at login, hidden from menus. */
export function autostartEntry(command: readonly string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=4over6',
    'Comment=IPv4 over IPv6 VPN (started at login; turn off in the app\'s Settings)',
    `Exec=${command.map(quoteExecArg).join(' ')}`,
    'Icon=4over6',
    'Terminal=false',
    'NoDisplay=true',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export interface Autostart {
  enable(): void;
  disable(): void;
}

export function xdgAutostart(path: string, command: readonly string[]): Autostart {
  return {
    enable: () => {
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        writeFileSync(path, autostartEntry(command), { mode: 0o644 });
      } catch (err) {
        throw new VpnError('FILE_FAILED', `could not write the autostart entry ${path}: ${(err as Error).message}`, { cause: err });
      }
    },
    disable: () => {
      try {
        unlinkSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new VpnError('FILE_FAILED', `could not remove the autostart entry ${path}: ${(err as Error).message}`, { cause: err });
        }
      }
    },
  };
}

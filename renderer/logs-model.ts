// The Logs screen as data: which events a level filter shows, and the text Copy puts on the clipboard.
import { formatLogEntry } from '../contract/format';
import type { LogEntry, LogLevel } from '../contract/ipc-schema';

export const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export const LEVEL_CHOICES: readonly { level: LogLevel; label: string }[] = [
  { level: 'debug', label: 'Everything' },
  { level: 'info', label: 'Info and above' },
  { level: 'warn', label: 'Warnings and errors' },
  { level: 'error', label: 'Errors only' },
];

/** The entries at `min` or above, oldest first. */
export function filterByLevel(entries: readonly LogEntry[], min: LogLevel): LogEntry[] {
  const floor = LEVELS.indexOf(min);
  return entries.filter((e) => LEVELS.indexOf(e.level) >= floor);
}

/** Adds pushed entries to a list read earlier: by seq, without duplicates, at most `max`. */
export function mergeEntries(list: readonly LogEntry[], more: readonly LogEntry[], max = 1000): LogEntry[] {
  const last = list.length > 0 ? list[list.length - 1].seq : 0;
  return [...list, ...more.filter((e) => e.seq > last)].slice(-max);
}

export function copyText(entries: readonly LogEntry[]): string {
  return entries.map(formatLogEntry).join('\n');
}

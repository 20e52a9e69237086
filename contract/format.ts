// Human units for rates and totals, the same in the tray, the window and the CLI; log lines as text.
import type { LogEntry } from './ipc-schema';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[u]}`;
}

/** Bytes per second as bits per second, the way network rates are read. */
export function formatRate(bytesPerSecond: number): string {
  const bits = bytesPerSecond * 8;
  if (bits < 1000) return `${Math.round(bits)} bit/s`;
  const units = ['kbit/s', 'Mbit/s', 'Gbit/s'];
  let v = bits / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

/** "2026-11-30T18:36:37.123Z helper warn: ..." (the Logs screen's Copy, the diagnostics bundle, the console). */
export function formatLogEntry(e: LogEntry): string {
  return `${new Date(e.atMs).toISOString()} ${e.source} ${e.level}: ${e.message}`;
}

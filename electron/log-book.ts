// The events the Logs screen and the diagnostics bundle show: the helper's log lines and the app's
// own, in one bounded list (the oldest go first), each numbered so a window can tell new from seen.
import type { LogEntry, LogLevel } from '../contract/ipc-schema';

export const LOG_BOOK_ENTRIES = 1000;
/** A peer can make the helper log a long line: keep the window's list and the bundle bounded. */
export const LOG_MESSAGE_MAX_CHARS = 2000;

export class LogBook {
  private entries: LogEntry[] = [];
  private seq = 0;

  constructor(private readonly capacity = LOG_BOOK_ENTRIES) {}

  add(source: LogEntry['source'], level: LogLevel, message: string, atMs: number): LogEntry {
    const text = message.length > LOG_MESSAGE_MAX_CHARS ? `${message.slice(0, LOG_MESSAGE_MAX_CHARS)}… (${message.length} characters)` : message;
    const entry: LogEntry = { seq: ++this.seq, atMs, source, level, message: text };
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
    return entry;
  }

  list(): LogEntry[] {
    return [...this.entries];
  }
}

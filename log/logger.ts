// One-line-per-event logging with levels and timestamps, plus a rate limiter for repeated errors.
import type { LogLevel } from '../protocol/config';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  level: LogLevel;
}

export function createLogger(opts: {
  level?: LogLevel;
  write?: (line: string) => void;
  name?: string;
  /** Also called for every line logged (e.g. to push it to subscribers). */
  onEvent?: (level: LogLevel, msg: string) => void;
} = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const name = opts.name ? ` ${opts.name}` : '';
  const logger: Logger = {
    level: opts.level ?? 'info',
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
  function emit(level: LogLevel, msg: string): void {
    if (RANK[level] < RANK[logger.level]) return;
    write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)}${name} ${msg}`);
    opts.onEvent?.(level, msg);
  }
  return logger;
}

/**
 * Lets through the first `burst` events of a key per window and counts the rest, so a peer that fails
 * every packet produces a line or a few per second ("... (1234 more since last report)"), not one
 * per packet. `flush()` (call it on a timer) reports what was suppressed when no further event came
 * to carry the count: "suppressed 1234 more like: <the last one>".
 */
export class RateLimitedLog {
  private readonly keys = new Map<string, { windowStart: number; inWindow: number; suppressed: number; lastMsg: string }>();
  private suppressedCount = 0;
  private totalWindowStart = -Infinity;
  private totalInWindow = 0;
  constructor(
    private readonly log: (msg: string) => void,
    private readonly windowMs = 1000,
    private readonly now: () => number = Date.now,
    private readonly burst = 1,
    /**
     * Lines per window over all keys together: a peer that triggers many kinds of event at once
     * (or many peers) still gets this many lines a window, the rest counted per key.
     */
    private readonly totalBurst = Infinity,
  ) {}

  /** Lines not logged so far, over all keys. */
  get suppressedTotal(): number {
    return this.suppressedCount;
  }

  event(key: string, msg: string): void {
    const t = this.now();
    let entry = this.keys.get(key);
    if (entry === undefined) {
      entry = { windowStart: t, inWindow: 0, suppressed: 0, lastMsg: msg };
      this.keys.set(key, entry);
    } else if (t - entry.windowStart >= this.windowMs) {
      entry.windowStart = t;
      entry.inWindow = 0;
    }
    if (entry.inWindow < this.burst && this.takeFromTotal(t)) {
      entry.inWindow++;
      const extra = entry.suppressed > 0 ? ` (${entry.suppressed} more since last report)` : '';
      entry.suppressed = 0;
      this.log(msg + extra);
      return;
    }
    entry.suppressed++;
    entry.lastMsg = msg;
    this.suppressedCount++;
  }

  private takeFromTotal(t: number): boolean {
    if (t - this.totalWindowStart >= this.windowMs) {
      this.totalWindowStart = t;
      this.totalInWindow = 0;
    }
    if (this.totalInWindow >= this.totalBurst) return false;
    this.totalInWindow++;
    return true;
  }

  /** Reports the suppressed counts of keys whose window has ended, and forgets keys that went quiet. */
  flush(): void {
    const t = this.now();
    for (const [key, entry] of this.keys) {
      if (t - entry.windowStart < this.windowMs) continue;
      if (entry.suppressed > 0) {
        this.log(`suppressed ${entry.suppressed} more like: ${entry.lastMsg}`);
        entry.windowStart = t;
        entry.inWindow = 0;
        entry.suppressed = 0;
      } else {
        this.keys.delete(key);
      }
    }
  }

  /** Drops the keys that start with keyPrefix (e.g. a closed session's), reporting what they suppressed. */
  forget(keyPrefix: string): void {
    for (const [key, entry] of this.keys) {
      if (!key.startsWith(keyPrefix)) continue;
      if (entry.suppressed > 0) this.log(`suppressed ${entry.suppressed} more like: ${entry.lastMsg}`);
      this.keys.delete(key);
    }
  }
}

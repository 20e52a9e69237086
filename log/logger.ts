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
 * Lets through the first event of a key per window and counts the rest, so a peer that fails
 * every packet produces one line per second ("... (1234 more since last report)"), not one per packet.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly log: (msg: string) => void, private readonly windowMs = 1000, private readonly now = Date.now) {}

  event(key: string, msg: string): void {
    const t = this.now();
    const entry = this.last.get(key);
    if (entry && t - entry.at < this.windowMs) {
      entry.suppressed++;
      return;
    }
    const extra = entry && entry.suppressed > 0 ? ` (${entry.suppressed} more since last report)` : '';
    this.last.set(key, { at: t, suppressed: 0 });
    this.log(msg + extra);
  }

  forget(keyPrefix: string): void {
    for (const k of this.last.keys()) if (k.startsWith(keyPrefix)) this.last.delete(k);
  }
}

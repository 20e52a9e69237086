// The gateway process's own health, for the metrics endpoint: resident memory, open file descriptors and
// event-loop delay (how late timers and I/O callbacks run: the latency every client feels when the loop is busy).
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Event-loop delay is reported over windows of this length (a fresh histogram each window). */
export const LOOP_DELAY_WINDOW_MS = 10_000;

export interface ProcessMetrics {
  rssBytes: number;
  heapUsedBytes: number;
  openFds: number;
  /** Over the last complete window of LOOP_DELAY_WINDOW_MS (the current one until the first completes). */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

export class ProcessMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private lastWindow: ProcessMetrics['eventLoopDelayMs'] | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.lastWindow = this.summary();
      this.histogram.reset();
    }, LOOP_DELAY_WINDOW_MS);
    this.timer.unref();
  }

  read(): ProcessMetrics {
    const memory = process.memoryUsage();
    return {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      openFds: countOpenFds(),
      eventLoopDelayMs: this.lastWindow ?? this.summary(),
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private summary(): ProcessMetrics['eventLoopDelayMs'] {
    const h = this.histogram;
    // The histogram is in nanoseconds; with no sample yet its percentiles are 0 and min is huge.
    const ms = (ns: number) => (h.count === 0 ? 0 : Math.round(ns / 1e4) / 100);
    return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
  }
}

function countOpenFds(): number {
  try {
    return readdirSync('/proc/self/fd').length - 1; // minus the one readdir itself holds open
  } catch {
    return -1; // not Linux
  }
}

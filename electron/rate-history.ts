// The rate graph's points, kept in main: the last HISTORY_SAMPLES samples (one a second from the
// helper), so a window that reloads or reopens shows the last minute at once.
import type { RateSample } from '../contract/ipc-schema';

/** The graph shows 60 s; the helper reports once a second. */
export const HISTORY_SAMPLES = 60;

export class RateHistory {
  private samples: RateSample[] = [];

  constructor(private readonly capacity = HISTORY_SAMPLES) {}

  add(sample: RateSample): void {
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
  }

  /** Oldest first; a copy. */
  list(): RateSample[] {
    return [...this.samples];
  }

  clear(): void {
    this.samples = [];
  }
}

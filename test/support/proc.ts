// A child process whose output is kept, for tests and benchmarks that wait for what it prints.
import type { ChildProcess } from 'node:child_process';
import { waitFor } from './netns';

export class Proc {
  /** stdout and stderr, interleaved as they arrived. */
  out = '';
  exitCode: number | null = null;
  readonly exited: Promise<number>;

  constructor(readonly child: ChildProcess, readonly label: string) {
    child.stdout?.on('data', (c: Buffer) => (this.out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.out += c.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? 128 : 1);
      resolve(this.exitCode);
    }));
  }

  get alive(): boolean {
    return this.exitCode === null;
  }

  /** Resolves with the first match of `re` in the output; fails if the process exits first or time runs out. */
  async waitFor(re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    await waitFor(() => re.test(this.out) || this.exitCode !== null, { timeoutMs, what: `${this.label} to print ${re}` });
    const m = this.out.match(re);
    if (!m) throw new Error(`${this.label} exited (${this.exitCode}) before printing ${re}:\n${this.out}`);
    return m;
  }

  /** Signals the process (unless it has exited) and resolves with its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    if (this.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}

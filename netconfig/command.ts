// Runs the system tools (ip, nft, sysctl, resolvectl) without a shell, optionally inside a network namespace.
import { execFile } from 'node:child_process';

export interface RunOptions {
  /** Run as `ip netns exec <netns> <file> ...args` (tests drive a namespace from outside). */
  netns?: string;
  /** Written to the command's stdin (e.g. an nft ruleset for `nft -f -`); stdin is closed either way. */
  input?: string;
  timeoutMs?: number;
}

/** Signature of runCommand, so NetConfigurator can be handed a fake in unit tests. */
export type CommandRunner = (file: string, args: string[], opts?: RunOptions) => Promise<string>;

const DEFAULT_TIMEOUT_MS = 30_000;
// Namespace names are file names under /run/netns; keep them plain so they can't look like options or paths.
const NETNS_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export class CommandError extends Error {
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${formatCommandLine(file, args)} failed (${detail})${stderr.trim() ? `: ${stderr.trim()}` : ''}`, options);
    this.name = 'CommandError';
  }
}

/** The command line for messages only (quoted for readability; it is never given to a shell). */
export function formatCommandLine(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

export function assertNetnsName(netns: string): void {
  if (!NETNS_NAME.test(netns)) throw new Error(`invalid network namespace name ${JSON.stringify(netns)}`);
}

export async function runCommand(file: string, args: string[], opts: RunOptions = {}): Promise<string> {
  let argv = args;
  let bin = file;
  if (opts.netns !== undefined) {
    assertNetnsName(opts.netns);
    bin = 'ip';
    argv = ['netns', 'exec', opts.netns, file, ...args];
  }
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      argv,
      // LC_ALL=C: undo logic recognises "already gone" by the tools' English error messages.
      { timeout, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' }, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const e = error as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string | null };
        let detail: string;
        let exitCode: number | null = null;
        if (typeof e.code === 'number') {
          exitCode = e.code;
          detail = `exit ${e.code}`;
        } else if (e.killed || e.signal) {
          detail = e.killed ? `timed out after ${timeout} ms` : `killed by ${e.signal}`;
        } else {
          detail = e.code === 'ENOENT' ? `${bin}: not installed` : String(e.code ?? e.message);
        }
        reject(new CommandError(bin, argv, exitCode, String(stderr ?? ''), String(stdout ?? ''), detail, { cause: error }));
      },
    );
    // Closing stdin always: a tool that reads stdin must never wait forever for input we did not send.
    child.stdin?.on('error', () => { /* reported through the exit callback */ });
    child.stdin?.end(opts.input ?? '');
  });
}

// stderr phrases meaning "the thing to remove is not there" (device, address, route, table, key or namespace).
const GONE_PATTERNS = [
  /Cannot find device/i,
  /Device "[^"]*" does not exist/i,
  /No such device/i,
  /No such process/i, // ip route del of a missing route
  /Cannot assign requested address/i, // ip addr del of a missing address
  /No such file or directory/i, // nft delete table, sysctl key, deleted namespace
];

/** True when a failed removal failed only because its object is already gone (counts as undone). */
export function isAlreadyGone(error: unknown): boolean {
  if (!(error instanceof CommandError) || error.exitCode === null) return false;
  // `ip netns exec` reports a missing program with ENOENT text too; that is a broken install, not "gone".
  if (/exec of "[^"]*" failed/.test(error.stderr)) return false;
  return GONE_PATTERNS.some((p) => p.test(error.stderr));
}

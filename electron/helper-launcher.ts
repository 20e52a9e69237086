// How the app reaches the root helper:
//   1. the installed service: SERVICE_SOCKET_PATH exists, is root's, and we may write to it (group
//      4over6): connect, no password prompt;
//   2. otherwise spawn the helper as root through pkexec (polkit asks for a password), write a fresh
//      random token to its stdin, wait for its `READY <socket path>` line, connect with the token.
// The token goes through stdin only: every user can read a process's argv (/proc/<pid>/cmdline, ps),
// and pkexec clears the environment anyway. We do not use @vscode/sudo-prompt: it builds a shell
// command string (quoting is then our problem) and cannot write to the child's stdin.
// The spawn function and the elevation prefix are injectable, so tests can start the real helper as
// root without pkexec (elevate: []).
import { type ChildProcessWithoutNullStreams, spawn as nodeSpawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, lstat } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';
import { PKEXEC_REFUSED_HELPER_OPTIONS, SERVICE_SOCKET_PATH } from '../contract/helper-api';
import { VpnError } from '../contract/ipc-schema';
import { HelperClient, type HelperClientOptions } from './helper-client';

/** The user may take a while to type a password in the polkit dialog. */
export const READY_TIMEOUT_MS = 120_000;
const TOKEN_BYTES = 32;
const STDERR_TAIL_LINES = 20;

export type SpawnFn = (file: string, args: string[]) => ChildProcessWithoutNullStreams;

export interface LaunchOptions {
  serviceSocketPath?: string;
  /** The argv that starts the helper, absolute paths: e.g. [INSTALLED_HELPER]. */
  helperCommand: string[];
  /** What makes it root. Default ['pkexec']; [] when the app already runs as root (tests). */
  elevate?: string[];
  /** Passed as --socket; default: the helper picks (/run/4over6/user-<uid>/helper.sock). */
  socketPath?: string;
  /** More helper arguments (tests: --journal, --resolv-conf, --allow-uid). */
  extraArgs?: string[];
  spawn?: SpawnFn;
  readyTimeoutMs?: number;
  /** The helper's stdout/stderr lines and the launcher's own notes, for the app log. */
  log?: (line: string) => void;
  /** Passed on to HelperClient (tests running unprivileged). */
  clientOptions?: Pick<HelperClientOptions, 'requestTimeoutMs' | 'trustedDirOwner'>;
  /** The app's uid (trusted as the owner of a spawned helper's socket). Default process.getuid(). */
  uid?: number;
}

export interface HelperEndpoint {
  mode: 'service' | 'spawned';
  socketPath: string;
  token?: string;
  trustedOwners: number[];
}

export interface SpawnedHelper extends HelperEndpoint {
  mode: 'spawned';
  token: string;
  child: ChildProcessWithoutNullStreams;
}

/**
 * The packages' wrapper (packaging/4over6-helper): runs dist/helper/main.js with the app's Electron
 * in Node mode; the polkit policy (org.fourover6.helper) names this exact path.
 */
export const INSTALLED_HELPER = '/opt/4over6/resources/4over6-helper';

/**
 * The installed helper launcher, else (development) the system's Node on the built helper: pkexec
 * clears the environment, so Electron's own binary cannot be told to act as Node (ELECTRON_RUN_AS_NODE).
 */
export function defaultHelperCommand(appRoot: string, exists: (path: string) => boolean = existsSync): string[] {
  if (exists(INSTALLED_HELPER)) return [INSTALLED_HELPER];
  const node = ['/usr/bin/node', '/usr/local/bin/node'].find(exists) ?? '/usr/bin/node';
  return [node, join(appRoot, 'dist', 'helper', 'main.js')];
}

/** The installed service's socket when it is usable without a prompt, else null and why not. */
export async function findService(path = SERVICE_SOCKET_PATH): Promise<{ endpoint: HelperEndpoint | null; reason: string | null }> {
  try {
    const s = await lstat(path);
    if (!s.isSocket() || s.uid !== 0) return { endpoint: null, reason: `${path} is not a socket owned by root: ignored` };
    await access(path, constants.R_OK | constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { endpoint: null, reason: null };
    if (code === 'EACCES') return { endpoint: null, reason: `${path} exists but you are not in its group (4over6); using pkexec instead` };
    return { endpoint: null, reason: `${path}: ${(err as Error).message}` };
  }
  return { endpoint: { mode: 'service', socketPath: path, trustedOwners: [0] }, reason: null };
}

/** [pkexec, <helper command...>, --mode, spawned, (--socket, path), ...extra]: an argument array, never a shell string. */
export function buildSpawnArgv(opts: Pick<LaunchOptions, 'helperCommand' | 'elevate' | 'socketPath' | 'extraArgs'>): string[] {
  if (opts.helperCommand.length === 0 || !isAbsolute(opts.helperCommand[0])) {
    throw new VpnError('HELPER_LAUNCH_FAILED', `the helper command must start with an absolute path (pkexec requires it), got ${JSON.stringify(opts.helperCommand)}`);
  }
  const elevate = opts.elevate ?? ['pkexec'];
  if (elevate.length > 0 && basename(elevate[0]) === 'pkexec') {
    // The helper refuses them through pkexec; say so here instead of after a password prompt.
    const refused = [
      ...(opts.socketPath ? ['--socket'] : []),
      ...(opts.extraArgs ?? []).filter((a) => (PKEXEC_REFUSED_HELPER_OPTIONS as readonly string[]).includes(a.split('=')[0])),
    ];
    if (refused.length > 0) throw new VpnError('HELPER_LAUNCH_FAILED', `through pkexec the helper does not accept ${refused.join(', ')}`);
  }
  return [
    ...elevate,
    ...opts.helperCommand,
    '--mode', 'spawned',
    ...(opts.socketPath ? ['--socket', opts.socketPath] : []),
    ...(opts.extraArgs ?? []),
  ];
}

/** Starts the helper as root, hands it a token, and waits for `READY <path>`. */
export function spawnHelper(opts: LaunchOptions): Promise<SpawnedHelper> {
  let argv: string[];
  try {
    argv = buildSpawnArgv(opts);
  } catch (err) {
    return Promise.reject(err);
  }
  const token = randomBytes(TOKEN_BYTES).toString('hex');
  const spawn = opts.spawn ?? ((file, args) => nodeSpawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  const viaPkexec = basename(argv[0]) === 'pkexec';

  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1));
    const stderrTail: string[] = [];
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const fail = (message: string, cause?: unknown) => settle(() => {
      child.kill(); // fails once pkexec made it root; a spawned helper exits by itself when no app comes
      reject(new VpnError('HELPER_LAUNCH_FAILED', message, { cause }));
    });
    const timer = setTimeout(() => fail(`the helper did not report READY within ${(opts.readyTimeoutMs ?? READY_TIMEOUT_MS) / 1000} s`),
      opts.readyTimeoutMs ?? READY_TIMEOUT_MS);

    child.on('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT'
      ? `cannot run ${argv[0]}: not found${viaPkexec ? ' (install pkexec, or the 4over6 helper service)' : ''}`
      : `cannot run ${argv[0]}: ${err.message}`, err));
    child.on('exit', (code, signal) => fail(exitMessage(viaPkexec, code, signal, stderrTail)));
    child.stdin.on('error', () => undefined); // EPIPE when it exits early: reported by 'exit'
    child.stdin.end(`${token}\n`);

    // Keep reading both pipes for the helper's whole life, or it would block once a pipe fills.
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      opts.log?.(line);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      opts.log?.(line);
      const ready = /^READY (\/.+)$/.exec(line);
      if (!ready || settled) return;
      const socketPath = ready[1];
      if (opts.socketPath && socketPath !== opts.socketPath) {
        fail(`the helper listens on ${socketPath}, not on ${opts.socketPath} as asked`);
        return;
      }
      settle(() => resolve({ mode: 'spawned', socketPath, token, child, trustedOwners: [0, uid] }));
    });
  });
}

/** pkexec's own exit codes: 126 not authorized (or dialog dismissed), 127 could not authenticate/run. */
function exitMessage(viaPkexec: boolean, code: number | null, signal: string | null, stderrTail: string[]): string {
  const tail = stderrTail.length > 0 ? `: ${stderrTail.slice(-3).join(' / ')}` : '';
  if (viaPkexec && code === 126) return 'the password dialog was dismissed or authorization was refused';
  if (viaPkexec && code === 127) return `pkexec could not authorize (is a polkit agent running?) or could not run the helper${tail}`;
  return `the helper exited ${signal ? `on ${signal}` : `with code ${code}`} before it was ready${tail}`;
}

/**
 * Gives the controller a connected HelperClient: the service when there is one, else a helper we
 * spawned (reused while it runs, so a dropped connection does not cost another password prompt).
 */
export class HelperConnector {
  private spawned: SpawnedHelper | null = null;
  private inFlight: Promise<HelperClient> | null = null;

  constructor(private readonly opts: LaunchOptions) {}

  /** The installed service, or a helper we spawned that still runs; null rather than prompting. */
  async connectExisting(): Promise<HelperClient | null> {
    const { endpoint, reason } = await findService(this.opts.serviceSocketPath);
    if (reason) this.opts.log?.(reason);
    if (endpoint) return this.open(endpoint);
    if (this.spawned && this.spawned.child.exitCode === null) {
      return this.open(this.spawned).catch(() => null);
    }
    return null;
  }

  /** As connectExisting, else spawns the helper (pkexec may prompt). Concurrent calls share one attempt. */
  connect(): Promise<HelperClient> {
    this.inFlight ??= this.connectOrSpawn().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  get spawnedHelper(): SpawnedHelper | null {
    return this.spawned;
  }

  private async connectOrSpawn(): Promise<HelperClient> {
    const existing = await this.connectExisting();
    if (existing) return existing;
    this.spawned = await spawnHelper(this.opts);
    return this.open(this.spawned);
  }

  private open(endpoint: HelperEndpoint): Promise<HelperClient> {
    return HelperClient.connect({ ...this.opts.clientOptions, socketPath: endpoint.socketPath, token: endpoint.token, trustedOwners: endpoint.trustedOwners });
  }
}

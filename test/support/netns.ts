// Network-namespace test harness: throwaway namespaces ("hosts") for end-to-end tests, and their cleanup.
//
//   createTwoHostNet(tag):
//
//   ┌──── netns <prefix>-c ("client") ────┐        ┌──── netns <prefix>-s ("server") ────┐
//   │ lo (up)                             │        │ lo (up)                             │
//   │ veth0  fd00:<n>::1/64 (nodad)  ─────┼─ veth ─┼───── veth0  fd00:<n>::2/64 (nodad)  │
//   └─────────────────────────────────────┘        └─────────────────────────────────────┘
//
// Namespace names are `4o6t-<pid>-<n><tag>-c|s`: unique per process and run, and the pid lets
// cleanupStaleNamespaces tell a crashed run's leftovers from a concurrently running test process.
// Nothing here touches the host's own interfaces, routes, DNS or firewall: the veth pair is created inside
// the client namespace with its peer sent straight into the server namespace.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promises as fs, rmSync } from 'node:fs';
import { RESOLV_BACKUP_SUFFIX } from '../../netconfig/changes';
import { runCommand } from '../../netconfig/command';

export const TEST_NETNS_PREFIX = '4o6t-';

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
}

export interface TestNamespace {
  name: string;
  exec(file: string, args: string[], opts?: ExecOptions): Promise<string>;
  spawn(file: string, args: string[], opts?: SpawnOptions): ChildProcess;
  cleanup(): Promise<void>;
}

export interface TwoHostNet {
  client: string;
  server: string;
  /** fd00:: transport addresses on the veth pair, without prefix length. */
  clientAddress: string;
  serverAddress: string;
  /** Interface name of the veth end in each namespace. */
  clientDev: string;
  serverDev: string;
  exec(ns: string, file: string, args: string[], opts?: ExecOptions): Promise<string>;
  spawn(ns: string, file: string, args: string[], opts?: SpawnOptions): ChildProcess;
  cleanup(): Promise<void>;
}

let counter = 0;
// Children started through spawnInNetns, per namespace, so cleanup can kill them.
const children = new Map<string, Set<ChildProcess>>();
// Namespaces created and not yet cleaned up; removed synchronously at exit if a test forgot or crashed.
const live = new Set<string>();
let exitHookInstalled = false;

function uniqueName(tag: string): string {
  const safe = tag.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 20);
  counter += 1;
  return `${TEST_NETNS_PREFIX}${process.pid}-${counter}${safe}`;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const ns of live) {
      for (const child of children.get(ns) ?? []) killChild(child);
      spawnSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
  });
}

export function spawnInNetns(ns: string, file: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  // `ip netns exec` execs the program in place, so child.pid is the program itself.
  const child = spawn('ip', ['netns', 'exec', ns, file, ...args], opts);
  let set = children.get(ns);
  if (!set) children.set(ns, (set = new Set()));
  set.add(child);
  child.once('exit', () => set.delete(child));
  child.once('error', () => set.delete(child));
  return child;
}

function killChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function createNamespaceNamed(name: string): Promise<void> {
  installExitHook();
  live.add(name);
  await runCommand('ip', ['netns', 'add', name]);
  await runCommand('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Deletes a namespace: kills our children in it and any process still inside, then the namespace and /etc/netns/<ns>/. */
export async function deleteNamespace(name: string): Promise<void> {
  for (const child of children.get(name) ?? []) killChild(child);
  children.delete(name);
  try {
    const pids = (await runCommand('ip', ['netns', 'pids', name])).split(/\s+/).filter((p) => /^\d+$/.test(p));
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL'); // only processes inside our own test namespace
      } catch {
        // exited meanwhile
      }
    }
  } catch {
    // namespace already gone
  }
  try {
    await runCommand('ip', ['netns', 'delete', name]);
  } catch (e) {
    if (!/No such file or directory/.test(String((e as Error).message))) throw e;
  }
  // Deleting the namespace also removes the veth/tun devices inside it; only the DNS dir (and the
  // backup of its resolv.conf a killed helper left beside it, see resolvBackupPath) may remain.
  await fs.rm(`/etc/netns/${name}`, { recursive: true, force: true });
  for (const f of await fs.readdir('/etc/netns').catch(() => [] as string[])) {
    if (f.startsWith(`.${name}.`) && f.endsWith(RESOLV_BACKUP_SUFFIX)) await fs.rm(`/etc/netns/${f}`, { force: true });
  }
  live.delete(name);
}

/** One empty namespace with lo up, for tests that need a single "host". */
export async function createTestNamespace(tag: string): Promise<TestNamespace> {
  const name = uniqueName(tag);
  try {
    await createNamespaceNamed(name);
  } catch (e) {
    await deleteNamespace(name).catch(() => {});
    throw e;
  }
  return {
    name,
    exec: (file, args, opts) => runCommand(file, args, { ...opts, netns: name }),
    spawn: (file, args, opts) => spawnInNetns(name, file, args, opts),
    cleanup: () => deleteNamespace(name),
  };
}

export async function createTwoHostNet(tag: string): Promise<TwoHostNet> {
  const base = uniqueName(tag);
  const client = `${base}-c`;
  const server = `${base}-s`;
  const subnet = `fd00:${(counter & 0xffff).toString(16)}`;
  const clientAddress = `${subnet}::1`;
  const serverAddress = `${subnet}::2`;
  const dev = 'veth0';
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    const results = await Promise.allSettled([deleteNamespace(client), deleteNamespace(server)]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  try {
    await createNamespaceNamed(client);
    await createNamespaceNamed(server);
    await runCommand('ip', ['-n', client, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', dev, 'netns', server]);
    // nodad: the addresses are usable at once instead of after ~1 s of duplicate address detection.
    await runCommand('ip', ['-n', client, '-6', 'addr', 'add', `${clientAddress}/64`, 'dev', dev, 'nodad']);
    await runCommand('ip', ['-n', server, '-6', 'addr', 'add', `${serverAddress}/64`, 'dev', dev, 'nodad']);
    await runCommand('ip', ['-n', client, 'link', 'set', dev, 'up']);
    await runCommand('ip', ['-n', server, 'link', 'set', dev, 'up']);
  } catch (e) {
    await cleanup().catch(() => {});
    throw e;
  }
  return {
    client,
    server,
    clientAddress,
    serverAddress,
    clientDev: dev,
    serverDev: dev,
    exec: (ns, file, args, opts) => runCommand(file, args, { ...opts, netns: ns }),
    spawn: (ns, file, args, opts) => spawnInNetns(ns, file, args, opts),
    cleanup,
  };
}

/** Lists all network namespace names on the machine. */
export async function listNamespaces(): Promise<string[]> {
  const out = (await runCommand('ip', ['-j', 'netns', 'list'])).trim();
  if (out === '') return [];
  return (JSON.parse(out) as { name: string }[]).map((n) => n.name);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes namespaces left by crashed test runs: only names starting with prefix (a test prefix such as
 * TEST_NETNS_PREFIX) followed by `<pid>-` whose process is gone, so a concurrent test run keeps its own.
 */
export async function cleanupStaleNamespaces(prefix: string = TEST_NETNS_PREFIX): Promise<void> {
  if (prefix.length < 3) throw new Error(`refusing to clean namespaces with the too-broad prefix ${JSON.stringify(prefix)}`);
  for (const name of await listNamespaces()) {
    if (!name.startsWith(prefix)) continue;
    const pid = /^(\d+)-/.exec(name.slice(prefix.length))?.[1];
    if (pid === undefined || Number(pid) === process.pid || processAlive(Number(pid))) continue;
    await deleteNamespace(name).catch(() => {});
  }
}

export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  opts: { timeoutMs: number; what: string; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await predicate()) return;
      lastError = undefined;
    } catch (e) {
      lastError = e; // keep polling; report it if time runs out
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

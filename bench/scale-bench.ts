// Gateway scale benchmark: 1,000 concurrent sessions (all leased? server RSS?) and the upstream packet rate
// of one client alone vs 16 clients at once. Needs root (namespaces, TUN).
//
//   [ns client]  loadgen.js (N sessions, no TUN)  --veth fd00::1 == fd00::2 veth--  [ns server]  main.js :5555
//                                                                                   TUN 198.18.0.1/16
//
// Upstream packets go from each session's lease to 198.18.255.254 (never leased, inside the TUN's /16):
// the gateway writes them to its TUN and the server namespace's kernel drops them (IPv4 forwarding is off
// there, as on a gateway without `nat: true`; counted as IpInAddrErrors), so nothing leaves the two
// namespaces. (With forwarding on they would go back out through the TUN and the gateway would drop them
// as noSession: TUN reads would be added to the upstream work we mean to measure.)
// Rates are the gateway's own packetsUp counter (GET /metrics.json, queried from inside the server
// namespace); CPU and RSS come from /proc/<server pid>.
//
// Run alone: node dist/bench/scale-bench.js [seconds]   (or from bench/main.ts: scaleBench({ seconds }))
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayMetrics } from '../server/gateway';
import { type TwoHostNet, createTwoHostNet, waitFor } from '../test/support/netns';

const DIST = join(__dirname, '..');
const SERVER = join(DIST, 'server', 'main.js');
const LOADGEN = join(__dirname, 'loadgen.js');
const UUID = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const METRICS_PORT = 9605;
const SESSIONS = 1000;
const PUSH_CLIENTS = 16;
const PACKET_BYTES = 1000; // IPv4 total length: 20 B IP + 8 B UDP + 972 B payload; 1005 B frames
const BATCH_FRAMES = 32;
const HOLD_S = 10;
const WARMUP_S = 1;
/** The load generator pushes this long past the measured window, so the last sample falls inside the push. */
const PUSH_MARGIN_S = 2;
/** With 1,000 pushing sessions a /metrics.json answer can take seconds (the event loop is that slow to come round). */
const THOUSAND_MARGIN_S = 10;
const RSS_TARGET_MIB = 150;
const RATIO_TARGET = 0.8;
const CLK_TCK = 100; // Linux USER_HZ as seen in /proc/<pid>/stat

export interface ScaleBenchOptions {
  seconds: number;
  /** Also run the push runs against a keyed server (type-200 frames). Default true. */
  encrypted?: boolean;
  /** Plain push runs per client count, in the order 1, 16, 16, 1, ... (averaged). Default 2. */
  rounds?: number;
  /** Also push from 1,000 sessions at once (information: RSS and fairness under load). Default true. */
  thousandPushing?: boolean;
  /** Extra node options for the server process (e.g. ['--cpu-prof', '--cpu-prof-dir', '/tmp/x']). */
  serverNodeArgs?: string[];
}


interface Sample {
  t: number;
  m: GatewayMetrics;
  cpuS: number;
  /** Round trip of the /metrics.json request: how long the server's event loop took to answer. */
  rttMs: number;
  /** CPU seconds the whole machine spent busy (all CPUs, /proc/stat), and the load generator's. */
  machineBusyS: number;
  loadgenCpuS: number;
}

interface LoadgenEvent {
  event: 'ready' | 'result';
  leased: number;
  distinctLeases: number;
  open: number;
  leasedMs: number;
  closedReasons: Record<string, number>;
  dataDownIn: number;
  framesPushed?: number;
  framesPerSecond?: number;
  perSessionFrames?: number[];
  loadgenCpuS?: number;
  elapsedS?: number;
}

interface SessionsResult {
  idleRssMiB: number;
  rssMiB: number;
  hwmMiB: number;
  metricsSessions: number;
  leased: number;
  distinctLeases: number;
  leasedMs: number;
  evictions: number;
  afterExit: { sessions: number; leasesInUse: number };
  serverCpuS: number;
}

/** One push run: `clients` sessions writing upstream as fast as they can. */
interface PushResult {
  clients: number;
  leased: number;
  packetsPerSecond: number;
  mbitPerSecond: number;
  serverCpuS: number;
  elapsedS: number;
  rssMiB: number;
  loadgenFramesPerSecond: number;
  loadgenCpuS: number;
  /** How long the load generator pushed (its own clock). */
  pushS: number;
  /** CPU seconds the rest of the machine (kernel softirqs, other processes) used in the window. */
  otherCpuS: number;
  /** Least / most frames any one session got through (1 = perfectly even). */
  fairness: number | null;
  probeMs: number;
  drops: Record<string, number>;
}

// ---- processes -----------------------------------------------------------------------------------

/** A child whose output is kept (the tail only) and whose stdout JSON lines can be awaited. */
class Proc {
  private text = '';
  readonly events: LoadgenEvent[] = [];
  exitCode: number | null = null;
  readonly exited: Promise<number>;
  constructor(readonly child: ChildProcess, readonly label: string) {
    let line = '';
    child.stdout?.on('data', (c: Buffer) => {
      const s = c.toString();
      this.keep(s);
      line += s;
      let nl: number;
      while ((nl = line.indexOf('\n')) >= 0) {
        const l = line.slice(0, nl).trim();
        line = line.slice(nl + 1);
        if (l.startsWith('{')) {
          try {
            this.events.push(JSON.parse(l) as LoadgenEvent);
          } catch {
            // not ours
          }
        }
      }
    });
    child.stderr?.on('data', (c: Buffer) => this.keep(c.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? 128 : 1);
      resolve(this.exitCode);
    }));
  }

  get out(): string {
    return this.text;
  }

  private keep(s: string): void {
    this.text += s;
    if (this.text.length > 256 * 1024) this.text = this.text.slice(-128 * 1024);
  }

  async waitForText(re: RegExp, timeoutMs: number): Promise<void> {
    await waitFor(() => re.test(this.text) || this.exitCode !== null, { timeoutMs, what: `${this.label} to print ${re}` });
    if (!re.test(this.text)) throw new Error(`${this.label} exited (${this.exitCode}) before printing ${re}:\n${this.tail()}`);
  }

  async waitForEvent(event: LoadgenEvent['event'], timeoutMs: number): Promise<LoadgenEvent> {
    const find = () => this.events.find((e) => e.event === event);
    await waitFor(() => find() !== undefined || this.exitCode !== null, { timeoutMs, what: `${this.label} to report "${event}"` });
    const e = find();
    if (!e) throw new Error(`${this.label} exited (${this.exitCode}) before reporting "${event}":\n${this.tail()}`);
    return e;
  }

  tail(lines = 30): string {
    return this.text.trimEnd().split('\n').slice(-lines).join('\n');
  }

  async stop(): Promise<void> {
    if (this.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.exitCode === null) this.child.kill('SIGKILL');
    }, 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Reads GET /metrics.json from inside the server namespace: one long-lived `ip netns exec <ns> node -e`
 * child that fetches on every line it reads from stdin, so a sample costs no process start.
 */
const PROBE_SCRIPT = `
const http = require('node:http');
const port = Number(process.argv[1]);
const rl = require('node:readline').createInterface({ input: process.stdin });
const reply = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
rl.on('line', () => {
  http.get({ host: '127.0.0.1', port, path: '/metrics.json' }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (body += c));
    res.on('end', () => reply({ t: Date.now(), status: res.statusCode, body }));
  }).on('error', (e) => reply({ t: Date.now(), error: e.message }));
});
rl.on('close', () => process.exit(0));
`;

class MetricsProbe {
  private readonly proc: Proc;
  private buffered = '';
  private waiting: Array<(line: string) => void> = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(net: TwoHostNet, port: number) {
    const child = net.spawn(net.server, process.execPath, ['-e', PROBE_SCRIPT, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = new Proc(child, 'metrics probe');
    child.stdout?.on('data', (c: Buffer) => {
      this.buffered += c.toString();
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        this.waiting.shift()?.(line);
      }
    });
  }

  /** One /metrics.json reading with the time (ms since epoch) it arrived in the probe. */
  read(timeoutMs = 30_000): Promise<{ t: number; m: GatewayMetrics; rttMs: number }> {
    const run = async (): Promise<{ t: number; m: GatewayMetrics; rttMs: number }> => {
      if (this.proc.exitCode !== null) throw new Error(`metrics probe exited:\n${this.proc.tail()}`);
      const sent = Date.now();
      const line = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiting = this.waiting.filter((w) => w !== done);
          reject(new Error('metrics probe did not answer in time'));
        }, timeoutMs);
        const done = (l: string) => {
          clearTimeout(timer);
          resolve(l);
        };
        this.waiting.push(done);
        this.proc.child.stdin?.write('\n');
      });
      const r = JSON.parse(line) as { t: number; status?: number; body?: string; error?: string };
      if (r.error !== undefined || r.status !== 200 || r.body === undefined) {
        throw new Error(`GET /metrics.json failed: ${r.error ?? `HTTP ${r.status}`}`);
      }
      return { t: r.t, m: JSON.parse(r.body) as GatewayMetrics, rttMs: Date.now() - sent };
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }

  async stop(): Promise<void> {
    this.proc.child.stdin?.end();
    await this.proc.stop();
  }
}

// ---- /proc -----------------------------------------------------------------------------------------

function cpuSeconds(pid: number): number {
  // Fields after "(comm) ": state is [0], so utime (field 14) is [11] and stime (15) is [12].
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Busy CPU seconds of the whole machine since boot: everything in /proc/stat's "cpu" line but idle and iowait. */
function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) / CLK_TCK;
}

function memoryMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** `ip netns exec` execs the program in place: check that the pid we hold is the server's node process. */
function assertIsServer(pid: number): void {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  if (exe !== realpathSync(process.execPath) || !cmdline.includes(SERVER)) {
    throw new Error(`pid ${pid} is ${exe} (${cmdline.join(' ')}), not the gateway: /proc figures would be wrong`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the benchmark ---------------------------------------------------------------------------------

class Bench {
  private readonly procs: Proc[] = [];
  private server: Proc | null = null;
  private probe: MetricsProbe | null = null;

  constructor(private readonly net: TwoHostNet, private readonly dir: string, private readonly serverNodeArgs: string[]) {}

  get serverPid(): number {
    const pid = this.server?.child.pid;
    if (pid === undefined) throw new Error('server not running');
    return pid;
  }

  async startServer(pk: string | null): Promise<void> {
    const config = join(this.dir, `server-${pk ? 'encrypted' : 'plain'}.yaml`);
    writeFileSync(config, [
      'listen_address: "::"',
      'port: 5555',
      'gateway: "198.18.0.1"',
      'address_range: "198.18.0.2-198.18.7.250"',
      'netmask: "255.255.0.0"',
      'dns0: "198.18.0.53"',
      'dns1: "198.18.0.54"',
      'dns2: "198.18.0.55"',
      'tun_name: "4o6scale0"',
      `metrics_listen: "127.0.0.1:${METRICS_PORT}"`,
      `state_dir: "${join(this.dir, 'gateway-state')}"`,
      // Every session comes from one address, up to --concurrency (128) of them awaiting their lease at once.
      'max_unleased_per_address: 100000',
      'max_unleased_per_prefix: 100000',
      'max_unleased: 100000',
      ...(pk ? [`pk: "${pk}"`] : []),
      '',
    ].join('\n'));
    const child = this.net.spawn(this.net.server, process.execPath, [...this.serverNodeArgs, SERVER, '-c', config]);
    this.server = new Proc(child, 'server');
    this.procs.push(this.server);
    await this.server.waitForText(/metrics on /, 15_000);
    assertIsServer(this.serverPid);
    this.probe = new MetricsProbe(this.net, METRICS_PORT);
    await waitFor(async () => (await this.metrics()).m.sessions === 0, { timeoutMs: 10_000, what: 'the metrics endpoint' });
  }

  async stopServer(): Promise<void> {
    await this.probe?.stop();
    this.probe = null;
    await this.server?.stop();
    this.server = null;
  }

  metrics(): Promise<{ t: number; m: GatewayMetrics; rttMs: number }> {
    if (!this.probe) throw new Error('no metrics probe');
    return this.probe.read();
  }

  async sample(loadgen: Proc): Promise<Sample> {
    const { t, m, rttMs } = await this.metrics();
    const lgPid = loadgen.child.pid;
    return {
      t, m, rttMs,
      cpuS: cpuSeconds(this.serverPid),
      machineBusyS: machineBusySeconds(),
      loadgenCpuS: lgPid !== undefined && loadgen.exitCode === null ? cpuSeconds(lgPid) : NaN,
    };
  }

  loadgen(args: string[], pk: string | null): Proc {
    const child = this.net.spawn(this.net.client, process.execPath, [
      LOADGEN, '--server', this.net.serverAddress, '--port', '5555', ...(pk ? ['--pk', pk] : []), ...args,
    ]);
    const p = new Proc(child, `loadgen ${args.join(' ')}`);
    this.procs.push(p);
    return p;
  }

  /** Waits until the server holds no session and no lease (the previous run's sockets are gone). */
  async drained(timeoutMs = 15_000): Promise<GatewayMetrics> {
    let last: GatewayMetrics | null = null;
    try {
      await waitFor(async () => {
        last = (await this.metrics()).m;
        return last.sessions === 0 && last.leasesInUse === 0;
      }, { timeoutMs, what: 'the server to drop every session and lease', intervalMs: 200 });
    } catch {
      // reported by the caller from the figures
    }
    return last ?? (await this.metrics()).m;
  }

  async sessionsRun(): Promise<SessionsResult> {
    await sleep(500);
    const idle = memoryMiB(this.serverPid);
    const cpu0 = cpuSeconds(this.serverPid);
    const lg = this.loadgen(['--packet-bytes', String(PACKET_BYTES), 'sessions', String(SESSIONS), 'hold', String(HOLD_S + 5)], null);
    const ready = await lg.waitForEvent('ready', 120_000);
    const readyAt = Date.now();
    await waitFor(async () => (await this.metrics()).m.sessions >= ready.open, {
      timeoutMs: 10_000, what: `server sessions to reach ${ready.open}`,
    }).catch(() => {});
    await sleep(Math.max(0, readyAt + HOLD_S * 1000 - Date.now()));
    const held = await this.metrics();
    const mem = memoryMiB(this.serverPid);
    const cpuS = cpuSeconds(this.serverPid) - cpu0;
    const result = await lg.waitForEvent('result', 30_000);
    await lg.exited;
    const after = await this.drained();
    return {
      idleRssMiB: idle.rss,
      rssMiB: mem.rss,
      hwmMiB: mem.hwm,
      metricsSessions: held.m.sessions,
      leased: Math.min(ready.leased, result.leased),
      distinctLeases: result.distinctLeases,
      leasedMs: ready.leasedMs,
      evictions: held.m.heartbeatEvictions,
      afterExit: { sessions: after.sessions, leasesInUse: after.leasesInUse },
      serverCpuS: cpuS,
    };
  }

  async pushRun(clients: number, seconds: number, pk: string | null, marginS = PUSH_MARGIN_S): Promise<PushResult> {
    await this.drained(60_000);
    const lg = this.loadgen([
      '--packet-bytes', String(PACKET_BYTES), '--batch', String(BATCH_FRAMES),
      'push', String(clients), String(WARMUP_S + seconds + marginS),
    ], pk);
    const ready = await lg.waitForEvent('ready', 120_000);
    if (ready.leased !== clients) throw new Error(`push ${clients}: only ${ready.leased} of ${clients} sessions got a lease`);
    await sleep(WARMUP_S * 1000);
    const s0 = await this.sample(lg);
    await sleep(Math.max(0, s0.t + seconds * 1000 - Date.now()));
    const s1 = await this.sample(lg);
    const mem = memoryMiB(this.serverPid);
    const result = await lg.waitForEvent('result', 60_000);
    await lg.exited;
    const dt = (s1.t - s0.t) / 1000;
    const drops: Record<string, number> = {};
    for (const [k, v] of Object.entries(s1.m.drops)) {
      const d = v - (s0.m.drops[k as keyof GatewayMetrics['drops']] ?? 0);
      if (d !== 0) drops[k] = d;
    }
    const per = result.perSessionFrames ?? [];
    return {
      clients,
      leased: ready.leased,
      packetsPerSecond: (s1.m.packetsUp - s0.m.packetsUp) / dt,
      mbitPerSecond: ((s1.m.bytesUp - s0.m.bytesUp) * 8) / dt / 1e6,
      serverCpuS: s1.cpuS - s0.cpuS,
      elapsedS: dt,
      rssMiB: mem.rss,
      loadgenFramesPerSecond: result.framesPerSecond ?? 0,
      loadgenCpuS: result.loadgenCpuS ?? 0,
      pushS: result.elapsedS ?? WARMUP_S + seconds + marginS,
      otherCpuS: s1.machineBusyS - s0.machineBusyS - (s1.cpuS - s0.cpuS) - (s1.loadgenCpuS - s0.loadgenCpuS || 0),
      fairness: per.length > 1 ? Math.min(...per) / Math.max(...per) : null,
      probeMs: Math.max(s0.rttMs, s1.rttMs),
      drops,
    };
  }

  async cleanup(): Promise<void> {
    await this.probe?.stop().catch(() => {});
    await Promise.all(this.procs.map((p) => p.stop().catch(() => {})));
  }

  serverLogTail(): string {
    return this.server?.tail() ?? '';
  }
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (part: number, whole: number) => `${fmt((100 * part) / whole)} %`;

/** Several runs of one configuration: rates averaged, CPU and time summed, worst cases kept. */
function combine(runs: PushResult[]): PushResult & { runs: PushResult[] } {
  const mean = (f: (r: PushResult) => number) => runs.reduce((a, r) => a + f(r), 0) / runs.length;
  const sum = (f: (r: PushResult) => number) => runs.reduce((a, r) => a + f(r), 0);
  const drops: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.drops)) drops[k] = (drops[k] ?? 0) + v;
  const fair = runs.map((r) => r.fairness).filter((f): f is number => f !== null);
  return {
    runs,
    clients: runs[0].clients,
    leased: Math.min(...runs.map((r) => r.leased)),
    packetsPerSecond: mean((r) => r.packetsPerSecond),
    mbitPerSecond: mean((r) => r.mbitPerSecond),
    serverCpuS: sum((r) => r.serverCpuS),
    elapsedS: sum((r) => r.elapsedS),
    rssMiB: Math.max(...runs.map((r) => r.rssMiB)),
    loadgenFramesPerSecond: mean((r) => r.loadgenFramesPerSecond),
    loadgenCpuS: sum((r) => r.loadgenCpuS),
    pushS: sum((r) => r.pushS),
    otherCpuS: sum((r) => r.otherCpuS),
    fairness: fair.length > 0 ? Math.min(...fair) : null,
    probeMs: Math.max(...runs.map((r) => r.probeMs)),
    drops,
  };
}

type PushRow = ReturnType<typeof combine> & { label: string };

/** Upstream packets per CPU-second of the server: its efficiency, whatever CPU it was given. */
const perCpu = (r: PushResult) => (r.packetsPerSecond * r.elapsedS) / r.serverCpuS;

export async function scaleBench(opts: ScaleBenchOptions): Promise<string> {
  const seconds = opts.seconds;
  if (!(seconds > 0)) throw new RangeError('scaleBench: seconds must be positive');
  if (process.getuid?.() !== 0) throw new Error('scaleBench needs root (network namespaces and a TUN device)');
  const rounds = Math.max(1, Math.floor(opts.rounds ?? 2));
  const dir = mkdtempSync(join(tmpdir(), '4o6-scale-'));
  let net: TwoHostNet | null = null;
  let bench: Bench | null = null;
  try {
    net = await createTwoHostNet('scale');
    // The first packet over a fresh veth waits ~1 s for neighbour discovery; pay that before timing leases.
    await net.exec(net.client, 'ping', ['-6', '-c', '1', '-W', '5', net.serverAddress]).catch(() => '');
    bench = new Bench(net, dir, opts.serverNodeArgs ?? []);

    await bench.startServer(null);
    const sessions = await bench.sessionsRun();
    // 1, 16, 16, 1, ...: slow drift of the machine (thermal, neighbours) hits both sides alike.
    const runs = new Map<number, PushResult[]>([[1, []], [PUSH_CLIENTS, []]]);
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? [1, PUSH_CLIENTS] : [PUSH_CLIENTS, 1];
      for (const n of order) runs.get(n)?.push(await bench.pushRun(n, seconds, null));
    }
    const rows: PushRow[] = [
      { label: 'plain, 1 client', ...combine(runs.get(1) ?? []) },
      { label: `plain, ${PUSH_CLIENTS} clients`, ...combine(runs.get(PUSH_CLIENTS) ?? []) },
    ];
    if (opts.thousandPushing ?? true) {
      rows.push({ label: `plain, ${fmt(SESSIONS)} clients (information)`, ...combine([await bench.pushRun(SESSIONS, seconds, null, THOUSAND_MARGIN_S)]) });
    }
    const peakMiB = memoryMiB(bench.serverPid).hwm;
    await bench.stopServer();

    if (opts.encrypted ?? true) {
      await bench.startServer(UUID);
      rows.push({ label: 'encrypted, 1 client', ...combine([await bench.pushRun(1, seconds, UUID)]) });
      rows.push({ label: `encrypted, ${PUSH_CLIENTS} clients`, ...combine([await bench.pushRun(PUSH_CLIENTS, seconds, UUID)]) });
      await bench.stopServer();
    }
    return report(seconds, rounds, sessions, rows, peakMiB);
  } catch (err) {
    const tail = bench?.serverLogTail();
    if (tail && err instanceof Error) err.message += `\n--- server log (tail) ---\n${tail}`;
    throw err;
  } finally {
    await bench?.cleanup();
    await net?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(seconds: number, rounds: number, s: SessionsResult, rows: PushRow[], peakMiB: number): string {
  const lines: string[] = [];
  lines.push(`## Gateway scale: ${fmt(SESSIONS)} sessions; 1 vs ${PUSH_CLIENTS} clients pushing upstream\n`);
  lines.push(
    `One load-generator process (no TUN) in the client namespace. Upstream packets are ${PACKET_BYTES}-byte IPv4/UDP ` +
    `(${PACKET_BYTES + 5}-byte frames, ${BATCH_FRAMES} per socket write) to 198.18.255.254, which the server ` +
    'namespace\'s kernel drops after the gateway wrote them to its TUN (forwarding is off there: IpInAddrErrors). ' +
    `Rates are the gateway's packetsUp over ${seconds} s after ${WARMUP_S} s of warm-up; plain 1- and ${PUSH_CLIENTS}-client ` +
    `rates average ${rounds} run(s) each, run in the order 1, ${PUSH_CLIENTS}, ${PUSH_CLIENTS}, 1. Server CPU is its ` +
    `utime+stime (all threads) over the window; packets per server CPU-second is the least sensitive to other load on the machine; "metrics RTT" is the slowest /metrics.json answer during the window, a ` +
    `measure of the event loop's latency; "rest of the machine" is the CPU time neither the server nor the load generator ` +
    `used (kernel softirqs, other processes: high values mean a disturbed run). ${cpus().length} CPUs shared by server, ` +
    'load generator and kernel.\n',
  );
  lines.push('| run | sessions | upstream packets/s | Mbit/s (IPv4) | server CPU s | server CPU | packets per server CPU-s | server RSS MiB | notes |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  lines.push(
    `| ${fmt(SESSIONS)} sessions held ${HOLD_S} s | ${fmt(s.metricsSessions)} | – | – | ${fmt(s.serverCpuS, 2)} | – | – | ` +
    `${fmt(s.rssMiB, 1)} | idle server ${fmt(s.idleRssMiB, 1)} MiB; ${fmt(s.leased)} leased (${fmt(s.distinctLeases)} distinct) ` +
    `in ${fmt(s.leasedMs / 1000, 2)} s; ${s.evictions} evicted; after the load generator exited: ${s.afterExit.sessions} ` +
    `sessions, ${s.afterExit.leasesInUse} leases |`,
  );
  for (const r of rows) {
    const drops = Object.entries(r.drops).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
    const notes = [
      r.runs.length > 1 ? `runs: ${r.runs.map((x) => fmt(x.packetsPerSecond)).join(' / ')}` : '',
      `load generator wrote ${fmt(r.loadgenFramesPerSecond)} frames/s with ${pct(r.loadgenCpuS, r.pushS)} CPU`,
      r.fairness !== null ? `per-session frames min/max ${fmt(r.fairness, 2)}` : '',
      `metrics RTT ${fmt(r.probeMs)} ms`,
      `rest of the machine busy ${pct(r.otherCpuS, r.elapsedS)} of a CPU`,
      drops ? `drops: ${drops}` : '',
    ].filter(Boolean).join('; ');
    lines.push(
      `| ${r.label} | ${fmt(r.leased)} | ${fmt(r.packetsPerSecond)} | ${fmt(r.mbitPerSecond)} | ${fmt(r.serverCpuS, 2)} | ` +
      `${pct(r.serverCpuS, r.elapsedS)} | ${fmt(perCpu(r))} | ${fmt(r.rssMiB, 1)} | ${notes} |`,
    );
  }
  lines.push('');
  const allLeased = s.leased === SESSIONS && s.metricsSessions === SESSIONS && s.distinctLeases === SESSIONS;
  lines.push(
    `- Target: ${fmt(SESSIONS)} concurrent sessions, all leased: **${allLeased ? 'met' : 'not met'}** ` +
    `(${fmt(s.leased)} leases, ${fmt(s.distinctLeases)} distinct, server metrics sessions = ${fmt(s.metricsSessions)}).`,
  );
  lines.push(
    `- Target: server RSS ≤ ${RSS_TARGET_MIB} MiB with ${fmt(SESSIONS)} sessions held ~${HOLD_S} s: ` +
    `**${s.rssMiB <= RSS_TARGET_MIB && allLeased ? 'met' : 'not met'}** (${fmt(s.rssMiB, 1)} MiB; peak over the ` +
    `whole plain server run, pushing included: ${fmt(peakMiB, 1)} MiB).`,
  );
  const [one, many] = rows;
  const ratio = many.packetsPerSecond / one.packetsPerSecond;
  lines.push(
    `- Target: ${PUSH_CLIENTS} clients' aggregate ≥ ${RATIO_TARGET * 100} % of one client alone: ` +
    `**${ratio >= RATIO_TARGET ? 'met' : 'not met'}** (${fmt(many.packetsPerSecond)} vs ${fmt(one.packetsPerSecond)} ` +
    `packets/s: ${fmt(ratio * 100)} %; per server CPU-second: ${fmt(perCpu(many))} vs ${fmt(perCpu(one))}, ` +
    `${fmt((perCpu(many) / perCpu(one)) * 100)} %).`,
  );
  const enc1 = rows.find((r) => r.label === 'encrypted, 1 client');
  const encN = rows.find((r) => r.label === `encrypted, ${PUSH_CLIENTS} clients`);
  if (enc1 && encN) {
    const re = encN.packetsPerSecond / enc1.packetsPerSecond;
    lines.push(
      `- Same with encryption (information, not a target): ${fmt(encN.packetsPerSecond)} vs ${fmt(enc1.packetsPerSecond)} ` +
      `packets/s: ${fmt(re * 100)} % (${re >= RATIO_TARGET ? 'would meet' : 'would not meet'} the ${RATIO_TARGET * 100} % bar).`,
    );
  }
  return lines.join('\n') + '\n';
}

if (require.main === module) {
  const seconds = Number(process.argv[2] ?? 5);
  scaleBench({ seconds }).then((section) => console.log(section), (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

#!/usr/bin/env node
// Gateway soak: our gateway process (dist/server/main.js) in a namespace, 200 real clients doing steady
// traffic (bench/loadgen.ts steady: ICMP echo to the gateway, replies counted) while abusive connections
// come and go (bench/abusers.ts: slowloris, idle, garbage, IP-request floods that never read,
// non-reading clients, wrong keys), from another /64. Every 10 s it samples the gateway's RSS and open
// fds (/proc/<pid>) and its event-loop delay (its metrics endpoint), and a newly arriving client asks
// for a lease. Needs root (namespaces, TUN).
//
//   [ns client]  loadgen (200, from fd00:N::11-1a)                  [ns server]  main.js :5555, pk set
//                abusers (fd00:N:0:1::/64 .. fd00:N:0:4::/64) == veth == TUN 198.18.0.1/24, pool of 249
//                probes (2 new clients every 10 s, fd00:N::1)
//
// It FAILS when, after the warm-up (the first minute; two thirds of a shorter run), RSS or open fds grow by
// more than 20 % (runs under 5 minutes: and by more than 32 MiB or 64 fds); when a legitimate client loses its session or its echo replies stop; when a newly
// arriving client gets no lease; or when the gateway does not stop cleanly at the end. It writes
// soak.png (RSS, fds, loop delay over time), soak-summary.json and soak-summary.txt to the output folder.
//
//   npm run soak                      10 minutes (SOAK_SECONDS to change, SOAK_OUT for the folder)
//   node dist/bench/soak.js [seconds] [out-dir]
import { type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ipaddr from 'ipaddr.js';
import { type TwoHostNet, createTwoHostNet, waitFor } from '../test/support/netns';
import { COLORS, plotPanels } from './png-plot';

const DIST = join(__dirname, '..');
const SERVER = join(DIST, 'server', 'main.js');
const LOADGEN = join(__dirname, 'loadgen.js');
const ABUSERS = join(__dirname, 'abusers.js');
const UUID = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const GATEWAY = '198.18.0.1';
const SAMPLE_MS = 10_000;
const GROWTH_LIMIT = 1.2;
/**
 * A run shorter than this judges growth over a few samples while V8's heap is still sizing itself,
 * so it fails only past the 20 % AND past an absolute slack (a real leak, such as queued answers to a
 * request flood, grew by hundreds of MiB). The 60-second soak in `npm test` is such a run.
 */
const SHORT_RUN_S = 300;
const SHORT_RUN_SLACK = { rssMiB: 32, fds: 64 };
/** How long a newly arriving client may take to get its lease. */
const PROBE_LEASE_TIMEOUT_S = 15;

export interface SoakOptions {
  seconds: number;
  outDir: string;
  /** Legitimate clients with steady traffic (default 200). */
  clients?: number;
  /** Growth is judged from the first sample at or after this (default: a minute, two thirds of a shorter run). */
  warmupS?: number;
  log?: (line: string) => void;
}

export interface SoakSample {
  /** Seconds since the clients and abusers started. */
  t: number;
  rssMiB: number;
  fds: number;
  loopDelayP99Ms: number | null;
  loopDelayMaxMs: number | null;
  sessions: number | null;
  unleased: number | null;
  leasesFree: number | null;
  /** Echo replies the legitimate clients had received by then. */
  echoReplies: number | null;
}

export interface SoakResult {
  passed: boolean;
  failures: string[];
  seconds: number;
  clients: number;
  warmupS: number;
  samples: SoakSample[];
  probes: { attempted: number; failed: number };
  legit: { leased: number; lost: number; echoSent: number; echoReplies: number };
  abuse: Record<string, Record<string, number>>;
  gateway: {
    exitCode: number | null;
    logLines: number;
    logBytes: number;
    /** The most frequent kinds of log line (numbers and addresses blanked) and how many of each. */
    logKinds: Record<string, number>;
    metrics: Record<string, unknown> | null;
  };
  growth: { rss: number | null; fds: number | null };
  pngPath: string;
  summaryPath: string;
}

// ---- processes -----------------------------------------------------------------------------------

/** A child process whose stdout JSON lines are collected, and whose output is kept (the tail only). */
class Child {
  readonly events: Record<string, unknown>[] = [];
  tail = '';
  exitCode: number | null = null;
  readonly exited: Promise<number>;
  private listeners: ((e: Record<string, unknown>) => void)[] = [];

  constructor(readonly child: ChildProcess, readonly label: string) {
    let partial = '';
    child.stdout?.on('data', (c: Buffer) => {
      this.keep(c.toString());
      partial += c.toString();
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl).trim();
        partial = partial.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const e = JSON.parse(line) as Record<string, unknown>;
          this.events.push(e);
          for (const l of this.listeners) l(e);
        } catch {
          // not one of ours
        }
      }
    });
    child.stderr?.on('data', (c: Buffer) => this.keep(c.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve((this.exitCode = code ?? (signal ? 128 : 1)))));
  }

  onEvent(listener: (e: Record<string, unknown>) => void): void {
    this.listeners.push(listener);
  }

  last(event: string): Record<string, unknown> | undefined {
    return [...this.events].reverse().find((e) => e.event === event);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<number> {
    if (this.exitCode !== null) return this.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  private keep(s: string): void {
    this.tail = (this.tail + s).slice(-8000);
  }
}

function getJson(socketPath: string, path: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise, reject) => {
    const req = http.get({ socketPath, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        try {
          resolvePromise(JSON.parse(body) as Record<string, unknown>);
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${path} within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return line ? Number(line.split(/\s+/)[1]) / 1024 : NaN;
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The abusers, each group from its own /64 on the same veth (fd00:N:0:1::/64, ...): the gateway limits
 * unleased connections per /64, so one group filling its /64 leaves the others, and the legitimate
 * clients' fd00:N::/64, to reach the gateway and be dealt with on their own.
 */
const ABUSER_GROUPS: { kinds: Record<string, number>; hosts: number }[] = [
  { kinds: { slowloris: 120 }, hosts: 6 },
  { kinds: { idle: 40 }, hosts: 4 },
  { kinds: { garbage: 4, 'wrong-key': 2 }, hosts: 2 },
  { kinds: { flood: 2, 'non-reading': 4 }, hosts: 2 },
];

function abuserNet(net: TwoHostNet, group: number, hosts: number): { prefix: string; server: string; clients: string[] } {
  const parts = ipaddr.IPv6.parse(net.clientAddress).parts;
  const prefix = parts.slice(0, 3).map((p) => p.toString(16)).join(':') + `:${group + 1}`;
  return { prefix: `${prefix}::/64`, server: `${prefix}::2`, clients: Array.from({ length: hosts }, (_, i) => `${prefix}::a${i + 1}`) };
}

// ---- the soak ------------------------------------------------------------------------------------

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const seconds = opts.seconds;
  const clients = opts.clients ?? 200;
  // RSS climbs for the first ~40 s while the abuse ramps up and V8 sizes its heaps, then stays flat.
  const warmupS = opts.warmupS ?? Math.min(60, Math.floor((seconds * 2) / 3));
  const outDir = resolve(opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), '4o6-soak-'));
  const failures: string[] = [];
  const fail = (why: string) => {
    if (!failures.includes(why)) {
      failures.push(why);
      log(`FAIL: ${why}`);
    }
  };
  const children: Child[] = [];
  let net: TwoHostNet | null = null;
  const samples: SoakSample[] = [];
  const probes = { attempted: 0, failed: 0 };
  let lost = 0;
  let gatewayExit: number | null = null;
  let finalMetrics: Record<string, unknown> | null = null;
  let logBytes = 0;
  let logLines = 0;
  const logKinds = new Map<string, number>();

  try {
    net = await createTwoHostNet('soak');
    const n = net;
    // The legitimate clients come from 10 addresses of their /64 (a household or an office), not one.
    const legitAddresses = Array.from({ length: 10 }, (_, i) => n.clientAddress.replace(/::1$/, `::${(0x11 + i).toString(16)}`));
    for (const a of legitAddresses) await n.exec(n.client, 'ip', ['-6', 'addr', 'add', `${a}/64`, 'dev', n.clientDev, 'nodad']);
    const groups = ABUSER_GROUPS.map((g, i) => ({ ...g, net: abuserNet(n, i, g.hosts) }));
    for (const g of groups) {
      await n.exec(n.server, 'ip', ['-6', 'addr', 'add', `${g.net.server}/64`, 'dev', n.serverDev, 'nodad']);
      for (const a of g.net.clients) await n.exec(n.client, 'ip', ['-6', 'addr', 'add', `${a}/64`, 'dev', n.clientDev, 'nodad']);
    }

    const metricsSocket = join(work, 'metrics.sock');
    const config = join(work, 'server.yaml');
    writeFileSync(config, [
      'listen_address: "::"', 'port: 5555', `gateway: "${GATEWAY}"`, 'address_range: "198.18.0.2-198.18.0.250"',
      'netmask: "255.255.255.0"', 'dns0: "198.18.0.53"', 'dns1: "0.0.0.0"', 'dns2: "0.0.0.0"', `pk: "${UUID}"`,
      'tun_name: "4o6soak%d"', `metrics_listen: "${metricsSocket}"`, `state_dir: "${join(work, 'state')}"`,
    ].join('\n') + '\n');
    const gateway = new Child(n.spawn(n.server, process.execPath, [SERVER, '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] }), 'gateway');
    children.push(gateway);
    // The gateway's log is counted, by kind of line: its size says whether peers can make it grow without bound.
    let partialLine = '';
    gateway.child.stderr?.on('data', (c: Buffer) => {
      logBytes += c.length;
      const lines = (partialLine + c.toString()).split('\n');
      partialLine = lines.pop() ?? '';
      for (const line of lines) {
        logLines++;
        const kind = logKind(line);
        logKinds.set(kind, (logKinds.get(kind) ?? 0) + 1);
      }
    });
    await waitFor(() => /listening on/.test(gateway.tail) || gateway.exitCode !== null, { timeoutMs: 20_000, what: 'the gateway to listen' });
    if (gateway.exitCode !== null) throw new Error(`the gateway exited (${gateway.exitCode}):\n${gateway.tail}`);
    const pid = gateway.child.pid as number;
    await waitFor(() => statSync(metricsSocket, { throwIfNoEntry: false }) !== undefined, { timeoutMs: 10_000, what: 'the metrics socket' });
    log(`gateway pid ${pid} listening; ${clients} clients, abusers from ${groups.length} other /64s, ${seconds} s`);

    // The legitimate clients: all leased before the clock starts.
    const legitSeconds = seconds + 5;
    const legit = new Child(n.spawn(n.client, process.execPath, [
      LOADGEN, '--server', n.serverAddress, '--bind', legitAddresses.join(','), '--pk', UUID, '--dst', GATEWAY,
      '--interval-ms', '500', '--heartbeat', '10', '--concurrency', '16', '--lease-timeout', '30', 'steady', String(clients), String(legitSeconds),
    ]), 'clients');
    children.push(legit);
    legit.onEvent((e) => {
      if (e.event === 'lost') {
        lost++;
        fail(`a legitimate client lost its session (lease ${String(e.lease)}: ${String(e.reason)})`);
      }
    });
    await waitFor(() => legit.last('ready') !== undefined || legit.exitCode !== null, { timeoutMs: 90_000, what: 'the clients to be leased' });
    const ready = legit.last('ready');
    if (!ready || ready.leased !== clients) throw new Error(`only ${String(ready?.leased)} of ${clients} clients got a lease:\n${legit.tail}`);
    log(`${clients} clients leased in ${String(ready.leasedMs)} ms`);

    const abusers = groups.map((g) => new Child(n.spawn(n.client, process.execPath, [
      ABUSERS, '--server', g.net.server, '--bind', g.net.clients.join(','), '--pk', UUID, '--dst', GATEWAY, '--seconds', String(seconds),
      ...Object.entries(g.kinds).flatMap(([kind, count]) => [`--${kind}`, String(count)]),
    ]), `abusers ${g.net.prefix}`));
    children.push(...abusers);

    const start = Date.now();
    const end = start + seconds * 1000;
    let lastReplies = -1;
    let stalled = 0;
    const sample = async (): Promise<void> => {
      const t = Math.round((Date.now() - start) / 1000);
      let m: Record<string, unknown> | null = null;
      try {
        m = await getJson(metricsSocket, '/metrics.json');
      } catch (err) {
        fail(`the gateway's metrics did not answer at ${t} s: ${(err as Error).message}`);
      }
      const p = (m?.process ?? {}) as { eventLoopDelayMs?: { p99?: unknown; max?: unknown } };
      const progress = legit.last('progress');
      const s: SoakSample = {
        t,
        rssMiB: Math.round(rssMiB(pid) * 10) / 10,
        fds: openFds(pid),
        loopDelayP99Ms: num(p.eventLoopDelayMs?.p99),
        loopDelayMaxMs: num(p.eventLoopDelayMs?.max),
        sessions: num(m?.sessions),
        unleased: num(m?.unleased),
        leasesFree: num(m?.leasesFree),
        echoReplies: num(progress?.echoRepliesIn),
      };
      samples.push(s);
      log(`t=${t}s rss ${s.rssMiB} MiB, fds ${s.fds}, loop delay p99 ${s.loopDelayP99Ms} ms max ${s.loopDelayMaxMs} ms, ` +
        `sessions ${s.sessions}, unleased ${s.unleased}, free ${s.leasesFree}, echo replies ${s.echoReplies}`);
      // Replies must keep coming: a client whose traffic stops has lost its session in all but name.
      if (s.echoReplies !== null) {
        stalled = s.echoReplies > lastReplies ? 0 : stalled + 1;
        if (stalled >= 2) fail(`the legitimate clients' echo replies stopped (${s.echoReplies} at ${t} s)`);
        lastReplies = s.echoReplies;
      }
    };
    /** A newly arriving legitimate client: two sessions that must get their leases. */
    const probe = async (): Promise<void> => {
      probes.attempted++;
      const p = new Child(n.spawn(n.client, process.execPath, [
        LOADGEN, '--server', n.serverAddress, '--bind', n.clientAddress, '--pk', UUID, '--lease-timeout', String(PROBE_LEASE_TIMEOUT_S), 'sessions', '2', 'hold', '1',
      ]), 'probe');
      children.push(p);
      await p.exited;
      const r = p.last('ready');
      if (!r || r.leased !== 2) {
        probes.failed++;
        fail(`a newly arriving client got no lease (${String(r?.leased ?? 0)} of 2 leased: ${JSON.stringify(r?.closedReasons ?? p.tail.slice(-300))})`);
      }
      children.splice(children.indexOf(p), 1);
    };

    while (Date.now() < end) {
      const tick = Date.now();
      await Promise.all([probe(), sleep(Math.min(SAMPLE_MS, end - tick)).then(sample)]);
      if (gateway.exitCode !== null) {
        fail(`the gateway exited (${gateway.exitCode}) during the soak`);
        break;
      }
    }

    // The gateway's counters while everyone is still connected, then the ends of the clients' runs.
    finalMetrics = await getJson(metricsSocket, '/metrics.json').catch(() => null);
    await Promise.all(abusers.map((a) => a.exited));
    await legit.exited;
    const result = legit.last('result');
    gatewayExit = await gateway.stop('SIGTERM');
    if (gatewayExit !== 0) fail(`the gateway did not stop cleanly (exit ${gatewayExit})`);

    // Growth after the warm-up: the median of the last three samples against the first one after it.
    const after = samples.filter((s) => s.t >= warmupS);
    const growth = { rss: null as number | null, fds: null as number | null };
    if (after.length >= 2) {
      const base = after[0];
      const tail = after.slice(-3);
      growth.rss = median(tail.map((s) => s.rssMiB)) / base.rssMiB;
      growth.fds = median(tail.map((s) => s.fds)) / base.fds;
      const short = seconds < SHORT_RUN_S;
      const rssGrowthMiB = median(tail.map((s) => s.rssMiB)) - base.rssMiB;
      const fdGrowth = median(tail.map((s) => s.fds)) - base.fds;
      if (growth.rss > GROWTH_LIMIT && (!short || rssGrowthMiB > SHORT_RUN_SLACK.rssMiB)) fail(`RSS grew ${pct(growth.rss)} after the warm-up (${base.rssMiB} MiB at ${base.t} s -> ${median(tail.map((s) => s.rssMiB))} MiB)`);
      if (growth.fds > GROWTH_LIMIT && (!short || fdGrowth > SHORT_RUN_SLACK.fds)) fail(`open fds grew ${pct(growth.fds)} after the warm-up (${base.fds} at ${base.t} s -> ${median(tail.map((s) => s.fds))})`);
    } else {
      fail(`too few samples after the warm-up (${after.length}) to judge growth`);
    }

    const summary: SoakResult = {
      passed: failures.length === 0,
      failures,
      seconds,
      clients,
      warmupS,
      samples,
      probes,
      legit: {
        leased: Number(ready.leased),
        lost,
        echoSent: Number(result?.echoSent ?? 0),
        echoReplies: Number(result?.echoRepliesIn ?? 0),
      },
      abuse: abuseTotals(abusers.map((a) => a.last('done') ?? a.last('abuse') ?? {})),
      gateway: {
        exitCode: gatewayExit, logLines, logBytes, metrics: finalMetrics,
        logKinds: Object.fromEntries([...logKinds].sort((a, b) => b[1] - a[1]).slice(0, 8)),
      },
      growth,
      pngPath: join(outDir, 'soak.png'),
      summaryPath: join(outDir, 'soak-summary.txt'),
    };
    writeOutputs(summary);
    return summary;
  } finally {
    await Promise.all(children.map((c) => c.stop('SIGKILL', 1000)));
    await net?.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The abuser processes' counters, per kind (each kind runs in one group only; summed all the same). */
function abuseTotals(reports: Record<string, unknown>[]): Record<string, Record<string, number>> {
  const totals: Record<string, Record<string, number>> = {};
  for (const report of reports) {
    for (const [kind, counters] of Object.entries(report)) {
      if (typeof counters !== 'object' || counters === null) continue; // "event", "t"
      const sum = (totals[kind] ??= {});
      for (const [k, v] of Object.entries(counters as Record<string, number>)) sum[k] = (sum[k] ?? 0) + v;
    }
  }
  // Only the kinds that ran.
  return Object.fromEntries(Object.entries(totals).filter(([, c]) => (c.opened ?? 0) + (c.failed ?? 0) > 0));
}

/** A log line with its time stamp, addresses and numbers blanked, so lines of one kind count together. */
function logKind(line: string): string {
  return line.replace(/^\S+ +/, '').replace(/\[[0-9a-f:.]+\](:\d+)?/gi, '[addr]').replace(/\d+(\.\d+)*/g, '#').slice(0, 90);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const pct = (ratio: number) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)} %`;

function writeOutputs(r: SoakResult): void {
  const points = (f: (s: SoakSample) => number | null): [number, number][] =>
    r.samples.flatMap((s) => (f(s) === null ? [] : [[s.t, f(s) as number] as [number, number]]));
  const png = plotPanels([
    { title: 'Gateway RSS (MiB)', series: [{ label: 'RSS', color: COLORS.blue, points: points((s) => s.rssMiB) }] },
    { title: 'Gateway open file descriptors', series: [{ label: 'fds', color: COLORS.orange, points: points((s) => s.fds) }] },
    {
      title: 'Gateway event-loop delay (ms, per 10 s window)',
      series: [
        { label: 'p99', color: COLORS.green, points: points((s) => s.loopDelayP99Ms) },
        { label: 'max', color: COLORS.red, points: points((s) => s.loopDelayMaxMs) },
      ],
    },
  ], 'time (s)', [{ x: r.warmupS, label: 'warm-up' }]);
  writeFileSync(r.pngPath, png);
  writeFileSync(join(resolve(r.summaryPath, '..'), 'soak-summary.json'), JSON.stringify(r, null, 2) + '\n');
  writeFileSync(r.summaryPath, summaryText(r));
}

export function summaryText(r: SoakResult): string {
  const after = r.samples.filter((s) => s.t >= r.warmupS);
  const range = (f: (s: SoakSample) => number | null) => {
    const xs = r.samples.map(f).filter((x): x is number => x !== null);
    return xs.length ? `${Math.min(...xs)}-${Math.max(...xs)}` : '-';
  };
  const abuseLine = Object.entries(r.abuse).map(([k, v]) => `${k} ${v.opened ?? 0} opened (${v.closedByServer ?? 0} closed by the gateway, ${v.leased ?? 0} leased)`).join('; ');
  const m = r.gateway.metrics ?? {};
  return [
    `gateway soak: ${r.passed ? 'PASSED' : 'FAILED'} (${r.seconds} s, ${r.clients} clients, warm-up ${r.warmupS} s, samples every 10 s)`,
    ...r.failures.map((f) => `  FAIL ${f}`),
    `RSS MiB: ${range((s) => s.rssMiB)} (after warm-up: ${after[0]?.rssMiB ?? '-'} -> ${after.at(-1)?.rssMiB ?? '-'}, growth ${r.growth.rss === null ? '-' : pct(r.growth.rss)})`,
    `open fds: ${range((s) => s.fds)} (after warm-up: ${after[0]?.fds ?? '-'} -> ${after.at(-1)?.fds ?? '-'}, growth ${r.growth.fds === null ? '-' : pct(r.growth.fds)})`,
    `event-loop delay ms: p99 ${range((s) => s.loopDelayP99Ms)}, max ${range((s) => s.loopDelayMaxMs)}`,
    `legitimate clients: ${r.legit.leased} leased, ${r.legit.lost} lost, echo ${r.legit.echoReplies} replies of ${r.legit.echoSent} sent` +
      ` (${r.legit.echoSent ? ((100 * r.legit.echoReplies) / r.legit.echoSent).toFixed(2) : '-'} %)`,
    `new clients: ${r.probes.attempted - r.probes.failed} of ${r.probes.attempted} got a lease within ${PROBE_LEASE_TIMEOUT_S} s`,
    `abuse: ${abuseLine}`,
    `gateway at the end: ${JSON.stringify({ sessions: m.sessions, unleased: m.unleased, leasesFree: m.leasesFree, refused: m.refused, closedBy: m.closedBy, decryptFailures: m.decryptFailures, malformedFrames: m.malformedFrames, ipResponsesDropped: m.ipResponsesDropped, drops: m.drops })}`,
    `gateway log: ${r.gateway.logLines} lines, ${r.gateway.logBytes} bytes; exit code ${r.gateway.exitCode}`,
    ...Object.entries(r.gateway.logKinds).map(([kind, count]) => `  ${String(count).padStart(7)}  ${kind}`),
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const seconds = Number(process.argv[2] ?? process.env.SOAK_SECONDS ?? 600);
  if (!Number.isInteger(seconds) || seconds < 30) throw new Error(`SOAK_SECONDS: expected a whole number of seconds, at least 30, got ${process.argv[2] ?? process.env.SOAK_SECONDS}`);
  if (process.getuid?.() !== 0) throw new Error('the soak needs root (network namespaces, TUN devices)');
  const outDir = process.argv[3] ?? process.env.SOAK_OUT ?? 'soak-out';
  const r = await runSoak({ seconds, outDir });
  process.stdout.write(summaryText(r));
  process.stdout.write(`plot: ${r.pngPath}\nsummary: ${r.summaryPath}\n`);
  return r.passed ? 0 : 1;
}

if (require.main === module) {
  main().then((code) => process.exit(code), (err) => {
    process.stderr.write(`soak: ${(err as Error).message}\n`);
    process.exit(2);
  });
}

// Tunnel benchmark: iperf3 TCP (one stream) and ping through the bare veth and through our tunnel,
// plain and encrypted, both directions, with the CPU seconds our server and client used and those
// per GB carried; the legacy C++ pair (LEGACY_4OVER6_DIR) and wireguard-go (when `wireguard-go` and
// `wg` are on PATH) measured the same way. Needs root and iperf3.
//
//   [ns client] cli.js + iperf3 -c  --veth fd00::1 == fd00::2 veth--  [ns server] main.js + iperf3 -s
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Proc } from '../test/support/proc';
import { type TwoHostNet, cleanupStaleNamespaces, createTwoHostNet, waitFor } from '../test/support/netns';

const DIST = join(__dirname, '..');
const UUID = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';

interface PathResult {
  name: string;
  upGbps: number;
  downGbps: number;
  pingMedianMs: number;
  /** Median RTT with a ping every 1 ms: the processes on the path never go idle. */
  pingBusyMedianMs: number;
  serverCpuS: number | null;
  clientCpuS: number | null;
  /** CPU seconds per GB of iperf3 payload carried (both directions), iperf3 runs only. */
  serverCpuSPerGB: number | null;
  clientCpuSPerGB: number | null;
  /** The same split into user and kernel time (the kernel's share includes the inner TCP stack a TUN write runs). */
  split: { serverUser: number; serverSys: number; clientUser: number; clientSys: number } | null;
}

interface IperfResult {
  gbps: number;
  /** Payload bytes the receiver got. */
  bytes: number;
}

function cpuTimes(pid: number): { user: number; sys: number } {
  // /proc/<pid>/stat fields 14 and 15: utime, stime in clock ticks (100 Hz on Linux).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 };
}

function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}


async function iperf(net: TwoHostNet, target: string, seconds: number, reverse: boolean, mss?: number): Promise<IperfResult> {
  try {
    return await iperfOnce(net, target, seconds, reverse, mss);
  } catch {
    // iperf3 -s can still be winding up the previous test (seen behind the legacy pair): once more.
    await new Promise((r) => setTimeout(r, 3000));
    return iperfOnce(net, target, seconds, reverse, mss);
  }
}

async function iperfOnce(net: TwoHostNet, target: string, seconds: number, reverse: boolean, mss?: number): Promise<IperfResult> {
  const args = ['-c', target, '-t', String(seconds), '-J', '-O', '1', ...(reverse ? ['-R'] : []), ...(mss ? ['-M', String(mss)] : [])];
  const out = await net.exec(net.client, 'iperf3', args, { timeoutMs: (seconds + 30) * 1000 });
  const json = JSON.parse(out) as {
    error?: string;
    intervals?: { sum: { bytes: number; omitted: boolean } }[];
    end?: { sum_received?: { bits_per_second: number; bytes: number } };
  };
  const received = json.end?.sum_received;
  if (received === undefined) throw new Error(`iperf3 ${args.join(' ')} to ${target}: ${json.error ?? 'no result'}`);
  // -O 1 leaves the first second out of the totals, not out of what the ends carried (and their CPU time).
  const omitted = (json.intervals ?? []).filter((i) => i.sum.omitted).reduce((n, i) => n + i.sum.bytes, 0);
  return { gbps: received.bits_per_second / 1e9, bytes: received.bytes + omitted };
}

async function pingMedian(net: TwoHostNet, target: string, count = 40, interval = '0.05'): Promise<number> {
  const out = await net.exec(net.client, 'ping', ['-c', String(count), '-i', interval, '-W', '2', target], { timeoutMs: 30_000 });
  const times = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Waits (20 s at most) until a ping from the client namespace crosses the tunnel to 198.18.0.1. */
async function untilPingCrosses(net: TwoHostNet, what: string): Promise<void> {
  await waitFor(async () => {
    await net.exec(net.client, 'ping', ['-c', '1', '-W', '1', '198.18.0.1']);
    return true;
  }, { timeoutMs: 20_000, what });
}

/** Gives a tunnel device of another program (wireguard-go, the ceiling pump) its address and MTU, and brings it up. */
async function bringUp(net: TwoHostNet, ns: string, dev: string, address: string, mtu: number): Promise<void> {
  await net.exec(ns, 'ip', ['addr', 'add', address, 'dev', dev]);
  await net.exec(ns, 'ip', ['link', 'set', dev, 'mtu', String(mtu), 'up']);
}

async function measure(net: TwoHostNet, name: string, target: string, seconds: number, pids: { server?: number; client?: number }, mss?: number): Promise<PathResult> {
  const iperfServer = new Proc(net.spawn(net.server, 'iperf3', ['-s', '--forceflush']), 'iperf3 -s');
  try {
    await waitFor(() => /Server listening/.test(iperfServer.out), { timeoutMs: 5000, what: 'iperf3 -s' });
    const cpu = () => ({ s: pids.server ? cpuSeconds(pids.server) : 0, c: pids.client ? cpuSeconds(pids.client) : 0 });
    const times = () => ({ s: pids.server ? cpuTimes(pids.server) : { user: 0, sys: 0 }, c: pids.client ? cpuTimes(pids.client) : { user: 0, sys: 0 } });
    const cpu0 = cpu();
    const times0 = times();
    const up = await iperf(net, target, seconds, false, mss);
    const down = await iperf(net, target, seconds, true, mss);
    const cpu1 = cpu();
    const times1 = times();
    const pingMedianMs = await pingMedian(net, target);
    const pingBusyMedianMs = await pingMedian(net, target, 2000, '0.001');
    const cpu2 = cpu();
    const gb = (up.bytes + down.bytes) / 1e9;
    return {
      name, upGbps: up.gbps, downGbps: down.gbps, pingMedianMs, pingBusyMedianMs,
      serverCpuS: pids.server ? cpu2.s - cpu0.s : null,
      clientCpuS: pids.client ? cpu2.c - cpu0.c : null,
      serverCpuSPerGB: pids.server ? (cpu1.s - cpu0.s) / gb : null,
      clientCpuSPerGB: pids.client ? (cpu1.c - cpu0.c) / gb : null,
      split: pids.server && pids.client ? {
        serverUser: (times1.s.user - times0.s.user) / gb, serverSys: (times1.s.sys - times0.s.sys) / gb,
        clientUser: (times1.c.user - times0.c.user) / gb, clientSys: (times1.c.sys - times0.c.sys) / gb,
      } : null,
    };
  } finally {
    await iperfServer.stop();
  }
}

/**
 * Our client and gateway. `superPackets` false: the client does not offer them, so every packet
 * travels in its own frame, as between our peers before super-packets and toward legacy peers.
 * `dist`: another build's dist/ (BENCH_BASELINE_DIST), to measure an earlier version in the same run.
 */
async function throughTunnel(net: TwoHostNet, dir: string, encrypted: boolean, superPackets: boolean, seconds: number, dist = DIST, aead?: 'sodium'): Promise<PathResult> {
  // FOUROVER6_AEAD=sodium: both ends seal with sodium-native instead of OpenSSL (protocol/aead-engine.ts).
  const env = { ...process.env, ...(aead ? { FOUROVER6_AEAD: aead } : {}) };
  const config = join(dir, 'server.yaml');
  writeFileSync(config, [
    'listen_address: "::"', 'port: 5555', 'gateway: "198.18.0.1"', 'address_range: "198.18.0.2-198.18.0.250"',
    'netmask: "255.255.255.0"', 'dns0: "198.18.0.53"', 'dns1: "0.0.0.0"', 'dns2: "0.0.0.0"', 'tun_name: "4o6s0"',
    `state_dir: "${join(dir, 'gateway-state')}"`,
    ...(encrypted ? [`pk: "${UUID}"`] : []),
  ].join('\n') + '\n');
  const server = new Proc(net.spawn(net.server, process.execPath, [join(dist, 'server', 'main.js'), '-c', config], { env }), 'our server');
  await waitFor(() => /listening on/.test(server.out) || server.child.exitCode !== null, { timeoutMs: 10_000, what: 'the server to listen' });
  const client = new Proc(net.spawn(net.client, process.execPath, [
    join(dist, 'helper', 'cli.js'), 'connect', '--server', net.serverAddress, '--port', '5555', '--tun-name', '4o6c0',
    '--no-dns', '--no-default-route', '--journal', join(dir, 'journal.jsonl'), '--stats-interval', '3600',
    ...(encrypted ? ['--uuid', UUID] : []),
    ...(superPackets || dist !== DIST ? [] : ['--no-super-packets']),
  ], { env }), 'our client');
  try {
    await waitFor(() => /connected: /.test(client.out) || client.child.exitCode !== null, { timeoutMs: 15_000, what: 'the tunnel to come up' });
    if (!/connected: /.test(client.out)) throw new Error(`tunnel did not come up:\n${server.out}\n${client.out}`);
    const name = dist !== DIST ? `baseline build, ${encrypted ? 'encrypted' : 'plain'}` : `tunnel, ${encrypted ? 'encrypted' : 'plain'}, ${superPackets ? 'super-packets' : 'packet per frame'}${aead ? `, ${aead}` : ''}`;
    return await measure(net, name, '198.18.0.1', seconds, {
      server: server.child.pid, client: client.child.pid,
    });
  } finally {
    await client.stop();
    await server.stop();
  }
}

/**
 * The legacy C++ server and client (their build's directory in LEGACY_4OVER6_DIR, as for
 * `npm run interop`), measured the same way in the same run. Their TUN buffers cut packets over
 * 1496 bytes, which stalls their own bulk TCP at MTU 1500, so iperf3 runs with MSS 1456 there.
 */
async function throughLegacy(net: TwoHostNet, dir: string, legacyDir: string, encrypted: boolean, seconds: number): Promise<PathResult> {
  const key = encrypted ? `pk: "${UUID}"\n` : '';
  const serverConfig = join(dir, 'legacy-server.yaml');
  writeFileSync(serverConfig, 'listen_address: "::"\nport: 5555\ngateway: "198.18.0.1"\naddress_range: "198.18.0.2-198.18.0.250"\n' +
    'netmask: "255.255.255.0"\ndns0: "198.18.0.53"\ndns1: "198.18.0.54"\ndns2: "198.18.0.55"\n' + key);
  const clientConfig = join(dir, 'legacy-client.yaml');
  writeFileSync(clientConfig, `server: "${net.serverAddress}"\nport: 5555\n` + key);
  const server = new Proc(net.spawn(net.server, join(legacyDir, 'server'), ['-c', serverConfig]), 'legacy server');
  await waitFor(async () => /:5555\b/.test(await net.exec(net.server, 'ss', ['-ltn'])) || server.child.exitCode !== null, { timeoutMs: 10_000, what: 'the legacy server to listen' });
  const client = new Proc(net.spawn(net.client, join(legacyDir, 'client'), ['-c', clientConfig]), 'legacy client');
  try {
    await untilPingCrosses(net, 'the legacy tunnel to come up');
    return await measure(net, `legacy pair, ${encrypted ? 'encrypted' : 'plain'} (MSS 1456)`, '198.18.0.1', seconds, {
      server: server.child.pid, client: client.child.pid,
    }, 1456);
  } finally {
    await client.stop();
    await server.stop();
  }
}

/**
 * Super-packets against a packet per frame, same run (docs/performance.md, issue "whole offload
 * super-packets"): encrypted ≥ 2× each way; plain ≥ 1.5× and within 3× of the bare veth; CPU per GB
 * at each end at least a third lower.
 */
function superPacketVerdicts(bare: PathResult, plainEach: PathResult, plain: PathResult, encEach: PathResult, enc: PathResult, against: string): string[] {
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const cpuCut = (now: PathResult, before: PathResult) => {
    const s = 1 - (now.serverCpuSPerGB ?? 0) / (before.serverCpuSPerGB ?? 1);
    const c = 1 - (now.clientCpuSPerGB ?? 0) / (before.clientCpuSPerGB ?? 1);
    return { s, c, text: `server −${(s * 100).toFixed(0)} %, client −${(c * 100).toFixed(0)} %` };
  };
  const pc = cpuCut(plain, plainEach);
  const ec = cpuCut(enc, encEach);
  return [
    `Super-packets against ${against}: encrypted up ${x(enc.upGbps, encEach.upGbps)}, down ${x(enc.downGbps, encEach.downGbps)} ` +
      `(target ≥ 2×: ${verdict(enc.upGbps >= 2 * encEach.upGbps && enc.downGbps >= 2 * encEach.downGbps)}); ` +
      `plain up ${x(plain.upGbps, plainEach.upGbps)}, down ${x(plain.downGbps, plainEach.downGbps)} ` +
      `(target ≥ 1.5×: ${verdict(plain.upGbps >= 1.5 * plainEach.upGbps && plain.downGbps >= 1.5 * plainEach.downGbps)}; ` +
      `within 3× of veth: ${verdict(plain.upGbps * 3 >= bare.upGbps && plain.downGbps * 3 >= bare.downGbps)}).`,
    `CPU per GB, plain: ${pc.text}; encrypted: ${ec.text} (target at least a third lower at each end: ` +
      `${verdict(Math.min(pc.s, pc.c, ec.s, ec.c) >= 1 / 3)}).`,
  ];
}

/** How far the plain targets are from what the design allows at all: the ceiling row against the same baseline. */
function ceilingVerdict(ceiling: PathResult, plain: PathResult, before: PathResult, against: string): string {
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const cut = (now: number | null, was: number | null) => {
    const change = ((now ?? 0) / (was ?? 1) - 1) * 100;
    return `${change < 0 ? '−' : '+'}${Math.abs(change).toFixed(0)} %`;
  };
  return `Ceiling (no JavaScript) against ${against}, plain: up ${x(ceiling.upGbps, before.upGbps)}, down ${x(ceiling.downGbps, before.downGbps)}, ` +
    `CPU per GB server ${cut(ceiling.serverCpuSPerGB, before.serverCpuSPerGB)}, client ${cut(ceiling.clientCpuSPerGB, before.clientCpuSPerGB)}; ` +
    `ours reaches ${((plain.upGbps / ceiling.upGbps) * 100).toFixed(0)} % / ${((plain.downGbps / ceiling.downGbps) * 100).toFixed(0)} % of its throughput.`;
}

/**
 * One end ours (of `dist`), the other legacy, plain: toward a legacy peer our side must be no slower
 * than before super-packets (it cuts them into segments for the peer). MSS 1456 as for the legacy pair.
 */
async function throughMixed(net: TwoHostNet, dir: string, legacyDir: string, ours: 'client' | 'server', seconds: number, dist = DIST): Promise<PathResult> {
  const serverConfig = join(dir, 'mixed-server.yaml');
  writeFileSync(serverConfig, [
    'listen_address: "::"', 'port: 5555', 'gateway: "198.18.0.1"', 'address_range: "198.18.0.2-198.18.0.250"',
    'netmask: "255.255.255.0"', 'dns0: "198.18.0.53"', 'dns1: "198.18.0.54"', 'dns2: "198.18.0.55"', 'tun_name: "4o6s0"',
    `state_dir: "${join(dir, 'mixed-state')}"`,
  ].join('\n') + '\n');
  const clientConfig = join(dir, 'mixed-client.yaml');
  writeFileSync(clientConfig, `server: "${net.serverAddress}"\nport: 5555\n`);
  const server = ours === 'server'
    ? new Proc(net.spawn(net.server, process.execPath, [join(dist, 'server', 'main.js'), '-c', serverConfig]), 'our server')
    : new Proc(net.spawn(net.server, join(legacyDir, 'server'), ['-c', serverConfig]), 'legacy server');
  await waitFor(async () => /:5555\b/.test(await net.exec(net.server, 'ss', ['-ltn'])) || server.child.exitCode !== null, { timeoutMs: 10_000, what: 'the server to listen' });
  const client = ours === 'client'
    ? new Proc(net.spawn(net.client, process.execPath, [
      join(dist, 'helper', 'cli.js'), 'connect', '--server', net.serverAddress, '--port', '5555', '--tun-name', '4o6c0',
      '--no-dns', '--no-default-route', '--journal', join(dir, 'mixed-journal.jsonl'), '--stats-interval', '3600',
    ]), 'our client')
    : new Proc(net.spawn(net.client, join(legacyDir, 'client'), ['-c', clientConfig]), 'legacy client');
  try {
    await untilPingCrosses(net, 'the mixed tunnel to come up');
    const build = dist === DIST ? 'our' : 'baseline';
    const name = ours === 'client' ? `${build} client ↔ legacy server, plain (MSS 1456)` : `legacy client ↔ ${build} gateway, plain (MSS 1456)`;
    return await measure(net, name, '198.18.0.1', seconds, { server: server.child.pid, client: client.child.pid }, 1456);
  } finally {
    await client.stop();
    await server.stop();
  }
}

/**
 * The ceiling of our plain design here: bench/ceiling-pump.c, built now with the system's C compiler,
 * carries plain super-packets between the same TUN devices over the same veth with no JavaScript
 * and a thread per direction. What it cannot beat, no user-space data path on TUN + TCP can.
 */
async function throughCeilingPump(net: TwoHostNet, dir: string, seconds: number): Promise<PathResult> {
  const binary = join(dir, 'ceiling-pump');
  execFileSync('cc', ['-O2', '-pthread', '-o', binary, join(__dirname, '..', '..', 'bench', 'ceiling-pump.c')], { stdio: 'inherit' });
  const ends = [
    { ns: net.server, dev: '4o6s0', address: '198.18.0.1/24', args: ['server', '5555', '4o6s0'] },
    { ns: net.client, dev: '4o6c0', address: '198.18.0.2/24', args: ['client', net.serverAddress, '5555', '4o6c0'] },
  ];
  const procs: Proc[] = [];
  try {
    for (const end of ends) {
      const proc = new Proc(net.spawn(end.ns, binary, end.args), `ceiling pump ${end.dev}`);
      procs.push(proc);
      await waitFor(() => /tun ready/.test(proc.out) || proc.child.exitCode !== null, { timeoutMs: 10_000, what: `the ceiling pump to create ${end.dev}` });
      if (end === ends[0]) await waitFor(() => /listening/.test(proc.out) || proc.child.exitCode !== null, { timeoutMs: 10_000, what: 'the ceiling pump to listen' });
      await bringUp(net, end.ns, end.dev, end.address, 1500);
    }
    await untilPingCrosses(net, 'the ceiling pump to carry a ping');
    return await measure(net, 'ceiling: plain super-packets in C, no JavaScript (bench only)', '198.18.0.1', seconds, {
      server: procs[0].child.pid, client: procs[1].child.pid,
    });
  } finally {
    for (const proc of procs.reverse()) await proc.stop();
  }
}

/** Whether `name` is an executable on PATH. */
function onPath(name: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * wireguard-go (the distribution's build, the user's obvious alternative) between the same two
 * namespaces over the same veth: one userspace process per end, as ours. Its MTU is WireGuard's
 * default 1420 (IPv6 outer: 1500 - 80), so iperf3 runs with its own MSS there.
 */
async function throughWireguardGo(net: TwoHostNet, dir: string, seconds: number): Promise<PathResult> {
  // The UAPI sockets (/var/run/wireguard/<name>.sock) are not per namespace: distinct names.
  const ends = [
    { ns: net.server, dev: '4o6wgs0', address: '198.18.0.1/24', peerAddress: '198.18.0.2/32', endpoint: null },
    { ns: net.client, dev: '4o6wgc0', address: '198.18.0.2/24', peerAddress: '198.18.0.1/32', endpoint: `[${net.serverAddress}]:51820` },
  ];
  const keys = await Promise.all(ends.map(async () => {
    const secret = (await net.exec(net.server, 'wg', ['genkey'])).trim();
    return { secret, public: (await net.exec(net.server, 'wg', ['pubkey'], { input: secret + '\n' })).trim() };
  }));
  const procs: Proc[] = [];
  try {
    for (const [i, end] of ends.entries()) {
      const proc = new Proc(net.spawn(end.ns, 'wireguard-go', ['-f', end.dev]), `wireguard-go ${end.dev}`);
      procs.push(proc);
      await waitFor(async () => (await net.exec(end.ns, 'ip', ['link', 'show'])).includes(end.dev) || proc.child.exitCode !== null,
        { timeoutMs: 10_000, what: `wireguard-go to create ${end.dev}` });
      const keyFile = join(dir, `${end.dev}.key`);
      writeFileSync(keyFile, keys[i].secret + '\n', { mode: 0o600 });
      await net.exec(end.ns, 'wg', [
        'set', end.dev, 'private-key', keyFile, ...(end.endpoint === null ? ['listen-port', '51820'] : []),
        'peer', keys[1 - i].public, 'allowed-ips', end.peerAddress, ...(end.endpoint === null ? [] : ['endpoint', end.endpoint]),
      ]);
      await bringUp(net, end.ns, end.dev, end.address, 1420);
    }
    await untilPingCrosses(net, 'the wireguard-go tunnel to come up');
    return await measure(net, 'wireguard-go (MTU 1420)', '198.18.0.1', seconds, {
      server: procs[0].child.pid, client: procs[1].child.pid,
    });
  } finally {
    for (const proc of procs.reverse()) await proc.stop();
  }
}

export async function tunnelBench(opts: { seconds: number }): Promise<string> {
  await cleanupStaleNamespaces();
  const net = await createTwoHostNet('bench');
  const dir = mkdtempSync(join(tmpdir(), '4o6-bench-'));
  try {
    const bare = await measure(net, 'bare veth (IPv6)', net.serverAddress, opts.seconds, {});
    // BENCH_BASELINE_DIST: the dist/ of an earlier build (e.g. the commit before super-packets), whose
    // rows are then what the super-packet targets are measured against, in this same run.
    const baselineDist = process.env.BENCH_BASELINE_DIST;
    const basePlain = baselineDist ? await throughTunnel(net, dir, false, false, opts.seconds, baselineDist) : null;
    const baseEnc = baselineDist ? await throughTunnel(net, dir, true, false, opts.seconds, baselineDist) : null;
    const plainEach = await throughTunnel(net, dir, false, false, opts.seconds);
    const plain = await throughTunnel(net, dir, false, true, opts.seconds);
    const encEach = await throughTunnel(net, dir, true, false, opts.seconds);
    const encSodium = await throughTunnel(net, dir, true, true, opts.seconds, DIST, 'sodium');
    const enc = await throughTunnel(net, dir, true, true, opts.seconds);
    const compiler = onPath('cc');
    const ceiling = compiler ? await throughCeilingPump(net, dir, opts.seconds) : null;
    const rows = [bare, ...(basePlain && baseEnc ? [basePlain, baseEnc] : []), plainEach, plain, encEach, encSodium, enc, ...(ceiling ? [ceiling] : [])];
    const legacyDir = process.env.LEGACY_4OVER6_DIR;
    if (legacyDir) {
      rows.push(await throughLegacy(net, dir, legacyDir, false, opts.seconds));
      rows.push(await throughLegacy(net, dir, legacyDir, true, opts.seconds));
      for (const ours of ['client', 'server'] as const) {
        if (baselineDist) rows.push(await throughMixed(net, dir, legacyDir, ours, opts.seconds, baselineDist));
        rows.push(await throughMixed(net, dir, legacyDir, ours, opts.seconds));
      }
    }
    const wireguard = onPath('wireguard-go') && onPath('wg');
    if (wireguard) rows.push(await throughWireguardGo(net, dir, opts.seconds));
    const f = (n: number | null, d = 2) => (n === null ? '-' : n.toFixed(d));
    const lines = [
      `## Tunnel: one TCP stream (iperf3, ${opts.seconds} s each way), ping median of 40 at 50 ms and of 2,000 at 1 ms`,
      '',
      '| path | up Gbit/s | down Gbit/s | up / veth | down / veth | ping median ms | ping − veth ms | ping at 1 ms, median | − veth | server CPU s | client CPU s | server CPU s/GB | client CPU s/GB |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r) => `| ${r.name} | ${f(r.upGbps)} | ${f(r.downGbps)} | ${f(r.upGbps / bare.upGbps, 3)} | ${f(r.downGbps / bare.downGbps, 3)} | ${f(r.pingMedianMs, 3)} | ${f(r.pingMedianMs - bare.pingMedianMs, 3)} | ${f(r.pingBusyMedianMs, 3)} | ${f(r.pingBusyMedianMs - bare.pingBusyMedianMs, 3)} | ${f(r.serverCpuS, 1)} | ${f(r.clientCpuS, 1)} | ${f(r.serverCpuSPerGB, 3)} | ${f(r.clientCpuSPerGB, 3)} |`),
      '',
      `Targets: plain ≥ 2 Gbit/s each way: ${plain.upGbps >= 2 && plain.downGbps >= 2 ? 'met' : 'NOT met'}; ` +
        `encrypted ≥ 1.2 Gbit/s each way: ${enc.upGbps >= 1.2 && enc.downGbps >= 1.2 ? 'met' : 'NOT met'}; ` +
        `ping ≤ veth + 0.1 ms: ${Math.max(plain.pingMedianMs, enc.pingMedianMs) - bare.pingMedianMs <= 0.1 ? 'met' : 'NOT met'}.`,
      `Stretch, plain ≥ 5 Gbit/s each way: ${plain.upGbps >= 5 && plain.downGbps >= 5 ? 'met' : 'NOT met'}.`,
      ...superPacketVerdicts(bare, basePlain ?? plainEach, plain, baseEnc ?? encEach, enc, basePlain ? 'the baseline build' : 'a packet per frame'),
      ...(ceiling ? [ceilingVerdict(ceiling, plain, basePlain ?? plainEach, basePlain ? 'the baseline build' : 'a packet per frame')] : []),
      '',
      'Where the CPU time per GB goes, user (JS, crypto, copies in the addon) and kernel (syscalls, and the inner TCP stack that a TUN write runs in our process):',
      '',
      '| path | server user s/GB | server kernel s/GB | client user s/GB | client kernel s/GB |',
      '|---|---:|---:|---:|---:|',
      ...rows.filter((r) => r.split !== null).map((r) => `| ${r.name} | ${f(r.split!.serverUser, 3)} | ${f(r.split!.serverSys, 3)} | ${f(r.split!.clientUser, 3)} | ${f(r.split!.clientSys, 3)} |`),
      '',
      '"up" is client → server through the tunnel (iperf3 -c), "down" is server → client (iperf3 -R). CPU seconds cover both runs and the pings;',
      'CPU s/GB is utime + stime of each end\'s process (/proc/<pid>/stat) over the two iperf3 runs only, per GB of payload received (both directions).',
      'A ping at 50 ms finds every process on the path idle: each of the four wake-ups (client and server, each way) pays a cold start.',
      ...(legacyDir ? [] : ['Set LEGACY_4OVER6_DIR to the legacy C++ build (as for `npm run interop`) to add the legacy pair, measured the same way.']),
      ...(compiler ? [] : ['Install a C compiler (`cc`) to add the ceiling row: the plain path with no JavaScript.']),
      ...(wireguard ? [] : ['Install `wireguard-go` and `wg` (Debian: `apt-get install wireguard-go wireguard-tools`) to add a wireguard-go row.']),
    ];
    return lines.join('\n');
  } finally {
    await net.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  tunnelBench({ seconds: Number(process.env.BENCH_SECONDS ?? 5) }).then((s) => console.log(s), (err) => {
    console.error(err);
    process.exit(1);
  });
}

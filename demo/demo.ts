#!/usr/bin/env node
// `sudo npm run demo`: the whole product on one machine, without touching the host's network.
//
//   [ns 4o6demo-gw]  gateway (server/main.js), TUN 198.18.0.1/24, traffic sink :9000
//        veth fd00:4646::2  ==  veth fd00:4646::1
//   [ns 4o6demo-cli] root helper (helper/main.js) + TUN + traffic generator
//   [host]           the app's main-process modules + the browser bridge on 127.0.0.1 -> the UI
//
// Ctrl-C (or SIGTERM) disconnects, stops every process and deletes both namespaces. If the demo
// itself crashes, the next run removes what it left before starting. Its children run in process
// groups of their own: a Ctrl-C in the terminal reaches only the demo, which stops each of them once.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppController } from '../electron/app-controller';
import { startBrowserBridge } from '../electron/browser-bridge';
import { openConfBackend } from '../electron/conf-backend';
import { HelperConnector } from '../electron/helper-launcher';
import { RESOLV_BACKUP_SUFFIX } from '../netconfig/changes';
import { bindController } from '../electron/ipc-binding';
import { openProfileStore } from '../electron/profile-store';

const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');
const STATE_DIR = '/run/4over6-demo';
const GW = '4o6demo-gw';
const CLI = '4o6demo-cli';
const GW_ADDRESS = 'fd00:4646::2';
const CLI_ADDRESS = 'fd00:4646::1';
const PORT = 5555;
/** Present while /etc/netns exists only because the demo made it: removed with the demo's namespaces. */
const CREATED_ETC_NETNS = join(STATE_DIR, 'created-etc-netns');
/** How long a child may take to stop after SIGTERM before the namespace cleanup kills it. */
const CHILD_STOP_MS = 5000;

const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} demo  ${line}`);

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function tryIp(args: string[]): void {
  try {
    ip(args);
  } catch {
    // not there: nothing to remove
  }
}

/** Kills whatever runs inside our namespaces and deletes them: leftovers of a crashed run included. */
function removeLeftovers(): void {
  for (const ns of [CLI, GW]) {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(/\s+/).filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    } catch {
      // no such namespace
    }
    tryIp(['netns', 'delete', ns]);
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    // A killed helper's backup of the namespace's resolv.conf (netconfig's resolvBackupPath).
    rmSync(`/etc/netns/.${ns}.resolv.conf${RESOLV_BACKUP_SUFFIX}`, { force: true });
  }
  // /etc/netns itself only if this demo (or a crashed one) created it and nothing else uses it now.
  if (existsSync(CREATED_ETC_NETNS)) {
    try {
      if (readdirSync('/etc/netns').length === 0) rmdirSync('/etc/netns');
    } catch {
      // gone already, or in use meanwhile: not ours to remove
    }
  }
  rmSync(STATE_DIR, { recursive: true, force: true });
}

function spawnIn(ns: string, file: string, args: string[], name: string): ChildProcess {
  // detached: its own process group, so the terminal's Ctrl-C (sent to the whole foreground group)
  // does not reach it; the demo stops it with one SIGTERM.
  const child = spawn('ip', ['netns', 'exec', ns, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const forward = (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach((l) => console.log(`${name.padEnd(6)}${l.replace(/^\S+Z /, ' ')}`));
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  return child;
}

/** Resolves when the child has exited, or after `ms` (the namespace cleanup kills what is left). */
function exited(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('the demo creates network namespaces and TUN devices: run it as root (sudo npm run demo)');
    process.exit(2);
  }
  if (!existsSync(join(DIST, 'renderer', 'index.html'))) {
    console.error('the UI is not built: run npm run build first');
    process.exit(2);
  }
  removeLeftovers();
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o755 });
  const children: ChildProcess[] = [];
  let stopping = false;
  let bridgeClose: (() => Promise<void>) | null = null;
  let controller: AppController | null = null;

  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: disconnecting and removing the demo network`);
    await controller?.shutdown().catch(() => undefined);
    await bridgeClose?.();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => exited(c, CHILD_STOP_MS)));
    removeLeftovers();
    log('done: nothing left behind');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('Ctrl-C'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('uncaughtException', (err) => {
    console.error(err);
    void stop('error');
  });

  // The network: two namespaces and a veth pair; IPv6 ULA only.
  ip(['netns', 'add', GW]);
  ip(['netns', 'add', CLI]);
  ip(['link', 'add', 'veth0', 'netns', CLI, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', GW]);
  for (const [ns, addr] of [[CLI, CLI_ADDRESS], [GW, GW_ADDRESS]]) {
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    ip(['-n', ns, 'addr', 'add', `${addr}/64`, 'dev', 'veth0', 'nodad']);
    ip(['-n', ns, 'link', 'set', 'veth0', 'up']);
  }
  // DNS inside the client namespace only: the helper writes this file, never the host's.
  if (!existsSync('/etc/netns')) {
    mkdirSync('/etc/netns', { mode: 0o755 });
    writeFileSync(CREATED_ETC_NETNS, '');
  }
  mkdirSync(`/etc/netns/${CLI}`, { recursive: true });
  writeFileSync(`/etc/netns/${CLI}/resolv.conf`, '# 4over6 demo namespace\nnameserver 198.18.0.53\n');
  writeFileSync(`/etc/netns/${CLI}/hosts`, `${GW_ADDRESS} gateway.demo\n`);

  // The gateway, with a fresh key.
  const uuid = randomUUID();
  const config = join(STATE_DIR, 'server_config.yaml');
  writeFileSync(config, [
    'listen_address: "::"', `port: ${PORT}`, 'gateway: "198.18.0.1"', 'address_range: "198.18.0.2-198.18.0.250"',
    'netmask: "255.255.255.0"', 'dns0: "198.18.0.53"', 'dns1: "198.18.0.54"', 'dns2: "0.0.0.0"', `pk: "${uuid}"`,
    'tun_name: "4o6demo-gw"', 'metrics_listen: "127.0.0.1:9605"', `state_dir: "${join(STATE_DIR, 'gateway')}"`,
  ].join('\n') + '\n');
  const gateway = spawnIn(GW, process.execPath, [join(DIST, 'server', 'main.js'), '-c', config], 'gw');
  children.push(gateway);
  // Up means listening for clients and serving metrics (its last start-up line): then the address
  // the demo prints is the last line on the screen.
  const gatewayUp = new Promise<void>((resolve, reject) => {
    let seen = '';
    const onOutput = (c: Buffer) => {
      seen += c.toString();
      if (/listening on/.test(seen) && /metrics on/.test(seen)) resolve();
      if (seen.length > 65536) seen = seen.slice(-4096);
    };
    gateway.stdout?.on('data', onOutput);
    gateway.stderr?.on('data', onOutput);
    gateway.once('exit', (code) => reject(new Error(`the gateway exited (code ${code}) before it was up`)));
  });
  children.push(spawnIn(GW, process.execPath, [join(DIST, 'demo', 'traffic.js'), 'sink', '0.0.0.0', '9000'], 'sink'));
  // The traffic generator waits for the tunnel, then sends a gently varying stream so the graph moves.
  children.push(spawnIn(CLI, process.execPath, [join(DIST, 'demo', 'traffic.js'), 'source', '198.18.0.1', '9000'], 'load'));

  // The app: profiles in the demo's own folder, the helper spawned inside the client namespace.
  const { store, status } = await openProfileStore(join(STATE_DIR, 'app'), openConfBackend);
  if (store.list().length === 0) {
    await store.create({ name: 'Local demo gateway', server: 'gateway.demo', port: PORT, encryption: true, uuid, autoReconnect: true, dns: true });
  }
  const helper = new HelperConnector({
    serviceSocketPath: join(STATE_DIR, 'no-service.sock'),
    helperCommand: [process.execPath, join(DIST, 'helper', 'main.js')],
    elevate: ['ip', 'netns', 'exec', CLI], // we are root already: "elevation" is entering the namespace
    // Its own process group, as the other children: the demo shuts it down itself, after a disconnect.
    spawn: (file, args) => spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true }),
    socketPath: join(STATE_DIR, 'helper', 'helper.sock'),
    extraArgs: ['--allow-uid', '0', '--journal', join(STATE_DIR, 'journal.jsonl'), '--client-ids', join(STATE_DIR, 'client-ids.json'), '--tun-name', '4o6demo0',
      '--resolv-conf', `/etc/netns/${CLI}/resolv.conf`],
    log: (l) => console.log(`helper${l.replace(/^\S+Z /, ' ')}`),
  });
  controller = new AppController({ store, storeStatus: status, helper });
  const bridge = await startBrowserBridge({ staticDir: join(DIST, 'renderer'), port: Number(process.env.DEMO_PORT ?? 0), log });
  bridgeClose = bridge.close;
  bindController(controller, bridge.transport, log);
  controller.on('notification', (n) => log(`notification: ${n.title}: ${n.body}`));
  await controller.start();
  await gatewayUp;

  // The address last, so it is the line a newcomer's eye lands on.
  log(`click Connect on "Local demo gateway"; traffic starts flowing by itself once the tunnel is up.`);
  log(`try it by hand: sudo ip netns exec ${CLI} ping 198.18.0.1   |   gateway metrics: sudo ip netns exec ${GW} curl -s 127.0.0.1:9605/metrics.json`);
  log('Ctrl-C stops the demo and removes everything.');
  openInElectron(bridge.url);
  log('ready. Open the app in a browser on this machine:');
  console.log(`\n    ${bridge.url}\n`);
}

/**
 * Where the Electron binary is installed, show the UI in an Electron window too, run as the user who
 * called sudo: Electron must never run as root. (Its binary is not part of `npm ci`: without it the
 * printed address is the way in.) The URL carries the bridge's token, so it goes to Electron on its
 * stdin: a command line is readable by every local user (`ps`). DEMO_ELECTRON names another binary
 * (tests).
 */
function openInElectron(url: string): void {
  const electron = process.env.DEMO_ELECTRON ?? join(ROOT, 'node_modules', 'electron', 'dist', 'electron');
  const uid = process.env.SUDO_UID;
  const gid = process.env.SUDO_GID;
  if (!existsSync(electron) || !uid || !gid || !/^\d+$/.test(uid) || !/^\d+$/.test(gid) || uid === '0') return;
  const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', electron, join(DIST, 'demo', 'electron-window.js')], {
    stdio: ['pipe', 'ignore', 'ignore'],
    env: {
      DISPLAY: process.env.DISPLAY ?? ':0', WAYLAND_DISPLAY: process.env.WAYLAND_DISPLAY ?? '', XDG_RUNTIME_DIR: `/run/user/${uid}`,
      HOME: process.env.SUDO_USER ? `/home/${process.env.SUDO_USER}` : '/tmp', PATH: '/usr/bin:/bin',
    },
    detached: true,
  });
  child.on('error', () => log('could not start Electron; use the address below'));
  child.stdin?.on('error', () => undefined); // it exited before reading: reported by 'error'/'exit'
  child.stdin?.end(`${url}\n`);
  child.unref();
  log('opening the UI in an Electron window as your own user');
}

main().catch((err) => {
  console.error(err);
  removeLeftovers(); // kills what runs in our namespaces, deletes them
  process.exit(1);
});

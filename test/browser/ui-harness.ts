// The whole desktop stack for browser tests, real except for the window: Chromium (playwright-core)
// runs the built renderer (dist/renderer) against the browser bridge, which drives the real
// AppController (a conf profile store in a temp dir), which starts the REAL root helper
// (dist/helper/main.js, spawned mode, as root) inside a test namespace, which connects to the REAL
// gateway (dist/server/main.js) in a second namespace. Needs root and /usr/bin/chromium.
//
//   Chromium --ws--> bridge + AppController --unix socket--> [ns client] helper -- TUN 4o6u0
//                                                                  | fd00:: veth
//                                                            [ns server] gateway -- TUN 4o6us0 (198.18.0.1/24)
import type { ChildProcess, ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { AppController } from '../../electron/app-controller';
import { type BrowserBridge, startBrowserBridge } from '../../electron/browser-bridge';
import { openConfBackend } from '../../electron/conf-backend';
import { HelperConnector } from '../../electron/helper-launcher';
import { bindController } from '../../electron/ipc-binding';
import { xdgAutostart } from '../../electron/autostart';
import { openProfileStore } from '../../electron/profile-store';
import { SettingsStore } from '../../electron/settings-store';
import { type TwoHostNet, cleanupStaleNamespaces, createTwoHostNet, waitFor } from '../support/netns';

/** dist/ (this file runs as dist/test/browser/ui-harness.js). */
export const DIST = join(__dirname, '..', '..');
export const REPO = join(DIST, '..');
export const RENDERER_DIR = join(DIST, 'renderer');
export const ARTIFACTS = join(REPO, 'test', 'artifacts');
export const CHROMIUM = '/usr/bin/chromium';
export const SERVER_KEY = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
export const SERVER_PORT = 5555;
export const GATEWAY = '198.18.0.1';
export const ORIGINAL_RESOLV = 'nameserver 198.18.9.9\n';
/** About the desktop window's default size (electron/main.ts: 960x680), a little larger. */
const VIEWPORT = { width: 1100, height: 760 };

/** Why these tests cannot run here, or false. */
export function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, TUN devices, the root helper)';
  if (!existsSync(CHROMIUM)) return `needs Chromium at ${CHROMIUM} (apt-get install chromium)`;
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) return 'needs the renderer build: vite build --config renderer/vite.config.ts';
  return false;
}

export interface UiHarness {
  net6: TwoHostNet;
  dir: string;
  resolvConf: string;
  /** The app's controller now (a new one after restartApp). */
  readonly controller: AppController;
  /** Where "start at login" writes its entry. */
  autostartPath: string;
  restartApp(): Promise<void>;
  connector: HelperConnector;
  bridge: BrowserBridge;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Output of the helper, the gateway and the app, for failure messages. */
  logs(): string;
  /** Stops (SIGTERM) and starts the gateway: a server restart as the client sees it. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Runs a command in the client namespace (e.g. ping through the tunnel). */
  clientExec(file: string, args: string[]): Promise<string>;
  /** Saves test/artifacts/<name>.png; `tall` grows the window to show all of the main column. */
  screenshot(name: string, options?: { tall?: boolean }): Promise<string>;
  close(): Promise<void>;
}

export async function startUiHarness(tag: string, options: { colorScheme?: 'light' | 'dark' } = {}): Promise<UiHarness> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let log = '';
  const note = (who: string) => (line: string) => {
    log += `${who}: ${line}\n`;
  };
  const close = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // keep cleaning
      }
    }
  };
  try {
    await cleanupStaleNamespaces();
    const net6 = await createTwoHostNet(tag);
    cleanups.push(() => net6.cleanup());
    const dir = mkdtempSync(join(tmpdir(), `4o6-ui-${tag}-`));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'run'), { mode: 0o755 });
    const resolvConf = join(dir, 'resolv.conf');
    writeFileSync(resolvConf, ORIGINAL_RESOLV);

    // The gateway, in its namespace.
    const config = join(dir, 'server.yaml');
    writeFileSync(config, `listen_address: "::"\nport: ${SERVER_PORT}\ngateway: "${GATEWAY}"\naddress_range: "198.18.0.2-198.18.0.250"\n` +
      `netmask: "255.255.255.0"\ndns0: "198.18.0.53"\ndns1: "0.0.0.0"\ndns2: "0.0.0.0"\ntun_name: "4o6us0"\npk: "${SERVER_KEY}"\n` +
      `state_dir: "${join(dir, 'gateway-state')}"\n`);
    let server: ChildProcess | null = null;
    const startServer = async () => {
      let out = '';
      const p = net6.spawn(net6.server, process.execPath, [join(DIST, 'server', 'main.js'), '-c', config]);
      p.stdout?.on('data', (c: Buffer) => { out += c; note('server')(String(c).trimEnd()); });
      p.stderr?.on('data', (c: Buffer) => { out += c; note('server')(String(c).trimEnd()); });
      server = p;
      await waitFor(() => out.includes('listening on') || p.exitCode !== null, { timeoutMs: 10_000, what: 'the gateway to listen' });
      if (!out.includes('listening on')) throw new Error(`the gateway did not start:\n${out}`);
    };
    const stopServer = async () => {
      const p = server;
      if (!p || p.exitCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    };
    cleanups.push(() => server?.exitCode === null && server.kill('SIGKILL'));
    await startServer();

    // The app's main-process modules, with the helper spawned in the client namespace (no pkexec).
    const { store, status } = await openProfileStore(join(dir, 'profiles'), openConfBackend);
    const connector = new HelperConnector({
      serviceSocketPath: join(dir, 'no-service.sock'),
      helperCommand: [process.execPath, join(DIST, 'helper', 'main.js')],
      elevate: [],
      socketPath: join(dir, 'run', 'helper.sock'),
      extraArgs: ['--allow-uid', '0', '--journal', join(dir, 'journal.jsonl'), '--client-ids', join(dir, 'client-ids.json'), '--resolv-conf', resolvConf,
        '--tun-name', '4o6u0', '--app-gone-seconds', '30'],
      spawn: (file, args) => net6.spawn(net6.client, file, args, { stdio: ['pipe', 'pipe', 'pipe'] }) as ChildProcessWithoutNullStreams,
      log: note('helper'),
    });
    // Settings next to the profiles, start-at-login into this test's folder: as the desktop app keeps them.
    const autostartPath = join(dir, 'autostart', '4over6.desktop');
    const newController = () => {
      const c = new AppController({
        store, storeStatus: status, helper: connector,
        settings: SettingsStore.inDirectory(join(dir, 'profiles')),
        autostart: xdgAutostart(autostartPath, [process.execPath, join(DIST, 'electron', 'main.js')]),
      });
      c.on('log', (e) => note(e.source === 'app' ? 'app' : 'helper event')(`${e.level}: ${e.message}`));
      return c;
    };
    let controller = newController();
    cleanups.push(() => controller.shutdown());
    cleanups.push(() => {
      const child = connector.spawnedHelper?.child;
      if (child && child.exitCode === null) child.kill('SIGKILL');
    });
    const bridge = await startBrowserBridge({ staticDir: RENDERER_DIR, log: note('bridge') });
    cleanups.push(() => bridge.close());
    bindController(controller, bridge.transport, note('app'));
    await controller.start();
    /** Quits the app (as on Quit: disconnect, the spawned helper exits) and starts it again, as a new process would. */
    const restartApp = async () => {
      const old = controller;
      await old.shutdown();
      const child = connector.spawnedHelper?.child;
      if (child && child.exitCode === null) await new Promise((r) => child.once('exit', r));
      old.dispose();
      controller = newController();
      bindController(controller, bridge.transport, note('app'));
      await controller.start();
    };

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    cleanups.push(() => browser.close());
    const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: options.colorScheme ?? 'light', acceptDownloads: true });
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') note('page')(m.text()); });
    page.on('pageerror', (e) => note('page error')(e.message));
    await page.goto(bridge.url);

    mkdirSync(ARTIFACTS, { recursive: true });
    return {
      net6, dir, resolvConf, connector, bridge, browser, context, page, autostartPath, restartApp,
      get controller() {
        return controller;
      },
      logs: () => log,
      clientExec: (file, args) => net6.exec(net6.client, file, args, { timeoutMs: 60_000 }),
      stopServer,
      startServer,
      screenshot: async (name, opts = {}) => {
        const path = join(ARTIFACTS, `${name}.png`);
        await page.waitForTimeout(350); // let colour transitions finish
        const size = page.viewportSize() ?? VIEWPORT;
        if (opts.tall) {
          const needed = await page.evaluate('document.querySelector(".topbar").offsetHeight + document.querySelector(".main").scrollHeight') as number;
          if (needed > size.height) {
            await page.setViewportSize({ width: size.width, height: needed });
            await page.waitForTimeout(150);
          }
        }
        await page.screenshot({ path });
        if (opts.tall) await page.setViewportSize(size);
        return path;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

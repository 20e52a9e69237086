// The user guide's screenshots (docs/images/*.png), taken in headless Chromium from the real window:
// the built renderer, the browser bridge and the real AppController over a throwaway profile store,
// with a fake helper (electron/testing/fake-helper.ts) pushing each state, so every picture shows a
// state exactly and the run needs no root. Not a test (no assertions beyond "the screen appeared").
// Run: npm run docs:screenshots   (builds first; needs /usr/bin/chromium)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { LeaseInfo, TunnelState } from '../../contract/tunnel-state';
import { AppController, memorySettings } from '../../electron/app-controller';
import { startBrowserBridge } from '../../electron/browser-bridge';
import { openConfBackend } from '../../electron/conf-backend';
import { HelperClient } from '../../electron/helper-client';
import { bindController } from '../../electron/ipc-binding';
import { openProfileStore } from '../../electron/profile-store';
import { FakeHelper, stats } from '../../electron/testing/fake-helper';
import { CHROMIUM, REPO, RENDERER_DIR } from './ui-harness';

const OUT = join(REPO, 'docs', 'images');
const SERVER = 'fd00:46::1';
const KEY = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const LEASE: LeaseInfo = { address: '198.18.0.2', prefixLength: 24, route: '0.0.0.0', dns: ['198.18.0.53'], tunName: '4over6', mtu: 1500 };
const CHANGES = [
  'address 198.18.0.2/24 on 4over6', '4over6 brought up', 'route 0.0.0.0/1 via 4over6', 'route 128.0.0.0/1 via 4over6',
  'systemd-resolved DNS on 4over6 (198.18.0.53)', 'kill switch: nftables table inet fourover6-guard (IPv4 only through the tunnel)',
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), '4o6-docs-'));
  const uid = process.getuid?.() ?? 0;
  const { store, status } = await openProfileStore(join(dir, 'profiles'), openConfBackend);
  const fake = await FakeHelper.start({ socketPath: join(dir, 'helper.sock'), mode: 'service' });
  const open = () => HelperClient.connect({ socketPath: join(dir, 'helper.sock'), trustedOwners: [uid], trustedDirOwner: uid });
  const controller = new AppController({ store, storeStatus: status, helper: { connectExisting: open, connect: open }, settings: memorySettings() });
  const bridge = await startBrowserBridge({ staticDir: RENDERER_DIR });
  bindController(controller, bridge.transport, () => undefined);
  await controller.start();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 }, colorScheme: 'light' });
  mkdirSync(OUT, { recursive: true });
  const shot = async (name: string, opts: { tall?: boolean } = {}) => {
    await sleep(400); // colour transitions
    const size = page.viewportSize()!;
    if (opts.tall) {
      const needed = await page.evaluate('document.querySelector(".topbar").offsetHeight + document.querySelector(".main").scrollHeight') as number;
      await page.setViewportSize({ width: size.width, height: Math.max(size.height, needed) });
      await sleep(200);
    }
    await page.screenshot({ path: join(OUT, `${name}.png`) });
    if (opts.tall) await page.setViewportSize(size);
    console.log(`docs/images/${name}.png`);
  };
  const setState = async (state: TunnelState, text: RegExp) => {
    fake.setState(state, 'Office');
    await page.getByTestId('status-title').filter({ hasText: text }).waitFor({ timeout: 10_000 });
  };
  const screen = (name: string) => page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name, exact: true }).click();

  try {
    await page.goto(bridge.url);
    await page.getByTestId('empty-state').waitFor({ timeout: 10_000 });
    await shot('01-empty');

    // The editor, with what it says about wrong fields and a host:port mix-up.
    await page.getByRole('button', { name: 'Add a profile' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a profile' });
    await dialog.getByLabel('Name', { exact: true }).fill('Office');
    await dialog.getByLabel('Server', { exact: true }).fill('not a host!');
    await dialog.getByLabel('Port', { exact: true }).fill('70000');
    await dialog.getByLabel('Key', { exact: true }).focus();
    await page.keyboard.press('Tab');
    await shot('02-editor-invalid');
    await dialog.getByLabel('Server', { exact: true }).fill('fd00::1:5555');
    await dialog.getByLabel('Port', { exact: true }).fill('5555');
    await dialog.getByRole('button', { name: 'Generate' }).click();
    await shot('03-editor-hint');
    await page.keyboard.press('Escape');

    store.create({ name: 'Office', server: SERVER, port: 5555, encryption: true, uuid: KEY });
    store.create({ name: 'Home lab', server: 'vpn.example.org', port: 5555, encryption: true, uuid: '0b6a2c1e-3f4d-4a5b-8c6d-7e8f9a0b1c2d' });
    store.create({ name: 'Campus', server: 'fd00:77::10', port: 6000, encryption: false });
    await page.reload();
    await page.getByRole('option', { name: /^Office/ }).click();

    // A broken import: every problem named.
    const broken = { format: '4over6-profiles', version: 1, profiles: [
      { name: 'Bad port', server: 'fd00::9', port: 70000, encryption: false },
      { name: 'No key', server: 'vpn.example.org', port: 5555, encryption: true },
    ] };
    await page.getByTestId('import-file').setInputFiles({ name: 'team.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(broken)) });
    await page.getByTestId('import-errors').waitFor();
    await shot('08-import-errors');
    await page.getByTestId('import-errors').getByRole('button', { name: /^Dismiss/ }).click();

    // Connected, with a minute of traffic.
    await page.getByTestId('connect-button').click();
    fake.changes = CHANGES;
    fake.guard = { mode: 'on', allowLan: false, active: true, blocking: false };
    fake.emit({ event: 'system', changes: CHANGES, guard: fake.guard });
    await setState({ kind: 'connected', server: SERVER, serverAddress: SERVER, lease: LEASE, sinceMs: Date.now() - 3_723_000, attempt: 1, onLoss: 'reconnect', previousAddress: null } as TunnelState, /Connected/);
    for (let i = 0; i < 60; i++) {
      const t = i / 6;
      fake.emit({ event: 'stats', stats: stats({
        rateUp: Math.round(90_000 + 70_000 * Math.sin(t)), rateDown: Math.round(1_400_000 + 900_000 * Math.sin(t / 2 + 1)),
        bytesUp: 4_200_000 + i * 90_000, bytesDown: 61_000_000 + i * 1_400_000, packetsUp: 9000 + i * 60, packetsDown: 52_000 + i * 900,
        lastHeartbeatAgoMs: 4000, reconnects: 0,
      }) });
      await sleep(5);
    }
    await page.getByTestId('rate-graph').and(page.locator('[data-samples="60"]')).waitFor({ timeout: 10_000 });
    const graph = page.getByTestId('rate-graph').locator('.u-over');
    const box = (await graph.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    await page.getByTestId('graph-readout').waitFor();
    await shot('06-traffic', { tall: true });
    await page.mouse.move(2, 2);
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('06-traffic-dark', { tall: true });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 800, height: 600 });
    await shot('07-narrow-window');
    await page.setViewportSize({ width: 1100, height: 760 });

    // Reconnecting: what stays in place, and the kill switch's line.
    fake.guard = { mode: 'on', allowLan: false, active: true, blocking: true };
    fake.emit({ event: 'system', changes: CHANGES, guard: fake.guard });
    await setState({ kind: 'reconnecting', server: SERVER, serverAddress: SERVER, held: LEASE, attempt: 1, retryInMs: 4000,
      lastFailure: { reason: 'connection-lost', message: "this computer's address fd00:46::2 went away (network change)" } } as TunnelState, /Reconnecting/);
    await page.getByTestId('guard-line').waitFor();
    await shot('11-reconnecting', { tall: true });

    // A failure in words, its raw detail unfolded.
    fake.changes = [];
    fake.guard = { mode: 'on', allowLan: false, active: false, blocking: false };
    fake.emit({ event: 'system', changes: [], guard: fake.guard });
    await setState({ kind: 'failed', failure: { reason: 'wrong-key', message: 'the server answered 199: it has no key or a different key' } }, /failed/);
    await page.getByText('Details', { exact: true }).click();
    await shot('10-failed-wrong-key');

    // The other screens.
    await screen('Settings');
    await page.getByRole('radiogroup', { name: 'Kill switch' }).waitFor();
    await shot('12-settings');
    fake.emit({ event: 'log', level: 'info', message: `connecting to [${SERVER}]:5555`, atMs: Date.now() });
    fake.emit({ event: 'log', level: 'warn', message: 'the server answered 199: our frames do not decrypt there', atMs: Date.now() });
    await screen('Logs');
    await page.getByRole('log', { name: 'Events' }).waitFor();
    await shot('13-logs');
    await screen('About');
    await page.getByTestId('about-version').waitFor();
    await shot('14-about');
  } finally {
    await browser.close();
    await bridge.close().catch(() => undefined);
    await controller.shutdown();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});

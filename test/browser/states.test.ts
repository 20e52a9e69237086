// The window against a fake helper (electron/testing/fake-helper.ts) behind the real AppController and
// browser bridge: every state of the machine pushed on demand, so each label, colour and wording is
// checked (and photographed) without waiting for a real network to misbehave. Also the repaired
// profiles file, a helper that cannot be started, and a window that loses the app. Needs Chromium
// and the renderer build, not root.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, type Locator, type Page, chromium } from 'playwright-core';
import { VpnError } from '../../contract/ipc-schema';
import type { TunnelState } from '../../contract/tunnel-state';
import { AppController } from '../../electron/app-controller';
import { type BrowserBridge, startBrowserBridge } from '../../electron/browser-bridge';
import { openConfBackend } from '../../electron/conf-backend';
import { HelperClient } from '../../electron/helper-client';
import { bindController } from '../../electron/ipc-binding';
import { openProfileStore } from '../../electron/profile-store';
import { FAKE_LEASE, FakeHelper, stats } from '../../electron/testing/fake-helper';
import { ARTIFACTS, CHROMIUM, RENDERER_DIR } from './ui-harness';
import { expectScreenshot } from './screenshots';
import { needsFile, skipUnless } from '../support/requirements';

const skip = skipUnless(needsFile(CHROMIUM, 'Chromium (apt-get install chromium)'), needsFile(join(RENDERER_DIR, 'index.html'), 'the renderer build (npm run build)'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SERVER = 'fd00:46::1';

describe('the window in every tunnel state (fake helper)', { skip }, () => {
  let dir: string;
  let fake: FakeHelper;
  let controller: AppController;
  let bridge: BrowserBridge;
  let browser: Browser;
  let page: Page;
  let helperUnavailable: VpnError | null = null;

  async function waitForText(loc: Locator, re: RegExp, what: string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last: string | null = null;
    for (;;) {
      last = await loc.first().textContent({ timeout: 500 }).catch(() => null);
      if (last !== null && re.test(last)) return last;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} to match ${re}; last text: ${JSON.stringify(last)}`);
      await sleep(50);
    }
  }
  const shot = async (name: string) => {
    await sleep(350);
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  };
  const button = () => page.getByTestId('connect-button');
  const detail = () => page.getByTestId('status-detail');

  /** What differs from run to run in every shot: the repair banner names a temp folder and a time. */
  const unstable = () => [page.getByTestId('recovery-banner')];

  /** The CSS colour each tone paints the big button with (renderer/styles.css: .connect-<tone>). */
  const TONE_COLOUR = { idle: '--accent', busy: '--busy', ok: '--ok', warn: '--warn', error: '--error' } as const;

  /**
   * A state as a user and a screen reader get it, not only its text: one button with that role and
   * accessible name, the tone of the button and of the status (data-tone), the button painted in the
   * tone's colour, and a failure announced as an alert exactly when there is one.
   */
  async function expectLook(what: string, look: { button: RegExp; tone: keyof typeof TONE_COLOUR; alert: boolean }): Promise<void> {
    const named = page.getByRole('button', { name: look.button });
    assert.equal(await named.count(), 1, `${what}: one button named ${look.button}`);
    assert.equal(await named.getAttribute('data-tone'), look.tone, `${what}: the button's tone`);
    assert.equal(await page.getByTestId('status').getAttribute('data-tone'), look.tone, `${what}: the status's tone`);
    assert.equal(await named.getAttribute('data-testid'), 'connect-button', `${what}: the big button has that name`);
    const paint = () => page.evaluate(`(() => {
      const probe = document.createElement('div');
      probe.style.background = 'var(${TONE_COLOUR[look.tone]})';
      document.body.append(probe);
      const expected = getComputedStyle(probe).backgroundColor;
      probe.remove();
      return { actual: getComputedStyle(document.querySelector('[data-testid=connect-button]')).backgroundColor, expected };
    })()`) as Promise<{ actual: string; expected: string }>;
    // The button's colour eases from the previous tone (a CSS transition): wait for it to settle.
    let colours = await paint();
    for (let i = 0; i < 40 && colours.actual !== colours.expected; i++) {
      await sleep(50);
      colours = await paint();
    }
    assert.equal(colours.actual, colours.expected, `${what}: the button is painted ${colours.actual}, not in the ${look.tone} colour`);
    const alerts = await page.getByRole('alert').filter({ has: page.getByTestId('failure-text') }).count();
    assert.equal(alerts, look.alert ? 1 : 0, `${what}: ${look.alert ? 'the failure is announced as an alert' : 'no failure alert'}`);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), '4o6-ui-states-'));
    const uid = process.getuid?.() ?? 0;
    // A profiles file with one good and one broken entry: the store keeps the good one and says so.
    const storeDir = join(dir, 'profiles');
    mkdirSync(storeDir);
    writeFileSync(join(storeDir, 'profiles.json'), JSON.stringify({
      format: '4over6-profiles', version: 1,
      profiles: [
        { id: '2f0e4a52-6a43-4d0e-9a57-4f1f3c1f9b10', name: 'Office', server: SERVER, port: 5555, encryption: true, uuid: 'bbde0d1c-083b-4f20-9cce-799367ba1a5a', autoReconnect: true, dns: true },
        { id: 'not-an-id', name: 'Home', server: 'vpn.example.org', port: 99999, encryption: false },
      ],
    }));
    const { store, status } = await openProfileStore(storeDir, openConfBackend);
    store.create({ name: 'Lab', server: 'lab.example.org', port: 5556, encryption: false });

    const socketPath = join(dir, 'helper.sock');
    fake = await FakeHelper.start({ socketPath, mode: 'service' });
    const open = () => HelperClient.connect({ socketPath, trustedOwners: [uid], trustedDirOwner: uid });
    controller = new AppController({
      store, storeStatus: status,
      helper: {
        connectExisting: open,
        connect: async () => {
          if (helperUnavailable) throw helperUnavailable;
          return open();
        },
      },
    });
    bridge = await startBrowserBridge({ staticDir: RENDERER_DIR });
    bindController(controller, bridge.transport, () => undefined);
    await controller.start();
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 760 }, colorScheme: 'light', acceptDownloads: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    // The page's clock runs normally but can be moved on: stats pushes one "second" apart, instantly.
    await page.clock.install();
    await page.goto(bridge.url);
  });

  after(async () => {
    await browser?.close();
    await bridge?.close().catch(() => undefined);
    await controller?.shutdown();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a repaired profiles file: what was kept, where the old file is, and each lost entry', async () => {
    const banner = page.getByTestId('recovery-banner');
    await banner.waitFor({ timeout: 10_000 });
    const text = await banner.textContent() ?? '';
    assert.match(text, /damaged and has been repaired/);
    assert.match(text, /1 valid profile was kept/);
    assert.match(text, /profiles\.json\.corrupt-/);
    assert.match(text, /profiles\.json: profiles\[1\] \(Home\): id: /);
    assert.match(text, /profiles\.json: profiles\[1\] \(Home\): port: /);
    assert.equal(await page.getByTestId('helper-pill').textContent(), 'Helper running (service)');
    await shot('states-01-recovery');
    await page.getByRole('button', { name: /^Dismiss: Your profiles file/ }).click();
    assert.equal(await banner.count(), 0);
  });

  test('keyboard: a skip link, one tab stop for the list, arrow keys inside it, the row\'s actions next', async () => {
    // Nine profiles, as in the report (54 Tabs to reach Connect before).
    const extra = [];
    for (let i = 1; i <= 7; i++) extra.push(await controller.handlers.profiles.create({ name: `Site ${i}`, server: `fd00:46::${i + 10}`, port: 5555, encryption: false }));
    const options = page.getByRole('listbox', { name: 'Profiles' }).getByRole('option');
    await waitForText(page.getByRole('listbox', { name: 'Profiles' }), /Site 7/, 'nine profiles');
    assert.equal(await options.count(), 9);
    await page.getByRole('option', { name: /^Office/ }).click();
    await waitForText(detail(), /Ready to connect to Office/, 'Office selected');

    // From the top of the page: the first stop is the skip link, and it lands in the main panel.
    const focused = () => page.evaluate(`(() => { const e = document.activeElement; return e ? (e.getAttribute('role') ?? e.tagName.toLowerCase()) + ':' + (e.getAttribute('aria-label') ?? e.textContent ?? '').trim().slice(0, 40) : ''; })()`) as Promise<string>;
    await page.reload(); // a fresh page: the first Tab starts at the top
    await waitForText(detail(), /Ready to connect to Office/, 'Office selected after the reload');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'a:Skip to the connection panel');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'main');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(`document.getElementById('main').contains(document.activeElement)`), true, 'the next Tab after the skip stays in the panel');

    // Every stop from the top to Connect: the list is one stop, then the selected row's four actions.
    await page.reload();
    await waitForText(detail(), /Ready to connect to Office/, 'Office selected after the reload');
    const stops: string[] = [];
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      stops.push(await focused());
      if (await page.evaluate('document.activeElement?.dataset.testid') === 'connect-button') break;
    }
    assert.equal(stops.filter((s) => s.startsWith('option:')).length, 1, stops.join('\n'));
    assert.match(stops.find((s) => s.startsWith('option:')) ?? '', /^option:Office/);
    const at = stops.findIndex((s) => s.startsWith('option:'));
    assert.deepEqual(stops.slice(at + 1, at + 5), ['button:Connect to Office', 'button:Edit Office', 'button:Duplicate Office', 'button:Delete Office']);
    assert.ok(stops.length <= 16, `Connect within 16 Tabs (4 of them the screens), took ${stops.length}:\n${stops.join('\n')}`);

    // Arrow keys, Home and End move the selection and the focus; the tab stop moves with them.
    await page.getByRole('option', { name: /^Office/ }).focus();
    await page.keyboard.press('ArrowDown');
    await waitForText(detail(), /Ready to connect to Lab/, 'the second profile selected');
    assert.equal(await page.getByRole('option', { name: /^Lab/ }).getAttribute('aria-selected'), 'true');
    assert.match(await focused(), /^option:Lab/);
    await page.keyboard.press('End');
    await waitForText(detail(), /Ready to connect to Site 7/, 'the last profile');
    assert.match(await focused(), /^option:Site 7/);
    await page.keyboard.press('Home');
    await waitForText(detail(), /Ready to connect to Office/, 'the first profile');
    assert.deepEqual(await options.evaluateAll((els) => els.map((e) => e.getAttribute('tabindex'))), ['0', '-1', '-1', '-1', '-1', '-1', '-1', '-1', '-1']);
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'button:Connect to Office');
    await shot('states-01b-keyboard');

    for (const p of extra) await controller.handlers.profiles.remove({ id: p.id });
    await waitForText(page.getByRole('listbox', { name: 'Profiles' }), /^(?!.*Site)/s, 'the extra profiles gone');
  });

  test('connecting: the label and every phase in words; the button cancels', async () => {
    await button().click();
    await waitForText(button(), /^Connecting…Click to cancel/, 'connecting');
    const connecting = (phase: 'resolving' | 'tcp' | 'awaiting-ip', attempt = 1): TunnelState =>
      ({ kind: 'connecting', server: SERVER, phase, attempt, serverAddress: phase === 'resolving' ? null : SERVER, onLoss: 'reconnect', held: null });
    fake.setState(connecting('resolving'), 'Office');
    await waitForText(detail(), /^looking up the server name$/, 'resolving');
    fake.setState(connecting('tcp'), 'Office');
    await waitForText(detail(), /^connecting to the server$/, 'tcp');
    fake.setState(connecting('awaiting-ip', 2), 'Office');
    await waitForText(detail(), /^waiting for an address, attempt 2$/, 'awaiting-ip');
    assert.match(await page.getByTestId('status-title').textContent() ?? '', /Connecting to Office/);
    await expectLook('connecting', { button: /^Connecting…/, tone: 'busy', alert: false });
    await shot('states-02-connecting');

    const before = fake.received.filter((r) => r.cmd === 'disconnect').length;
    await button().click();
    await waitForText(button(), /^Connect/, 'idle after cancelling');
    assert.equal(fake.received.filter((r) => r.cmd === 'disconnect').length, before + 1, 'the click sent a disconnect');
  });

  test('connected: details, a ticking clock, live rates and a 60-sample graph', async () => {
    await button().click();
    await waitForText(button(), /^Connecting/, 'connecting');
    fake.changes = ['address 10.8.0.2/24 on 4over6', '4over6 brought up', 'route 0.0.0.0/1 via 4over6', 'route 128.0.0.0/1 via 4over6', 'systemd-resolved DNS on 4over6'];
    fake.setState({ kind: 'connected', server: SERVER, serverAddress: SERVER, lease: FAKE_LEASE, sinceMs: Date.now() - 3_723_000, attempt: 1, onLoss: 'reconnect', previousAddress: null }, 'Office');
    await waitForText(button(), /^ConnectedClick to disconnect/, 'connected');
    await waitForText(page.getByTestId('changes'), /systemd-resolved DNS on 4over6/, 'the changes list');
    const since = await page.getByTestId('connected-for').textContent() ?? '';
    assert.match(since, /^1:02:0\d$/);
    for (let i = 0; i < 70; i++) {
      const t = i / 6;
      fake.emit({ event: 'stats', stats: stats({
        rateUp: Math.round(60_000 + 50_000 * Math.sin(t)), rateDown: Math.round(900_000 + 600_000 * Math.sin(t / 2 + 1)),
        bytesUp: 2_500_000 + i * 60_000, bytesDown: 48_000_000 + i * 900_000, packetsUp: 9000 + i * 50, packetsDown: 40_000 + i * 700,
        lastHeartbeatAgoMs: 4000, reconnects: 1,
      }) });
      await sleep(5);
      await page.clock.fastForward(1000);
    }
    const graph = page.getByTestId('rate-graph');
    for (let i = 0; i < 40 && (await graph.getAttribute('data-samples')) !== '60'; i++) await sleep(50);
    assert.equal(await graph.getAttribute('data-samples'), '60', 'only the last 60 samples are kept');
    assert.match(await page.getByTestId('rate-down').textContent() ?? '', /Mbit\/s|kbit\/s/);
    assert.match(await page.getByTestId('total-down').textContent() ?? '', /MiB/);
    assert.equal(await page.getByTestId('reconnects').textContent(), '1');
    assert.equal(await page.getByTestId('last-heartbeat').textContent(), '4 s ago');
    await expectLook('connected', { button: /^Connected/, tone: 'ok', alert: false });
    await shot('states-03-connected');
    await expectScreenshot(page, 'connected', { mask: [...unstable(), page.getByTestId('connected-for'), page.getByTestId('rate-graph')] });
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('states-03-connected-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  test('graph: a reload shows the last 60 s at once (main keeps them), the y axis starts at 0, hovering shows the values then', async () => {
    const graph = page.getByTestId('rate-graph');
    const before = await graph.getAttribute('data-peak-down');
    await page.reload();
    // No stats are pushed meanwhile: what the graph shows came from main's history.
    await waitForText(page.getByTestId('status-title'), /Connected to Office/, 'connected after the reload');
    for (let i = 0; i < 40 && (await graph.getAttribute('data-samples')) !== '60'; i++) await sleep(50);
    assert.equal(await graph.getAttribute('data-samples'), '60', 'the last minute came back with the reload');
    assert.equal(await graph.getAttribute('data-peak-down'), before);
    assert.equal(await graph.getAttribute('data-y-min'), '0', 'the y axis starts at 0');
    assert.match(await graph.getAttribute('aria-label') ?? '', /in bits per second from 0/);

    // Hover over the middle of the plot: the readout names the time and both rates of that sample.
    const plotArea = graph.locator('.u-over');
    const area = await plotArea.boundingBox();
    assert.ok(area);
    await page.mouse.move(area.x + area.width / 2, area.y + area.height / 2);
    const readout = page.getByTestId('graph-readout');
    await readout.waitFor({ timeout: 5000 });
    const index = Number(await graph.getAttribute('data-hover-index'));
    assert.ok(index >= 25 && index <= 35, `the middle sample, got ${index}`);
    // The fake pushed sample i (of 70) with these rates; the graph keeps the last 60 (i = 10 ... 69).
    const i = index + 10;
    const t = i / 6;
    const up = Math.round(60_000 + 50_000 * Math.sin(t));
    const down = Math.round(900_000 + 600_000 * Math.sin(t / 2 + 1));
    const fmt = (bytes: number) => { const v = (bytes * 8) / 1e6; return v >= 1 ? `${v.toFixed(v < 10 ? 2 : 1)} Mbit/s` : `${((bytes * 8) / 1e3).toFixed((bytes * 8) / 1e3 < 10 ? 2 : (bytes * 8) / 1e3 < 100 ? 1 : 0)} kbit/s`; };
    assert.match(await readout.textContent() ?? '', new RegExp(`, ${59 - index} s ago: ↑ ${fmt(up).replace('.', '\\.')} ↓ ${fmt(down).replace('.', '\\.')}$`));
    await shot('states-03b-graph-hover');
    await page.mouse.move(5, 5);
    await readout.waitFor({ state: 'detached', timeout: 5000 });
  });

  test('resizing: from 640×480 to 4K nothing overflows sideways, the graph follows its card, Disconnect stays in view', async () => {
    const disconnect = page.getByRole('button', { name: /^Connected/ });
    const graph = page.getByTestId('rate-graph');
    const measure = () => page.evaluate(`(() => {
      const doc = document.documentElement;
      const main = document.querySelector('.main');
      const canvas = document.querySelector('[data-testid=rate-graph] canvas');
      const card = document.querySelector('[data-testid=rate-graph]').closest('.card');
      const cardInner = card.clientWidth - parseFloat(getComputedStyle(card).paddingLeft) - parseFloat(getComputedStyle(card).paddingRight);
      const overflowing = [...document.querySelectorAll('.app *')].filter((e) => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && (r.right > doc.clientWidth + 0.5 || r.left < -0.5) && !e.closest('.skip-link');
      }).map((e) => e.className || e.tagName).slice(0, 5);
      return { docOverflow: doc.scrollWidth - doc.clientWidth, mainOverflow: main.scrollWidth - main.clientWidth,
        canvas: canvas.getBoundingClientRect().width, cardInner, overflowing };
    })()`) as Promise<{ docOverflow: number; mainOverflow: number; canvas: number; cardInner: number; overflowing: string[] }>;
    const sizes = [[1400, 900], [800, 600], [640, 480], [1024, 768], [1920, 1080], [3840, 2160], [1100, 760]];
    for (const [width, height] of sizes) {
      await page.setViewportSize({ width, height });
      const what = `${width}×${height}`;
      let m = await measure();
      // The graph redraws on the next animation frame after its box changed.
      for (let i = 0; i < 20 && Math.abs(m.canvas - m.cardInner) > 2; i++) {
        await sleep(50);
        m = await measure();
      }
      assert.equal(m.docOverflow, 0, `${what}: the page scrolls sideways by ${m.docOverflow} px`);
      assert.equal(m.mainOverflow, 0, `${what}: the panel scrolls sideways by ${m.mainOverflow} px`);
      assert.deepEqual(m.overflowing, [], `${what}: elements past the right edge`);
      assert.ok(Math.abs(m.canvas - m.cardInner) <= 2, `${what}: the graph is ${m.canvas} px wide in a card of ${m.cardInner} px`);
      await disconnect.scrollIntoViewIfNeeded();
      const box = await disconnect.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= width && box.y >= 0 && box.y + box.height <= height, `${what}: Disconnect in view, at ${JSON.stringify(box)}`);
      assert.equal(await disconnect.getAttribute('data-tone'), 'ok');
      if (width === 640 || width === 800) await shot(`states-03-connected-${width}`);
    }
    assert.equal(await graph.getAttribute('data-samples'), '60');
  });

  test('reconnecting: attempt, a countdown and the reason', async () => {
    fake.setState({ kind: 'reconnecting', server: SERVER, serverAddress: 'fd00::1', held: FAKE_LEASE, attempt: 2, retryInMs: 8000, lastFailure: { reason: 'heartbeat-lost', message: 'no heartbeat for 60 s' } }, 'Office');
    await waitForText(button(), /^Reconnecting…Click to stop/, 'reconnecting');
    const first = await waitForText(detail(), /^attempt 3, retry in [78] s$/, 'the countdown');
    const later = await waitForText(detail(), /^attempt 3, retry in [56] s$/, 'the countdown moving', 4000);
    const seconds = (text: string) => Number(/retry in (\d+) s/.exec(text)?.[1]);
    assert.ok(seconds(later) < seconds(first), `the countdown goes down: ${first}, then ${later}`);
    await expectLook('reconnecting', { button: /^Reconnecting…/, tone: 'warn', alert: true });
    assert.equal(await page.getByTestId('failure-text').textContent(), 'The server stopped answering.');
    assert.equal(await page.getByTestId('failure-detail').textContent(), 'no heartbeat for 60 s');
    await shot('states-04-reconnecting');
  });

  test('disconnecting, then a failure with its reason', async () => {
    fake.setState({ kind: 'disconnecting', then: 'failed', failure: { reason: 'system-config-failed', message: 'ip route add 0.0.0.0/1 dev 4over6: RTNETLINK answers: File exists' } }, 'Office');
    await waitForText(button(), /^Disconnecting…Restoring routes and DNS/, 'disconnecting');
    assert.equal(await button().getAttribute('aria-disabled'), 'true');
    fake.changes = [];
    fake.setState({ kind: 'failed', failure: { reason: 'system-config-failed', message: 'ip route add 0.0.0.0/1 dev 4over6: RTNETLINK answers: File exists' } }, 'Office');
    await waitForText(button(), /^Try againConnection failed/, 'failed');
    assert.equal(await page.getByTestId('failure-text').textContent(), 'The tunnel’s address, routes or DNS could not be set.');
    assert.match(await page.getByTestId('failure-advice').textContent() ?? '', /Another VPN or network tool/);
    assert.equal(await page.getByTestId('failure-detail').textContent(), 'ip route add 0.0.0.0/1 dev 4over6: RTNETLINK answers: File exists');
    assert.match(await page.getByTestId('status-title').textContent() ?? '', /The connection to Office failed/);
    await expectLook('failed', { button: /^Try again/, tone: 'error', alert: true });
    await shot('states-05-failed');
    await expectScreenshot(page, 'failed', { mask: unstable() });
  });

  test('a failure belongs to the profile that failed: another profile shows a plain Connect, also after a reload', async () => {
    // Office failed (the test above). Select Lab.
    const status = page.getByTestId('status');
    await page.getByRole('option', { name: /^Lab/ }).click();
    await waitForText(detail(), /^Ready to connect to Lab$/, 'Lab selected');
    const check = async (when: string) => {
      assert.equal(await status.getAttribute('data-tone'), 'idle', when);
      assert.equal(await page.getByTestId('status-title').textContent(), 'Not connected', when);
      assert.equal(await page.getByRole('alert').filter({ has: page.getByTestId('failure-text') }).count(), 0, `no failure for Lab (${when})`);
      const connect = page.getByRole('button', { name: /^Connect(?!ion| to)/ });
      assert.equal(await connect.getAttribute('data-tone'), 'idle', when);
      assert.equal(await connect.getAttribute('data-action'), 'connect', when);
      assert.match(await page.locator('.hero-profile').textContent() ?? '', /lab\.example\.org:5556/, when);
      // The list still says which profile failed.
      assert.match(await page.getByRole('option', { name: /^Office/ }).textContent() ?? '', /Failed/, when);
    };
    await check('after selecting Lab');
    await page.reload();
    await waitForText(detail(), /^Ready to connect to Lab$/, 'Lab still selected after the reload');
    await check('after a reload');
    await expectLook('another profile after a failure', { button: /^Connect(?!ion| to)/, tone: 'idle', alert: false });
    await shot('states-05b-failure-other-profile');
    await expectScreenshot(page, 'idle-after-another-failed', { mask: unstable() });

    // Back on Office: its failure, and "Try again" connects Office (not the profile selected before).
    await page.getByRole('option', { name: /^Office/ }).click();
    const tryAgain = page.getByRole('button', { name: /^Try again/ });
    await tryAgain.waitFor({ timeout: 5000 });
    assert.equal(await tryAgain.getAttribute('data-tone'), 'error');
    assert.equal(await page.getByTestId('status-title').textContent(), 'The connection to Office failed');
    const connects = () => fake.received.filter((r) => r.cmd === 'connect');
    const before = connects().length;
    await tryAgain.click();
    await waitForText(button(), /^Connecting/, 'connecting after Try again');
    const sent = connects()[before];
    assert.equal(sent?.cmd === 'connect' && sent.profile.name, 'Office');
    fake.setState({ kind: 'failed', failure: { reason: 'dns-failed', message: 'cannot resolve vpn.example.org to an IPv6 address: getaddrinfo EAI_AGAIN vpn.example.org' } }, 'Office');
    await waitForText(button(), /^Try again/, 'failed again');
  });

  test('plain-language errors: what happened and what to do, the raw detail behind "Details"', async () => {
    const text = page.getByTestId('failure-text');
    const detailText = page.getByTestId('failure-detail');
    await waitForText(text, /^The server name could not be looked up: no DNS server answered\.$/, 'EAI_AGAIN in words');
    assert.match(await page.getByTestId('failure-advice').textContent() ?? '', /Check that this computer is online/);
    assert.equal(await detailText.isVisible(), false, 'the raw detail is folded away');
    await page.getByText('Details', { exact: true }).click();
    assert.equal(await detailText.isVisible(), true);
    assert.match(await detailText.textContent() ?? '', /getaddrinfo EAI_AGAIN vpn\.example\.org/);
    await shot('states-05c-failure-details');
    const cases: [string, RegExp][] = [
      ['cannot connect to [fd00:46::1]:5555: connect EHOSTUNREACH fd00:46::1:5555', /^Nothing answers at the server’s IPv6 address\.$/],
      ['cannot connect to [fd00:46::1]:5555: connect ENETUNREACH fd00:46::1:5555 - Local (:::0)', /^This computer has no IPv6 route to the server\.$/],
    ];
    for (const [message, re] of cases) {
      fake.setState({ kind: 'failed', failure: { reason: 'server-unreachable', message } }, 'Office');
      await waitForText(text, re, message);
      assert.doesNotMatch(await text.textContent() ?? '', /E[A-Z]{4,}/);
    }
  });

  test('the helper cannot be started: the banner says why and what to do', async () => {
    fake.dropConnections();
    await waitForText(page.getByTestId('helper-banner'), /The 4over6 helper stopped/, 'the helper lost');
    helperUnavailable = new VpnError('HELPER_LAUNCH_FAILED', 'the password dialog was dismissed or authorization was refused');
    await button().click();
    const banner = page.getByTestId('helper-banner');
    await waitForText(banner, /not available.*password dialog was dismissed.*enter your password when asked/s, 'the launch failure');
    await waitForText(button(), /^Connect/, 'the button back to Connect');
    assert.equal(await page.getByTestId('notices').textContent(), '', 'no second message for the same problem');
    await shot('states-06-helper-unavailable');
    helperUnavailable = null;
    await button().click();
    await waitForText(button(), /^Connecting/, 'connecting through the helper again');
    await banner.waitFor({ state: 'detached', timeout: 5000 }); // the helper is back: the banner goes
    fake.setState({ kind: 'idle' }, 'Office');
  });

  test('Logs: the helper\'s and the app\'s events, a level filter, Copy, and a diagnostics bundle with keys and addresses masked', async () => {
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(bridge.url).origin });
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Logs' }).click();
    const list = page.getByRole('log', { name: 'Events' });
    await list.waitFor({ timeout: 5000 });
    assert.equal(await page.getByRole('button', { name: 'Logs' }).getAttribute('aria-current'), 'page');
    fake.emit({ event: 'log', level: 'debug', message: 'heartbeat sent', atMs: Date.now() });
    fake.emit({ event: 'log', level: 'warn', message: `route 0.0.0.0/1 via ${SERVER} already present`, atMs: Date.now() });
    fake.emit({ event: 'log', level: 'error', message: 'journal write failed: ENOSPC', atMs: Date.now() });
    await waitForText(list, /journal write failed: ENOSPC/, 'the pushed helper events');
    const entries = list.locator('li.log-entry');
    const levels = async () => entries.evaluateAll((els) => els.map((e) => e.getAttribute('data-level')));
    // App events from earlier tests are there too, with their source.
    assert.ok(await list.locator('li[data-source=app]', { hasText: 'The connection to Office failed' }).count() > 0);
    assert.ok(await list.locator('li[data-source=helper][data-level=warn]', { hasText: 'already present' }).count() === 1);
    assert.ok(!(await levels()).includes('debug'), 'debug hidden at the default level');

    const show = page.getByRole('combobox', { name: 'Show' });
    await show.selectOption({ label: 'Warnings and errors' });
    const warnOnly = await levels();
    assert.ok(warnOnly.length >= 2 && warnOnly.every((l) => l === 'warn' || l === 'error'), warnOnly.join(','));
    await page.getByRole('button', { name: 'Copy' }).click();
    const copied = await page.evaluate('navigator.clipboard.readText()') as string;
    assert.equal(copied.split('\n').length, warnOnly.length, copied);
    assert.match(copied, /^\d{4}-\d\d-\d\dT[\d:.]+Z helper warn: route 0\.0\.0\.0\/1 via fd00:46::1 already present$/m);
    await show.selectOption({ label: 'Everything' });
    assert.ok((await levels()).includes('debug'));
    await show.selectOption({ label: 'Info and above' });
    await shot('states-08-logs');

    // Save diagnostics: a download here (no file dialogs in a browser), redacted.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 10_000 }),
      page.getByRole('button', { name: 'Save diagnostics…' }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^4over6-diagnostics-.*\.json$/);
    const text = readFileSync(await download.path(), 'utf8');
    const doc = JSON.parse(text) as { format: string; profiles: { name: string; server: string; uuid: string | null }[]; log: string[] };
    assert.equal(doc.format, '4over6-diagnostics');
    for (const secret of ['bbde0d1c-083b-4f20-9cce-799367ba1a5a', SERVER, '10.8.0.2', 'lab.example.org']) {
      assert.equal(text.includes(secret), false, `${secret} is masked`);
    }
    const office = doc.profiles.find((p) => p.name === 'Office');
    assert.equal(office?.server, '<ipv6-1>');
    assert.match(office?.uuid ?? '', /^<key-\d+>$/);
    assert.ok(doc.log.some((l) => /helper warn: route 0\.0\.0\.0\/1 via <ipv6-1> already present/.test(l)), doc.log.join('\n'));
    await waitForText(page.getByTestId('notices'), /Diagnostics saved\. Keys and addresses are masked/, 'the notice');
  });

  test('About: the app\'s version and licence, the helper and its mode, and the licences it is built from', async () => {
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'About' }).click();
    const version = page.getByTestId('about-version');
    await version.waitFor({ timeout: 5000 });
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
    assert.equal(await version.textContent(), pkg.version);
    assert.match(await page.getByTestId('about-helper').textContent() ?? '', /^protocol 1, system service \(pid \d+\)$/);
    const rows = await page.getByTestId('licences').locator('tbody tr').allTextContents();
    assert.equal(rows.length, Object.keys(pkg.dependencies).length);
    assert.ok(rows.some((r) => /^react[\d.]+MIT$/.test(r)), rows.join('\n'));
    await shot('states-09-about');
    // Choosing a profile goes back to the connection panel.
    await page.getByRole('option', { name: /^Office/ }).click();
    await page.getByTestId('status').waitFor({ timeout: 5000 });
  });

  test('a link without its key, or with an old key: each says what to do, in plain words', async () => {
    const other = await browser.newPage();
    try {
      const origin = new URL(bridge.url).origin;
      await other.goto(`${origin}/`);
      const fatal = other.getByRole('alert');
      await waitForText(fatal, /cannot reach the app/, 'the no-key page');
      const noKey = await fatal.textContent() ?? '';
      assert.match(noKey, /opened without its access key\. Open the full link the app showed when it started/);
      assert.doesNotMatch(noKey, /bridge/i, 'no internal names');
      await other.goto(`${origin}/?token=${'0'.repeat(48)}`);
      await waitForText(fatal, /access key is not the current one/, 'the wrong-key page');
      const wrongKey = await fatal.textContent() ?? '';
      assert.match(wrongKey, /The app is running, but this link’s access key is not the current one/);
      assert.doesNotMatch(wrongKey, /still running\?/);
      await other.screenshot({ path: join(ARTIFACTS, 'states-10-wrong-key-link.png') });
    } finally {
      await other.close();
    }
  });

  test('the window loses the app: a banner offers a reload', async () => {
    await bridge.close();
    const banner = page.getByTestId('link-banner');
    await waitForText(banner, /lost its connection to the app.*Reload/s, 'the link banner');
    await shot('states-07-link-lost');
  });
});

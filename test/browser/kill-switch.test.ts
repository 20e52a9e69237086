// The kill switch and the settings, clicked in Chromium against the real stack (ui-harness.ts): the
// real root helper puts its guard table in the client namespace, and a second, native IPv4 path from
// that namespace to a third one ("the LAN", 198.19.77.0/24) shows what leaks: a ping that must fail
// while the kill switch blocks and work when it does not. Also a reconnect that keeps the address,
// with the window saying what is in place meanwhile, lockdown surviving an app restart, and the
// autostart entry. Needs root and /usr/bin/chromium.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { type TestNamespace, createTestNamespace } from '../support/netns';
import { needsProgram, skipUnless } from '../support/requirements';
import { SERVER_KEY, SERVER_PORT, type UiHarness, skipReason, startUiHarness } from './ui-harness';

const skip = skipUnless(skipReason(), needsProgram('nft', 'apt-get install nftables'), needsProgram('ping', 'apt-get install iputils-ping'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LAN_PEER = '198.19.77.2';

describe('the kill switch in the window, against the real helper and gateway', { skip, timeout: 300_000 }, () => {
  let h: UiHarness;
  let page: Page;
  let lan: TestNamespace;

  async function waitForText(loc: Locator, re: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last: string | null = null;
    for (;;) {
      last = await loc.first().textContent({ timeout: 500 }).catch(() => null);
      if (last !== null && re.test(last)) return last;
      if (Date.now() > deadline) {
        await h.screenshot(`failed-ks-${what.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => undefined);
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} to match ${re}; last text: ${JSON.stringify(last)}\n--- logs ---\n${h.logs().slice(-4000)}`);
      }
      await sleep(100);
    }
  }

  /** Whether a ping from the client namespace reaches the LAN peer outside the tunnel. */
  async function lanPingWorks(): Promise<boolean> {
    try {
      await h.clientExec('ping', ['-c', '1', '-W', '1', LAN_PEER]);
      return true;
    } catch {
      return false;
    }
  }

  /** The ping's answer settles once the helper has changed its table: poll up to a deadline. */
  async function expectLan(works: boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    let now = await lanPingWorks();
    while (now !== works && Date.now() < deadline) {
      await sleep(250);
      now = await lanPingWorks();
    }
    assert.equal(now, works, `${what}: a ping outside the tunnel ${works ? 'should work' : 'should be blocked'}\n${h.logs().slice(-3000)}`);
  }

  const button = () => page.getByTestId('connect-button');
  const screen = (name: string) => page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name, exact: true });
  const killSwitch = (label: 'Off' | 'On' | 'Lockdown') => page.getByRole('radiogroup', { name: 'Kill switch' }).getByRole('radio', { name: new RegExp(`^${label}`) });

  before(async () => {
    h = await startUiHarness('uiks');
    page = h.page;
    lan = await createTestNamespace('uikslan');
    await h.net6.exec(h.net6.client, 'ip', ['link', 'add', 'veth1', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', lan.name]);
    await h.net6.exec(h.net6.client, 'ip', ['addr', 'add', '198.19.77.1/24', 'dev', 'veth1']);
    await lan.exec('ip', ['addr', 'add', `${LAN_PEER}/24`, 'dev', 'veth1']);
    await h.net6.exec(h.net6.client, 'ip', ['link', 'set', 'veth1', 'up']);
    await lan.exec('ip', ['link', 'set', 'veth1', 'up']);
    await h.controller.handlers.profiles.create({ name: 'Gateway', server: h.net6.serverAddress, port: SERVER_PORT, encryption: true, uuid: SERVER_KEY });
    await page.reload();
  });

  after(async () => {
    await h?.close();
    await lan?.cleanup();
  });

  test('on (the default): a ping outside the tunnel is blocked while connected; Off lets it through; allowing the LAN too', async () => {
    await expectLan(true, 'before any tunnel (else this test proves nothing)');
    await screen('Settings').click();
    assert.equal(await killSwitch('On').isChecked(), true, 'on by default');
    await screen('Connection').click();
    await page.getByRole('option', { name: /^Gateway/ }).click();
    await button().click();
    await waitForText(button(), /^Connected/, 'connected');
    await expectLan(false, 'connected with the kill switch on');
    assert.match(await page.getByTestId('kill-switch').textContent() ?? '', /^On: IPv4 leaves only through the tunnel$/);
    assert.match(await page.getByTestId('changes').textContent() ?? '', /fourover6-guard/);
    await h.screenshot('ks-01-connected-on', { tall: true });

    await screen('Settings').click();
    await killSwitch('Off').check();
    await expectLan(true, 'kill switch turned off while connected');
    await h.screenshot('ks-02-settings-off');
    await killSwitch('On').check();
    await expectLan(false, 'turned on again');
    await page.getByRole('checkbox', { name: 'Allow the local network' }).check();
    await expectLan(true, 'the local network allowed');
    await page.getByRole('checkbox', { name: 'Allow the local network' }).uncheck();
    await expectLan(false, 'the local network no longer allowed');
    assert.deepEqual(JSON.parse(readFileSync(`${h.dir}/profiles/settings.json`, 'utf8')).killSwitch, 'on', 'saved next to the profiles');
  });

  test('a reconnect: the address, routes and the guard stay, the window says traffic is blocked, and the same address comes back', async () => {
    await screen('Connection').click();
    const address = await page.getByTestId('assigned-address').textContent();
    assert.match(address ?? '', /^198\.18\.0\.\d+\/24$/);
    await h.stopServer();
    await waitForText(button(), /^Reconnecting…/, 'reconnecting');
    const guard = page.getByRole('status').filter({ has: page.getByText('Traffic is blocked until the tunnel is back') });
    await guard.waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('guard-line').getAttribute('data-blocking'), 'true');
    const changes = await waitForText(page.getByTestId('changes'), /Still in place while reconnecting/, 'what stays in place');
    assert.match(changes, new RegExp(`address ${address!.replace(/[./]/g, '\\$&')} on 4o6u0`), 'the address is listed as still in place');
    assert.match(changes, /fourover6-guard/, 'and the guard table');
    await expectLan(false, 'reconnecting: still blocked');
    await h.screenshot('ks-03-reconnecting-blocked', { tall: true });
    await h.startServer();
    await waitForText(button(), /^Connected/, 'connected again', 60_000);
    assert.equal(await page.getByTestId('assigned-address').textContent(), address, 'the same address back');
    assert.equal(await page.getByTestId('guard-line').count(), 0, 'no blocked line once the tunnel is back');
    await button().click();
    await waitForText(button(), /^Connect/, 'disconnected');
    await expectLan(true, 'after a disconnect with "on"');
  });

  test('lockdown: blocked while disconnected, and still after the app restarts, until it is turned off', async () => {
    await screen('Settings').click();
    await killSwitch('Lockdown').check();
    await expectLan(false, 'lockdown while disconnected');
    await screen('Connection').click();
    await waitForText(page.getByTestId('guard-line'), /Lockdown: IPv4 traffic is blocked while disconnected/, 'the lockdown line');
    await h.screenshot('ks-04-lockdown-idle');

    await h.restartApp();
    await page.reload();
    await expectLan(false, 'lockdown after the app restarted');
    const events = (await h.controller.handlers.app.logs()).map((e) => e.message);
    assert.ok(events.some((m) => /^lockdown \(Settings\): the helper blocks IPv4/.test(m)), `the new app put the lockdown in place itself:\n${events.join('\n')}`);
    assert.equal((await h.controller.handlers.tunnel.snapshot()).guard?.mode, 'lockdown', 'the helper reports it');
    await waitForText(page.getByTestId('guard-line'), /Lockdown: IPv4 traffic is blocked while disconnected/, 'the lockdown line after a restart');
    await screen('Settings').click();
    assert.equal(await killSwitch('Lockdown').isChecked(), true, 'the setting came back');
    await killSwitch('On').check();
    await expectLan(true, 'lockdown lifted');
    await screen('Connection').click();
    assert.equal(await page.getByTestId('guard-line').count(), 0);
  });

  test('start at login: the autostart entry is written and removed', async () => {
    await screen('Settings').click();
    const login = page.getByRole('checkbox', { name: 'Start the app when I log in' });
    await login.check();
    for (let i = 0; i < 50 && !existsSync(h.autostartPath); i++) await sleep(100);
    assert.match(readFileSync(h.autostartPath, 'utf8'), /^\[Desktop Entry\][\s\S]*\nExec=\S+ \S+main\.js\n/);
    await login.uncheck();
    for (let i = 0; i < 50 && existsSync(h.autostartPath); i++) await sleep(100);
    assert.equal(existsSync(h.autostartPath), false);
    await h.screenshot('ks-05-settings');
  });
});

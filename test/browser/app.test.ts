// The desktop UI, clicked like a user, in Chromium against the real stack (see ui-harness.ts): add
// profiles through the form, connect to the real gateway through the real root helper, watch live
// rates and the graph move under a ping flood, reload mid-connection, import a broken file, export,
// fail with a wrong key, reconnect against a closed port, lose the helper, disconnect. Screenshots of
// each screen go to test/artifacts/. Needs root and /usr/bin/chromium; skipped otherwise.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { skipUnless } from '../support/requirements';
import {
  GATEWAY, ORIGINAL_RESOLV, SERVER_KEY, SERVER_PORT, type UiHarness, skipReason, startUiHarness,
} from './ui-harness';

const skip = skipUnless(skipReason());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('desktop UI in Chromium, against the real helper and gateway', { skip }, () => {
  let h: UiHarness;
  let page: Page;

  /** Polls a locator's text until it matches; the failure names what it saw and the stack's logs. */
  async function waitForText(loc: Locator, re: RegExp, what: string, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last: string | null = null;
    for (;;) {
      last = await loc.first().textContent({ timeout: 500 }).catch(() => null);
      if (last !== null && re.test(last)) return last;
      if (Date.now() > deadline) {
        await h.screenshot(`failed-${what.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => undefined);
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} to match ${re}; last text: ${JSON.stringify(last)}\n--- logs ---\n${h.logs().slice(-4000)}`);
      }
      await sleep(100);
    }
  }

  const button = () => page.getByTestId('connect-button');
  const profileItem = (name: string) => page.getByTestId('profile-item').filter({ has: page.getByText(name, { exact: true }) });
  const profileNames = async () => (await page.getByTestId('profile-item').locator('.profile-name-text').allTextContents());
  const bitsPerSecond = (text: string | null) => {
    const m = /^([\d.]+) (bit|kbit|Mbit|Gbit)\/s$/.exec(text ?? '');
    assert.ok(m, `a rate, got ${JSON.stringify(text)}`);
    return Number(m[1]) * { bit: 1, kbit: 1e3, Mbit: 1e6, Gbit: 1e9 }[m[2] as 'bit'];
  };

  async function addProfile(p: { name: string; server: string; port: number; key: string | null; autoReconnect?: boolean }): Promise<void> {
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a profile' });
    await dialog.getByLabel('Name', { exact: true }).fill(p.name);
    await dialog.getByLabel('Server', { exact: true }).fill(p.server);
    await dialog.getByLabel('Port', { exact: true }).fill(String(p.port));
    if (p.key === null) await dialog.getByLabel('Encrypt traffic').uncheck();
    else await dialog.getByLabel('Key', { exact: true }).fill(p.key);
    if (p.autoReconnect === false) await dialog.getByLabel('Reconnect automatically when the connection drops').uncheck();
    await dialog.getByRole('button', { name: 'Add profile' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 5000 });
    await profileItem(p.name).waitFor({ timeout: 5000 });
  }

  before(async () => {
    h = await startUiHarness('ui');
    page = h.page;
  });

  after(async () => {
    await h?.close();
  });

  test('first start: an empty state that says what to do first', async () => {
    const empty = page.getByTestId('empty-state');
    await empty.waitFor({ timeout: 10_000 });
    assert.match(await empty.textContent() ?? '', /No profiles yet.*IPv6 address or host name/s);
    assert.equal(await page.getByTestId('helper-pill').textContent(), 'Helper starts on connect');
    await h.screenshot('01-empty');
  });

  test('add a profile: inline validation, Save disabled until valid, a generated key, server errors at the field', async () => {
    await page.getByRole('button', { name: 'Add a profile' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a profile' });
    await dialog.waitFor();
    const save = dialog.getByRole('button', { name: 'Add profile' });
    assert.equal(await save.isDisabled(), true, 'Save is disabled on an empty form');

    // The name field has focus: type like a user, Tab through the form.
    await page.keyboard.type('Test gateway');
    await page.keyboard.press('Tab');
    await page.keyboard.type('not a host!');
    await page.keyboard.press('Tab');
    await dialog.getByLabel('Port', { exact: true }).fill('70000');
    await dialog.getByLabel('Key', { exact: true }).focus();
    await page.keyboard.press('Tab');
    assert.match(await dialog.locator('.field-error').allTextContents().then((t) => t.join(' | ')),
      /Expected an IPv6 address.*\| Use 1 to 65535 \| Required when encryption is on/);
    assert.equal(await save.isDisabled(), true);
    assert.equal(await dialog.getByLabel('Server', { exact: true }).getAttribute('aria-invalid'), 'true');
    await h.screenshot('02-editor-invalid');

    // The port's errors fit on one line of the narrow field, whatever was typed.
    const portError = dialog.locator('.field.narrow .field-error');
    for (const port of ['70000', 'abc', '']) {
      await dialog.getByLabel('Port', { exact: true }).fill(port);
      const lines = await portError.evaluate((e) => Math.round(e.getBoundingClientRect().height / parseFloat((globalThis as any).getComputedStyle(e).lineHeight)));
      assert.equal(lines, 1, `the port error for ${JSON.stringify(port)} takes ${lines} lines`);
      const [box, field] = [await portError.boundingBox(), await dialog.locator('.field.narrow').boundingBox()];
      assert.ok(box && field && box.x + box.width <= field.x + field.width + 40, 'and stays by its field');
    }
    // A 300-character host: one error, and it says so.
    await dialog.getByLabel('Server', { exact: true }).fill(`${'a'.repeat(296)}.org`);
    const serverField = dialog.locator('.field', { has: page.getByLabel('Server', { exact: true }) });
    assert.deepEqual(await serverField.locator('.field-error').allTextContents(), ['Too long: 300 characters; a host name has at most 253']);
    // An address whose last group looks like a port: accepted, with a hint.
    await dialog.getByLabel('Server', { exact: true }).fill('fd00::1:5555');
    const hint = serverField.locator('.field-hint');
    assert.equal(await hint.textContent(), 'If 5555 is the port, enter fd00::1 here and 5555 as the port');
    assert.equal(await hint.getAttribute('data-tone'), 'warn');
    assert.equal(await serverField.locator('.field-error').count(), 0);
    await dialog.getByLabel('Port', { exact: true }).fill('5555');
    await h.screenshot('02b-editor-port-hint');

    await dialog.getByLabel('Server', { exact: true }).fill(h.net6.serverAddress);
    await dialog.getByLabel('Port', { exact: true }).fill(String(SERVER_PORT));
    await dialog.getByRole('button', { name: 'Generate' }).click();
    assert.match(await dialog.getByLabel('Key', { exact: true }).inputValue(), UUID);
    assert.equal(await save.isDisabled(), false, 'Save is enabled once every field is valid');
    await dialog.getByLabel('Key', { exact: true }).fill(SERVER_KEY.toUpperCase()); // any case is accepted
    await dialog.getByLabel('Key', { exact: true }).press('Enter'); // Enter saves
    await dialog.waitFor({ state: 'detached', timeout: 5000 });
    const item = profileItem('Test gateway');
    await item.waitFor();
    assert.match(await item.textContent() ?? '', new RegExp(`\\[${h.net6.serverAddress}\\]:${SERVER_PORT}.*Encrypted`));

    // A name that is taken (in any case) is flagged while typing, before leaving the field.
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const again = page.getByRole('dialog', { name: 'Add a profile' });
    await again.getByLabel('Server', { exact: true }).fill('vpn.example.org');
    await again.getByRole('button', { name: 'Generate' }).click();
    await again.getByLabel('Name', { exact: true }).fill('test GATEWAY');
    const nameError = again.locator('.field.has-error', { has: page.getByText('Name', { exact: true }) }).locator('.field-error');
    await waitForText(nameError, /^A profile named “test GATEWAY” already exists: choose another name$/, 'the duplicate-name warning');
    assert.equal(await again.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.equal(await again.getByRole('button', { name: 'Add profile' }).isDisabled(), true);
    await h.screenshot('03-editor-duplicate-name');
    await page.keyboard.press('Escape'); // Escape cancels
    await again.waitFor({ state: 'detached', timeout: 5000 });
    assert.deepEqual(await profileNames(), ['Test gateway']);

    // Two more for the failure tests below.
    await addProfile({ name: 'Wrong key', server: h.net6.serverAddress, port: SERVER_PORT, key: '00000000-0000-4000-8000-000000000000' });
    await addProfile({ name: 'Closed port', server: h.net6.serverAddress, port: 5599, key: null });
    assert.match(await profileItem('Closed port').textContent() ?? '', /Not encrypted/);
  });

  test('edit a profile: the form opens filled in; saving updates the list', async () => {
    await page.getByRole('button', { name: 'Edit Closed port' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit “Closed port”' });
    await dialog.waitFor();
    assert.equal(await dialog.getByLabel('Port', { exact: true }).inputValue(), '5599');
    assert.equal(await dialog.getByLabel('Encrypt traffic').isChecked(), false);
    assert.equal(await dialog.getByLabel('Key', { exact: true }).isDisabled(), true, 'no key while encryption is off');
    await dialog.getByLabel('Port', { exact: true }).fill('5598');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await waitForText(profileItem('Closed port'), /:5598/, 'the edited port in the list');
  });

  test('duplicate, then delete with a confirmation (Enter confirms)', async () => {
    await profileItem('Test gateway').click();
    await page.getByRole('button', { name: 'Duplicate Test gateway' }).click();
    await profileItem('Test gateway (copy)').waitFor();
    await page.getByRole('button', { name: 'Delete Test gateway (copy)' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete “Test gateway (copy)”?' });
    await confirm.waitFor();
    await h.screenshot('04-confirm-delete');
    await page.keyboard.press('Enter');
    await confirm.waitFor({ state: 'detached' });
    await profileItem('Test gateway (copy)').waitFor({ state: 'detached' });
    assert.deepEqual(await profileNames(), ['Test gateway', 'Wrong key', 'Closed port']);
  });

  test('connect: phases in words, then Connected with the address, details and the system changes', async () => {
    await profileItem('Test gateway').locator('.profile-main').click();
    await waitForText(page.getByTestId('status-detail'), /Ready to connect to Test gateway/, 'the selected profile');
    // Record every label and phase the window shows on the way up.
    await page.evaluate(`(() => {
      window.__seen = [];
      const record = () => {
        const b = document.querySelector('[data-testid=connect-button] .connect-label')?.textContent;
        const d = document.querySelector('[data-testid=status-detail]')?.textContent;
        const line = b + ' / ' + d;
        if (window.__seen[window.__seen.length - 1] !== line) window.__seen.push(line);
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);
    await button().click();
    await waitForText(button(), /^Connected/, 'the button to say Connected', 30_000);
    const seen = await page.evaluate('window.__seen') as string[];
    assert.ok(seen.some((l) => l.startsWith('Connecting…')), seen.join('\n'));
    assert.ok(seen.some((l) => /waiting for an address|connecting to the server|looking up the server name|starting the helper/.test(l)), seen.join('\n'));

    assert.equal(await page.getByTestId('assigned-address').textContent(), '198.18.0.2/24');
    assert.match(await page.getByTestId('status-title').textContent() ?? '', /Connected to Test gateway/);
    const changes = await page.getByTestId('changes').textContent() ?? '';
    assert.match(changes, /address 198\.18\.0\.2\/24 on 4o6u0/);
    assert.match(changes, /route .* via 4o6u0/);
    assert.match(changes, /DNS servers written to/);
    assert.match(await page.locator('.facts').textContent() ?? '', /DNS servers198\.18\.0\.53/);
    assert.equal(await page.getByTestId('helper-pill').textContent(), 'Helper running');
    const t1 = await page.getByTestId('connected-for').textContent();
    await sleep(1600);
    const t2 = await page.getByTestId('connected-for').textContent();
    assert.notEqual(t1, t2, 'the connected time ticks');
    assert.match(await profileItem('Test gateway').textContent() ?? '', /Connected/);
    await h.screenshot('05-connected', { tall: true });
  });

  test('traffic: both rates and the graph follow a ping flood', async () => {
    const ping = h.clientExec('ping', ['-c', '200', '-i', '0.01', '-s', '1000', GATEWAY]);
    const deadline = Date.now() + 15_000;
    let up = 0;
    let down = 0;
    while (Date.now() < deadline && (up === 0 || down === 0)) {
      up = bitsPerSecond(await page.getByTestId('rate-up').textContent());
      down = bitsPerSecond(await page.getByTestId('rate-down').textContent());
      await sleep(150);
    }
    assert.ok(up > 100_000 && down > 100_000, `both rates show the flood: up ${up} bit/s, down ${down} bit/s\n${h.logs().slice(-2000)}`);
    const graph = page.getByTestId('rate-graph');
    await sleep(1200); // one more sample, so the graph has a slope
    assert.ok(Number(await graph.getAttribute('data-peak-up')) > 10_000, 'the graph saw the upload');
    assert.ok(Number(await graph.getAttribute('data-peak-down')) > 10_000, 'the graph saw the download');
    assert.ok(Number(await graph.getAttribute('data-samples')) >= 3);
    await h.screenshot('06-traffic', { tall: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await sleep(300);
    await h.screenshot('06-traffic-dark', { tall: true });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 960, height: 680 }); // the desktop window's default size
    await h.screenshot('06-traffic-window-size');
    await page.setViewportSize({ width: 1100, height: 760 });
    assert.match(await ping, / 0% packet loss/);
    assert.match(await page.getByTestId('total-up').textContent() ?? '', /KiB|MiB/);
    assert.match(await page.getByTestId('total-down').textContent() ?? '', /KiB|MiB/);
    // Connected for seconds, so a heartbeat time within the 60 s timeout ("none yet" would mean no stats).
    const heartbeat = await page.getByTestId('last-heartbeat').textContent() ?? '';
    const ago = /^(?:just now|(\d+) s ago)$/.exec(heartbeat);
    assert.ok(ago !== null && Number(ago[1] ?? 0) < 60, `last heartbeat: ${JSON.stringify(heartbeat)}`);
  });

  test('reload mid-connection: the state, details and changes come back', async () => {
    await page.reload();
    await waitForText(button(), /^Connected/, 'the button after the reload');
    assert.equal(await page.getByTestId('assigned-address').textContent(), '198.18.0.2/24');
    assert.match(await page.getByTestId('changes').textContent() ?? '', /address 198\.18\.0\.2\/24/);
    assert.match(await profileItem('Test gateway').textContent() ?? '', /Connected/);
    await waitForText(page.getByTestId('rate-graph').locator('xpath=..'), /Upload/, 'the graph');
    const graph = page.getByTestId('rate-graph');
    for (let i = 0; i < 50 && Number(await graph.getAttribute('data-samples')) < 2; i++) await sleep(100);
    assert.ok(Number(await graph.getAttribute('data-samples')) >= 2, 'stats pushes arrive after the reload');
    await h.screenshot('07-after-reload', { tall: true });
  });

  test('import a broken file: every problem by entry and field; the list stays as it was', async () => {
    const before = await profileNames();
    const broken = {
      format: '4over6-profiles',
      version: 1,
      profiles: [
        { name: 'Bad port', server: 'fd00::9', port: 70000, encryption: false },
        { name: 'No key', server: 'vpn.example.org', port: 5555, encryption: true },
        { name: 'Fine', server: 'fd00::9', port: 5555, encryption: false },
        { name: '', server: 'not a host!', port: 5555, encryption: false },
      ],
    };
    await page.getByTestId('import-file').setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(broken)) });
    const errors = page.getByTestId('import-errors');
    await errors.waitFor({ timeout: 5000 });
    const items = await errors.locator('.problems li').allTextContents();
    assert.ok(items.some((t) => /^broken\.json: profiles\[0\] \(Bad port\): port: /.test(t)), items.join('\n'));
    assert.ok(items.some((t) => /^broken\.json: profiles\[1\] \(No key\): uuid: required when encryption is on/.test(t)), items.join('\n'));
    assert.ok(items.some((t) => /^broken\.json: profiles\[3\]: name: /.test(t)), items.join('\n'));
    assert.ok(items.some((t) => /^broken\.json: profiles\[3\]: server: /.test(t)), items.join('\n'));
    assert.match(await errors.textContent() ?? '', /Nothing was imported from broken\.json/);
    assert.deepEqual(await profileNames(), before, 'nothing was imported');
    await h.screenshot('08-import-errors');

    // A good file: imported, a clashing name renamed, the errors gone.
    const good = { format: '4over6-profiles', version: 1, profiles: [{ name: 'Test gateway', server: 'fd00::9', port: 5556, encryption: false }] };
    await page.getByTestId('import-file').setInputFiles({ name: 'good.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(good)) });
    await profileItem('Test gateway (2)').waitFor({ timeout: 5000 });
    await waitForText(page.getByTestId('notices'), /Imported 1 profile from good\.json.*renamed “Test gateway \(2\)”/, 'the import notice');
    assert.equal(await errors.count(), 0);
  });

  test('export: a download with every profile', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 10_000 }),
      page.getByRole('button', { name: 'Export…' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), '4over6-profiles.json');
    const doc = JSON.parse(readFileSync(await download.path(), 'utf8')) as { format: string; profiles: Array<{ name: string }> };
    assert.equal(doc.format, '4over6-profiles');
    assert.deepEqual(doc.profiles.map((p) => p.name), await profileNames());
    await waitForText(page.getByTestId('notices'), /Exported 4 profiles/, 'the export notice');

    // Importing that file again adds nothing: every profile is recognised, and the summary says so.
    const names = await profileNames();
    await page.getByTestId('import-file').setInputFiles({ name: '4over6-profiles.json', mimeType: 'application/json', buffer: readFileSync(await download.path()) });
    await waitForText(page.getByTestId('notices'), /Nothing new from 4over6-profiles\.json\. 4 were already here and were skipped: “Test gateway”, “Wrong key”, “Closed port”, “Test gateway \(2\)”\./, 'the skip summary');
    assert.deepEqual(await profileNames(), names, 'no "(2)" copies');
  });

  test('disconnect: the button cancels and everything the helper changed is undone', async () => {
    await button().click();
    await waitForText(button(), /^Connect/, 'the button to offer Connect again', 30_000);
    assert.match(await page.getByTestId('status-title').textContent() ?? '', /Not connected/);
    // The helper lifts the kill switch's block just after the state turns idle: the list follows.
    await waitForText(page.getByTestId('changes'), /Nothing: addresses, routes and DNS are as your system set them/, 'nothing left in place', 10_000);
    assert.equal(readFileSync(h.resolvConf, 'utf8'), ORIGINAL_RESOLV);
    await h.screenshot('09-disconnected');
  });

  test('a wrong key: the failure in words, and Try again', async () => {
    await profileItem('Wrong key').locator('.profile-main').click();
    await button().click();
    const failure = page.getByTestId('failure');
    await waitForText(failure, /could not read this profile’s encrypted traffic/, 'the wrong-key failure', 30_000);
    await waitForText(button(), /^Try again/, 'the button after a failure');
    await h.screenshot('10-failed-wrong-key');
  });

  test('a closed port: the server is unreachable, in words', async () => {
    await profileItem('Closed port').locator('.profile-main').click();
    await button().click();
    await waitForText(page.getByTestId('failure-text'), /refused the connection: nothing listens on that port/, 'the refused failure', 30_000);
    assert.match(await page.getByTestId('failure-detail').textContent() ?? '', /ECONNREFUSED/);
    await waitForText(button(), /^Try again/, 'the button after a failure');
  });

  test('plain-language errors from the real stack: no IPv6 route, nobody at the address, plaintext against an encrypting gateway', async () => {
    const text = page.getByTestId('failure-text');
    const detail = page.getByTestId('failure-detail');
    // This computer loses its IPv6 address: connect ENETUNREACH.
    await addProfile({ name: 'No route', server: h.net6.serverAddress, port: SERVER_PORT, key: SERVER_KEY, autoReconnect: false });
    await h.clientExec('ip', ['-6', 'addr', 'del', `${h.net6.clientAddress}/64`, 'dev', h.net6.clientDev]);
    try {
      await profileItem('No route').locator('.profile-main').click();
      await button().click();
      await waitForText(text, /^This computer has no IPv6 route to the server\.$/, 'ENETUNREACH in words', 30_000);
      assert.match(await page.getByTestId('failure-advice').textContent() ?? '', /lost its IPv6 address/);
      assert.match(await detail.textContent() ?? '', /ENETUNREACH/);
      await h.screenshot('10b-failed-no-route');
    } finally {
      await h.clientExec('ip', ['-6', 'addr', 'add', `${h.net6.clientAddress}/64`, 'dev', h.net6.clientDev, 'nodad']);
    }
    // An address on the link where nothing answers: EHOSTUNREACH once neighbour discovery gives up.
    const nobody = h.net6.serverAddress.replace(/::2$/, '::99');
    await addProfile({ name: 'Nobody', server: nobody, port: SERVER_PORT, key: SERVER_KEY, autoReconnect: false });
    await profileItem('Nobody').locator('.profile-main').click();
    await button().click();
    await waitForText(text, /^Nothing answers at the server’s IPv6 address\.$/, 'EHOSTUNREACH in words', 30_000);
    assert.match(await detail.textContent() ?? '', /EHOSTUNREACH/);
    // A profile without encryption against this gateway (it has a key and requires it).
    await addProfile({ name: 'Plain', server: h.net6.serverAddress, port: SERVER_PORT, key: null, autoReconnect: false });
    await profileItem('Plain').locator('.profile-main').click();
    await button().click();
    await waitForText(text, /^The server (accepts only encrypted connections|closed the connection without offering an address)\.$/, 'plaintext refused in words', 30_000);
    assert.match(await page.getByTestId('failure-advice').textContent() ?? '', /turn on “Encrypt traffic” and enter the server’s key/);
    // With the kill switch "on" (the default) a failed attempt leaves nothing blocked, and the window says nothing about it.
    let guard = (await h.controller.handlers.tunnel.snapshot()).guard;
    for (let i = 0; i < 50 && guard?.active; i++) {
      await sleep(100);
      guard = (await h.controller.handlers.tunnel.snapshot()).guard;
    }
    let tables = await h.clientExec('nft', ['list', 'tables']);
    for (let i = 0; i < 50 && tables.includes('fourover6-guard'); i++) {
      await sleep(100);
      tables = await h.clientExec('nft', ['list', 'tables']);
    }
    assert.doesNotMatch(tables, /fourover6-guard/, `no guard table after a failed attempt with "on"\n${h.logs().slice(-6000)}`);
    assert.deepEqual([guard?.mode, guard?.active, guard?.blocking], ['on', false, false], `the block is lifted after a failure; nft: ${tables}\n${h.logs().slice(-3000)}`);
    assert.equal(await page.getByTestId('guard-line').count(), 0);
    await h.screenshot('10c-failed-plaintext');
    for (const name of ['No route', 'Nobody', 'Plain']) await h.controller.handlers.profiles.remove({ id: (await h.controller.handlers.profiles.list()).find((p) => p.name === name)!.id });
  });

  test('the gateway restarts: Reconnecting… with attempt and countdown, back by itself; the button cancels a reconnect', async () => {
    await profileItem('Test gateway').locator('.profile-main').click();
    // The last failure was another profile's: this one offers a plain Connect.
    await waitForText(button(), /^Connect/, 'a plain Connect for another profile');
    assert.equal(await button().getAttribute('data-tone'), 'idle');
    assert.equal(await page.getByTestId('failure').count(), 0, 'no failure shown for Test gateway');
    await button().click();
    await waitForText(button(), /^Connected/, 'connected', 30_000);
    await h.stopServer();
    await waitForText(button(), /^Reconnecting…Click to stop/, 'the button to say Reconnecting', 30_000);
    await waitForText(page.getByTestId('status-detail'), /^attempt \d+, (retry in \d+ s|retrying now)$/, 'the attempt and countdown');
    assert.match(await page.getByTestId('failure').textContent() ?? '', /connection to the server was lost|stopped answering|refused the connection|could not be reached/i);
    await h.screenshot('11-reconnecting');
    await h.startServer();
    await waitForText(button(), /^Connected/, 'connected again without a click', 45_000);
    await waitForText(page.getByTestId('reconnects'), /^[1-9]/, 'the reconnect count');

    await h.stopServer();
    await waitForText(button(), /^Reconnecting…/, 'reconnecting again', 30_000);
    await button().click(); // stop trying
    await waitForText(button(), /^Connect/, 'the button after cancelling', 30_000);
    assert.match(await page.getByTestId('status-title').textContent() ?? '', /Not connected/);
    assert.equal(readFileSync(h.resolvConf, 'utf8'), ORIGINAL_RESOLV);
    await h.startServer();
  });

  test('the helper is killed: the window says what happened and what to do; connecting again works', async () => {
    await profileItem('Test gateway').locator('.profile-main').click();
    await button().click();
    await waitForText(button(), /^Connected/, 'connected', 30_000);
    const helper = h.connector.spawnedHelper?.child;
    assert.ok(helper?.pid, 'a spawned helper');
    helper.kill('SIGKILL');
    const banner = page.getByTestId('helper-banner');
    await waitForText(banner, /The 4over6 helper stopped.*Connect again to restart it/s, 'the helper banner');
    await waitForText(button(), /^Connect/, 'the button after the helper died');
    assert.equal(await page.getByTestId('helper-pill').textContent(), 'Helper stopped');
    await h.screenshot('12-helper-lost');

    await button().click(); // a new helper undoes what the killed one left, then connects
    await waitForText(button(), /^Connected/, 'connected through a new helper', 40_000);
    assert.equal(await banner.count(), 0, 'the banner goes once the helper is back');
    await button().click();
    await waitForText(button(), /^Connect/, 'disconnected', 30_000);
    assert.equal(readFileSync(h.resolvConf, 'utf8'), ORIGINAL_RESOLV);
  });
});

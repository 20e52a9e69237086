#!/usr/bin/env node
// Renders the app icon and the tray icon set from SVG to PNG with Debian's chromium (playwright-core).
// Run after changing assets/icon.svg or the tray colours: node scripts/make-icons.js
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { chromium } = require('playwright-core');

const ASSETS = join(__dirname, '..', 'assets');
const APP_SIZES = [16, 32, 48, 64, 128, 256, 512];
// Tray: a monochrome-friendly shield whose fill says the state (same colours as electron/tray-icons.ts).
const TRAY = { disconnected: '#8a8a8a', connecting: '#e0a000', connected: '#2e9e44', error: '#d03030' };
const traySvg = (color) => `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 22 22">
  <path d="M11 20s7-3.2 7-8.7V5.2L11 2.5 4 5.2v6.1C4 16.8 11 20 11 20Z" fill="${color}" stroke="#fff" stroke-width="1.2" stroke-linejoin="round"/>
</svg>`;

async function render(page, svg, size, out) {
  await page.setViewportSize({ width: size, height: size });
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body></html>`);
  writeFileSync(out, await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } }));
}

(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage();
  const icon = readFileSync(join(ASSETS, 'icon.svg'), 'utf8');
  for (const size of APP_SIZES) await render(page, icon, size, join(ASSETS, 'icons', `${size}x${size}.png`));
  for (const [state, color] of Object.entries(TRAY)) {
    await render(page, traySvg(color), 22, join(ASSETS, 'tray', `${state}.png`));
    await render(page, traySvg(color), 44, join(ASSETS, 'tray', `${state}@2x.png`));
  }
  await browser.close();
  console.log('icons written to assets/icons and assets/tray');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});

#!/usr/bin/env node
// Writes the tray icon previews in docs/images/ from the drawing function itself (electron/tray-icon.ts,
// compiled): one sheet per panel colour, a row per state, a column per size (16, 22, 24, 32 px), each
// icon at 1:1 and magnified 4x (nearest neighbour, so every pixel shows). Run after changing the
// drawing: npx tsc -p tsconfig.json && node scripts/make-tray-previews.js
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const dist = join(__dirname, '..', 'dist', 'electron');
const { drawTrayIcon, PANEL_BACKGROUNDS } = require(join(dist, 'tray-icon.js'));
const { encodePng } = require(join(dist, 'png.js'));

const OUT = join(__dirname, '..', 'docs', 'images');
const SIZES = [16, 22, 24, 32];
const ZOOM = 4;
const GAP = 10;
const MBIT = 125_000; // bytes per second
const ROWS = [
  { name: 'not connected', icon: 'disconnected', bars: false, up: 0, down: 0 },
  { name: 'connecting', icon: 'connecting', bars: true, up: 0, down: 0 },
  { name: 'connected, idle', icon: 'connected', bars: true, up: 0, down: 0 },
  { name: 'connected, 200 kbit/s up, 2 Mbit/s down', icon: 'connected', bars: true, up: 0.2 * MBIT, down: 2 * MBIT },
  { name: 'connected, 5 Mbit/s up, 400 Mbit/s down', icon: 'connected', bars: true, up: 5 * MBIT, down: 400 * MBIT },
  { name: 'reconnecting', icon: 'connecting', bars: true, up: 0, down: 0 },
  { name: 'failed', icon: 'error', bars: false, up: 0, down: 0 },
];

function sheet(panel) {
  const bg = PANEL_BACKGROUNDS[panel][1];
  const cell = (s) => s + GAP + s * ZOOM;
  const width = GAP + SIZES.reduce((w, s) => w + cell(s) + 2 * GAP, 0);
  const rowH = 32 * ZOOM + 2 * GAP;
  const height = GAP + ROWS.length * rowH;
  const px = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) px.set([...bg, 255], i * 4);
  const blit = (img, ox, oy, zoom) => {
    for (let y = 0; y < img.height * zoom; y++) {
      for (let x = 0; x < img.width * zoom; x++) {
        const s = (Math.floor(y / zoom) * img.width + Math.floor(x / zoom)) * 4;
        const a = img.data[s + 3] / 255;
        const d = ((oy + y) * width + ox + x) * 4;
        for (let c = 0; c < 3; c++) px[d + c] = Math.round(img.data[s + c] * a + px[d + c] * (1 - a));
      }
    }
  };
  ROWS.forEach((row, r) => {
    let x = GAP;
    for (const size of SIZES) {
      const img = drawTrayIcon({ icon: row.icon, bars: row.bars, rateUp: row.up, rateDown: row.down, size, panel });
      const oy = GAP + r * rowH;
      blit(img, x, oy + Math.round((32 * ZOOM - size) / 2), 1);
      blit(img, x + size + GAP, oy, ZOOM);
      x += cell(size) + 2 * GAP;
    }
  });
  return encodePng(width, height, px);
}

mkdirSync(OUT, { recursive: true });
for (const panel of ['light', 'dark']) {
  const path = join(OUT, `tray-icons-${panel}.png`);
  writeFileSync(path, sheet(panel));
  console.log(`wrote ${path}`);
}
console.log(`rows: ${ROWS.map((r) => r.name).join('; ')}; columns: ${SIZES.join(', ')} px`);

// The tray icon's pixels: bars that follow the rates on a log scale, whole-pixel edges at every tray
// size, the state in colour and shape, readable on light and dark panels.
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { test } from 'node:test';
import { encodePng } from './png';
import {
  PALETTES, PANEL_BACKGROUNDS, type Panel, type RgbaImage, type TrayIconInput, barRows, contrastRatio, drawTrayIcon,
  rateLevel, trayIconKey, trayIconLayout,
} from './tray-icon';

const SIZES = [16, 22, 24, 32];
const PANELS: Panel[] = ['light', 'dark'];
const MBIT = 125_000; // bytes/s
const icon = (more: Partial<TrayIconInput>): TrayIconInput => ({ icon: 'connected', bars: true, rateUp: 0, rateDown: 0, size: 22, panel: 'dark', ...more });

function pixel(img: RgbaImage, x: number, y: number): [number, number, number, number] {
  const i = (y * img.width + x) * 4;
  return [img.data[i], img.data[i + 1], img.data[i + 2], img.data[i + 3]];
}

/** Filled rows of a bar column: opaque pixels of the bar's colour, counted from the bottom. */
function filledRows(img: RgbaImage, x: number, color: readonly number[]): number {
  let n = 0;
  for (let y = 0; y < img.height; y++) {
    const [r, g, b, a] = pixel(img, x, y);
    if (a === 255 && r === color[0] && g === color[1] && b === color[2]) n++;
  }
  return n;
}

test('the log scale: nothing at 1 kbit/s, full at 1 Gbit/s, the same step for each factor of ten', () => {
  assert.equal(rateLevel(0), 0);
  assert.equal(rateLevel(125), 0); // 1 kbit/s
  assert.equal(rateLevel(1000 * MBIT), 1);
  assert.equal(rateLevel(1e12), 1);
  assert.ok(Math.abs(rateLevel(MBIT) - 0.5) < 1e-9, '1 Mbit/s is half way');
  const steps = [0.01, 0.1, 1, 10, 100].map((m) => rateLevel(m * MBIT));
  for (let i = 1; i < steps.length; i++) assert.ok(Math.abs(steps[i] - steps[i - 1] - 1 / 6) < 1e-9);
});

test('bars: their filled height follows each rate separately, in whole opaque pixels, at every size and panel', () => {
  for (const size of SIZES) {
    for (const panel of PANELS) {
      const layout = trayIconLayout(size, true);
      assert.ok(layout.bars);
      const { up, down, width } = layout.bars;
      const rows = layout.bottom - layout.top + 1;
      const p = PALETTES[panel];
      const at = (rateUp: number, rateDown: number) => drawTrayIcon(icon({ size, panel, rateUp, rateDown }));
      const idle = at(0, 0);
      assert.equal(filledRows(idle, up, p.up), 0, `${size} ${panel}: no upload, no bar`);
      assert.equal(filledRows(idle, down, p.down), 0);
      // The empty track is there, faint, over the whole height.
      assert.equal(pixel(idle, down, layout.top)[3], p.trackAlpha);
      const busy = at(MBIT, 1000 * MBIT); // 1 Mbit/s up, 1 Gbit/s down
      assert.equal(filledRows(busy, down, p.down), rows, `${size} ${panel}: 1 Gbit/s fills the bar`);
      assert.equal(filledRows(busy, up, p.up), Math.round(rows / 2), `${size} ${panel}: 1 Mbit/s fills half`);
      // Every column of a bar is the same, and nothing in a bar is half transparent (crisp edges).
      for (let x = up; x < up + width; x++) assert.equal(filledRows(busy, x, p.up), Math.round(rows / 2));
      for (let y = 0; y < size; y++) {
        for (const x of [up, up + width - 1, down, down + width - 1]) {
          const a = pixel(busy, x, y)[3];
          assert.ok(a === 0 || a === 255 || a === p.trackAlpha, `${size} ${panel}: pixel ${x},${y} alpha ${a}`);
        }
      }
      // Any traffic above the floor shows at least one row; more traffic never shows less.
      assert.equal(filledRows(at(0, 150), down, p.down), 1, `${size}: 1.2 kbit/s shows as one row`);
      let last = 0;
      for (const m of [0.01, 0.05, 0.3, 2, 20, 200, 900]) {
        const n = filledRows(at(0, m * MBIT), down, p.down);
        assert.ok(n >= last, `${size}: ${m} Mbit/s`);
        last = n;
      }
      // The columns between and beside the bars stay empty: the bars never blur into the shield.
      for (let y = 0; y < size; y++) assert.equal(pixel(busy, up - 1, y)[3], 0, `${size}: gap left of the bars at row ${y}`);
    }
  }
});

test('the state: its colour at the shield middle (solid), a hollow shield while not connected, a "!" when failed', () => {
  for (const size of SIZES) {
    for (const panel of PANELS) {
      const p = PALETTES[panel];
      const layout = trayIconLayout(size, true);
      const cx = layout.mark.x + Math.floor(layout.mark.width / 2);
      const cy = Math.floor(size / 2);
      const connected = drawTrayIcon(icon({ size, panel }));
      assert.deepEqual(pixel(connected, cx, cy), [...p.state.connected, 255], `${size} ${panel}: solid green`);
      const connecting = drawTrayIcon(icon({ size, panel, icon: 'connecting' }));
      assert.equal(pixel(connecting, cx, cy)[3], 0, `${size} ${panel}: hollow while connecting`);
      assert.deepEqual(pixel(connecting, layout.mark.x + 1, cy), [...p.state.connecting, 255], `${size} ${panel}: its rim`);
      const off = drawTrayIcon(icon({ size, panel, icon: 'disconnected', bars: false }));
      assert.equal(trayIconLayout(size, false).bars, null);
      const offLayout = trayIconLayout(size, false);
      assert.deepEqual(pixel(off, offLayout.mark.x + 1, cy), [...p.state.disconnected, 255]);
      assert.equal(pixel(off, size - 1, cy)[3], 0, 'no bars while not connected');
      const failed = drawTrayIcon(icon({ size, panel, icon: 'error', bars: false }));
      const fx = offLayout.mark.x + Math.floor(offLayout.mark.width / 2);
      const column = Array.from({ length: size }, (_, y) => pixel(failed, fx, y));
      assert.ok(column.some((px) => px[0] === p.mark[0] && px[3] === 255), `${size} ${panel}: the "!"`);
      assert.ok(column.some((px) => px[0] === p.state.error[0] && px[3] === 255), `${size} ${panel}: on red`);
    }
  }
});

test('every colour stands out on the panels it is made for (contrast ratio at least 3)', () => {
  for (const panel of PANELS) {
    const p = PALETTES[panel];
    for (const bg of PANEL_BACKGROUNDS[panel]) {
      for (const [name, c] of [...Object.entries(p.state), ['up', p.up], ['down', p.down]] as const) {
        assert.ok(contrastRatio(c, bg) >= 3, `${panel} ${name} on ${bg.join(',')}: ${contrastRatio(c, bg).toFixed(2)}`);
      }
    }
    assert.ok(contrastRatio(p.mark, p.state.error) >= 3, `${panel}: the "!" on red`);
  }
});

test('the key changes exactly when the pixels do (the glue redraws only then)', () => {
  const a = icon({ rateDown: 10 * MBIT });
  const b = icon({ rateDown: 10.5 * MBIT });
  assert.equal(trayIconKey(a), trayIconKey(b));
  assert.deepEqual(drawTrayIcon(a).data, drawTrayIcon(b).data);
  const c = icon({ rateDown: 100 * MBIT });
  assert.notEqual(trayIconKey(a), trayIconKey(c));
  assert.notDeepEqual(drawTrayIcon(a).data, drawTrayIcon(c).data);
  assert.notEqual(trayIconKey(a), trayIconKey({ ...a, panel: 'light' }));
  assert.equal(barRows(0, trayIconLayout(22, true)), 0);
});

test('encodePng writes the pixels it was given', () => {
  const img = drawTrayIcon(icon({ rateUp: MBIT, rateDown: 100 * MBIT }));
  const png = encodePng(img.width, img.height, img.data);
  assert.equal(png.subarray(0, 8).toString('hex'), '89504e470d0a1a0a');
  assert.equal(png.readUInt32BE(16), 22);
  assert.equal(png.readUInt32BE(20), 22);
  const idat = png.subarray(png.indexOf('IDAT') + 4, png.indexOf('IEND') - 8);
  const raw = inflateSync(idat);
  for (let y = 0; y < 22; y++) {
    assert.equal(raw[y * (1 + 22 * 4)], 0, 'filter none');
    assert.deepEqual(raw.subarray(y * 89 + 1, (y + 1) * 89), Buffer.from(img.data.subarray(y * 88, (y + 1) * 88)));
  }
});

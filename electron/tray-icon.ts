// The tray icon, drawn in code from the state and the rates: a shield that says the state, and, while
// a tunnel is up or on its way, two bars beside it (upload, download) whose heights follow the rates
// on a log scale. Linux trays show no title, and GNOME's AppIndicator shows no tooltip: the icon is
// where a user sees the rates. Pure: state + rates + size + panel -> RGBA pixels; electron/main.ts
// turns them into a nativeImage (through encodePng) at most once a second, only when they change.
//
// Crisp at 16, 22, 24 and 32 px: bars and their tracks sit on whole pixels (fully opaque or not there
// at all); only the shield's curved edge is smoothed (4x4 samples per pixel).
// The state is in the shape too, not only the colour: solid (connected), hollow (connecting or not
// connected), solid with a "!" (failed, or the helper is gone).
export type TrayIconName = 'disconnected' | 'connecting' | 'connected' | 'error';
export type Panel = 'light' | 'dark';
export type Rgb = readonly [number, number, number];

export interface TrayIconInput {
  icon: TrayIconName;
  /** Show the rate bars (a tunnel is connecting, up or reconnecting). */
  bars: boolean;
  /** Bytes per second. */
  rateUp: number;
  rateDown: number;
  size: number;
  panel: Panel;
}

export interface RgbaImage {
  width: number;
  height: number;
  /** Row-major RGBA, 4 bytes a pixel. */
  data: Uint8Array;
}

interface Palette {
  state: Record<TrayIconName, Rgb>;
  up: Rgb;
  down: Rgb;
  /** The empty part of a bar. */
  track: Rgb;
  trackAlpha: number;
  /** The "!" on a failed shield. */
  mark: Rgb;
}

/** Each colour has a contrast ratio of at least 3 against its panel (checked in the tests). */
export const PALETTES: Record<Panel, Palette> = {
  light: {
    state: { disconnected: [0x5f, 0x63, 0x68], connecting: [0x9a, 0x62, 0x00], connected: [0x1a, 0x7f, 0x37], error: [0xc5, 0x22, 0x1f] },
    up: [0xb4, 0x55, 0x09],
    down: [0x1a, 0x5f, 0xc4],
    track: [0x00, 0x00, 0x00],
    trackAlpha: 46,
    mark: [0xff, 0xff, 0xff],
  },
  dark: {
    state: { disconnected: [0xb0, 0xb4, 0xba], connecting: [0xf2, 0xb6, 0x32], connected: [0x5c, 0xd0, 0x7a], error: [0xff, 0x6b, 0x6b] },
    up: [0xff, 0xa9, 0x4d],
    down: [0x6c, 0xb4, 0xff],
    track: [0xff, 0xff, 0xff],
    trackAlpha: 64,
    mark: [0x1d, 0x1d, 0x1d],
  },
};

/** Panels the palettes are made for: GNOME's light and dark top bars, KDE's, XFCE's. */
export const PANEL_BACKGROUNDS: Record<Panel, Rgb[]> = {
  light: [[0xff, 0xff, 0xff], [0xf6, 0xf5, 0xf4], [0xef, 0xf0, 0xf1]],
  dark: [[0x00, 0x00, 0x00], [0x1d, 0x1d, 0x1d], [0x30, 0x30, 0x30], [0x31, 0x36, 0x3b]],
};

/** 1 kbit/s and below is an empty bar, 1 Gbit/s and above a full one; each factor of 10 the same step. */
const LOG_FLOOR_BITS = 1e3;
const LOG_CEIL_BITS = 1e9;

/** 0..1: where a rate sits on the log scale. */
export function rateLevel(bytesPerSecond: number): number {
  const bits = bytesPerSecond * 8;
  if (!(bits > LOG_FLOOR_BITS)) return 0;
  return Math.min(1, Math.log10(bits / LOG_FLOOR_BITS) / Math.log10(LOG_CEIL_BITS / LOG_FLOOR_BITS));
}

export interface TrayIconLayout {
  pad: number;
  /** The shield's box. */
  mark: { x: number; width: number };
  /** Left column of each bar (absent without bars). */
  bars: { up: number; down: number; width: number } | null;
  /** Rows a bar can fill: from `top` down to `bottom` (inclusive). */
  top: number;
  bottom: number;
}

export function trayIconLayout(size: number, bars: boolean): TrayIconLayout {
  const pad = Math.max(1, Math.round(size / 16));
  const top = pad;
  const bottom = size - 1 - pad;
  if (!bars) {
    const width = size - 2 * pad - Math.round(size / 8);
    return { pad, mark: { x: Math.floor((size - width) / 2), width }, bars: null, top, bottom };
  }
  const barWidth = Math.max(2, Math.floor(size / 8));
  const between = size >= 32 ? 2 : 1;
  const down = size - pad - barWidth;
  const up = down - between - barWidth;
  const width = up - pad - (size >= 22 ? 2 : 1);
  return { pad, mark: { x: pad, width }, bars: { up, down, width: barWidth }, top, bottom };
}

/** Rows of a bar filled for a rate: 0 for none, at least 1 for any traffic above the floor. */
export function barRows(bytesPerSecond: number, layout: TrayIconLayout): number {
  const rows = layout.bottom - layout.top + 1;
  const level = rateLevel(bytesPerSecond);
  return level === 0 ? 0 : Math.max(1, Math.round(level * rows));
}

/** What the icon shows, as a string: equal keys draw equal pixels (redraw only when it changes). */
export function trayIconKey(input: TrayIconInput): string {
  const layout = trayIconLayout(input.size, input.bars);
  const bars = input.bars ? `${barRows(input.rateUp, layout)}/${barRows(input.rateDown, layout)}` : '-';
  return `${input.size}:${input.panel}:${input.icon}:${bars}`;
}

/** Inside the shield, in the shield's own coordinates (u across, v down, both 0..1). */
function inShield(u: number, v: number): boolean {
  const dx = Math.abs(u - 0.5);
  if (v < 0.06 + 0.1 * dx || v > 1) return false;
  if (v <= 0.52) return dx <= 0.5;
  // The lower part narrows along an ellipse to the point.
  const t = (v - 0.52) / 0.48;
  return dx <= 0.5 * Math.sqrt(Math.max(0, 1 - t * t));
}

export function drawTrayIcon(input: TrayIconInput): RgbaImage {
  const { size } = input;
  const palette = PALETTES[input.panel];
  const data = new Uint8Array(size * size * 4);
  const layout = trayIconLayout(size, input.bars);
  const put = (x: number, y: number, [r, g, b]: Rgb, a: number) => {
    if (x < 0 || y < 0 || x >= size || y >= size || a <= 0) return;
    const i = (y * size + x) * 4;
    data[i] = r;
    data[i + 1] = g;
    data[i + 2] = b;
    data[i + 3] = Math.min(255, Math.round(a));
  };

  // The shield: coverage from 4x4 samples per pixel. Hollow states keep a ring of `stroke` pixels.
  const color = palette.state[input.icon];
  const hollow = input.icon === 'connecting' || input.icon === 'disconnected';
  const stroke = Math.max(2, Math.round(size / 10));
  const box = { x: layout.mark.x, y: layout.top, w: layout.mark.width, h: layout.bottom - layout.top + 1 };
  const inner = { x: box.x + stroke, y: box.y + stroke, w: box.w - 2 * stroke, h: box.h - 2 * stroke - stroke / 2 };
  for (let y = box.y; y < box.y + box.h; y++) {
    for (let x = box.x; x < box.x + box.w; x++) {
      let covered = 0;
      for (let sy = 0; sy < 4; sy++) {
        for (let sx = 0; sx < 4; sx++) {
          const px = x + (sx + 0.5) / 4;
          const py = y + (sy + 0.5) / 4;
          if (!inShield((px - box.x) / box.w, (py - box.y) / box.h)) continue;
          if (hollow && inner.w > 0 && inShield((px - inner.x) / inner.w, (py - inner.y) / inner.h)) continue;
          covered++;
        }
      }
      put(x, y, color, (covered / 16) * 255);
    }
  }

  // A failed shield carries a "!": a bar and a dot, in whole pixels, in the middle.
  if (input.icon === 'error') {
    const w = Math.max(2, Math.round(box.w / 6));
    const x0 = box.x + Math.round((box.w - w) / 2);
    const barTop = box.y + Math.round(box.h * 0.22);
    const barEnd = box.y + Math.round(box.h * 0.58);
    const dot = box.y + Math.round(box.h * 0.68);
    for (let y = barTop; y < barEnd; y++) for (let x = x0; x < x0 + w; x++) put(x, y, palette.mark, 255);
    for (let y = dot; y < dot + w; y++) for (let x = x0; x < x0 + w; x++) put(x, y, palette.mark, 255);
  }

  // The bars: a faint track over the whole height, filled from the bottom up to the rate's level.
  if (layout.bars) {
    for (const [left, rate, fill] of [[layout.bars.up, input.rateUp, palette.up], [layout.bars.down, input.rateDown, palette.down]] as const) {
      const filled = barRows(rate, layout);
      for (let y = layout.top; y <= layout.bottom; y++) {
        const on = y > layout.bottom - filled;
        for (let x = left; x < left + layout.bars.width; x++) put(x, y, on ? fill : palette.track, on ? 255 : palette.trackAlpha);
      }
    }
  }
  return { width: size, height: size, data };
}

/** WCAG contrast ratio of two colours (1 to 21). */
export function contrastRatio(a: Rgb, b: Rgb): number {
  const lum = (c: Rgb) => {
    const [r, g, bl] = c.map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

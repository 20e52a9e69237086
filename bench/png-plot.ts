// Small line charts as a PNG, for benchmark and soak reports: stacked panels sharing one time axis,
// drawn pixel by pixel (a 5x7 bitmap font for the labels) and encoded with pngjs. No canvas, no browser.
import { PNG } from 'pngjs';

export interface Series {
  label: string;
  /** [x, y] points, x ascending. */
  points: [number, number][];
  color: Rgb;
}

export interface Panel {
  title: string;
  series: Series[];
  /** Lowest y shown (default: 0). */
  yMin?: number;
}

export type Rgb = [number, number, number];

export const COLORS = { blue: [31, 119, 180], orange: [230, 120, 20], green: [44, 160, 44], red: [214, 39, 40], grey: [120, 120, 120] } satisfies Record<string, Rgb>;

const WIDTH = 720;
const PANEL_HEIGHT = 170;
const MARGIN = { left: 64, right: 16, top: 22, bottom: 18 };
const AXIS_LABEL_HEIGHT = 22;
const GLYPH_W = 5;

// 5x7 glyphs, one string per row ('#' = ink). Upper case only: labels are written in capitals.
const FONT: Record<string, string[]> = {
  '0': ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  '1': ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  '3': ['####.', '....#', '....#', '.###.', '....#', '....#', '####.'],
  '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  '6': ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  '9': ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['###..', '#..#.', '#...#', '#...#', '#...#', '#..#.', '###..'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  J: ['..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  Q: ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.####', '#....', '#....', '.###.', '....#', '....#', '####.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  V: ['#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..'],
  W: ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'],
  X: ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'],
  Y: ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'],
  Z: ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'],
  ' ': ['.....', '.....', '.....', '.....', '.....', '.....', '.....'],
  '.': ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..'],
  ',': ['.....', '.....', '.....', '.....', '.##..', '..#..', '.#...'],
  ':': ['.....', '.##..', '.##..', '.....', '.##..', '.##..', '.....'],
  '-': ['.....', '.....', '.....', '#####', '.....', '.....', '.....'],
  '+': ['.....', '..#..', '..#..', '#####', '..#..', '..#..', '.....'],
  '/': ['.....', '....#', '...#.', '..#..', '.#...', '#....', '.....'],
  '%': ['##...', '##..#', '...#.', '..#..', '.#...', '#..##', '...##'],
  '(': ['...#.', '..#..', '.#...', '.#...', '.#...', '..#..', '...#.'],
  ')': ['.#...', '..#..', '...#.', '...#.', '...#.', '..#..', '.#...'],
  '=': ['.....', '.....', '#####', '.....', '#####', '.....', '.....'],
};

class Canvas {
  readonly png: PNG;

  constructor(readonly width: number, readonly height: number) {
    this.png = new PNG({ width, height, colorType: 2 });
    this.png.data.fill(255);
  }

  set(x: number, y: number, [r, g, b]: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    this.png.data[i] = r;
    this.png.data[i + 1] = g;
    this.png.data[i + 2] = b;
    this.png.data[i + 3] = 255;
  }

  /** Bresenham, `thick` pixels wide (vertically). */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thick = 1): void {
    x0 = Math.round(x0); y0 = Math.round(y0); x1 = Math.round(x1); y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      for (let t = 0; t < thick; t++) this.set(x0, y0 + t, color);
      if (x0 === x1 && y0 === y1) return;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; x0 += sx; }
      if (e2 <= dx) { err += dx; y0 += sy; }
    }
  }

  text(x: number, y: number, text: string, color: Rgb): void {
    let cx = x;
    for (const ch of text.toUpperCase()) {
      const glyph = FONT[ch] ?? FONT[' '];
      glyph.forEach((row, gy) => [...row].forEach((p, gx) => p === '#' && this.set(cx + gx, y + gy, color)));
      cx += GLYPH_W + 1;
    }
  }

  textWidth(text: string): number {
    return text.length * (GLYPH_W + 1) - 1;
  }
}

/** A readable tick step (1, 2 or 5 times a power of ten) giving about `count` ticks over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
}

function formatTick(v: number, step: number): string {
  return step >= 1 ? String(Math.round(v)) : v.toFixed(Math.min(3, Math.ceil(-Math.log10(step))));
}

/** A vertical dashed line across every panel, labelled at the bottom (e.g. the end of a warm-up). */
export interface Marker {
  x: number;
  label: string;
}

/** Renders stacked panels over a shared x axis (`xLabel`) and returns the PNG bytes. */
export function plotPanels(panels: Panel[], xLabel: string, markers: Marker[] = []): Buffer {
  const height = panels.length * PANEL_HEIGHT + AXIS_LABEL_HEIGHT;
  const c = new Canvas(WIDTH, height);
  const xs = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(xMin + 1, ...xs);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const xStep = niceStep(xMax - xMin, 8);
  const black: Rgb = [0, 0, 0];
  const light: Rgb = [225, 225, 225];

  panels.forEach((panel, i) => {
    const top = i * PANEL_HEIGHT + MARGIN.top;
    const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
    const ys = panel.series.flatMap((s) => s.points.map(([, y]) => y));
    const yMin = panel.yMin ?? 0;
    const yStep = niceStep(Math.max(...ys, yMin + 1e-9) - yMin, 4);
    const yMax = yMin + Math.max(1, Math.ceil((Math.max(...ys, yMin + 1e-9) - yMin) / yStep)) * yStep;
    const px = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
    const py = (y: number) => top + plotH - ((y - yMin) / (yMax - yMin)) * plotH;

    // Title and legend.
    c.text(MARGIN.left, top - 16, panel.title, black);
    let lx = WIDTH - MARGIN.right;
    for (const s of [...panel.series].reverse()) {
      lx -= c.textWidth(s.label);
      c.text(lx, top - 16, s.label, s.color);
      c.line(lx - 16, top - 13, lx - 4, top - 13, s.color, 2);
      lx -= 28;
    }
    // Grid and ticks.
    for (let y = yMin; y <= yMax + yStep / 2; y += yStep) {
      c.line(MARGIN.left, py(y), MARGIN.left + plotW, py(y), light);
      const label = formatTick(y, yStep);
      c.text(MARGIN.left - 6 - c.textWidth(label), py(y) - 3, label, black);
    }
    for (let x = Math.ceil(xMin / xStep) * xStep; x <= xMax; x += xStep) {
      c.line(px(x), top, px(x), top + plotH, light);
      if (i === panels.length - 1) {
        const label = formatTick(x, xStep);
        c.text(px(x) - c.textWidth(label) / 2, top + plotH + 5, label, black);
      }
    }
    for (const m of markers) {
      for (let y = top; y < top + plotH; y += 6) c.line(px(m.x), y, px(m.x), Math.min(y + 2, top + plotH), COLORS.grey);
      c.text(px(m.x) + 3, top + plotH - 10, m.label, COLORS.grey);
    }
    c.line(MARGIN.left, top, MARGIN.left, top + plotH, black);
    c.line(MARGIN.left, top + plotH, MARGIN.left + plotW, top + plotH, black);
    // Data.
    for (const s of panel.series) {
      s.points.forEach(([x, y], k) => {
        if (k > 0) c.line(px(s.points[k - 1][0]), py(s.points[k - 1][1]), px(x), py(y), s.color, 2);
        else c.set(px(x), py(y), s.color);
      });
    }
  });
  c.text(MARGIN.left + plotW / 2 - c.textWidth(xLabel) / 2, height - 10, xLabel, black);
  return PNG.sync.write(c.png, { colorType: 2 });
}

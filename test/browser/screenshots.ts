// Screenshot comparison with a tolerance, for the states users see most. The window is captured
// (moving parts masked), then compared with a committed baseline (test/browser/baselines/<name>.png)
// pixel by pixel inside Chromium itself (canvas getImageData: no image library needed).
//
// A pixel counts as different when a channel differs by more than CHANNEL_TOLERANCE; the shot
// passes while at most `maxDiffRatio` of its pixels differ (default 1 %: anti-aliasing and font
// hinting move a few edge pixels, a wrong colour or a missing element moves thousands).
// A changed look is updated on purpose with UPDATE_SCREENSHOTS=1 (see docs/testing.md); a missing
// baseline is written by hand runs and is a failure under CI.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { inCi } from '../support/requirements';
import { ARTIFACTS, REPO } from './ui-harness';

export const BASELINES = join(REPO, 'test', 'browser', 'baselines');
const CHANNEL_TOLERANCE = 48;

export interface ShotOptions {
  /** Elements whose content moves (clocks, live graphs): painted over in both images. */
  mask?: Locator[];
  maxDiffRatio?: number;
}

interface Diff {
  width: number;
  height: number;
  baseWidth: number;
  baseHeight: number;
  differing: number;
  diffPng: string;
}

/** Runs in the page: decodes both PNGs, counts differing pixels, draws a diff image. */
const DIFF_IN_PAGE = `async (a, b, tolerance) => {
  const load = (b64) => new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('not a PNG'));
    img.src = 'data:image/png;base64,' + b64;
  });
  const pixels = (img) => {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    return ctx.getImageData(0, 0, c.width, c.height);
  };
  const pa = pixels(await load(a));
  const pb = pixels(await load(b));
  const out = document.createElement('canvas');
  out.width = pa.width;
  out.height = pa.height;
  const octx = out.getContext('2d');
  const marked = octx.createImageData(pa.width, pa.height);
  let differing = 0;
  if (pa.width === pb.width && pa.height === pb.height) {
    for (let i = 0; i < pa.data.length; i += 4) {
      const d = Math.max(Math.abs(pa.data[i] - pb.data[i]), Math.abs(pa.data[i + 1] - pb.data[i + 1]), Math.abs(pa.data[i + 2] - pb.data[i + 2]));
      const hit = d > tolerance;
      if (hit) differing++;
      // Differing pixels red, the rest a faint copy of the actual shot.
      marked.data[i] = hit ? 255 : pa.data[i];
      marked.data[i + 1] = hit ? 0 : pa.data[i + 1];
      marked.data[i + 2] = hit ? 0 : pa.data[i + 2];
      marked.data[i + 3] = hit ? 255 : 60;
    }
    octx.putImageData(marked, 0, 0);
  }
  return { width: pa.width, height: pa.height, baseWidth: pb.width, baseHeight: pb.height, differing, diffPng: out.toDataURL('image/png').split(',')[1] };
}`;

async function diffInBrowser(browser: Browser, actual: Buffer, baseline: Buffer): Promise<Diff> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // A string, not a function: this file compiles without DOM types.
    return await page.evaluate(`(${DIFF_IN_PAGE})(${JSON.stringify(actual.toString('base64'))}, ${JSON.stringify(baseline.toString('base64'))}, ${CHANNEL_TOLERANCE})`) as Diff;
  } finally {
    await context.close();
  }
}

/** Compares the page with its baseline; writes actual and diff images to test/artifacts on failure. */
export async function expectScreenshot(page: Page, name: string, opts: ShotOptions = {}): Promise<void> {
  const actual = await page.screenshot({ animations: 'disabled', caret: 'hide', mask: opts.mask ?? [], maskColor: '#777777', scale: 'css' });
  const baselinePath = join(BASELINES, `${name}.png`);
  mkdirSync(ARTIFACTS, { recursive: true });
  if (process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(baselinePath)) {
    if (inCi() && process.env.UPDATE_SCREENSHOTS !== '1') assert.fail(`no baseline ${baselinePath}: make it with UPDATE_SCREENSHOTS=1 and commit it`);
    mkdirSync(BASELINES, { recursive: true });
    writeFileSync(baselinePath, actual);
    console.log(`# wrote screenshot baseline ${baselinePath}`);
    return;
  }
  const browser = page.context().browser();
  if (!browser) throw new Error('the page has no browser to compare in');
  const diff = await diffInBrowser(browser, actual, readFileSync(baselinePath));
  const maxRatio = opts.maxDiffRatio ?? 0.01;
  const sameSize = diff.width === diff.baseWidth && diff.height === diff.baseHeight;
  const ratio = diff.differing / (diff.width * diff.height);
  if (!sameSize || ratio > maxRatio) {
    writeFileSync(join(ARTIFACTS, `${name}.actual.png`), actual);
    if (sameSize) writeFileSync(join(ARTIFACTS, `${name}.diff.png`), Buffer.from(diff.diffPng, 'base64'));
  }
  assert.ok(sameSize, `${name}: ${diff.width}×${diff.height}, the baseline is ${diff.baseWidth}×${diff.baseHeight}`);
  assert.ok(ratio <= maxRatio,
    `${name}: ${(ratio * 100).toFixed(2)} % of pixels differ from ${baselinePath} (at most ${(maxRatio * 100).toFixed(2)} %); ` +
    `see test/artifacts/${name}.actual.png and .diff.png; if the change is intended, run with UPDATE_SCREENSHOTS=1`);
}

// The live graph of both rates over the last 60 s (uPlot on a canvas). One sample a second (main keeps
// them, so a reload shows the last minute at once); the x axis counts samples back from the newest, so
// the graph scrolls as pushes arrive. The y axis starts at 0 and is labelled. Hovering shows the
// values at that moment. Colours come from the stylesheet and follow the light/dark scheme. The
// canvas is summarised in its label (and in data-* attributes for tests).
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatRate } from '../contract/format';
import type { RateSample } from '../contract/ipc-schema';
import { HISTORY_SECONDS } from './use-vpn';

const HEIGHT = 150;
/** The y axis never shrinks below this (bytes/s), so an idle tunnel is a flat line, not noise. */
const MIN_Y_BYTES = 1250;
const Y_LABEL = 'bits per second';

function useColorScheme(): 'light' | 'dark' {
  const query = '(prefers-color-scheme: dark)';
  const [dark, setDark] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const mq = window.matchMedia(query);
    const on = () => setDark(mq.matches);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  return dark ? 'dark' : 'light';
}

/** x: seconds before the newest sample (one sample a second). */
function toData(samples: readonly RateSample[]): uPlot.AlignedData {
  const n = samples.length;
  return [
    samples.map((_, i) => i - (n - 1)),
    samples.map((s) => s.down),
    samples.map((s) => s.up),
  ];
}

/** "14:02:31, 12 s ago". */
function whenText(sample: RateSample, secondsAgo: number): string {
  const clock = new Date(sample.atMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return secondsAgo === 0 ? `${clock}, now` : `${clock}, ${secondsAgo} s ago`;
}

export function RateGraph({ samples }: { samples: readonly RateSample[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(samples);
  latest.current = samples;
  const scheme = useColorScheme();
  const [hover, setHover] = useState<number | null>(null);
  const [yMin, setYMin] = useState<number | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const css = getComputedStyle(el);
    const color = (name: string) => css.getPropertyValue(name).trim();
    const up = color('--rate-up');
    const down = color('--rate-down');
    const axis: uPlot.Axis = {
      stroke: color('--text-muted'),
      grid: { stroke: color('--grid'), width: 1 },
      ticks: { show: false },
      font: '11px system-ui, sans-serif',
      labelFont: '11px system-ui, sans-serif',
    };
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false, setScale: false }, points: { size: 6 } },
      scales: {
        x: { time: false, range: () => [-(HISTORY_SECONDS - 1), 0] },
        y: { range: (_u, _min, max) => [0, Math.max(MIN_Y_BYTES, (max ?? 0) * 1.15)] },
      },
      axes: [
        {
          ...axis, size: 26,
          splits: () => [-59, -45, -30, -15, 0],
          values: (_u, splits) => splits.map((v) => (v === 0 ? 'now' : `${-Math.round(v)} s ago`)),
        },
        { ...axis, size: 74, label: Y_LABEL, labelSize: 16, values: (_u, splits) => splits.map((v) => (v === 0 ? '0' : formatRate(v))) },
      ],
      // Download first and wider, upload drawn over it: equal rates (a ping) still show both lines.
      series: [
        {},
        { label: 'Download', stroke: down, fill: `${down}1f`, width: 3, points: { show: false } },
        { label: 'Upload', stroke: up, fill: `${up}14`, width: 1.5, points: { show: false } },
      ],
      hooks: {
        setCursor: [(u) => setHover(u.cursor.idx ?? null)],
        setScale: [(u, key) => { if (key === 'y') setYMin(u.scales.y.min ?? null); }],
      },
    };
    const p = new uPlot(opts, toData(latest.current), el);
    plot.current = p;
    setYMin(p.scales.y.min ?? null);
    const ro = new ResizeObserver(() => {
      if (el.clientWidth > 0 && el.clientWidth !== p.width) p.setSize({ width: el.clientWidth, height: HEIGHT });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      p.destroy();
      plot.current = null;
    };
  }, [scheme]);

  useEffect(() => {
    plot.current?.setData(toData(samples));
  }, [samples]);

  const peakUp = samples.reduce((m, s) => Math.max(m, s.up), 0);
  const peakDown = samples.reduce((m, s) => Math.max(m, s.down), 0);
  const hovered = hover !== null && hover < samples.length ? samples[hover] : null;
  return (
    <figure className="graph">
      <div ref={box} className="graph-canvas" role="img" data-testid="rate-graph"
        data-samples={samples.length} data-peak-up={peakUp} data-peak-down={peakDown} data-y-min={yMin ?? undefined}
        data-hover-index={hovered ? hover ?? undefined : undefined}
        aria-label={`Upload and download rates over the last ${HISTORY_SECONDS} seconds, in ${Y_LABEL} from 0: upload peak ${formatRate(peakUp)}, download peak ${formatRate(peakDown)}`}
        onMouseLeave={() => setHover(null)} />
      {samples.length < 2 ? <p className="graph-empty">Waiting for the first measurements…</p> : null}
      <figcaption className="graph-legend">
        <span className="legend-up">Upload</span>
        <span className="legend-down">Download</span>
        {hovered && hover !== null ? (
          <span className="graph-readout" data-testid="graph-readout">
            {whenText(hovered, samples.length - 1 - hover)}: ↑ {formatRate(hovered.up)} ↓ {formatRate(hovered.down)}
          </span>
        ) : <span className="muted">last {HISTORY_SECONDS} s</span>}
      </figcaption>
    </figure>
  );
}

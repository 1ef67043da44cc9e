// A container's traffic over the last minutes as a two-line sparkline (received, sent): rates from history's
// stored samples (one per 30 s at most) joined with the live rates the map polls (pure, then one SVG).
import { svg } from './dom.js';
import type { TrafficSample } from './types.js';

/** Bytes per second received and sent at one instant. */
export interface RatePoint {
  readonly atMs: number;
  readonly rx: number;
  readonly tx: number;
}

/**
 * Rates from stored counter samples: between two samples, the bytes moved over the time between them (a
 * counter that went back, a restart, starts over). Samples only exist when counters moved, so a gap is a
 * quiet stretch: it reads as the average over it.
 */
export function samplesToRates(samples: readonly TrafficSample[]): RatePoint[] {
  const out: RatePoint[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    if (!a || !b) continue;
    const dt = (b.atMs - a.atMs) / 1000;
    if (dt <= 0 || b.rxBytes < a.rxBytes || b.txBytes < a.txBytes) continue;
    out.push({ atMs: b.atMs, rx: (b.rxBytes - a.rxBytes) / dt, tx: (b.txBytes - a.txBytes) / dt });
  }
  return out;
}

/** Merges rate series by time, dropping points outside [sinceMs, ∞) and duplicates of an instant. */
export function mergeRates(sinceMs: number, ...series: readonly (readonly RatePoint[])[]): RatePoint[] {
  const byTime = new Map<number, RatePoint>();
  for (const s of series) for (const p of s) if (p.atMs >= sinceMs) byTime.set(p.atMs, p);
  return [...byTime.values()].sort((a, b) => a.atMs - b.atMs);
}

/** SVG path data of the two lines over [fromMs, toMs], scaled to the larger of the two maxima. */
export function sparklinePaths(points: readonly RatePoint[], fromMs: number, toMs: number, width: number, height: number): { rx: string; tx: string; max: number } {
  const max = Math.max(1, ...points.map((p) => Math.max(p.rx, p.tx)));
  const span = Math.max(1, toMs - fromMs);
  const x = (t: number) => (((t - fromMs) / span) * width).toFixed(1);
  const y = (v: number) => (height - 1 - (v / max) * (height - 2)).toFixed(1);
  const path = (pick: (p: RatePoint) => number) => points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.atMs)},${y(pick(p))}`).join(' ');
  return { rx: path((p) => p.rx), tx: path((p) => p.tx), max };
}

/** The sparkline as an SVG element. */
export function sparkline(points: readonly RatePoint[], fromMs: number, toMs: number, width = 280, height = 48): SVGSVGElement {
  const { rx, tx } = sparklinePaths(points, fromMs, toMs, width, height);
  const el = svg('svg', { class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
  el.append(svg('line', { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: 'axis' }));
  el.append(svg('path', { d: rx, class: 'rx' }));
  el.append(svg('path', { d: tx, class: 'tx' }));
  return el;
}

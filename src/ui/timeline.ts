// The time slider: over the time history covers, with the runs (when portolan was collecting) and the
// instants the topology changed drawn under it; stepping goes from change to change; "Live" follows the stream.
import { h, svg } from './dom.js';
import { formatTime } from './format.js';
import type { HistoryDoc } from './types.js';

/** The change before (dir -1) or after (dir 1) `atMs`; undefined when there is none. */
export function stepChange(changes: readonly number[], atMs: number, dir: -1 | 1): number | undefined {
  if (dir < 0) {
    for (let i = changes.length - 1; i >= 0; i--) {
      const c = changes[i];
      if (c !== undefined && c < atMs) return c;
    }
    return undefined;
  }
  return changes.find((c) => c > atMs);
}

/** True when history covers `atMs` (portolan was collecting then). */
export function covered(history: Pick<HistoryDoc, 'runs'>, atMs: number): boolean {
  return history.runs.some((r) => r.startMs <= atMs && atMs <= r.lastMs);
}

/** What the slider does. */
export interface TimelineHandlers {
  /** Show the topology at this instant. */
  onSeek(atMs: number): void;
  /** Back to the live stream. */
  onLive(): void;
}

/** The slider's controls. */
export interface Timeline {
  /** New history extent (refreshed now and then). */
  update(history: HistoryDoc | undefined, nowMs: number): void;
  /** What the map shows: live, or an instant. */
  setMode(atMs: number | undefined): void;
}

/** Builds the timeline into `root`. */
export function createTimeline(root: HTMLElement, handlers: TimelineHandlers): Timeline {
  let history: HistoryDoc | undefined;
  let mode: number | undefined;
  let seekTimer: ReturnType<typeof setTimeout> | undefined;

  const live = h('button', { type: 'button', id: 'live-button', class: 'live', 'aria-pressed': 'true', title: 'Follow the live stream', onclick: () => handlers.onLive() }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), 'Live');
  const prev = h('button', { type: 'button', id: 'prev-change', title: 'Show the map at the previous change', onclick: () => step(-1) }, '◀ Prev change');
  const next = h('button', { type: 'button', id: 'next-change', title: 'Show the map at the next change', onclick: () => step(1) }, 'Next change ▶');
  const slider = h('input', { type: 'range', id: 'time-slider', 'aria-label': 'Time', min: 0, max: 1, step: 1000, value: 1 });
  const label = h('output', { id: 'time-label', for: 'time-slider' }, 'live');
  const strip = svg('svg', { class: 'strip', preserveAspectRatio: 'none', viewBox: '0 0 1000 8', 'aria-hidden': 'true' });
  root.replaceChildren(live, prev, h('div', { class: 'slider-wrap' }, slider, strip), next, label);

  const sliderMs = () => Number(slider.value);
  const show = () => {
    const isLive = mode === undefined;
    live.setAttribute('aria-pressed', String(isLive));
    label.textContent = isLive ? 'live' : formatTime(mode ?? 0);
    root.classList.toggle('past', !isLive);
    const at = mode ?? Number(slider.max);
    prev.toggleAttribute('disabled', !history || stepChange(history.changes, at, -1) === undefined);
    next.toggleAttribute('disabled', isLive || !history);
  };
  const seek = (ms: number) => {
    const max = Number(slider.max);
    // The right end is now: follow the stream again.
    if (ms >= max - 1000) {
      handlers.onLive();
      return;
    }
    handlers.onSeek(ms);
  };
  function step(dir: -1 | 1) {
    if (!history) return;
    const at = mode ?? Number(slider.max);
    const to = stepChange(history.changes, at, dir);
    if (to === undefined) {
      if (dir > 0) handlers.onLive();
      return;
    }
    handlers.onSeek(to);
  }
  slider.addEventListener('input', () => {
    label.textContent = formatTime(sliderMs());
    if (seekTimer) clearTimeout(seekTimer);
    seekTimer = setTimeout(() => seek(sliderMs()), 150);
  });

  const drawStrip = (nowMs: number) => {
    strip.replaceChildren();
    if (!history) return;
    const min = history.firstMs;
    const span = Math.max(1, nowMs - min);
    const x = (t: number) => ((t - min) / span) * 1000;
    const runs = history.runs;
    runs.forEach((r, i) => {
      // The run going on now reaches the right end (its last tick is a moment ago).
      const end = i === runs.length - 1 && nowMs - r.lastMs < 30_000 ? nowMs : r.lastMs;
      strip.append(svg('rect', { class: 'run', x: x(r.startMs), y: 0, width: Math.max(1, x(end) - x(r.startMs)), height: 8 }));
    });
    // At most one tick per strip unit: thousands of changes draw as a band, not thousands of nodes.
    const ticks = new Set(history.changes.map((c) => Math.round(x(c))));
    for (const t of ticks) strip.append(svg('rect', { class: 'tick', x: t, y: 0, width: 1.5, height: 8 }));
  };

  return {
    update(h2, nowMs) {
      history = h2;
      // The range starts a whole number of steps before now, so that now itself is a value the slider can take.
      const first = h2?.firstMs ?? nowMs - 1000;
      slider.min = String(nowMs - Math.max(1, Math.ceil((nowMs - first) / 1000)) * 1000);
      slider.max = String(nowMs);
      slider.value = String(mode ?? nowMs);
      slider.disabled = !h2;
      root.classList.toggle('no-history', !h2);
      drawStrip(nowMs);
      show();
    },
    setMode(atMs) {
      mode = atMs;
      if (atMs !== undefined) slider.value = String(atMs);
      else slider.value = slider.max;
      show();
    },
  };
}

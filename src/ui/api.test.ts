import { describe, expect, it, vi } from 'vitest';
import { LIVE_PATH, openLive, type EarlyStream, type LiveHandlers } from './api.js';

/** A stand-in for the browser's EventSource: events are dispatched by the test. */
class FakeSource extends EventTarget {
  readyState = 0;
  closed = false;
  constructor(readonly url: string) {
    super();
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  /** Dispatches a named event with a JSON body, as the agent's stream sends it. */
  send(type: string, body?: unknown): Event {
    const ev = body === undefined ? new Event(type) : new MessageEvent(type, { data: JSON.stringify(body) });
    this.dispatchEvent(ev);
    return ev;
  }
}

/** An early stream as index.html's inline script makes it: every event buffered until adopted. */
function earlyStream(path = LIVE_PATH): EarlyStream & { source: FakeSource } {
  const source = new FakeSource(path);
  const early = { path, source, events: [] as Event[], adopted: false as boolean | undefined };
  for (const type of ['open', 'topology', 'diff', 'status', 'error']) source.addEventListener(type, (ev) => { if (!early.adopted) early.events.push(ev); });
  return early as EarlyStream & { source: FakeSource };
}

function recorder() {
  const calls: string[] = [];
  const handlers: LiveHandlers = {
    onTopology: (doc) => calls.push(`topology ${(doc as unknown as { takenAt: string }).takenAt}`),
    onDiff: (d) => calls.push(`diff ${d.from}`),
    onStatus: (f) => calls.push(`status ${String(f.stale)}`),
    onConnection: (s) => calls.push(`connection ${s}`),
  };
  return { calls, handlers };
}

describe('openLive', () => {
  it('adopts the stream index.html opened: its events so far in order, then the next ones, once each', () => {
    const early = earlyStream();
    early.source.send('open');
    early.source.send('topology', { takenAt: 't1' });
    early.source.send('diff', { from: 't1' });
    const open = vi.fn((path: string) => new FakeSource(path) as unknown as EventSource);
    const { calls, handlers } = recorder();
    const live = openLive(handlers, 2000, LIVE_PATH, { open, early });
    expect(open).not.toHaveBeenCalled();
    expect(calls).toEqual(['connection open', 'topology t1', 'diff t1']);
    expect(early.events).toEqual([]);
    early.source.send('diff', { from: 't2' });
    early.source.send('status', { stale: true });
    expect(calls).toEqual(['connection open', 'topology t1', 'diff t1', 'diff t2', 'status true']);
    live.close();
    expect(early.source.closed).toBe(true);
  });

  it('opens its own stream when none was opened early, or one for another path (closed)', () => {
    const other = earlyStream('/api/v1/topology/stream');
    const made: FakeSource[] = [];
    const open = (path: string) => { const s = new FakeSource(path); made.push(s); return s as unknown as EventSource; };
    const { calls, handlers } = recorder();
    openLive(handlers, 2000, LIVE_PATH, { open, early: other });
    expect(other.source.closed).toBe(true);
    expect(made.map((s) => s.url)).toEqual([LIVE_PATH]);
    made[0]?.send('topology', { takenAt: 't1' });
    expect(calls).toEqual(['topology t1']);
    openLive(handlers, 2000, LIVE_PATH, { open });
    expect(made).toHaveLength(2);
  });

  it('starts a new stream after an early one that the agent closed with an error answer (a 503 before its first collection)', () => {
    vi.useFakeTimers();
    try {
      const early = earlyStream();
      early.source.close();
      early.source.send('error');
      const made: FakeSource[] = [];
      const open = (path: string) => { const s = new FakeSource(path); made.push(s); return s as unknown as EventSource; };
      const { calls, handlers } = recorder();
      openLive(handlers, 2000, LIVE_PATH, { open, early });
      expect(calls).toEqual(['connection retrying']);
      expect(made).toHaveLength(0);
      vi.advanceTimersByTime(2000);
      expect(made).toHaveLength(1);
      made[0]?.send('topology', { takenAt: 't9' });
      expect(calls).toEqual(['connection retrying', 'topology t9']);
    } finally {
      vi.useRealTimers();
    }
  });
});

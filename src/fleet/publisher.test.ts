import { describe, expect, it, vi } from 'vitest';
import { applyPatch, type Json, type Patch } from './doc-patch.js';
import { createPublisher, type PublishFn } from './publisher.js';
import { decodeMessage, type DiffMessage, type FleetMessage, type FullMessage } from './wire.js';

const logger = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() });

/** A NATS stand-in that stores what it is sent, and can be made to fail (unreachable) and recover. */
function sink() {
  const stored: { subject: string; m: FleetMessage; bytes: number }[] = [];
  let up = true;
  const publish: PublishFn = async (subject, data) => {
    await Promise.resolve();
    if (!up) throw new Error('timeout');
    stored.push({ subject, m: decodeMessage(data), bytes: data.length });
  };
  return { stored, publish, setUp: (v: boolean) => { up = v; } };
}

// A host's document: some fixed content (a full document is much larger than one change) and n nodes.
const doc = (n: number, extra = ''): Json => ({ takenAt: `t${n}${extra}`, host: { id: 'h1', pad: 'x'.repeat(600) }, nodes: Array.from({ length: n }, (_, i) => ({ id: `c${i}`, name: `c${i}` })) });
const settle = () => new Promise((r) => setTimeout(r, 20));

describe('publisher', () => {
  it('publishes a full document, then diffs against it that rebuild each state', async () => {
    const s = sink();
    let t = 1000;
    const p = createPublisher({ hostId: 'h1', publish: s.publish, logger: logger(), intervalMs: 1000, now: () => t });
    p.offer(doc(3));
    await settle();
    t += 1000;
    p.offer(doc(4));
    await settle();
    t += 1000;
    p.offer(doc(5));
    await settle();
    expect(s.stored.map((x) => x.subject)).toEqual(['portolan.fleet.h1.full', 'portolan.fleet.h1.diff', 'portolan.fleet.h1.diff']);
    const f = s.stored[0]?.m as FullMessage;
    const d = s.stored[2]?.m as DiffMessage;
    // Each diff is against the full document, not the previous diff.
    expect(d.seq).toBe(2);
    expect(applyPatch(f.doc, d.patch as Patch)).toEqual(doc(5));
    expect(p.status()).toMatchObject({ state: 'connected', published: 3, buffered: 0, dropped: 0, publishedByKind: { full: 1, diff: 2 } });
  });

  it('publishes events with a state and events between states (capture\'s), each batch its own message id', async () => {
    const s = sink();
    const ids: string[] = [];
    const p = createPublisher({ hostId: 'h1', publish: async (subject, data, id) => { ids.push(id); await s.publish(subject, data, id); }, logger: logger(), intervalMs: 1000, now: () => 7 });
    p.offer(doc(1), [{ type: 'a' }]);
    p.offerEvents([{ type: 'b' }]);
    p.offerEvents([{ type: 'c' }]);
    p.offerEvents([]);
    await settle();
    expect(s.stored.map((x) => x.subject)).toEqual(['portolan.fleet.h1.full', 'portolan.events.h1', 'portolan.events.h1', 'portolan.events.h1']);
    expect(s.stored.slice(1).map((x) => (x.m.kind === 'events' ? x.m.events : []))).toEqual([[{ type: 'a' }], [{ type: 'b' }], [{ type: 'c' }]]);
    // The same time and state for all three: the ids still differ (JetStream would drop a repeated one as a duplicate).
    expect(new Set(ids).size).toBe(4);
  });

  it('sends nothing for an unchanged document, a new full document every fullEveryMs', async () => {
    const s = sink();
    let t = 0;
    const p = createPublisher({ hostId: 'h1', publish: s.publish, logger: logger(), intervalMs: 1000, fullEveryMs: 5000, now: () => t });
    p.offer(doc(2));
    t += 1000;
    p.offer(doc(2));
    t += 5000;
    p.offer(doc(2));
    await settle();
    expect(s.stored.map((x) => [x.m.kind, (x.m as FullMessage).epoch])).toEqual([['full', 1], ['full', 2]]);
  });

  it('starts a new epoch when a diff would be over half a full document', async () => {
    const s = sink();
    const p = createPublisher({ hostId: 'h1', publish: s.publish, logger: logger(), intervalMs: 1000, now: () => 0 });
    p.offer(doc(2));
    p.offer(doc(40));
    await settle();
    expect(s.stored.map((x) => x.m.kind)).toEqual(['full', 'full']);
  });

  it('never waits on NATS: buffers while unreachable (said once), supersedes old states, drops the oldest events past the limit and counts them', async () => {
    const s = sink();
    const log = logger();
    let t = 0;
    const p = createPublisher({ hostId: 'h1', publish: s.publish, logger: log, intervalMs: 1000, maxBufferBytes: 2000, retryMs: 10, now: () => t });
    s.setUp(false);
    p.offer(doc(2));
    for (let i = 0; i < 50; i++) {
      t += 1000;
      // offer() returns at once whatever NATS does.
      p.offer(doc(3, `-${i}`), [{ kind: 'event', n: i, pad: 'x'.repeat(100) }]);
    }
    await settle();
    const st = p.status();
    expect(st.state).toBe('unreachable');
    expect(st.bufferedBytes).toBeLessThanOrEqual(2000);
    expect(st.dropped).toBeGreaterThan(0);
    expect(st.droppedEvents).toBe(st.dropped);
    expect(st.superseded).toBeGreaterThan(0);
    expect(log.warn.mock.calls.filter((c) => String(c[1]).startsWith('NATS unreachable'))).toHaveLength(1);
    s.setUp(true);
    await vi.waitFor(() => expect(p.status().buffered).toBe(0), { timeout: 2000 });
    // What was buffered arrives: the full document, the latest diff (which carries every change), the events kept.
    const kinds = s.stored.map((x) => x.m.kind);
    expect(kinds.filter((k) => k === 'full')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'diff')).toHaveLength(1);
    const f = s.stored.find((x) => x.m.kind === 'full')?.m as FullMessage;
    const d = s.stored.find((x) => x.m.kind === 'diff')?.m as DiffMessage;
    expect(applyPatch(f.doc, d.patch as Patch)).toEqual(doc(3, '-49'));
    const events = s.stored.filter((x) => x.m.kind === 'events').length;
    expect(events + p.status().dropped).toBe(50);
    expect(p.status()).toMatchObject({ state: 'connected' });
    expect(log.info.mock.calls.some((c) => String(c[1]).startsWith('NATS reachable again'))).toBe(true);
  });

  it('sends a heartbeat when nothing changed for an interval', async () => {
    const s = sink();
    const p = createPublisher({ hostId: 'h1', publish: s.publish, logger: logger(), intervalMs: 100 });
    p.offer(doc(1));
    p.start();
    await vi.waitFor(() => expect(s.stored.filter((x) => x.m.kind === 'hb').length).toBeGreaterThanOrEqual(2), { timeout: 2000 });
    await p.stop();
  });
});

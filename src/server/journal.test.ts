import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../core/report/changes.js';
import { createEventJournal, frameMade, parseEventId } from './journal.js';

const ev = (name: string): ChangeEvent => ({ type: 'container.started', at: '2026-11-21T00:00:00.000Z', container: { id: name, name, image: 'img' } });

describe('event journal', () => {
  it('assigns ids in order and replays what came after an id', () => {
    const j = createEventJournal(100, 'ep');
    const [a, b] = j.append([ev('a'), ev('b')]);
    j.append([ev('c')]);
    expect([a?.id, b?.id]).toEqual(['ep-1', 'ep-2']);
    const r = j.since('ep-1');
    expect(r.kind).toBe('replay');
    expect(r.entries.map((e) => e.id)).toEqual(['ep-2', 'ep-3']);
    expect(j.since('ep-3')).toEqual({ kind: 'replay', entries: [] });
  });

  it('reports a gap when the events after the id were dropped, and still gives what it has', () => {
    const j = createEventJournal(2, 'ep');
    for (let i = 0; i < 10; i++) j.append([ev(`e${i}`)]);
    const r = j.since('ep-1');
    expect(r.kind).toBe('gap');
    expect(r.kind === 'gap' && r.reason).toMatch(/no longer kept/);
    expect(r.entries.length).toBeGreaterThanOrEqual(2);
    expect(r.entries.at(-1)?.id).toBe('ep-10');
    // The last event before what is kept is not a gap.
    const first = r.entries[0]?.n ?? 0;
    expect(j.since(`ep-${first - 1}`).kind).toBe('replay');
  });

  it('an id of another run (the agent restarted) is a gap with everything of this run', () => {
    const j = createEventJournal(100, 'new');
    j.append([ev('a')]);
    const r = j.since('old-7');
    expect(r).toMatchObject({ kind: 'gap', reason: expect.stringMatching(/restarted/) });
    expect(r.entries.map((e) => e.id)).toEqual(['new-1']);
  });

  it('an id from the future of this run is a gap with nothing', () => {
    const j = createEventJournal(100, 'ep');
    expect(j.since('ep-5')).toMatchObject({ kind: 'gap', entries: [] });
  });

  it('rejects what is not an event id', () => {
    for (const bad of ['', '42', 'ep-', 'ep-x', 'EP-1', 'ep-1-2', 'ep-99999999999999999']) expect(parseEventId(bad)).toBeUndefined();
    expect(parseEventId('mi3x2k-42')).toEqual({ epoch: 'mi3x2k', n: 42 });
    expect(() => createEventJournal().since('nope')).toThrow(/not an event id/);
  });

  it('takes 200,000 events from one collection (a spread push overflowed the stack at ~120,000)', () => {
    const j = createEventJournal(300_000, 'ep');
    const many = Array.from({ length: 200_000 }, (_, i) => ev(`c${i}`));
    expect(j.append(many)).toHaveLength(200_000);
    expect(j.at(200_000)?.id).toBe('ep-200000');
  });

  it('serialises an event only when its frame is first asked for, once, as the SSE frame of that event', () => {
    const j = createEventJournal(100, 'ep');
    const [a, b] = j.append([ev('a'), ev('b')]);
    // Nobody read them: nothing serialised (capture brings thousands of events a second to agents nobody watches).
    expect(a && frameMade(a)).toBe(false);
    expect(b && frameMade(b)).toBe(false);
    const frame = a?.frame;
    expect(frame?.toString()).toBe(`event: container.started\nid: ep-1\ndata: ${JSON.stringify(ev('a'))}\n\n`);
    expect(a && frameMade(a)).toBe(true);
    // The same Buffer for every client, the other entry still untouched.
    expect(j.at(1)?.frame).toBe(frame);
    expect(b && frameMade(b)).toBe(false);
  });
});

import { describe, expect, it, vi } from 'vitest';
import type { AgentUpdate } from '../agent/loop.js';
import type { Topology } from '../core/model/topology.js';
import { diffPatch, type Json, type Patch } from './doc-patch.js';
import { createHub, type HubHost } from './hub.js';
import type { FleetMessage } from './wire.js';
import { AGENT_EVENTS } from '../../test/fixtures/fleet/agent-events.js';

const logger = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() });
// A stand-in merge: one container node per name in each host's document (the real one is core's mergeFleet).
const render = (hosts: readonly HubHost[], now: number): { topology: Topology } => ({
  topology: {
    takenAt: new Date(now).toISOString(), hostname: 'hub', warnings: [], edges: [],
    nodes: hosts.flatMap((h) => ((h.doc as { names: string[] }).names).map((n) => ({ kind: 'container' as const, id: `${h.hostId}/${n}`, name: n, image: 'x', networkMode: 'bridge', networks: [], ports: [], pid: 1, host: h.hostId }))),
    hosts: hosts.map((h) => ({ id: h.hostId, name: h.hostId, ...(h.stale ? { stale: true } : {}) })),
  },
});
const docOf = (...names: string[]): Json => ({ names });
const full = (host: string, epoch: number, doc: Json, run = 'r1', at = 1): FleetMessage => ({ v: 1, kind: 'full', host, epoch, run, at, intervalMs: 1000, doc });
const diff = (host: string, epoch: number, seq: number, base: Json, next: Json, run = 'r1'): FleetMessage => ({ v: 1, kind: 'diff', host, epoch, run, seq, at: 2, intervalMs: 1000, patch: (diffPatch(base, next) ?? null) as Patch | null });

describe('hub', () => {
  it('keeps each host\'s document from full documents and diffs, and renders the fleet once rebuilt', () => {
    let t = 10_000;
    const hub = createHub({ render, logger: logger(), hostname: 'hub', now: () => t });
    const updates: AgentUpdate[] = [];
    hub.subscribe((u) => updates.push(u));
    expect(hub.accept(full('a', 1, docOf('web')), t)).toBeUndefined();
    expect(hub.accept(full('b', 1, docOf('web')), t)).toBeUndefined();
    expect(hub.accept(diff('a', 1, 1, docOf('web'), docOf('web', 'db')), t)).toBeUndefined();
    expect(hub.current()).toBeUndefined();
    expect(hub.status().stale).toBe(true);
    hub.setNats('connected');
    hub.markRebuilt();
    expect(hub.status().stale).toBe(false);
    // Same container name on two hosts: two nodes.
    expect(hub.current()?.topology.nodes.map((n) => n.id).sort()).toEqual(['a/db', 'a/web', 'b/web']);
    // An older diff (seq not above the applied one) changes nothing; a later one is against the full document.
    expect(hub.accept(diff('a', 1, 1, docOf('web'), docOf()), t)).toBeUndefined();
    expect(hub.hosts().find((h) => h.hostId === 'a')?.doc).toEqual(docOf('web', 'db'));
    t += 100;
    hub.accept(diff('a', 1, 2, docOf('web'), docOf('api')), t);
    hub.renderNow();
    expect(hub.current()?.topology.nodes.map((n) => n.id).sort()).toEqual(['a/api', 'b/web']);
    const last = updates.filter((u) => u.kind === 'state').at(-1);
    expect(last?.kind === 'state' && [...(last.diff?.nodes.removed ?? [])].sort()).toEqual(['a/db', 'a/web']);
  });

  it('refuses diffs without their full document, older epochs and patches that do not fit; counts them', () => {
    const hub = createHub({ render, logger: logger(), hostname: 'hub', now: () => 0 });
    expect(hub.accept(diff('a', 1, 1, docOf('x'), docOf('y')), 0)).toMatch(/does not hold/);
    hub.accept(full('a', 2, docOf('x')), 0);
    expect(hub.accept(full('a', 1, docOf('old')), 0)).toMatch(/older/);
    expect(hub.accept(diff('a', 1, 1, docOf('x'), docOf('y')), 0)).toMatch(/does not hold/);
    expect(hub.accept({ v: 1, kind: 'diff', host: 'a', epoch: 2, run: 'r1', seq: 1, at: 1, intervalMs: 1000, patch: { a: { set: [], del: [] } } }, 0)).toMatch(/does not fit/);
    expect(hub.accept({ v: 1, kind: 'hb', host: 'zz', epoch: 1, run: 'r1', at: 1, intervalMs: 1000 }, 0)).toMatch(/heartbeat/);
    expect(hub.hubStatus().rejected).toBe(5);
    expect(hub.hosts()[0]?.doc).toEqual(docOf('x'));
  });

  it('a new agent run replaces the old one (no duplicates)', () => {
    const hub = createHub({ render, logger: logger(), hostname: 'hub', now: () => 0 });
    hub.accept(full('a', 7, docOf('x'), 'r1', 100), 0);
    hub.accept(full('a', 1, docOf('y'), 'r2', 200), 0);
    hub.markRebuilt();
    expect(hub.current()?.topology.nodes.map((n) => n.id)).toEqual(['a/y']);
    expect(hub.accept(full('a', 9, docOf('z'), 'r1', 150), 0)).toMatch(/older agent run/);
  });

  it('marks a silent host stale after staleAfterIntervals, back on its next message, forgotten after the retention', () => {
    let t = 0;
    const log = logger();
    const hub = createHub({ render, logger: log, hostname: 'hub', now: () => t, staleAfterIntervals: 3, retentionMs: 60_000 });
    hub.accept(full('a', 1, docOf('x')), 0);
    hub.accept(full('b', 1, docOf('y')), 0);
    hub.markRebuilt();
    t = 3500;
    hub.accept({ v: 1, kind: 'hb', host: 'b', epoch: 1, run: 'r1', at: 1, intervalMs: 1000 }, t);
    hub.renderNow();
    expect(hub.current()?.topology.hosts).toEqual([{ id: 'a', name: 'a', stale: true }, { id: 'b', name: 'b' }]);
    // Its last state stays while stale.
    expect(hub.current()?.topology.nodes.map((n) => n.id)).toEqual(['a/x', 'b/y']);
    expect(hub.hubStatus().staleHosts).toBe(1);
    hub.accept({ v: 1, kind: 'hb', host: 'a', epoch: 1, run: 'r1', at: 1, intervalMs: 1000 }, t);
    hub.renderNow();
    expect(hub.current()?.topology.hosts?.every((h) => !h.stale)).toBe(true);
    t = 70_000;
    hub.accept({ v: 1, kind: 'hb', host: 'b', epoch: 1, run: 'r1', at: 1, intervalMs: 1000 }, t);
    hub.renderNow();
    expect(hub.current()?.topology.nodes.map((n) => n.id)).toEqual(['b/y']);
  });
});

describe('internTopology', () => {
  it('keeps the previous object of every equal node and edge, and the new one of every changed one', async () => {
    const { internTopology } = await import('./hub.js');
    const a = render([{ hostId: 'h', doc: docOf('x', 'y'), run: 'r', epoch: 1, seq: 0, intervalMs: 1000, lastSeenMs: 0, publishedAtMs: 0, stale: false }], 0).topology;
    const b = render([{ hostId: 'h', doc: docOf('x', 'z'), run: 'r', epoch: 1, seq: 0, intervalMs: 1000, lastSeenMs: 0, publishedAtMs: 0, stale: false }], 0).topology;
    const c = internTopology(a, b);
    expect(c).toEqual(b);
    expect(c.nodes[0]).toBe(a.nodes[0]);
    expect(c.nodes[1]).toBe(b.nodes[1]);
    expect(internTopology(undefined, b)).toBe(b);
    // The same ids in the same order (no map): equal new objects give the previous ones, a changed one stays new.
    const d = { ...a, nodes: a.nodes.map((n, i) => (i === 0 ? { ...n } : { ...n, name: `${n.name}!` })) };
    const e = internTopology(a, d);
    expect(e).toEqual(d);
    expect(e.nodes[0]).toBe(a.nodes[0]);
    expect(e.nodes[1]).toBe(d.nodes[1]);
  });
});

describe('hub events', () => {
  const events = (host: string, list: readonly unknown[], at = 5): FleetMessage => ({ v: 1, kind: 'events', host, at, events: list as Json[] });

  it('serves the agents\' own events, each with its host, as they arrive (also while rebuilding); derives none', () => {
    let t = 0;
    const hub = createHub({ render, logger: logger(), hostname: 'hub', now: () => t });
    const updates: AgentUpdate[] = [];
    hub.subscribe((u) => updates.push(u));
    // Read back from the events stream before the fleet is rebuilt: served at once, in stream order.
    expect(hub.accept(events('a', AGENT_EVENTS.slice(0, 2)), 0)).toBeUndefined();
    expect(hub.accept(events('b', AGENT_EVENTS.slice(2)), 0)).toBeUndefined();
    hub.accept(full('a', 1, docOf('web')), 0);
    hub.markRebuilt();
    t += 10;
    hub.accept(diff('a', 1, 1, docOf('web'), docOf('web', 'db')), t);
    hub.renderNow();
    const served = updates.flatMap((u) => (u.kind === 'events' ? u.events : []));
    expect(served).toEqual([...AGENT_EVENTS.slice(0, 2).map((e) => ({ ...e, host: 'a' })), { ...AGENT_EVENTS[2], host: 'b' }]);
    // A container appeared in the merged topology: the hub says nothing of its own (the agent's event is the one).
    const states = updates.filter((u) => u.kind === 'state');
    expect(states.length).toBeGreaterThanOrEqual(2);
    for (const u of states) expect(u.kind === 'state' && u.events).toEqual([]);
    expect(hub.hubStatus()).toMatchObject({ events: 3, eventsRefused: 0, rejected: 0 });
  });

  it('refuses bad events with a reason and counts them; a batch that is not a list is a refused message', () => {
    const hub = createHub({ render, logger: logger(), hostname: 'hub', now: () => 0, eventLimits: { maxEvents: 5 } });
    const updates: AgentUpdate[] = [];
    hub.subscribe((u) => updates.push(u));
    expect(hub.accept(events('a', [AGENT_EVENTS[0], { type: 'container.started', at: 'never' }]), 0)).toMatch(/1 of 2 events of a refused, first: .*events\[1\]\.at: not a time/);
    expect(hub.accept(events('a', Array(6).fill(AGENT_EVENTS[0])), 0)).toMatch(/6 events, more than 5/);
    expect(hub.accept({ v: 1, kind: 'events', host: 'a', at: 1, events: 'x' as unknown as Json[] }, 0)).toMatch(/not a list/);
    expect(updates.flatMap((u) => (u.kind === 'events' ? u.events : []))).toEqual([{ ...AGENT_EVENTS[0], host: 'a' }]);
    expect(hub.hubStatus()).toMatchObject({ events: 1, eventsRefused: 1, rejected: 2 });
    expect(hub.hubStatus().lastRejection).toMatch(/not a list/);
  });
});

// The agent loop on a clock the test drives: every timing claim is checked against virtual time, not sleeps.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../../test/fixtures/agent/fake-clock.js';
import { scriptedCollection, withoutContainers } from '../../test/fixtures/agent/fake-collection.js';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import type { FollowerHandlers } from '../collectors/docker-events.js';
import { createAgent, type AgentUpdate } from './loop.js';

const logger = pino({ level: 'silent' });

describe('createAgent on a driven clock', () => {
  it('ticks at a fixed rate: collections start at 0, 1000 and 2000 ms', async () => {
    const clock = createFakeClock();
    const t0 = clock.now();
    const collection = scriptedCollection([syntheticSnapshot()], { clock, delayMs: 30 });
    const agent = createAgent({ collection, logger, intervalMs: 1000, clock });
    agent.start();
    await clock.advance(2500);
    expect(collection.startedAt.map((t) => t - t0)).toEqual([0, 1000, 2000]);
    await agent.stop();
  });

  it('a collection longer than the interval delays the next tick to its end, and two never overlap', async () => {
    const clock = createFakeClock();
    const t0 = clock.now();
    const collection = scriptedCollection([syntheticSnapshot()], { clock, delayMs: 1500 });
    let inFlight = 0;
    let maxInFlight = 0;
    const wrapped = {
      async collect() {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try { return await collection.collect(); } finally { inFlight--; }
      },
    };
    const agent = createAgent({ collection: wrapped, logger, intervalMs: 1000, clock, debounceMs: 1 });
    agent.start();
    agent.trigger('event during the first collection');
    const now = agent.collectNow();
    await clock.advance(4600);
    await now;
    // 0: first tick; 1500: the collectNow that waited for it; 3000: the late tick, at once; then 4500.
    expect(collection.startedAt.map((t) => t - t0)).toEqual([0, 1500, 3000, 4500]);
    expect(maxInFlight).toBe(1);
    // stop() waits for the running collection, which ends at 6000.
    const stopping = agent.stop();
    await clock.advance(1500);
    await stopping;
  });

  it('a trigger collects after the debounce instead of waiting for the interval; a burst is one collection', async () => {
    const clock = createFakeClock();
    const t0 = clock.now();
    const collection = scriptedCollection([syntheticSnapshot()], { clock });
    const agent = createAgent({ collection, logger, intervalMs: 60_000, debounceMs: 50, clock });
    agent.start();
    await clock.advance(10_000);
    agent.trigger('container start');
    await clock.advance(20);
    agent.trigger('network connect');
    await clock.advance(1000);
    expect(collection.startedAt.map((t) => t - t0)).toEqual([0, 10_050]);
    await agent.stop();
  });

  it('each state after the first carries the diff and the change events; an unchanged state carries no diff', async () => {
    const clock = createFakeClock();
    const full = syntheticSnapshot();
    const collection = scriptedCollection([full, withoutContainers(full, [IDS.udpc])], { clock });
    const agent = createAgent({ collection, logger, intervalMs: 1000, clock });
    const updates: AgentUpdate[] = [];
    agent.subscribe((u) => updates.push(u));
    agent.start();
    await clock.advance(2500);
    await agent.stop();
    const states = updates.flatMap((u) => (u.kind === 'state' ? [u] : []));
    expect(states).toHaveLength(3);
    expect(states[0]?.diff).toBeUndefined();
    // udps's socket still names udpc's address: udpc stays drawn, as a container that exited (address history).
    expect(states[1]?.diff?.nodes.updated.map((n) => [n.id, n.kind === 'container' && n.exitedAt !== undefined])).toEqual([[IDS.udpc, true]]);
    expect(states[1]?.events.map((e) => e.type)).toContain('container.stopped');
    expect(states[2]?.diff).toBeUndefined();
    expect(agent.current()?.seq).toBe(3);
    expect(agent.current()?.topology.nodes.find((n) => n.id === IDS.udpc)).toMatchObject({ kind: 'container', exitedAt: expect.any(String) });
  });

  it('Docker away: keeps the last state, marked stale since the first failure; back: fresh again', async () => {
    const full = syntheticSnapshot();
    const collection = scriptedCollection([full, { fail: 'docker', error: 'connection refused' }, { fail: 'docker' }, full]);
    const agent = createAgent({ collection, logger, intervalMs: 1000, clock: createFakeClock() });
    const statuses: boolean[] = [];
    agent.subscribe((u) => { if (u.kind === 'status') statuses.push(u.status.stale); });
    await agent.collectNow();
    const before = agent.current();
    await agent.collectNow();
    expect(agent.current()).toBe(before);
    expect(agent.status()).toMatchObject({ stale: true, staleReason: 'docker: connection refused' });
    const since = agent.status().staleSince;
    await agent.collectNow();
    expect(agent.status().staleSince).toBe(since);
    await agent.collectNow();
    expect(agent.status().stale).toBe(false);
    expect(agent.status().staleReason).toBeUndefined();
    expect(agent.current()?.seq).toBe(2);
    expect(statuses).toEqual([true, false]);
    expect(agent.status()).toMatchObject({ collections: 4, failedCollections: 2 });
  });

  it('a collection that throws, or a failed non-essential collector, neither stops the loop nor makes the state stale', async () => {
    const clock = createFakeClock();
    const collection = scriptedCollection([{ throws: 'boom' }, { fail: 'sockets' }, syntheticSnapshot()], { clock });
    const agent = createAgent({ collection, logger, intervalMs: 1000, clock });
    agent.start();
    await clock.advance(3500);
    await agent.stop();
    expect(collection.calls).toBe(4);
    expect(agent.current()).toBeDefined();
    expect(agent.status()).toMatchObject({ stale: false, failedCollections: 1, collections: 4 });
  });

  it('an error marked fatal stops the loop and reaches onFatal once', async () => {
    const clock = createFakeClock();
    const fatal = Object.assign(new Error('could not return the JS thread to its own network namespace'), { fatal: true });
    let calls = 0;
    const collection = { async collect(): Promise<never> { calls++; throw fatal; } };
    const seen: unknown[] = [];
    const agent = createAgent({ collection, logger, intervalMs: 1000, clock, onFatal: (err) => seen.push(err) });
    agent.start();
    await clock.advance(5000);
    expect(seen).toEqual([fatal]);
    expect(calls).toBe(1);
    await agent.stop();
  });

  it('follows the events stream: reconnects are counted, and each (re)connect or event triggers one collection', async () => {
    const clock = createFakeClock();
    let handlers: FollowerHandlers | undefined;
    const events = { start: (h: FollowerHandlers) => { handlers = h; }, stop: async () => undefined };
    const collection = scriptedCollection([syntheticSnapshot()], { clock });
    const agent = createAgent({ collection, logger, intervalMs: 60_000, events, debounceMs: 1, clock });
    agent.start();
    await clock.advance(10);
    expect(collection.calls).toBe(1);
    expect(agent.status().dockerEvents).toBe('disconnected');
    handlers?.onConnected();
    await clock.advance(10);
    expect(collection.calls).toBe(2);
    handlers?.onDisconnected(new Error('EOF'));
    expect(agent.status()).toMatchObject({ dockerEvents: 'disconnected', dockerEventsError: 'EOF' });
    handlers?.onConnected();
    expect(agent.status()).toMatchObject({ dockerEvents: 'connected', dockerReconnects: 1 });
    handlers?.onEvent({ type: 'container', action: 'start', id: 'x', timeNano: 1n });
    await clock.advance(10);
    // Lost, connected and an event within the debounce: one collection.
    expect(collection.calls).toBe(3);
    await agent.stop();
  });
});

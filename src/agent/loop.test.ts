import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { scriptedCollection, withoutContainers } from '../../test/fixtures/agent/fake-collection.js';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import type { FollowerHandlers } from '../collectors/docker-events.js';
import { createAgent, type AgentUpdate } from './loop.js';

const logger = pino({ level: 'silent' });
const until = async (check: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('createAgent', () => {
  it('collects on the interval, keeps the state and tells subscribers the diff and the events', async () => {
    const full = syntheticSnapshot();
    const collection = scriptedCollection([full, withoutContainers(full, [IDS.udpc])]);
    const agent = createAgent({ collection, logger, intervalMs: 20 });
    const updates: AgentUpdate[] = [];
    agent.subscribe((u) => updates.push(u));
    agent.start();
    await until(() => collection.calls >= 3);
    await agent.stop();
    const states = updates.filter((u) => u.kind === 'state');
    expect(states[0]?.kind === 'state' && states[0].diff).toBeFalsy();
    const second = states[1];
    expect(second?.kind === 'state' && second.diff?.nodes.removed).toEqual([IDS.udpc]);
    expect(second?.kind === 'state' && second.events.map((e) => e.type)).toContain('container.stopped');
    // Unchanged after that: states keep coming (fresh takenAt) but no diff.
    const third = states[2];
    expect(third?.kind === 'state' && third.diff).toBeUndefined();
    expect(agent.current()?.seq).toBeGreaterThanOrEqual(3);
    expect(agent.current()?.topology.nodes.some((n) => n.id === IDS.udpc)).toBe(false);
  });

  it('Docker away: keeps the last state, marked stale; back: fresh again', async () => {
    const full = syntheticSnapshot();
    const collection = scriptedCollection([full, { fail: 'docker', error: 'connection refused' }, { fail: 'docker' }, full]);
    const agent = createAgent({ collection, logger, intervalMs: 1000 });
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

  it('a failing or throwing collection never stops the loop', async () => {
    const collection = scriptedCollection([{ throws: 'boom' }, { fail: 'sockets' }, syntheticSnapshot()]);
    const agent = createAgent({ collection, logger, intervalMs: 10 });
    agent.start();
    await until(() => collection.calls >= 4);
    await agent.stop();
    // A non-essential collector failing is not staleness: the snapshot is accepted with the issue.
    expect(agent.current()).toBeDefined();
    expect(agent.status().stale).toBe(false);
  });

  it('a trigger (Docker event) collects at once instead of waiting for the interval', async () => {
    const collection = scriptedCollection([syntheticSnapshot()]);
    const agent = createAgent({ collection, logger, intervalMs: 60_000, debounceMs: 10 });
    agent.start();
    await until(() => collection.calls === 1);
    const t0 = Date.now();
    agent.trigger('container start');
    agent.trigger('network connect');
    await until(() => collection.calls === 2);
    expect(Date.now() - t0).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 50));
    // The burst was folded into one collection.
    expect(collection.calls).toBe(2);
    await agent.stop();
  });

  it('a slow collection delays the next tick, never overlaps it', async () => {
    const collection = scriptedCollection([syntheticSnapshot()], { delayMs: 40 });
    let inFlight = 0;
    let maxInFlight = 0;
    const wrapped = {
      async collect() {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try { return await collection.collect(); } finally { inFlight--; }
      },
    };
    const agent = createAgent({ collection: wrapped, logger, intervalMs: 5, debounceMs: 1 });
    agent.start();
    for (let i = 0; i < 5; i++) agent.trigger('event');
    await Promise.all([agent.collectNow(), agent.collectNow()]);
    await until(() => collection.calls >= 5);
    await agent.stop();
    expect(maxInFlight).toBe(1);
  });

  it('follows the events stream: reconnects are counted and each (re)connect triggers a collection', async () => {
    let handlers: FollowerHandlers | undefined;
    const events = { start: (h: FollowerHandlers) => { handlers = h; }, stop: async () => undefined };
    const collection = scriptedCollection([syntheticSnapshot()]);
    const agent = createAgent({ collection, logger, intervalMs: 60_000, events, debounceMs: 1 });
    agent.start();
    await until(() => collection.calls === 1);
    expect(agent.status().dockerEvents).toBe('disconnected');
    handlers?.onConnected();
    await until(() => collection.calls === 2);
    handlers?.onDisconnected(new Error('EOF'));
    expect(agent.status()).toMatchObject({ dockerEvents: 'disconnected', dockerEventsError: 'EOF' });
    handlers?.onConnected();
    expect(agent.status()).toMatchObject({ dockerEvents: 'connected', dockerReconnects: 1 });
    handlers?.onEvent({ type: 'container', action: 'start', id: 'x', timeNano: 1n });
    // The three signals came at once: folded into one collection.
    await until(() => collection.calls >= 3);
    await agent.stop();
  });
});

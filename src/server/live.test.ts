// Resuming /api/v1/events with Last-Event-ID over a real port.
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { scriptedCollection, withoutContainers } from '../../test/fixtures/agent/fake-collection.js';
import { readEvents } from '../../test/fixtures/sse.js';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import { createAgent } from '../agent/loop.js';
import { buildApp } from './app.js';

const logger = pino({ level: 'silent' });
const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

async function setup() {
  const full = syntheticSnapshot();
  const collection = scriptedCollection([full, withoutContainers(full, [IDS.udpc]), full]);
  const agent = createAgent({ collection, logger, intervalMs: 2000 });
  await agent.collectNow();
  const app = await buildApp(agent, { metrics: { defaultMetrics: false } });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { agent, app, base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/v1/events?type=container.started&type=container.stopped` };
}

describe('/api/v1/events resumes with Last-Event-ID', () => {
  it('a client that was away gets the events it missed, in order, with their ids', async () => {
    const { agent, base } = await setup();
    const first = await readEvents(base, 2, {}, () => { void agent.collectNow(); });
    expect(first[1]).toMatchObject({ event: 'container.stopped', data: { container: { id: IDS.udpc } } });
    const lastId = first[1]?.id;
    expect(lastId).toMatch(/^[0-9a-z]+-\d+$/);
    // While no client listens, udpc comes back.
    await agent.collectNow();
    const resumed = await readEvents(base, 2, lastId ? { 'last-event-id': lastId } : {});
    expect(resumed.map((e) => e.event)).toEqual(['ready', 'container.started']);
    expect(resumed[1]).toMatchObject({ data: { container: { id: IDS.udpc } } });
    expect(resumed[1]?.id).not.toBe(lastId);
    // The query parameter does the same for clients that cannot set headers.
    const viaQuery = await readEvents(`${base}&lastEventId=${lastId ?? ''}`, 2);
    expect(viaQuery[1]?.id).toBe(resumed[1]?.id);
  });

  it('an id from before an agent restart gets a gap event', async () => {
    const { base } = await setup();
    const events = await readEvents(base, 2, { 'last-event-id': 'zzzz-3' });
    expect(events[1]).toMatchObject({ event: 'gap', data: { lastEventId: 'zzzz-3', reason: expect.stringMatching(/restarted/) } });
  });

  it('a malformed Last-Event-ID is a 400 naming it', async () => {
    const { app } = await setup();
    const r = await app.inject({ url: '/api/v1/events', headers: { 'last-event-id': 'yesterday' } });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'bad_parameter', message: expect.stringContaining('yesterday') });
  });
});

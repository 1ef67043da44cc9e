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

  it('captured connection events enter the same journal: streamed with ids, filtered by type, replayed', async () => {
    const { agent, base } = await setup();
    const url = base.replace(/\?.*/, '?type=connection.opened');
    const flow = {
      source: 'conntrack' as const, netns: 1, protocol: 'tcp' as const, family: 'ipv4' as const,
      client: { address: '172.30.0.3', port: 40000, container: { id: 'a'.repeat(64), name: 'job-1', image: 'alpine' } },
      server: { address: '172.30.0.2', port: 80 }, direction: 'internal' as const, unreplied: true, timing: 'observed' as const, host: 'h',
    };
    const got = await readEvents(url, 2, {}, () => {
      agent.publish([{ type: 'connection.closed', at: '2026-12-07T11:00:01.000Z', flow }]);
      agent.publish([{ type: 'connection.opened', at: '2026-12-07T11:00:00.000Z', flow }]);
    });
    expect(got[1]).toMatchObject({ event: 'connection.opened', data: { flow: { client: { container: { name: 'job-1' } } } } });
    const replay = await readEvents(base.replace(/\?.*/, ''), 3, { 'last-event-id': `${String(got[1]?.id).split('-')[0]}-0` });
    expect(replay.slice(1).map((e) => e.event)).toEqual(['connection.closed', 'connection.opened']);
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

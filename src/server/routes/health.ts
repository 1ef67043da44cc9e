// Liveness and readiness: open without a token, they say nothing about the host.
import type { FastifyInstance } from 'fastify';
import type { Agent } from '../../agent/loop.js';
import { errorSchema } from '../errors.js';

const statusSchema = {
  type: 'object', additionalProperties: true,
  properties: { status: { type: 'string' }, stale: { type: 'boolean' }, lastCollectionAgeMs: { type: 'integer' } },
} as const;

/** Registers /healthz (the loop is alive) and /readyz (a state is there to serve). */
export function registerHealthRoutes(app: FastifyInstance, agent: Agent, options: { collectTimeoutMs: number }): void {
  app.get('/healthz', {
    schema: { summary: 'Liveness: 200 while the collection loop keeps running (stale or not)', response: { 200: statusSchema, 503: statusSchema, 401: errorSchema } },
  }, async (_req, reply) => {
    const s = agent.status();
    const age = s.lastCollectionAtMs === 0 ? 0 : Date.now() - s.lastCollectionAtMs;
    // A loop that has not finished a collection in interval + timeout (twice, for slack) is stuck.
    const alive = s.started && age <= 2 * (agent.intervalMs + options.collectTimeoutMs);
    return reply.code(alive ? 200 : 503).send({ status: alive ? 'ok' : 'stuck', stale: s.stale, lastCollectionAgeMs: Math.round(age) });
  });

  app.get('/readyz', {
    schema: { summary: 'Readiness: 200 once a state is there to serve (even when stale, so clients keep the last state)', response: { 200: statusSchema, 503: statusSchema } },
  }, async (_req, reply) => {
    const ready = agent.current() !== undefined;
    const s = agent.status();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'starting', stale: s.stale, ...(s.staleReason ? { reason: s.staleReason } : {}) });
  });
}

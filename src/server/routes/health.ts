// Liveness and readiness: open without a token, they say nothing about the host.
import type { FastifyInstance } from 'fastify';
import type { Agent } from '../../agent/loop.js';
import { errorSchema } from '../errors.js';

const statusSchema = {
  type: 'object', additionalProperties: true,
  properties: { status: { type: 'string' }, stale: { type: 'boolean' }, lastCollectionAgeMs: { type: 'integer' } },
} as const;

// Collectors without which a state says "no sockets, no traffic" whatever the truth (e.g. permission denied on
// /proc/<pid>/ns/net under a user namespace or an LSM the capability check cannot see).
const SIGHT = new Set(['netns', 'sockets']);

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
    schema: {
      summary: 'Readiness: 200 once a state is there to serve (even when stale, so clients keep the last state); 503 before, or while the namespaces or sockets cannot be read (the state would show no traffic), with the reason',
      response: { 200: statusSchema, 503: statusSchema },
    },
  }, async (_req, reply) => {
    const state = agent.current();
    const s = agent.status();
    if (!state) return reply.code(503).send({ status: 'starting', stale: s.stale, ...(s.staleReason ? { reason: s.staleReason } : {}) });
    const blind = state.runs.find((r) => !r.ok && SIGHT.has(r.name));
    if (blind) return reply.code(503).send({ status: 'not_ready', stale: s.stale, reason: `${blind.name}: ${blind.error ?? 'failed'}` });
    return reply.code(200).send({ status: 'ready', stale: s.stale, ...(s.staleReason ? { reason: s.staleReason } : {}) });
  });
}

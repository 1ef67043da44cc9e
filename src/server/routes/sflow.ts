// `GET /api/v1/sflow`: what the sFlow receiver heard — per agent datagrams, samples, loss and sampling rates, and
// the containers, hosts and interfaces their counter samples describe.
import type { FastifyInstance } from 'fastify';
import type { Agent } from '../../agent/loop.js';
import { toSflowReport } from '../../core/report/sflow.js';
import { errorSchema, HttpError, notReady } from '../errors.js';
import { sendJson } from './api.js';

const list = { type: 'array', items: { type: 'object', additionalProperties: true } } as const;

/** Registers the sFlow status route. */
export function registerSflowRoutes(app: FastifyInstance, agent: Agent): void {
  const cache = new WeakMap<object, string>();
  app.get('/api/v1/sflow', {
    schema: {
      summary: 'sFlow agents (datagrams, samples, sequence-gap loss, last seen, sampling rates) and the container, host and interface counters they report; 404 without --sflow',
      response: {
        200: {
          type: 'object', required: ['collectedAt', 'receiver', 'agents', 'containers', 'hosts', 'interfaces'],
          properties: {
            collectedAt: { type: 'string', format: 'date-time' },
            receiver: { type: 'object', additionalProperties: true },
            agents: list, containers: list, hosts: list, interfaces: list,
          },
        },
        401: errorSchema, 404: errorSchema, 503: errorSchema,
      },
    },
  }, async (_req, reply) => {
    const s = agent.current();
    if (!s) throw notReady();
    const run = s.runs.find((r) => r.name === 'sflow');
    if (!run) throw new HttpError(404, 'sflow_disabled', 'this agent does not receive sFlow (start it with --sflow [HOST:]PORT)');
    const part = s.snapshot.sflow;
    if (!part) throw new HttpError(503, 'sflow_unavailable', `the sFlow collector failed in the last collection: ${run.error ?? 'no part returned'}`);
    let text = cache.get(part);
    if (text === undefined) {
      text = JSON.stringify(toSflowReport(part, s.snapshot.containers));
      cache.set(part, text);
    }
    return sendJson(reply, text);
  });
}

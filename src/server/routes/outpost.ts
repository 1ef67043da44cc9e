// GET /: outpost's API for clients that poll it; browsers (Accept: text/html) get the web UI instead.
import type { FastifyInstance } from 'fastify';
import type { Agent } from '../../agent/loop.js';
import { errorSchema, notReady } from '../errors.js';
import type { Views } from '../views.js';
import { sendJson } from './api.js';

const endpoints = { type: 'array', items: { type: 'object', properties: { address: { type: 'string' }, port: { type: 'integer' } } } } as const;

/** Registers GET /. `html` is the page browsers get. */
export function registerOutpostRoute(app: FastifyInstance, agent: Agent, views: Views, html: () => string): void {
  app.get('/', {
    schema: {
      summary: 'Drop-in for outpost\'s API (github.com/PabloL007/outpost): containers with listening and established endpoints. Browsers (Accept: text/html) get the web UI.',
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object', required: ['name', 'artefact', 'listening', 'established'],
            properties: { name: { type: 'string' }, artefact: { type: 'string' }, listening: endpoints, established: endpoints },
          },
        },
        401: errorSchema, 503: errorSchema,
      },
    },
  }, async (req, reply) => {
    // The answer depends on Accept: caches (and browsers' back button) must not serve one for the other.
    reply.header('vary', 'Accept');
    if (/\btext\/html\b/.test(req.headers.accept ?? '')) return reply.type('text/html; charset=utf-8').send(html());
    const state = agent.current();
    if (!state) throw notReady();
    return sendJson(reply, views.outpost(state), agent.status().stale);
  });
}

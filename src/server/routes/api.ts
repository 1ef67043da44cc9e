// The JSON API under /api/v1: containers, sockets (the `ps` filters), topology (live or from history),
// traffic history, what history covers and the agent's status. Read-only: every route is a GET.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { EbpfStatus } from '../../core/capture/ebpf-event.js';
import type { ExportStatusSource } from '../metrics-export.js';
import type { Agent } from '../../agent/loop.js';
import { parseInstant } from '../../core/duration.js';
import { findHost, topologyOfHost } from '../../core/fleet/host-filter.js';
import type { Topology } from '../../core/model/topology.js';
import { MAX_GLOB_LENGTH, MAX_GLOBS } from '../../core/glob.js';
import type { SocketState } from '../../core/model/socket.js';
import { parseStateFilter, type PsFilter } from '../../core/report/ps.js';
import { errorSchema, HttpError, notReady } from '../errors.js';
import type { LiveStats } from '../live.js';
import { freshness, type Views } from '../views.js';

// Longest time parameter: an RFC 3339 date with nanoseconds and an offset is 35 characters.
const TIME_MAX = 64;

const errors = { 400: errorSchema, 401: errorSchema, 404: errorSchema, 503: errorSchema } as const;

const freshnessProps = {
  stale: { type: 'boolean', description: 'true while Docker is away: the last state collected before' },
  staleSince: { type: 'string', format: 'date-time' },
} as const;

/** JSON schema of the topology document (nodes and edges summarised; see core/model/topology.ts). */
export const topologySchema = {
  type: 'object',
  required: ['takenAt', 'hostname', 'warnings', 'nodes', 'edges'],
  properties: {
    takenAt: { type: 'string', format: 'date-time' },
    hostname: { type: 'string' },
    warnings: { type: 'array', items: { type: 'string' } },
    nodes: {
      type: 'array',
      items: {
        type: 'object', required: ['kind', 'id', 'name'], additionalProperties: true,
        properties: { kind: { type: 'string', enum: ['container', 'process', 'external', 'host'] }, id: { type: 'string' }, name: { type: 'string' } },
      },
    },
    edges: {
      type: 'array',
      items: {
        type: 'object', required: ['id', 'from', 'to', 'protocol', 'port', 'connections'], additionalProperties: true,
        properties: {
          id: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, protocol: { type: 'string', enum: ['tcp', 'udp'] },
          port: { type: 'integer' }, connections: { type: 'integer' },
          states: { type: 'object', additionalProperties: { type: 'integer' } },
          via: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    ...freshnessProps,
  },
} as const;

const containerSchema = {
  type: 'object', additionalProperties: true,
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, image: { type: 'string' }, networkMode: { type: 'string' },
    pid: { type: 'integer' }, netns: { type: 'integer' }, ownsNetns: { type: 'boolean' },
    ports: { type: 'array', items: { type: 'object', additionalProperties: true } },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

const reportProps = {
  takenAt: { type: 'string', format: 'date-time' },
  host: { type: 'object', properties: { hostname: { type: 'string' } } },
  warnings: { type: 'array', items: { type: 'string' } },
  ...freshnessProps,
} as const;

/** Sends a cached JSON text as is (no re-serialisation). */
export function sendJson(reply: FastifyReply, text: string, stale = false): FastifyReply {
  if (stale) void reply.header('portolan-stale', 'true');
  return reply.type('application/json; charset=utf-8').send(text);
}

/** Parses a time parameter, or answers 400 naming it. */
export function instantParam(name: string, text: string): number {
  try {
    return parseInstant(text, Date.now());
  } catch (err) {
    throw new HttpError(400, 'bad_parameter', `${name}: ${(err as Error).message}`);
  }
}

interface SocketsQuery { container?: string[]; state?: string[]; protocol?: 'tcp' | 'udp'; listening?: boolean; host?: string }

/** The `host` query parameter: a fleet host's id or name (on one agent, its hostname). */
export const hostParam = { type: 'string', minLength: 1, maxLength: 256, description: 'in a fleet (a hub): only what concerns this host, by id or name; on one agent, its hostname (everything)' } as const;

/** The host id `?host=` names in a topology (undefined: everything), or 404 naming the hosts there are. */
export function hostFilter(t: Topology, key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  const h = findHost(t, key);
  if (h === 'unknown') {
    const known = t.hosts ? t.hosts.slice(0, 20).map((x) => x.name).join(', ') + (t.hosts.length > 20 ? ', …' : '') : t.hostname;
    throw new HttpError(404, 'unknown_host', `no host ${JSON.stringify(key.slice(0, 256))} here (hosts: ${known || 'none'})`);
  }
  return h.id;
}

/**
 * The container `key` (id or name) names in a fleet topology, on host `hostId` when given: by id first; a name on
 * several hosts is a 409 naming them (ask with ?host=), a name on none of the asked host a 404; a key that names no
 * container is taken as an id (history may know a container gone from the topology).
 */
export function fleetContainer(t: Topology, key: string, hostId: string | undefined): { id: string; host?: { id: string; hostname: string } } {
  const hostOf = (id: string | undefined) => {
    const h = t.hosts?.find((x) => x.id === id);
    return h ? { host: { id: h.id, hostname: h.name } } : {};
  };
  const containers = t.nodes.filter((n) => n.kind === 'container' && (hostId === undefined || n.host === hostId));
  const byId = containers.find((n) => n.id === key);
  if (byId) return { id: byId.id, ...hostOf(byId.host) };
  const named = containers.filter((n) => n.name === key);
  const [first] = named;
  if (named.length === 1 && first) return { id: first.id, ...hostOf(first.host) };
  if (named.length > 1) {
    const hosts = named.map((n) => t.hosts?.find((h) => h.id === n.host)?.name ?? n.host ?? '?');
    throw new HttpError(409, 'ambiguous_container', `container ${JSON.stringify(key.slice(0, 256))} runs on ${named.length} hosts (${hosts.slice(0, 20).join(', ')}${hosts.length > 20 ? ', …' : ''}): pick one with ?host= or ask by id`);
  }
  if (hostId !== undefined) throw new HttpError(404, 'not_found', `no container ${JSON.stringify(key.slice(0, 256))} on host ${JSON.stringify(t.hosts?.find((h) => h.id === hostId)?.name ?? hostId)}`);
  return { id: key };
}

/** Registers the /api/v1 JSON routes. */
export function registerApiRoutes(app: FastifyInstance, agent: Agent, views: Views, extra: {
  live?: () => LiveStats; export?: ExportStatusSource; dockerHost?: { readonly hostname: string; readonly ips: readonly string[] }; ebpf?: () => EbpfStatus;
} = {}): void {
  const state = () => {
    const s = agent.current();
    if (!s) throw notReady();
    return s;
  };

  app.get<{ Querystring: { host?: string } }>('/api/v1/containers', {
    schema: {
      summary: 'Running containers with their traffic, socket counts and the figures `portolan top` shows',
      querystring: { type: 'object', additionalProperties: false, properties: { host: hostParam } },
      response: { 200: { type: 'object', properties: { ...reportProps, containers: { type: 'array', items: containerSchema } } }, ...errors },
    },
  }, async (req, reply) => {
    const f = freshness(agent.status());
    const s = state();
    return sendJson(reply, views.containers(s, f, hostFilter(s.topology, req.query.host)), f.stale);
  });

  app.get<{ Querystring: SocketsQuery }>('/api/v1/sockets', {
    schema: {
      summary: 'Every container\'s sockets: the `portolan ps --json` document, with the same filters',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          container: { type: 'array', maxItems: MAX_GLOBS, items: { type: 'string', maxLength: MAX_GLOB_LENGTH }, description: `name or id glob (* ?), repeatable (at most ${MAX_GLOBS}, each at most ${MAX_GLOB_LENGTH} characters)` },
          state: { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 256 }, description: 'socket state (listen, established, time-wait, unconn…), repeatable or comma-separated' },
          protocol: { type: 'string', enum: ['tcp', 'udp'] },
          listening: { type: 'boolean', description: 'only listening TCP and unconnected UDP sockets' },
          host: hostParam,
        },
      },
      response: { 200: { type: 'object', properties: { ...reportProps, containers: { type: 'array', items: containerSchema } } }, ...errors },
    },
  }, async (req, reply) => {
    let states: SocketState[] | undefined;
    try {
      states = req.query.state?.flatMap((s) => s.split(',')).filter((s) => s !== '').map(parseStateFilter);
    } catch (err) {
      throw new HttpError(400, 'bad_parameter', `state: ${(err as Error).message}`);
    }
    const filter: PsFilter = {
      ...(req.query.container && req.query.container.length > 0 ? { containers: req.query.container } : {}),
      ...(states && states.length > 0 ? { states } : {}),
      ...(req.query.protocol ? { protocol: req.query.protocol } : {}),
      ...(req.query.listening ? { listening: true } : {}),
    };
    const f = freshness(agent.status());
    const s = state();
    return sendJson(reply, views.sockets(s, f, filter, hostFilter(s.topology, req.query.host)), f.stale);
  });

  app.get<{ Querystring: { at?: string; host?: string } }>('/api/v1/topology', {
    schema: {
      summary: 'Who talks to whom: nodes and edges now, or at a past time from history',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { at: { type: 'string', maxLength: TIME_MAX, description: 'ISO 8601 date, unix seconds, or relative (-5m): answer from history' }, host: hostParam },
      },
      response: { 200: topologySchema, ...errors },
    },
  }, async (req, reply) => {
    if (req.query.at !== undefined) {
      const at = instantParam('at', req.query.at);
      if (!agent.history) throw new HttpError(404, 'no_history', 'this agent keeps no history (started with --no-history)');
      const broken = agent.history.brokenAt(at);
      if (broken) {
        throw new HttpError(404, 'history_broken', `no history at ${new Date(at).toISOString()}: history could not be written from ` +
          `${new Date(broken.fromMs).toISOString()} ${broken.toMs === null ? 'until now (writes still fail)' : `to ${new Date(broken.toMs).toISOString()}`} ` +
          `(${broken.reason}); what happened then is unknown`);
      }
      const t = agent.history.topologyAt(at);
      if (!t) {
        const r = agent.history.range();
        throw new HttpError(404, 'no_history', `no history at ${new Date(at).toISOString()}: ` +
          (r ? `portolan was not collecting then (history covers ${new Date(r.firstMs).toISOString()} to ${new Date(r.lastMs).toISOString()}, with gaps while it was stopped)` : 'history is empty'));
      }
      const host = hostFilter(t, req.query.host);
      return sendJson(reply, JSON.stringify({ ...(host !== undefined ? topologyOfHost(t, host) : t), stale: false }));
    }
    const f = freshness(agent.status());
    const s = state();
    return sendJson(reply, views.topology(s, f, hostFilter(s.topology, req.query.host)), f.stale);
  });

  app.get<{ Querystring: { container: string; since?: string; until?: string; host?: string } }>('/api/v1/traffic', {
    schema: {
      summary: 'Stored traffic samples of one container (interface counters and rates), from history. On a hub, a name on several hosts is a 409 naming them: pick one with ?host= (or ask by id)',
      querystring: {
        type: 'object', additionalProperties: false, required: ['container'],
        properties: {
          container: { type: 'string', maxLength: 256, description: 'container name or full id' },
          since: { type: 'string', maxLength: TIME_MAX, description: 'start (default -1h)' },
          until: { type: 'string', maxLength: TIME_MAX, description: 'end (default now)' },
          host: hostParam,
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            containerId: { type: 'string' },
            host: { type: 'object', description: 'in a fleet (a hub): the container\'s host', properties: { id: { type: 'string' }, hostname: { type: 'string' } } },
            samples: { type: 'array', items: { type: 'object', additionalProperties: true, properties: { atMs: { type: 'integer' }, rxBytes: { type: 'integer' }, txBytes: { type: 'integer' } } } },
          },
        },
        ...errors, 409: errorSchema,
      },
    },
  }, async (req, reply) => {
    if (!agent.history) throw new HttpError(404, 'no_history', 'this agent keeps no history (started with --no-history)');
    const since = instantParam('since', req.query.since ?? '-1h');
    const until = instantParam('until', req.query.until ?? String(Date.now() / 1000));
    const s = agent.current();
    if (req.query.host !== undefined && !s) throw notReady();
    if (s?.topology.hosts) {
      const c = fleetContainer(s.topology, req.query.container, hostFilter(s.topology, req.query.host));
      return sendJson(reply, JSON.stringify({ containerId: c.id, ...(c.host ? { host: c.host } : {}), samples: agent.history.traffic(c.id, since, until) }));
    }
    const named = s?.snapshot.containers.find((c) => c.name === req.query.container);
    const id = named?.id ?? req.query.container;
    return sendJson(reply, JSON.stringify({ containerId: id, samples: agent.history.traffic(id, since, until) }));
  });

  app.get<{ Querystring: { since?: string; until?: string; limit?: number } }>('/api/v1/history', {
    schema: {
      summary: 'What history covers: its first and last instant, the runs (times portolan was collecting) and the instants the topology changed at, for stepping through with ?at=',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          since: { type: 'string', maxLength: TIME_MAX, description: 'start (default: the beginning of history)' },
          until: { type: 'string', maxLength: TIME_MAX, description: 'end (default now)' },
          limit: { type: 'integer', minimum: 1, maximum: 100_000, default: 10_000, description: 'most change instants listed (the earliest)' },
        },
      },
      response: {
        200: {
          type: 'object', required: ['firstMs', 'lastMs', 'runs', 'changes', 'truncated'],
          properties: {
            firstMs: { type: 'integer' }, lastMs: { type: 'integer' },
            runs: { type: 'array', items: { type: 'object', required: ['startMs', 'lastMs'], properties: { startMs: { type: 'integer' }, lastMs: { type: 'integer' } } } },
            changes: { type: 'array', items: { type: 'integer' }, description: 'ms since the epoch, ascending' },
            truncated: { type: 'boolean', description: 'true when more changes than limit fall in the range' },
            broken: {
              type: 'array', description: 'spans history could not be written (e.g. disk full): from the last tick written to the first written again (null: still failing)',
              items: { type: 'object', required: ['fromMs', 'toMs', 'reason'], properties: { fromMs: { type: 'integer' }, toMs: { type: ['integer', 'null'] }, reason: { type: 'string' } } },
            },
          },
        },
        ...errors,
      },
    },
  }, async (req) => {
    if (!agent.history) throw new HttpError(404, 'no_history', 'this agent keeps no history (started with --no-history)');
    const since = req.query.since !== undefined ? instantParam('since', req.query.since) : 0;
    const until = req.query.until !== undefined ? instantParam('until', req.query.until) : Date.now();
    if (since > until) throw new HttpError(400, 'bad_parameter', 'since: after until');
    const range = agent.history.range();
    if (!range) throw new HttpError(404, 'no_history', 'history is empty');
    const limit = req.query.limit ?? 10_000;
    // One more than asked tells whether the list was cut.
    const changes = agent.history.changes(since, until, limit + 1);
    return {
      firstMs: range.firstMs, lastMs: range.lastMs, runs: agent.history.runs(since, until), changes: changes.slice(0, limit), truncated: changes.length > limit,
      broken: agent.history.brokenSpans(since, until),
    };
  });

  app.get('/api/v1/status', {
    schema: {
      summary: 'How the agent is doing: interval, staleness, Docker events stream, collections, history',
      response: { 200: { type: 'object', additionalProperties: true, properties: { stale: { type: 'boolean' }, intervalMs: { type: 'integer' } } }, ...errors },
    },
  }, async () => {
    const s = agent.current();
    const range = agent.history?.range();
    return {
      ...agent.status(),
      ...(s ? { takenAt: s.snapshot.takenAt, seq: s.seq, runs: s.runs } : {}),
      history: agent.history ? {
        file: agent.history.file, sizeBytes: agent.history.sizeBytes(), ...(range ? { firstMs: range.firstMs, lastMs: range.lastMs } : {}),
        // ok, writeFailures, lastError, brokenSinceMs: a full disk shows here, not only in the log.
        ...agent.history.health(),
      } : null,
      ...(extra.live ? { live: extra.live() } : {}),
      ...(extra.export ? { export: { sinks: extra.export.status(), filtered: extra.export.filtered() } } : {}),
      ...(extra.dockerHost ? { dockerHost: extra.dockerHost } : {}),
      ...(extra.ebpf ? { ebpf: extra.ebpf() } : {}),
    };
  });
}

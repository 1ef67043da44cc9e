// Server-Sent Events: the topology stream (a full topology, then diffs) and the change events stream.
//
// Memory is bounded across all clients, not per client: every client may always have a small floor
// (`minShareBytes`) buffered, and more only while all clients together are under a global budget, so the
// agent holds at most budget + clients × (floor + one frame): 500 clients that read slowly cost about the
// budget, not 500 × a replay.
// - The events stream is read from the journal through a cursor: a client is written to while it is under
//   its share and resumes on 'drain', so a replay of the whole journal reaches a client that reads, however
//   large, and costs nothing for one that does not. A client whose cursor falls out of the journal (it
//   could not keep up with `journalCapacity` events) is dropped; it reconnects with Last-Event-ID and is told
//   of the gap.
// - The topology stream must send each diff whole and in order: a client over the floor while the budget is
//   spent, or over `maxBufferedBytes`, is dropped (it reconnects and starts again from a full topology).
// - A client that took no bytes for two keep-alive periods while data waited is dropped.
// Dropping destroys the socket: ending it would keep what is buffered until the peer reads it, maybe never.
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Agent } from '../agent/loop.js';
import { CHANGE_EVENT_TYPES } from '../core/report/changes.js';
import { eventOnHost, topologyOfHost } from '../core/fleet/host-filter.js';
import { diffTopology, isEmptyDiff } from '../core/topology/diff-topology.js';
import { hostFilter, hostParam } from './routes/api.js';
import { errorSchema, HttpError, notReady } from './errors.js';
import { createEventJournal, parseEventId } from './journal.js';
import { freshness, type Views } from './views.js';

/** Options of the live routes. */
export interface LiveOptions {
  /** Comment line sent this often so proxies keep the connection; also the stall check's period (default 15 s). */
  readonly keepAliveMs?: number;
  /** Most bytes one client may have buffered, budget or not (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** Bytes all stream clients together may have buffered beyond their floors (default 32 MiB). */
  readonly budgetBytes?: number;
  /**
   * What every client may have buffered whatever the budget (default 32 KiB), so each makes progress; at
   * least the socket's high-water mark (16 KiB), so a client stopped there is always woken by 'drain'.
   */
  readonly minShareBytes?: number;
  /** Most stream clients at once, both streams together (default 1,000); beyond, a 503. */
  readonly maxClients?: number;
  /** Change events kept for clients that reconnect with `Last-Event-ID` (default 10,000). */
  readonly journalCapacity?: number;
}

/** What the live routes are doing, for /api/v1/status and /metrics. */
export interface LiveStats {
  readonly clients: { readonly topology: number; readonly events: number };
  /** Bytes written to clients and not yet taken by them (kernel buffers aside). */
  readonly bufferedBytes: number;
  readonly budgetBytes: number;
  /** Clients dropped since start, by reason: `slow` (over its share or cap), `behind` (fell out of the journal), `stalled`, `full` (refused: too many clients). */
  readonly dropped: Readonly<Record<DropReason, number>>;
}

/** Why a client was dropped or refused. */
export type DropReason = 'slow' | 'behind' | 'stalled' | 'full';

/** The live routes' handle: their statistics. */
export interface LiveRoutes {
  stats(): LiveStats;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // nginx and friends: do not buffer the stream.
  'x-accel-buffering': 'no',
} as const;

const KEEP_ALIVE = Buffer.from(': keep-alive\n\n');
// Bytes the events scheduler writes per turn of the event loop, and what skipping an entry counts for.
const TURN_BYTES = 256 * 1024;
const SKIP_COST = 64;

/** The first document of the topology stream: the whole topology, or only the edges between fleet hosts. */
type StreamEdges = 'all' | 'cross-host';

/** An events client and where it is in the journal. */
interface EventsEntry {
  readonly client: Client;
  cursor: number;
  readonly wanted: ReadonlySet<string>;
  /** `?host=`: only events of this fleet host. */
  readonly host?: string;
}

/** One Server-Sent Events frame. */
export function sseFrame(event: string, data: unknown, id?: number | string): string {
  return `event: ${event}\n${id !== undefined ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}

/** An open stream connection. */
interface Client {
  readonly kind: 'topology' | 'events';
  readonly raw: ServerResponse;
  closed: boolean;
  /** socket.bytesWritten at the last stall check, and how many checks in a row saw no progress. */
  lastWritten: number;
  idleChecks: number;
  close(reason?: DropReason): void;
}

/** Registers /api/v1/topology/stream and /api/v1/events; open streams are ended when the app closes. */
export function registerLiveRoutes(app: FastifyInstance, agent: Agent, views: Views, options: LiveOptions = {}): LiveRoutes {
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const budget = options.budgetBytes ?? 32 * 1024 * 1024;
  const minShare = Math.max(16 * 1024, options.minShareBytes ?? 32 * 1024);
  const maxClients = options.maxClients ?? 1000;
  const clients = new Set<Client>();
  /** Topology clients, each with the fleet host it asked for (`?host=`; undefined: everything). */
  const topologyClients = new Map<Client, string | undefined>();
  // The state the last diffs were made to: a host's diff is made between its parts of that state and the next.
  let lastState = agent.current();
  const eventClients = new Set<EventsEntry>();
  const dropped: Record<DropReason, number> = { slow: 0, behind: 0, stalled: 0, full: 0 };
  // The sum of all clients' buffers, computed at most once per turn of the event loop (pumping 500 clients
  // must not cost 500²) and kept up to date by the writes of that turn.
  let cachedTotal: number | undefined;
  const totalBuffered = () => {
    if (cachedTotal === undefined) {
      let n = 0;
      for (const c of clients) n += c.raw.writableLength;
      cachedTotal = n;
      setImmediate(() => { cachedTotal = undefined; });
    }
    return cachedTotal;
  };
  // Frames are Buffers made once and shared: a write queues a reference, not a copy per client.
  const write = (c: Client, frame: Buffer) => {
    c.raw.write(frame);
    if (cachedTotal !== undefined) cachedTotal += frame.length;
  };
  /** Whether `c` may be written to now: under its floor always, up to the cap while the budget has room. */
  const mayWrite = (c: Client) => {
    const buffered = c.raw.writableLength;
    return buffered < minShare || (buffered < maxBuffered && totalBuffered() < budget);
  };

  // 500 clients dropped at once are one warning, not 500: the first drop of a kind in a minute is logged, the
  // rest at debug (all are counted in portolan_live_clients_dropped_total).
  const lastDropLog = new Map<DropReason, number>();
  const dropLog = (reason: DropReason, fields: Record<string, unknown>, msg: string) => {
    const now = Date.now();
    if (now - (lastDropLog.get(reason) ?? -Infinity) >= 60_000) {
      lastDropLog.set(reason, now);
      app.log.warn({ ...fields, reason }, `${msg} (further ones within a minute at debug; see portolan_live_clients_dropped_total)`);
    } else app.log.debug({ ...fields, reason }, msg);
  };

  // One journal for all clients, fed from the agent whether or not anyone listens, so a client that was
  // away can be given what it missed.
  const journal = createEventJournal(options.journalCapacity ?? 10_000);

  // Events clients are written to by one scheduler, round-robin, at most TURN_BYTES per turn of the event
  // loop: the kernel takes ~4 MB into the buffers of every loopback client that does not read (tcp_wmem), so
  // 500 clients replaying at once are ~2 GB of copying; done in one go it blocked the loop for seconds, in
  // slices it leaves collections, requests and timers their turn.
  const waiting = new Set<EventsEntry>();
  let scheduled = false;
  const schedule = (e: EventsEntry) => {
    waiting.add(e);
    if (!scheduled) {
      scheduled = true;
      setImmediate(runPumps);
    }
  };
  function runPumps(): void {
    scheduled = false;
    let budget = TURN_BYTES;
    for (const e of waiting) {
      waiting.delete(e);
      const { cost, more } = pump(e, Math.min(minShare, budget));
      // More to write and room for it: back at the end of the line.
      if (more) waiting.add(e);
      budget -= cost;
      if (budget <= 0) break;
    }
    if (waiting.size > 0 && !scheduled) {
      scheduled = true;
      setImmediate(runPumps);
    }
  }

  /**
   * Writes `e` its next frames, at most about `maxBytes` (entries of other types skipped count a little),
   * corked into one writev. Returns the work done and whether it stopped for the limit with more to send.
   */
  function pump(e: EventsEntry, maxBytes: number): { cost: number; more: boolean } {
    const { client, wanted } = e;
    let cost = 0;
    client.raw.cork();
    try {
      while (!client.closed && e.cursor < journal.next()) {
        if (e.cursor < journal.first()) {
          dropLog('behind', { behind: journal.next() - e.cursor }, 'events client fell behind the journal; disconnecting it');
          client.close('behind');
          return { cost, more: false };
        }
        // Over its floor and the budget spent: wait for 'drain' (write() returned false at the high-water
        // mark, below the floor, so it will come) or the next append.
        if (!mayWrite(client)) return { cost, more: false };
        if (cost >= maxBytes) return { cost, more: true };
        const entry = journal.at(e.cursor++);
        cost += SKIP_COST;
        if (entry && wanted.has(entry.event.type) && (e.host === undefined || eventOnHost(entry.event, e.host))) {
          write(client, entry.frame);
          cost += entry.frame.length;
        }
      }
      return { cost, more: false };
    } finally {
      client.raw.uncork();
    }
  }

  const unsubscribe = agent.subscribe((u) => {
    let frame: Buffer | undefined;
    if (u.kind === 'state' && u.diff) frame = Buffer.from(sseFrame('diff', u.diff, u.state.seq));
    else if (u.kind === 'status') frame = Buffer.from(sseFrame('status', freshness(u.status)));
    // One host's clients get the diff of that host's part (made once per host and state; none when it did not change).
    let hostFrames: Map<string, Buffer | undefined> | undefined;
    const prev = lastState;
    if (u.kind === 'state') lastState = u.state;
    const frameFor = (host: string | undefined): Buffer | undefined => {
      if (host === undefined || u.kind !== 'state') return frame;
      if (!u.diff || !prev) return undefined;
      hostFrames ??= new Map();
      if (!hostFrames.has(host)) {
        const d = diffTopology(topologyOfHost(prev.topology, host), topologyOfHost(u.state.topology, host));
        hostFrames.set(host, isEmptyDiff(d) ? undefined : Buffer.from(sseFrame('diff', d, u.state.seq)));
      }
      return hostFrames.get(host);
    };
    if (frame !== undefined) {
      for (const [c, host] of topologyClients) {
        const f = frameFor(host);
        if (f === undefined) continue;
        if (mayWrite(c)) write(c, f);
        else {
          dropLog('slow', { buffered: c.raw.writableLength }, 'topology client too slow; disconnecting it');
          c.close('slow');
        }
      }
    }
    // Collections' change events and capture's connection events (between collections) share the one journal.
    if ((u.kind === 'state' || u.kind === 'events') && u.events.length > 0) {
      journal.append(u.events);
      for (const e of eventClients) schedule(e);
    }
  });

  // Keep-alives, and the stall check: data waiting, and the socket took nothing since the last check.
  const ticker = setInterval(() => {
    for (const c of clients) {
      const written = c.raw.socket?.bytesWritten ?? 0;
      if (c.raw.writableLength > 0 && written === c.lastWritten) {
        if (++c.idleChecks >= 2) {
          dropLog('stalled', { buffered: c.raw.writableLength }, 'stream client took nothing for two keep-alive periods; disconnecting it');
          c.close('stalled');
          continue;
        }
      } else c.idleChecks = 0;
      c.lastWritten = written;
      if (c.raw.writableLength < minShare) write(c, KEEP_ALIVE);
    }
    // A client stopped under its share without write() asking for a drain (a share below the socket's
    // high-water mark) is resumed here.
    for (const e of eventClients) schedule(e);
  }, keepAliveMs);
  ticker.unref();

  app.addHook('preClose', async () => {
    unsubscribe();
    clearInterval(ticker);
    for (const c of [...clients]) c.close();
  });

  /** Answers HEAD with the stream's headers only (a hijacked GET would hold the connection forever). */
  function headOnly(req: FastifyRequest, reply: FastifyReply): boolean {
    if (req.method !== 'HEAD') return false;
    reply.hijack();
    const { connection: _keepAlive, ...headers } = SSE_HEADERS;
    reply.raw.writeHead(200, headers);
    reply.raw.end();
    return true;
  }

  function open(kind: Client['kind'], req: FastifyRequest, reply: FastifyReply, onClose: () => void): Client {
    if (clients.size >= maxClients) {
      dropped.full++;
      throw new HttpError(503, 'too_many_clients', `${maxClients} live clients are connected already; retry later`);
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, SSE_HEADERS);
    const client: Client = {
      kind, raw, closed: false, lastWritten: 0, idleChecks: 0,
      close(reason) {
        if (client.closed) return;
        client.closed = true;
        clients.delete(client);
        onClose();
        if (reason) {
          dropped[reason]++;
          raw.destroy();
        } else raw.end();
      },
    };
    clients.add(client);
    req.raw.on('close', () => client.close());
    // Tell EventSource how soon to come back.
    raw.write('retry: 2000\n\n');
    return client;
  }

  // The full-topology frame of the current state, as shared bytes (a new client costs no serialisation).
  // One per kind of first document (whole, or `?edges=cross-host`) and fleet host (`?host=`).
  const topologyCache = new Map<string, { state: unknown; key: string; frame: Buffer }>();
  function topologyFrame(state: NonNullable<ReturnType<Agent['current']>>, f: ReturnType<typeof freshness>, edges: StreamEdges, host: string | undefined): Buffer {
    const key = `${f.stale}|${f.staleSince ?? ''}`;
    const kind = `${edges}|${host ?? ''}`;
    let cached = topologyCache.get(kind);
    if (cached?.state !== state || cached.key !== key) {
      const doc = edges === 'cross-host' ? views.crossHostTopology(state, f, host) : views.topology(state, f, host);
      cached = { state, key, frame: Buffer.from(`event: topology\nid: ${state.seq}\ndata: ${doc}\n\n`) };
      // Bounded: a state's frames only (a new state makes every kind again).
      if (topologyCache.size > 64) topologyCache.clear();
      topologyCache.set(kind, cached);
    }
    return cached.frame;
  }

  const sse = { produces: ['text/event-stream'] };

  app.get<{ Querystring: { host?: string; edges?: StreamEdges } }>('/api/v1/topology/stream', {
    schema: {
      ...sse,
      summary: 'Server-Sent Events: `topology` (the full topology) first, then `diff` events (nodes and edges added, updated, removed) and `status` events when staleness changes; ' +
        'with `?host=`, that fleet host\'s part (as GET /api/v1/topology?host=) and the diffs of that part. ' +
        'With `edges=cross-host`, the first `topology` of a fleet has every node but only the edges between two hosts, and `partial: {edges, omittedEdges}` (what a map with its hosts folded draws; ' +
        'GET /api/v1/topology has the rest); the diffs are those of the whole topology (or host part)',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          host: hostParam,
          edges: { type: 'string', enum: ['all', 'cross-host'], description: 'the first document\'s edges: all (default) or only those between two fleet hosts' },
        },
      },
      response: { 200: { type: 'string', description: 'text/event-stream' }, 400: errorSchema, 401: errorSchema, 404: errorSchema, 503: errorSchema },
    },
  }, async (req, reply) => {
    const state = agent.current();
    if (!state) throw notReady();
    const host = hostFilter(state.topology, req.query.host);
    if (headOnly(req, reply)) return;
    const client = open('topology', req, reply, () => topologyClients.delete(client));
    topologyClients.set(client, host);
    // The document GET /api/v1/topology serves, serialised once per state and encoded once for every client.
    reply.raw.write(topologyFrame(state, freshness(agent.status()), req.query.edges ?? 'all', host));
  });

  app.get<{ Querystring: { type?: string[]; lastEventId?: string; host?: string } }>('/api/v1/events', {
    schema: {
      ...sse,
      summary: 'Server-Sent Events of changes: connection.opened, connection.closed, container.started, container.stopped (event name = type). ' +
        'Each has an id; a client reconnecting with `Last-Event-ID` (EventSource does so by itself) first gets the events it missed, or a `gap` event when they are no longer kept',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          type: { type: 'array', maxItems: 16, items: { type: 'string', enum: [...CHANGE_EVENT_TYPES] }, description: 'only these event types (repeatable)' },
          lastEventId: { type: 'string', maxLength: 64, description: 'resume after this event id (as the Last-Event-ID header; for clients that cannot set headers)' },
          host: hostParam,
        },
      },
      response: { 200: { type: 'string', description: 'text/event-stream' }, 400: errorSchema, 401: errorSchema, 503: errorSchema },
    },
  }, async (req, reply) => {
    const wanted = new Set<string>(req.query.type && req.query.type.length > 0 ? req.query.type : CHANGE_EVENT_TYPES);
    if ([...wanted].some((t) => !(CHANGE_EVENT_TYPES as readonly string[]).includes(t))) throw new HttpError(400, 'bad_parameter', 'unknown event type');
    const header = req.headers['last-event-id'];
    const lastEventId = req.query.lastEventId ?? (Array.isArray(header) ? header[0] : header);
    if (lastEventId !== undefined && parseEventId(lastEventId) === undefined) {
      throw new HttpError(400, 'bad_parameter', `Last-Event-ID: ${JSON.stringify(lastEventId.slice(0, 64))} is not an event id of this stream (ids look like "mi3x2k-42")`);
    }
    const current = agent.current();
    const host = req.query.host !== undefined && current ? hostFilter(current.topology, req.query.host) : undefined;
    if (req.query.host !== undefined && !current) throw notReady();
    if (headOnly(req, reply)) return;
    const resume = lastEventId !== undefined ? journal.resume(lastEventId) : undefined;
    const client = open('events', req, reply, () => {
      eventClients.delete(entry);
      waiting.delete(entry);
    });
    const entry = { client, cursor: resume?.from ?? journal.next(), wanted, ...(host !== undefined ? { host } : {}) };
    eventClients.add(entry);
    // An opening event so clients see the stream is live before the first change.
    reply.raw.write(sseFrame('ready', { at: new Date().toISOString() }));
    if (resume?.kind === 'gap') reply.raw.write(sseFrame('gap', { lastEventId, reason: resume.reason }));
    client.raw.on('drain', () => schedule(entry));
    schedule(entry);
  });

  return {
    stats: () => ({
      clients: { topology: topologyClients.size, events: eventClients.size },
      bufferedBytes: totalBuffered(),
      budgetBytes: budget,
      dropped: { ...dropped },
    }),
  };
}

// Server-Sent Events: the topology stream (a full topology, then diffs) and the change events stream.
// A client too slow to keep up is disconnected (it reconnects and starts again from a full topology) rather
// than buffered without bound.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Agent, AgentUpdate } from '../agent/loop.js';
import { CHANGE_EVENT_TYPES } from '../core/report/changes.js';
import { errorSchema, HttpError, notReady } from './errors.js';
import { createEventJournal, parseEventId, type JournalEntry } from './journal.js';
import { freshness } from './views.js';

/** Options of the live routes. */
export interface LiveOptions {
  /** Comment line sent this often so proxies keep the connection (default 15 s). */
  readonly keepAliveMs?: number;
  /** Buffered bytes beyond which a client is dropped (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** Change events kept for clients that reconnect with `Last-Event-ID` (default 10,000). */
  readonly journalCapacity?: number;
}

/** An open SSE connection. */
interface Stream {
  send(event: string, data: unknown, id?: number | string): void;
  close(): void;
}

/** Registers /api/v1/topology/stream and /api/v1/events; open streams are ended when the app closes. */
export function registerLiveRoutes(app: FastifyInstance, agent: Agent, options: LiveOptions = {}): void {
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const open = new Set<Stream>();
  // One journal for all clients, fed from the agent whether or not anyone listens, so a client that was
  // away can be given what it missed.
  const journal = createEventJournal(options.journalCapacity ?? 10_000);
  const journalListeners = new Set<(entries: readonly JournalEntry[]) => void>();
  const unsubscribeJournal = agent.subscribe((u) => {
    if (u.kind !== 'state' || u.events.length === 0) return;
    const entries = journal.append(u.events);
    for (const l of journalListeners) l(entries);
  });
  app.addHook('preClose', async () => {
    unsubscribeJournal();
    for (const s of open) s.close();
  });

  function openStream(req: FastifyRequest, reply: FastifyReply, onUpdate?: (s: Stream, u: AgentUpdate) => void, onClose?: () => void): Stream {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx and friends: do not buffer the stream.
      'x-accel-buffering': 'no',
    });
    let closed = false;
    const stream: Stream = {
      send(event, data, id) {
        if (closed) return;
        if (raw.writableLength > maxBuffered) {
          req.log.warn({ buffered: raw.writableLength }, 'live client too slow; disconnecting it');
          stream.close();
          return;
        }
        raw.write(`event: ${event}\n${id !== undefined ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
      },
      close() {
        if (closed) return;
        closed = true;
        clearInterval(keepAlive);
        unsubscribe();
        onClose?.();
        open.delete(stream);
        raw.end();
      },
    };
    const keepAlive = setInterval(() => { if (!closed) raw.write(': keep-alive\n\n'); }, keepAliveMs);
    keepAlive.unref();
    const unsubscribe = onUpdate ? agent.subscribe((u) => onUpdate(stream, u)) : () => undefined;
    open.add(stream);
    req.raw.on('close', () => stream.close());
    // Tell EventSource how soon to come back.
    raw.write(`retry: 2000\n\n`);
    return stream;
  }

  const sse = { produces: ['text/event-stream'] };

  app.get('/api/v1/topology/stream', {
    schema: {
      ...sse,
      summary: 'Server-Sent Events: `topology` (the full topology) first, then `diff` events (nodes and edges added, updated, removed) and `status` events when staleness changes',
      response: { 200: { type: 'string', description: 'text/event-stream' }, 401: errorSchema, 503: errorSchema },
    },
  }, async (req, reply) => {
    const state = agent.current();
    if (!state) throw notReady();
    const stream = openStream(req, reply, (s, u) => {
      if (u.kind === 'state' && u.diff) s.send('diff', u.diff, u.state.seq);
      else if (u.kind === 'status') s.send('status', freshness(u.status));
    });
    stream.send('topology', { ...state.topology, ...freshness(agent.status()) }, state.seq);
  });

  app.get<{ Querystring: { type?: string[]; lastEventId?: string } }>('/api/v1/events', {
    schema: {
      ...sse,
      summary: 'Server-Sent Events of changes: connection.opened, connection.closed, container.started, container.stopped (event name = type). ' +
        'Each has an id; a client reconnecting with `Last-Event-ID` (EventSource does so by itself) first gets the events it missed, or a `gap` event when they are no longer kept',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          type: { type: 'array', items: { type: 'string', enum: [...CHANGE_EVENT_TYPES] }, description: 'only these event types (repeatable)' },
          lastEventId: { type: 'string', description: 'resume after this event id (as the Last-Event-ID header; for clients that cannot set headers)' },
        },
      },
      response: { 200: { type: 'string', description: 'text/event-stream' }, 400: errorSchema, 401: errorSchema },
    },
  }, async (req, reply) => {
    const wanted = new Set<string>(req.query.type && req.query.type.length > 0 ? req.query.type : CHANGE_EVENT_TYPES);
    if ([...wanted].some((t) => !(CHANGE_EVENT_TYPES as readonly string[]).includes(t))) throw new HttpError(400, 'bad_parameter', 'unknown event type');
    const header = req.headers['last-event-id'];
    const lastEventId = req.query.lastEventId ?? (Array.isArray(header) ? header[0] : header);
    if (lastEventId !== undefined && parseEventId(lastEventId) === undefined) {
      throw new HttpError(400, 'bad_parameter', `Last-Event-ID: "${lastEventId}" is not an event id of this stream (ids look like "mi3x2k-42")`);
    }
    const resume = lastEventId !== undefined ? journal.since(lastEventId) : undefined;
    const sendEntries = (s: Stream, entries: readonly JournalEntry[]) => {
      for (const e of entries) if (wanted.has(e.event.type)) s.send(e.event.type, e.event, e.id);
    };
    const listener = (entries: readonly JournalEntry[]) => sendEntries(stream, entries);
    const stream = openStream(req, reply, undefined, () => journalListeners.delete(listener));
    journalListeners.add(listener);
    // An opening event so clients see the stream is live before the first change.
    stream.send('ready', { at: new Date().toISOString() });
    if (resume?.kind === 'gap') stream.send('gap', { lastEventId, reason: resume.reason });
    if (resume) sendEntries(stream, resume.entries);
  });
}

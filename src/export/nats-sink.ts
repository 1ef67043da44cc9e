// The NATS sink: each document published as one message on a subject (the official `nats` client), which
// reconnects for ever; while it is not connected, documents wait in a bounded queue (oldest dropped and counted
// beyond it) and are published when it is back. When a JetStream stream stores the subject (found at each connect),
// every document is published through JetStream and kept until the stream acknowledges it (with a message id, so a
// retry the stream already stored is not stored twice): at least once. Without such a stream, core NATS delivers at
// most once to the subscribers present, and status says so (`delivery`).
import { randomBytes } from 'node:crypto';
import { connect, type JetStreamClient, type NatsConnection } from 'nats';
import type { ConnbeatDocument } from '../core/report/connbeat.js';
import { parseNatsTarget } from './spec.js';
import { countDropped, newCounters, statusOf, type ExportSink, type SinkLogger } from './sink.js';

/** Options of createNatsSink. */
export interface NatsSinkOptions {
  /** `nats://[user:pass@]host:port/subject` (default subject `portolan.events`). */
  readonly url: string;
  /** Most documents kept while disconnected (default 10,000). */
  readonly maxQueued?: number;
  /** Through JetStream: documents awaiting their acknowledgement at once (default 256). */
  readonly window?: number;
  /** Through JetStream: wait after a failed publish before the next try (default 1 s). */
  readonly retryMs?: number;
  readonly logger?: SinkLogger;
}

interface Queued {
  readonly doc: ConnbeatDocument;
  /** The JetStream message id (de-duplication of a retry the stream had stored). */
  readonly id: string;
}

/** Creates the NATS sink; it connects in the background. */
export function createNatsSink(options: NatsSinkOptions): ExportSink {
  const target = parseNatsTarget(options.url);
  const name = `nats:${target.server}/${target.subject}`;
  const maxQueued = options.maxQueued ?? 10_000;
  const log = options.logger;
  const c = newCounters('connecting');
  const window = options.window ?? 256;
  const retryMs = options.retryMs ?? 1000;
  const encoder = new TextEncoder();
  const run = randomBytes(6).toString('hex');
  let seq = 0;
  let queue: Queued[] = [];
  let nc: NatsConnection | undefined;
  // Set at each connect when a JetStream stream stores the subject.
  let js: JetStreamClient | undefined;
  let connected = false;
  let closed = false;
  // Set by close() once it stopped waiting for acknowledgements.
  let stopped = false;
  let sending: Promise<void> | undefined;

  const publishCore = (conn: NatsConnection) => {
    const docs = queue;
    queue = [];
    for (let i = 0; i < docs.length; i++) {
      try {
        conn.publish(target.subject, encoder.encode(JSON.stringify((docs[i] as Queued).doc)));
        c.sent++;
      } catch (err) {
        // Not connected after all (a disconnect not yet reported): keep the rest for the reconnect.
        c.lastError = (err as Error).message;
        queue = docs.slice(i).concat(queue);
        return;
      }
    }
    if (docs.length > 0) c.lastSentAt = new Date().toISOString();
  };

  // Up to `window` documents in flight; each leaves the queue when the stream acknowledged it, the others are sent
  // again (same message id) after retryMs, for as long as the connection lasts.
  const publishJetStream = async (stream: JetStreamClient) => {
    while (queue.length > 0 && connected && js === stream && !stopped) {
      const batch = queue.slice(0, window);
      const results = await Promise.allSettled(batch.map((q) => stream.publish(target.subject, encoder.encode(JSON.stringify(q.doc)), { msgID: q.id })));
      const acked = new Set<Queued>();
      let failure: string | undefined;
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') acked.add(batch[i] as Queued);
        else failure ??= publishError(r.reason);
      });
      // The queue may have grown, or been cut past its bound, meanwhile: remove by identity.
      if (acked.size > 0) {
        queue = queue.filter((q) => !acked.has(q));
        c.sent += acked.size;
        c.lastSentAt = new Date().toISOString();
      }
      if (failure !== undefined) {
        c.retried += batch.length - acked.size;
        c.lastError = failure;
        if (c.state === 'ok') log?.warn({ sink: name, err: failure }, 'export: JetStream did not acknowledge; keeping the documents and trying again');
        c.state = 'retrying';
        await new Promise((resolve) => setTimeout(resolve, retryMs).unref());
      } else if (connected) c.state = 'ok';
    }
  };

  const publishQueued = () => {
    if (!nc || !connected) return;
    if (!js) {
      publishCore(nc);
      return;
    }
    if (sending) return;
    const stream = js;
    sending = publishJetStream(stream).catch((err: Error) => { c.lastError = err.message; }).finally(() => {
      sending = undefined;
      // Taken while the last round ran.
      if (queue.length > 0 && connected && js === stream && !stopped) publishQueued();
    });
  };

  /** Whether a JetStream stream stores the subject: then documents go through it, acknowledged. */
  const findStream = async (conn: NatsConnection) => {
    let stream: string | undefined;
    try {
      stream = await (await conn.jetstreamManager()).streams.find(target.subject);
    } catch {
      // No JetStream on this server, or no stream stores the subject.
    }
    const before = c.delivery;
    js = stream !== undefined ? conn.jetstream() : undefined;
    c.delivery = stream !== undefined ? 'at-least-once' : 'at-most-once';
    if (c.delivery !== before) {
      log?.info({ sink: name, ...(stream !== undefined ? { stream } : {}) }, stream !== undefined
        ? `export: JetStream stream ${stream} stores ${target.subject}: each document is kept until the stream acknowledges it (at least once)`
        : `export: no JetStream stream stores ${target.subject}: core NATS, at most once to the subscribers present`);
    }
  };

  const connecting = connect({
    servers: target.server, name: 'portolan-export', maxReconnectAttempts: -1, reconnectTimeWait: 1000, waitOnFirstConnect: true,
    ...(target.user !== undefined ? { user: target.user } : {}), ...(target.pass !== undefined ? { pass: target.pass } : {}),
  }).then(async (conn) => {
    nc = conn;
    if (closed) {
      await conn.close();
      return;
    }
    await findStream(conn);
    connected = true;
    c.state = 'ok';
    log?.info({ sink: name }, 'export: connected to NATS');
    publishQueued();
    for await (const s of conn.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        c.state = 'retrying';
        c.lastError = `disconnected from ${String(s.data)}`;
        log?.warn({ sink: name }, 'export: NATS disconnected; keeping events in memory up to the bound');
      } else if (s.type === 'reconnect') {
        // A stream may have been created or removed meanwhile (a restarted server).
        await findStream(conn);
        connected = true;
        c.state = 'ok';
        log?.info({ sink: name }, 'export: NATS reconnected');
        publishQueued();
      }
    }
  }).catch((err: Error) => {
    c.state = 'down';
    c.lastError = err.message;
    log?.error({ sink: name, err: err.message }, 'export: NATS connection failed');
  });

  return {
    name,
    kind: 'nats',
    push(docs: readonly ConnbeatDocument[]) {
      if (closed) return;
      for (const d of docs) queue.push({ doc: d, id: `${run}-${++seq}` });
      if (queue.length > maxQueued) {
        countDropped(c, 'buffer_full', queue.length - maxQueued);
        queue = queue.slice(queue.length - maxQueued);
      }
      publishQueued();
    },
    status: () => statusOf(name, 'nats', c, queue.length),
    async close() {
      closed = true;
      if (nc && connected) {
        publishQueued();
        // Through JetStream: a little time for the acknowledgements of what is queued.
        if (sending) await Promise.race([sending, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
        stopped = true;
        await nc.drain().catch(() => undefined);
      } else if (nc) await nc.close().catch(() => undefined);
      countDropped(c, 'closed', queue.length);
      queue = [];
      // A connect still under way ends with the connection closed (see closed above); do not wait for ever.
      if (!nc) void connecting;
    },
  };
}

/** A failed JetStream publish in words: the stream's own description when it answered (e.g. `maximum messages exceeded`). */
function publishError(reason: unknown): string {
  const e = reason as { message?: string; code?: string; api_error?: { description?: string; err_code?: number } } | undefined;
  if (e?.api_error?.description) return `JetStream: ${e.api_error.description}`;
  if (e?.code === '503') return 'JetStream: no stream answered (503)';
  return e?.message ?? String(reason);
}

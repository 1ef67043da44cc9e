// The NATS sink: each document published as one message on a subject (core NATS, the official `nats` client).
// The client reconnects for ever; while it is not connected, documents wait in a bounded queue (oldest dropped
// and counted beyond it) and are published when it is back. Core NATS delivers at most once to the subscribers
// present: a receiver that must not miss anything should use the HTTP sink (or a JetStream stream on the subject).
import { connect, type NatsConnection } from 'nats';
import type { ConnbeatDocument } from '../core/report/connbeat.js';
import { parseNatsTarget } from './spec.js';
import { countDropped, newCounters, statusOf, type ExportSink, type SinkLogger } from './sink.js';

/** Options of createNatsSink. */
export interface NatsSinkOptions {
  /** `nats://[user:pass@]host:port/subject` (default subject `portolan.events`). */
  readonly url: string;
  /** Most documents kept while disconnected (default 10,000). */
  readonly maxQueued?: number;
  readonly logger?: SinkLogger;
}

/** Creates the NATS sink; it connects in the background. */
export function createNatsSink(options: NatsSinkOptions): ExportSink {
  const target = parseNatsTarget(options.url);
  const name = `nats:${target.server}/${target.subject}`;
  const maxQueued = options.maxQueued ?? 10_000;
  const log = options.logger;
  const c = newCounters('connecting');
  const encoder = new TextEncoder();
  let queue: ConnbeatDocument[] = [];
  let nc: NatsConnection | undefined;
  let connected = false;
  let closed = false;

  const publishQueued = () => {
    if (!nc || !connected) return;
    const docs = queue;
    queue = [];
    for (let i = 0; i < docs.length; i++) {
      try {
        nc.publish(target.subject, encoder.encode(JSON.stringify(docs[i])));
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

  const connecting = connect({
    servers: target.server, name: 'portolan-export', maxReconnectAttempts: -1, reconnectTimeWait: 1000, waitOnFirstConnect: true,
    ...(target.user !== undefined ? { user: target.user } : {}), ...(target.pass !== undefined ? { pass: target.pass } : {}),
  }).then(async (conn) => {
    nc = conn;
    if (closed) {
      await conn.close();
      return;
    }
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
      for (const d of docs) queue.push(d);
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
        await nc.drain().catch(() => undefined);
      } else if (nc) await nc.close().catch(() => undefined);
      countDropped(c, 'closed', queue.length);
      queue = [];
      // A connect still under way ends with the connection closed (see closed above); do not wait for ever.
      if (!nc) void connecting;
    },
  };
}

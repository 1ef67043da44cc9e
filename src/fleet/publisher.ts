// The agent's side of the fleet: turns each state the agent offers into NATS messages (a full document at start
// and every `fullEveryMs`, a diff against that full document in between, a heartbeat when nothing changed, and
// the change events) and sends them from a bounded queue. offer() never waits: collection goes on whatever NATS
// does. While NATS does not take messages the queue holds them (a newer full document or diff supersedes the
// queued one: the stream keeps only the latest per subject anyway), says so once in the log and in status();
// past its byte limit the oldest events are dropped and counted. When NATS comes back the queue drains in order.
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { diffPatch, type Json } from './doc-patch.js';
import { encodeMessage, eventsSubject, stateSubject, type FleetMessage } from './wire.js';

/** Sends one message and resolves when the stream stored it (JetStream's ack); rejects otherwise. */
export type PublishFn = (subject: string, data: Uint8Array, msgID: string) => Promise<void>;

/** What the publisher says about itself (in /api/v1/status as `nats`, and in /metrics). */
export interface PublisherStatus {
  /** `connected` once a message was stored; `unreachable` while sending fails; `starting` before either. */
  readonly state: 'starting' | 'connected' | 'unreachable';
  readonly since: string;
  readonly lastError?: string;
  readonly hostId: string;
  /** Messages waiting, and their bytes. */
  readonly buffered: number;
  readonly bufferedBytes: number;
  readonly maxBufferBytes: number;
  /** Messages stored by the stream, and their (compressed) bytes. */
  readonly published: number;
  readonly publishedBytes: number;
  /** Per kind: full documents, diffs, heartbeats and event batches stored. */
  readonly publishedByKind: Readonly<Record<'full' | 'diff' | 'hb' | 'events', number>>;
  /** Messages replaced in the queue by a newer one of the same subject before they were sent (nothing lost). */
  readonly superseded: number;
  /** Messages dropped because the queue was full (lost), and events in them. */
  readonly dropped: number;
  readonly droppedEvents: number;
  /** Failed send attempts. */
  readonly failures: number;
}

/** Dependencies and settings of the publisher. */
export interface PublisherOptions {
  /** The host's id as a subject token (hostToken of the Docker engine id). */
  readonly hostId: string;
  readonly publish: PublishFn;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  /** The agent's interval: a heartbeat goes out when nothing was sent for this long. */
  readonly intervalMs: number;
  /** A full document at least this often (default 60 s), and whenever a diff would be over half a full one. */
  readonly fullEveryMs?: number;
  /** Bytes the queue may hold (default 8 MiB). */
  readonly maxBufferBytes?: number;
  /** Wait after a failed send before the next try (default 1 s). */
  readonly retryMs?: number;
  readonly now?: () => number;
}

/** The running publisher. */
export interface Publisher {
  /** Takes the host's current document and the events since the previous one; never waits, never throws. */
  offer(doc: Json, events?: readonly Json[]): void;
  /** Takes events that came between two states (capture's, between collections); never waits, never throws. */
  offerEvents(events: readonly Json[]): void;
  status(): PublisherStatus;
  /** Starts the heartbeat timer. */
  start(): void;
  /** Stops sending; resolves once a send in flight ends (or after `graceMs`, default 2 s, trying to drain the queue). */
  stop(graceMs?: number): Promise<void>;
}

interface Queued {
  readonly kind: 'full' | 'diff' | 'hb' | 'events';
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgID: string;
  readonly events: number;
}

/** Creates the publisher (call start()). */
export function createPublisher(options: PublisherOptions): Publisher {
  const now = options.now ?? Date.now;
  const fullEveryMs = options.fullEveryMs ?? 60_000;
  const maxBufferBytes = options.maxBufferBytes ?? 8 * 1024 * 1024;
  const retryMs = options.retryMs ?? 1000;
  const host = options.hostId;
  // Tells this agent run's epochs apart from the previous run's (the hub keeps the newest run per host).
  const run = `${now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const queue: Queued[] = [];
  let bufferedBytes = 0;
  let epoch = 0;
  let seq = 0;
  // Event batches of this run, for their message ids (JetStream's de-duplication).
  let batches = 0;
  let base: { doc: Json; at: number; bytes: number } | undefined;
  let lastText: string | undefined;
  let lastSentAt = 0;
  let sending = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> | undefined;
  let status: PublisherStatus = {
    state: 'starting', since: new Date(now()).toISOString(), hostId: host, buffered: 0, bufferedBytes: 0, maxBufferBytes,
    published: 0, publishedBytes: 0, publishedByKind: { full: 0, diff: 0, hb: 0, events: 0 }, superseded: 0, dropped: 0, droppedEvents: 0, failures: 0,
  };
  const patch = (p: Partial<PublisherStatus>) => { status = { ...status, ...p, buffered: queue.length, bufferedBytes }; };

  const remove = (i: number) => {
    const [q] = queue.splice(i, 1);
    if (q) bufferedBytes -= q.data.length;
    return q;
  };

  function enqueue(q: Queued): void {
    // A newer state supersedes queued ones of its subject; a full document supersedes every queued state.
    const supersedes = (old: Queued) => old.kind !== 'events' && (q.kind === 'full' || old.kind === q.kind || (q.kind === 'diff' && old.kind === 'hb'));
    // The message being sent (queue[0] while sending) stays: it is on the wire already.
    for (let i = queue.length - 1; i >= (sending ? 1 : 0); i--) {
      if (supersedes(queue[i] as Queued)) {
        remove(i);
        status = { ...status, superseded: status.superseded + 1 };
      }
    }
    queue.push(q);
    bufferedBytes += q.data.length;
    let dropped = 0;
    let droppedEvents = 0;
    while (bufferedBytes > maxBufferBytes && queue.length > 1) {
      // Oldest events first; state messages are at most three and the newest state is what matters.
      let i = queue.findIndex((x, j) => x.kind === 'events' && !(sending && j === 0));
      if (i < 0) i = sending ? 1 : 0;
      if (i >= queue.length - 1 && queue[i] === q) break;
      const r = remove(i);
      dropped++;
      droppedEvents += r?.events ?? 0;
    }
    if (dropped > 0) {
      if (status.dropped === 0) options.logger.warn({ maxBufferBytes }, 'NATS buffer full: dropping the oldest events (counted in portolan_fleet_dropped_messages_total)');
      status = { ...status, dropped: status.dropped + dropped, droppedEvents: status.droppedEvents + droppedEvents };
    }
    patch({});
    pump();
  }

  function message(m: FleetMessage, msgID: string, events = 0): void {
    let data: Uint8Array;
    try {
      data = encodeMessage(m);
    } catch (err) {
      options.logger.error({ err, kind: m.kind }, 'fleet message not published');
      status = { ...status, dropped: status.dropped + 1, droppedEvents: status.droppedEvents + events };
      return;
    }
    const subject = m.kind === 'events' ? eventsSubject(host) : stateSubject(host, m.kind);
    enqueue({ kind: m.kind, subject, data, msgID, events });
  }

  function pump(): void {
    if (sending || stopped || retryTimer || queue.length === 0) return;
    sending = true;
    const q = queue[0] as Queued;
    inflight = options.publish(q.subject, q.data, q.msgID).then(() => {
      const i = queue.indexOf(q);
      if (i >= 0) remove(i);
      const by = { ...status.publishedByKind, [q.kind]: status.publishedByKind[q.kind] + 1 };
      if (status.state === 'unreachable') {
        options.logger.info({ buffered: queue.length, dropped: status.dropped }, 'NATS reachable again: sending what was buffered');
      }
      const { lastError: _e, ...rest } = status;
      status = { ...rest, published: status.published + 1, publishedBytes: status.publishedBytes + q.data.length, publishedByKind: by };
      if (status.state !== 'connected') patch({ state: 'connected', since: new Date(now()).toISOString() });
      else patch({});
    }, (err: unknown) => {
      const message = (err as Error).message ?? String(err);
      if (status.state !== 'unreachable') {
        options.logger.warn({ error: message, maxBufferBytes }, 'NATS unreachable: buffering what the agent publishes (said once; see nats in /api/v1/status)');
        patch({ state: 'unreachable', since: new Date(now()).toISOString(), lastError: message, failures: status.failures + 1 });
      } else patch({ lastError: message, failures: status.failures + 1 });
      retryTimer = setTimeout(() => { retryTimer = undefined; pump(); }, retryMs);
      retryTimer.unref?.();
    }).finally(() => {
      sending = false;
      inflight = undefined;
      pump();
    });
  }

  function heartbeat(): void {
    if (stopped || base === undefined) return;
    if (now() - lastSentAt < options.intervalMs * 0.9) return;
    lastSentAt = now();
    message({ v: 1, kind: 'hb', host, epoch, run, at: now(), intervalMs: options.intervalMs }, `${run}:${epoch}:hb:${lastSentAt}`);
  }

  return {
    offer(doc, events = []) {
      if (stopped) return;
      try {
        const at = now();
        const text = JSON.stringify(doc);
        if (base === undefined || at - base.at >= fullEveryMs) {
          epoch++;
          seq = 0;
          const m: FleetMessage = { v: 1, kind: 'full', host, epoch, run, at, intervalMs: options.intervalMs, doc };
          base = { doc, at, bytes: text.length };
          message(m, `${run}:${epoch}:full`);
          lastSentAt = at;
        } else if (text !== lastText) {
          const p = diffPatch(base.doc, doc) ?? null;
          const patchBytes = p === null ? 4 : JSON.stringify(p).length;
          if (patchBytes > base.bytes / 2) {
            // The diff has grown to most of a document: start a new epoch instead.
            base = undefined;
            lastText = undefined;
            this.offer(doc, events);
            return;
          }
          seq++;
          message({ v: 1, kind: 'diff', host, epoch, run, seq, at, intervalMs: options.intervalMs, patch: p }, `${run}:${epoch}:diff:${seq}`);
          lastSentAt = at;
        }
        lastText = text;
        if (events.length > 0) message({ v: 1, kind: 'events', host, at, events }, `${run}:events:${++batches}`, events.length);
      } catch (err) {
        options.logger.error({ err }, 'fleet publish failed');
      }
    },
    offerEvents(events) {
      if (stopped || events.length === 0) return;
      try {
        message({ v: 1, kind: 'events', host, at: now(), events }, `${run}:events:${++batches}`, events.length);
      } catch (err) {
        options.logger.error({ err }, 'fleet publish failed');
      }
    },
    status: () => status,
    start() {
      if (timer) return;
      timer = setInterval(heartbeat, Math.max(100, Math.floor(options.intervalMs / 2)));
      timer.unref?.();
    },
    async stop(graceMs = 2000) {
      if (timer) clearInterval(timer);
      timer = undefined;
      const deadline = now() + graceMs;
      while (queue.length > 0 && status.state !== 'unreachable' && now() < deadline) {
        if (inflight) await Promise.race([inflight, new Promise((r) => setTimeout(r, 50))]);
        else await new Promise((r) => setTimeout(r, 10));
      }
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      await inflight;
    },
  };
}

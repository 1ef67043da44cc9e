// Feeds the hub from JetStream: a durable consumer of the fleet's state stream with explicit acks. At the hub's
// start the consumer is (re)created to deliver the last message of every subject: the stream keeps only those, so
// that is the whole fleet's current state, read without any agent republishing; what arrives after is live. Each
// hub has its own durable (its name), so two hubs read the same fleet; they never share one (that would split it).
// The agents' events are read by an ordered consumer of the events stream (nothing to ack: a restarted hub reads
// back the last messages, bounded by its events journal, then follows).
import type { Logger } from 'pino';
import { AckPolicy, DeliverPolicy, Events, type ConsumerMessages, type NatsConnection } from 'nats';
import type { Hub } from './hub.js';
import { autoReplicas, ensureStreams, type StreamLimits } from './streams.js';
import { decodeMessage, EVENTS_ROOT, EVENTS_STREAM, STATE_STREAM, SUBJECT_ROOT } from './wire.js';

/** Settings of the hub's consumer. */
export interface HubConsumerOptions {
  /** The durable consumer's name: one per hub (default `portolan-hub`). */
  readonly durable: string;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  readonly streams?: StreamLimits;
  /**
   * Event messages read back at start (default 10,000, the events journal's capacity: every message holds at least
   * one event, so the last that many hold every event the journal can keep); older ones are not read.
   */
  readonly eventsReadBack?: number;
}

/** The running consumer. */
export interface HubConsumer {
  stop(): Promise<void>;
}

/** A durable name as NATS takes it: letters, digits, - and _. */
export function durableName(name: string): string {
  const d = name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  if (d === '') throw new Error('empty durable consumer name');
  return d;
}

/** Starts feeding `hub` from the stream on `nc`; resolves once the consumer is set up (not yet caught up). */
export async function startHubConsumer(nc: NatsConnection, hub: Hub, options: HubConsumerOptions): Promise<HubConsumer> {
  const { logger } = options;
  const durable = durableName(options.durable);
  const jsm = await nc.jetstreamManager();
  logger.info({ streams: await ensureStreams(jsm, { replicas: autoReplicas(nc), ...options.streams }) }, 'fleet streams');
  try {
    await jsm.consumers.delete(STATE_STREAM, durable);
  } catch (err) {
    if (!/not found/i.test((err as Error).message)) throw err;
  }
  await jsm.consumers.add(STATE_STREAM, {
    durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.LastPerSubject,
    filter_subject: `${SUBJECT_ROOT}.>`, ack_wait: 30_000_000_000, max_ack_pending: 20_000,
  });
  const js = nc.jetstream();
  const consumer = await js.consumers.get(STATE_STREAM, durable);
  const info = await consumer.info();
  let stopped = false;
  let stop!: () => void;
  const stopping = new Promise<void>((r) => { stop = r; });
  // Events are read once the state is rebuilt, so each event's host is known by its engine id (see the hub).
  let rebuilt!: () => void;
  const untilRebuilt = new Promise<void>((r) => { rebuilt = r; });
  const markRebuilt = () => { hub.markRebuilt(); rebuilt(); };
  // Nothing to read back: the fleet is (empty and) rebuilt at once.
  if (info.num_pending === 0) markRebuilt();
  hub.setNats('connected');
  let messages: ConsumerMessages | undefined;

  void (async () => {
    for await (const s of nc.status()) {
      if (stopped) break;
      if (s.type === Events.Disconnect) hub.setNats('disconnected', `disconnected from ${String(s.data)}`);
      else if (s.type === Events.Reconnect) hub.setNats('connected');
    }
  })().catch((err: unknown) => logger.debug({ err }, 'NATS status watch ended'));

  const loop = (async () => {
    while (!stopped) {
      try {
        messages = await consumer.consume({ max_messages: 2000, expires: 5000 });
        if (hub.hubStatus().nats !== 'connected' && !nc.isClosed()) hub.setNats('connected');
        for await (const m of messages) {
          try {
            const msg = decodeMessage(m.data);
            const subjectHost = m.subject.split('.')[2];
            if (msg.host !== subjectHost) hub.reject(`message for host ${msg.host} on ${m.subject}`);
            else hub.accept(msg, Math.floor(m.info.timestampNanos / 1e6));
          } catch (err) {
            hub.reject(`${m.subject}: ${(err as Error).message}`);
          }
          m.ack();
          if (m.info.pending === 0) markRebuilt();
        }
      } catch (err) {
        if (stopped) break;
        hub.setNats('disconnected', (err as Error).message);
        logger.warn({ err }, 'fleet consumer failed; retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();

  const readBack = Math.max(1, options.eventsReadBack ?? 10_000);
  let eventMessages: ConsumerMessages | undefined;
  // After a failure, on from the message after the last one read (no event twice).
  let nextSeq: number | undefined;
  const eventsLoop = (async () => {
    await Promise.race([untilRebuilt, stopping]);
    while (!stopped) {
      try {
        const { state } = await jsm.streams.info(EVENTS_STREAM);
        const start = Math.max(1, state.first_seq, nextSeq ?? state.last_seq - readBack + 1);
        const events = await js.consumers.get(EVENTS_STREAM, { filterSubjects: `${EVENTS_ROOT}.>`, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start });
        if (stopped) break;
        eventMessages = await events.consume({ max_messages: 500, expires: 5000 });
        for await (const m of eventMessages) {
          nextSeq = m.info.streamSequence + 1;
          try {
            const msg = decodeMessage(m.data);
            const subjectHost = m.subject.split('.')[2];
            if (msg.kind !== 'events') hub.reject(`a ${msg.kind} message on ${m.subject}`);
            else if (msg.host !== subjectHost) hub.reject(`message for host ${msg.host} on ${m.subject}`);
            else hub.accept(msg, Math.floor(m.info.timestampNanos / 1e6));
          } catch (err) {
            hub.reject(`${m.subject}: ${(err as Error).message}`);
          }
        }
        if (!stopped) await new Promise((r) => setTimeout(r, 1000));
      } catch (err) {
        if (stopped) break;
        logger.warn({ err }, 'fleet events consumer failed; retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      stop();
      messages?.stop();
      eventMessages?.stop();
      await Promise.all([loop, eventsLoop]);
    },
  };
}

// Feeds the hub from JetStream: a durable consumer of the fleet's state stream with explicit acks. At the hub's
// start the consumer is (re)created to deliver the last message of every subject: the stream keeps only those, so
// that is the whole fleet's current state, read without any agent republishing; what arrives after is live. Each
// hub has its own durable (its name), so two hubs read the same fleet; they never share one (that would split it).
import type { Logger } from 'pino';
import { AckPolicy, DeliverPolicy, Events, type ConsumerMessages, type NatsConnection } from 'nats';
import type { Hub } from './hub.js';
import { autoReplicas, ensureStreams, type StreamLimits } from './streams.js';
import { decodeMessage, STATE_STREAM, SUBJECT_ROOT } from './wire.js';

/** Settings of the hub's consumer. */
export interface HubConsumerOptions {
  /** The durable consumer's name: one per hub (default `portolan-hub`). */
  readonly durable: string;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  readonly streams?: StreamLimits;
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
  // Nothing to read back: the fleet is (empty and) rebuilt at once.
  if (info.num_pending === 0) hub.markRebuilt();
  hub.setNats('connected');
  let stopped = false;
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
          if (m.info.pending === 0) hub.markRebuilt();
        }
      } catch (err) {
        if (stopped) break;
        hub.setNats('disconnected', (err as Error).message);
        logger.warn({ err }, 'fleet consumer failed; retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      messages?.stop();
      await loop;
    },
  };
}

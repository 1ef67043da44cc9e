// `portolan serve --nats`: connects to NATS in the background (an agent that starts before NATS still collects),
// creates the streams when allowed to, and publishes every state the agent accepts through the publisher.
import type { Logger } from 'pino';
import type { NatsConnection } from 'nats';
import type { Agent, AgentState, AgentStatus } from '../agent/loop.js';
import type { Json } from './doc-patch.js';
import { connectNats, type NatsConfig } from './nats-connect.js';
import { createPublisher, type Publisher, type PublisherStatus } from './publisher.js';
import { ensureStreams, type StreamLimits } from './streams.js';

/** Settings of the agent's fleet publishing. */
export interface FleetPublishingOptions {
  readonly nats: NatsConfig;
  /** The host's id as a subject token. */
  readonly hostId: string;
  /** The host's document from the agent's state (core's toHostDocument). */
  readonly toDocument: (state: AgentState) => Json;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  readonly fullEveryMs?: number;
  readonly maxBufferBytes?: number;
  readonly streams?: StreamLimits;
  /** Timeout of one publish (JetStream's ack), default 5 s. */
  readonly publishTimeoutMs?: number;
}

/** The agent's fleet publishing, running. */
export interface FleetPublishing {
  readonly publisher: Publisher;
  /** The agent with `nats` (the publisher's status) in its status. */
  readonly agent: Agent;
  stop(): Promise<void>;
}

/** Starts publishing the agent's states; never waits for NATS. */
export function startFleetPublishing(agent: Agent, options: FleetPublishingOptions): FleetPublishing {
  const { logger } = options;
  let nc: NatsConnection | undefined;
  let closed = false;
  const timeout = options.publishTimeoutMs ?? 5000;
  const publisher = createPublisher({
    hostId: options.hostId, logger, intervalMs: agent.intervalMs,
    ...(options.fullEveryMs !== undefined ? { fullEveryMs: options.fullEveryMs } : {}),
    ...(options.maxBufferBytes !== undefined ? { maxBufferBytes: options.maxBufferBytes } : {}),
    publish: async (subject, data, msgID) => {
      if (!nc) throw new Error('not connected to NATS yet');
      await nc.jetstream().publish(subject, data, { msgID, timeout });
    },
  });
  const connecting = connectNats(options.nats, { waitOnFirstConnect: true, name: `portolan-agent-${options.hostId}` }).then(async (c) => {
    if (closed) {
      await c.close();
      return;
    }
    nc = c;
    logger.info({ server: c.getServer(), host: options.hostId }, 'connected to NATS: publishing this host to the fleet');
    try {
      logger.info({ streams: await ensureStreams(await c.jetstreamManager(), options.streams) }, 'fleet streams');
    } catch (err) {
      // Agents may only be allowed to publish: the hub (or an operator) creates the streams then.
      logger.warn({ error: (err as Error).message }, 'cannot check or create the fleet streams; publishing anyway');
    }
  }, (err: unknown) => {
    logger.error({ err }, 'NATS connection failed for good: nothing is published');
  });
  const unsubscribe = agent.subscribe((u) => {
    if (u.kind !== 'state') return;
    let doc: Json;
    try {
      doc = options.toDocument(u.state);
    } catch (err) {
      logger.error({ err }, 'cannot make the host document');
      return;
    }
    publisher.offer(doc, u.events as unknown as Json[]);
  });
  const current = agent.current();
  if (current) publisher.offer(options.toDocument(current));
  publisher.start();
  const wrapped: Agent = {
    get intervalMs() { return agent.intervalMs; },
    get history() { return agent.history; },
    current: () => agent.current(),
    status: () => ({ ...agent.status(), nats: publisher.status() } as AgentStatus & { nats: PublisherStatus }),
    subscribe: (l) => agent.subscribe(l),
  };
  return {
    publisher,
    agent: wrapped,
    async stop() {
      unsubscribe();
      await publisher.stop();
      closed = true;
      if (nc) await nc.drain().catch(() => nc?.close());
      else void connecting;
    },
  };
}

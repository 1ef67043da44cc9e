// `portolan serve --nats`: connects to NATS in the background (an agent that starts before NATS still collects),
// creates the streams when allowed to, and publishes every state the agent accepts through the publisher. The
// host's id (its Docker engine id) comes with its first document, so the publisher starts with it.
import type { Logger } from 'pino';
import type { NatsConnection } from 'nats';
import type { Agent, AgentState, AgentStatus } from '../agent/loop.js';
import type { Json } from './doc-patch.js';
import { connectNats, type NatsConfig } from './nats-connect.js';
import { createPublisher, type Publisher, type PublisherStatus } from './publisher.js';
import { autoReplicas, ensureStreams, type StreamLimits } from './streams.js';

/** A host's document and its id (subject token), or undefined while the agent does not know who it is. */
export type DocumentOf = (state: AgentState) => { readonly hostId: string; readonly doc: Json } | undefined;

/** Settings of the agent's fleet publishing. */
export interface FleetPublishingOptions {
  readonly nats: NatsConfig;
  /** The host's document from the agent's state (core's toHostDocument). */
  readonly documentOf: DocumentOf;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  readonly fullEveryMs?: number;
  readonly maxBufferBytes?: number;
  readonly streams?: StreamLimits;
  /** Timeout of one publish (JetStream's ack), default 5 s. */
  readonly publishTimeoutMs?: number;
}

/** The agent's fleet publishing, running. */
export interface FleetPublishing {
  /** The publisher once the host's id is known. */
  publisher(): Publisher | undefined;
  status(): PublisherStatus | undefined;
  /** The agent with `nats` (the publisher's status) in its status. */
  readonly agent: Agent;
  stop(): Promise<void>;
}

/** Starts publishing the agent's states; never waits for NATS. */
export function startFleetPublishing(agent: Agent, options: FleetPublishingOptions): FleetPublishing {
  const { logger } = options;
  let nc: NatsConnection | undefined;
  let closed = false;
  let publisher: Publisher | undefined;
  let unknownHost = false;
  const timeout = options.publishTimeoutMs ?? 5000;
  // Until the first connection, tried every 2 s (nats.js's own waitOnFirstConnect cannot be cancelled); after it,
  // nats.js reconnects by itself.
  let retry: NodeJS.Timeout | undefined;
  let firstError = true;
  const tryConnect = () => {
    retry = undefined;
    connectNats(options.nats, { timeout: 2000 }).then(async (c) => {
      if (closed) {
        await c.close();
        return;
      }
      nc = c;
      logger.info({ server: c.getServer() }, 'connected to NATS: publishing this host to the fleet');
      try {
        logger.info({ streams: await ensureStreams(await c.jetstreamManager(), { replicas: autoReplicas(c), ...options.streams }) }, 'fleet streams');
      } catch (err) {
        // Agents may only be allowed to publish: the hub (or an operator) creates the streams then.
        logger.warn({ error: (err as Error).message }, 'cannot check or create the fleet streams; publishing anyway');
      }
    }, (err: unknown) => {
      if (firstError) logger.warn({ error: (err as Error).message }, 'cannot connect to NATS yet: retrying every 2 s (the agent collects meanwhile)');
      firstError = false;
      if (!closed) retry = setTimeout(tryConnect, 2000);
    });
  };
  tryConnect();

  const offer = (state: AgentState, events: readonly Json[]) => {
    let d: ReturnType<DocumentOf>;
    try {
      d = options.documentOf(state);
    } catch (err) {
      logger.error({ err }, 'cannot make the host document');
      return;
    }
    if (!d) {
      if (!unknownHost) logger.warn('the host\'s identity (Docker /info) is not known yet: nothing published until it is');
      unknownHost = true;
      return;
    }
    if (!publisher) {
      publisher = createPublisher({
        hostId: d.hostId, logger, intervalMs: agent.intervalMs,
        ...(options.fullEveryMs !== undefined ? { fullEveryMs: options.fullEveryMs } : {}),
        ...(options.maxBufferBytes !== undefined ? { maxBufferBytes: options.maxBufferBytes } : {}),
        publish: async (subject, data, msgID) => {
          if (!nc) throw new Error('not connected to NATS yet');
          await nc.jetstream().publish(subject, data, { msgID, timeout });
        },
      });
      publisher.start();
      logger.info({ host: d.hostId }, 'fleet publisher started');
    } else if (publisher.status().hostId !== d.hostId) {
      logger.error({ was: publisher.status().hostId, now: d.hostId }, 'the Docker engine id changed: restart the agent to publish as the new host');
      return;
    }
    publisher.offer(d.doc, events);
  };
  const unsubscribe = agent.subscribe((u) => {
    if (u.kind === 'state') offer(u.state, u.events as unknown as Json[]);
    // Captured between collections (eBPF): published as they come, once the host is known.
    else if (u.kind === 'events') publisher?.offerEvents(u.events as unknown as Json[]);
  });
  const current = agent.current();
  if (current) offer(current, []);
  const wrapped: Agent = {
    get intervalMs() { return agent.intervalMs; },
    get history() { return agent.history; },
    current: () => agent.current(),
    status: () => ({ ...agent.status(), nats: publisher?.status() ?? { state: 'starting' } } as AgentStatus & { nats: PublisherStatus }),
    subscribe: (l) => agent.subscribe(l),
  };
  return {
    publisher: () => publisher,
    status: () => publisher?.status(),
    agent: wrapped,
    async stop() {
      unsubscribe();
      await publisher?.stop();
      closed = true;
      if (retry) clearTimeout(retry);
      // Bounded: a stopping agent does not wait on a NATS that does not answer.
      if (nc) {
        const c = nc;
        await Promise.race([c.drain().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
        if (!c.isClosed()) await c.close().catch(() => undefined);
      }
    },
  };
}

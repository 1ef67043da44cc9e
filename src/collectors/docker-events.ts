// Follows Docker's /events stream: reconnects with backoff when dockerd restarts or the stream breaks, and
// resumes with `since` (deduplicating the replayed boundary) so no event is lost while the engine stays up.
import type { Logger } from 'pino';
import type { DockerEvent, DockerEventsOptions } from '../sources/docker-api.js';

/** A Docker event, reduced to what the agent acts on. */
export interface AgentDockerEvent {
  readonly type: string;
  readonly action: string;
  /** Container or network id (for network events, the container is in `container`). */
  readonly id: string;
  readonly container?: string;
  readonly timeNano: bigint;
}

/** Handlers the follower calls. */
export interface FollowerHandlers {
  onEvent(event: AgentDockerEvent): void;
  /** The engine answered and the stream is open (after the first connect and after every reconnect). */
  onConnected(): void;
  onDisconnected(err: Error): void;
}

/** Follows the events stream until stopped. */
export interface DockerEventsFollower {
  start(handlers: FollowerHandlers): void;
  stop(): Promise<void>;
}

/** What the follower needs from a Docker client (GET only). */
export interface EventsClient {
  ping(options?: { signal?: AbortSignal }): Promise<unknown>;
  events(options?: DockerEventsOptions): AsyncIterable<DockerEvent>;
}

/** Options of createDockerEventsFollower. */
export interface FollowerOptions {
  readonly docker: EventsClient;
  readonly logger: Pick<Logger, 'debug' | 'warn'>;
  /** First retry delay (default 250 ms), doubled up to maxBackoffMs (default 5 s), with ±20% jitter. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Wall clock in ms (for the first `since`). */
  readonly now?: () => number;
  readonly random?: () => number;
}

/** The events the agent collects on: container start/die/destroy/rename, network connect/disconnect — all that changes Docker's answer for running containers. */
export const AGENT_EVENT_FILTERS = {
  type: ['container', 'network'],
  event: ['start', 'die', 'destroy', 'rename', 'connect', 'disconnect'],
} as const;

/** Formats nanoseconds since the epoch as Docker's `since` (seconds with a nanosecond fraction). */
export function formatSince(timeNano: bigint): string {
  const s = timeNano / 1_000_000_000n;
  const ns = timeNano % 1_000_000_000n;
  return `${s}.${ns.toString().padStart(9, '0')}`;
}

/** Reduces a raw event to the agent's form; undefined when it lacks what is needed. */
export function toAgentEvent(e: DockerEvent): AgentDockerEvent | undefined {
  const id = e.Actor?.ID;
  if (typeof e.Type !== 'string' || typeof e.Action !== 'string' || typeof id !== 'string') return undefined;
  const timeNano = typeof e.timeNano === 'number' ? BigInt(Math.trunc(e.timeNano))
    : typeof e.time === 'number' ? BigInt(Math.trunc(e.time)) * 1_000_000_000n : 0n;
  const container = e.Actor?.Attributes?.container;
  return { type: e.Type, action: e.Action, id, ...(container ? { container } : {}), timeNano };
}

/** Creates a follower of Docker events (not started). */
export function createDockerEventsFollower(options: FollowerOptions): DockerEventsFollower {
  const initial = options.initialBackoffMs ?? 250;
  const max = options.maxBackoffMs ?? 5_000;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  let controller: AbortController | undefined;
  let loop: Promise<void> | undefined;

  async function follow(handlers: FollowerHandlers, signal: AbortSignal): Promise<void> {
    // Start from now: the agent's first collection covers everything before.
    let since = BigInt(now()) * 1_000_000n;
    // Events already delivered at the `since` instant (Docker replays that instant on resume).
    let atSince = new Set<string>();
    let attempt = 0;
    while (!signal.aborted) {
      let connected = false;
      try {
        await options.docker.ping({ signal });
        connected = true;
        attempt = 0;
        handlers.onConnected();
        const stream = options.docker.events({ since: formatSince(since), filters: AGENT_EVENT_FILTERS, signal });
        for await (const raw of stream) {
          const e = toAgentEvent(raw);
          if (!e) continue;
          const key = `${e.timeNano}|${e.type}|${e.action}|${e.id}`;
          if (e.timeNano < since || (e.timeNano === since && atSince.has(key))) continue;
          if (e.timeNano > since) {
            since = e.timeNano;
            atSince = new Set();
          }
          atSince.add(key);
          handlers.onEvent(e);
        }
        if (signal.aborted) return;
        // The engine ended the stream (dockerd shutting down).
        throw new Error('the Docker events stream ended');
      } catch (err) {
        if (signal.aborted) return;
        const error = err instanceof Error ? err : new Error(String(err));
        if (connected) handlers.onDisconnected(error);
        else options.logger.debug({ error: error.message, attempt }, 'docker not reachable for events');
        const base = Math.min(max, initial * 2 ** attempt);
        attempt++;
        await sleep(base * (0.8 + 0.4 * random()), signal);
      }
    }
  }

  return {
    start(handlers) {
      if (controller) return;
      controller = new AbortController();
      loop = follow(handlers, controller.signal).catch((err: unknown) => {
        options.logger.warn({ err }, 'docker events follower stopped');
      });
    },
    async stop() {
      controller?.abort();
      await loop;
      controller = undefined;
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

// Follows Docker's /events stream: reconnects with backoff when dockerd restarts or the stream breaks, and
// resumes with `since` (deduplicating the replayed boundary) so no event is lost while the engine stays up.
// The backoff grows with every failed attempt and starts again from the first step only after a stream
// stayed open for a while (`healthyAfterMs`): an engine that answers /_ping but refuses /events (a read-only
// socket proxy answering 403) or sends a malformed line is retried every minute or so, not four times a
// second. An engine that cannot be reached at all is retried at most every `maxUnreachableBackoffMs`, so the
// stream comes back soon after dockerd does. Attempts are logged at debug; only changes of state at warn.
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
  /** The engine accepted the stream (after the first connect and after every reconnect). */
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
  /** Told of changes of state (connected: info; lost or unavailable: warn, once per run of failures); attempts at debug. */
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn'>;
  /**
   * First retry delay (default 250 ms), doubled per failed attempt up to maxBackoffMs (default 60 s) — or
   * maxUnreachableBackoffMs (default 5 s) while the engine cannot be reached at all; each delay is drawn
   * between half and all of that ("equal jitter"), so agents restarted together do not retry together.
   */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly maxUnreachableBackoffMs?: number;
  /** How long a stream must stay open before the backoff starts again from its first step (default 30 s). */
  readonly healthyAfterMs?: number;
  /** Wall clock in ms (for the first `since`). */
  readonly now?: () => number;
  /** Monotonic clock in ms (for healthyAfterMs; default performance.now). */
  readonly monotonic?: () => number;
  readonly random?: () => number;
  /** Told each delay before a retry (for tests and metrics). */
  readonly onRetry?: (delayMs: number, error: Error) => void;
}

// Failures that mean nobody answers at the endpoint (dockerd down or restarting), as opposed to an engine or
// proxy that answers and refuses.
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ESTREAMENDED']);

function isUnreachable(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && UNREACHABLE.has(code);
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
  // JSON.parse turns 1e400 into Infinity, which BigInt refuses: only finite times count (found by the fuzz suite).
  const timeNano = typeof e.timeNano === 'number' && Number.isFinite(e.timeNano) ? BigInt(Math.trunc(e.timeNano))
    : typeof e.time === 'number' && Number.isFinite(e.time) ? BigInt(Math.trunc(e.time)) * 1_000_000_000n : 0n;
  const container = e.Actor?.Attributes?.container;
  return { type: e.Type, action: e.Action, id, ...(container ? { container } : {}), timeNano };
}

/** Creates a follower of Docker events (not started). */
export function createDockerEventsFollower(options: FollowerOptions): DockerEventsFollower {
  const initial = options.initialBackoffMs ?? 250;
  const max = options.maxBackoffMs ?? 60_000;
  const maxUnreachable = Math.min(max, options.maxUnreachableBackoffMs ?? 5_000);
  const healthyAfterMs = options.healthyAfterMs ?? 30_000;
  const now = options.now ?? Date.now;
  const monotonic = options.monotonic ?? (() => performance.now());
  const random = options.random ?? Math.random;
  let controller: AbortController | undefined;
  let loop: Promise<void> | undefined;

  async function follow(handlers: FollowerHandlers, signal: AbortSignal): Promise<void> {
    // Start from now: the agent's first collection covers everything before.
    let since = BigInt(now()) * 1_000_000n;
    // Events already delivered at the `since` instant (Docker replays that instant on resume).
    let atSince = new Set<string>();
    let attempt = 0;
    // What the log said last. A change of state is one line; a stream that opens and breaks at once (a
    // malformed or oversized line) is still failing, so after failures "connected" is said only once a stream
    // has held for healthyAfterMs — the same rule that resets the backoff.
    let said = 'nothing' as 'nothing' | 'connected' | 'failing';
    let failures = 0;
    let iteration = 0;
    let openIteration = -1;
    let holdTimer: NodeJS.Timeout | undefined;
    while (!signal.aborted) {
      const current = ++iteration;
      let openedAt: number | undefined;
      const opened = () => {
        if (openedAt !== undefined) return;
        openedAt = monotonic();
        openIteration = current;
        handlers.onConnected();
        if (said !== 'failing') {
          if (said === 'nothing') options.logger.info('docker events stream connected');
          said = 'connected';
          return;
        }
        options.logger.debug({ failures }, 'docker events stream open again; said connected once it holds');
        holdTimer = setTimeout(() => {
          if (openIteration !== current || signal.aborted) return;
          attempt = 0;
          said = 'connected';
          options.logger.info({ failedAttempts: failures }, 'docker events stream connected again');
          failures = 0;
        }, healthyAfterMs);
        holdTimer.unref();
      };
      try {
        await options.docker.ping({ signal });
        const stream = options.docker.events({ since: formatSince(since), filters: AGENT_EVENT_FILTERS, signal, onOpen: opened });
        for await (const raw of stream) {
          // An events client that does not call onOpen: the first event says the stream is open.
          opened();
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
        throw Object.assign(new Error('the Docker events stream ended'), { code: 'ESTREAMENDED' });
      } catch (err) {
        clearTimeout(holdTimer);
        openIteration = -1;
        if (signal.aborted) return;
        const error = err instanceof Error ? err : new Error(String(err));
        failures++;
        if (openedAt !== undefined) {
          handlers.onDisconnected(error);
          if (monotonic() - openedAt >= healthyAfterMs) attempt = 0;
        }
        if (said !== 'failing') {
          options.logger.warn({ error: error.message }, openedAt !== undefined && said === 'connected'
            ? 'docker events stream lost; reconnecting with backoff (attempts are logged at debug)'
            : 'docker events stream unavailable; retrying with backoff (attempts are logged at debug)');
          said = 'failing';
        }
        const cap = isUnreachable(error) ? maxUnreachable : max;
        // 2^attempt is capped first: past ~40 failures it would overflow to Infinity.
        const base = Math.min(cap, initial * 2 ** Math.min(attempt, 30));
        attempt++;
        const delay = base * (0.5 + 0.5 * random());
        options.logger.debug({ error: error.message, attempt, delayMs: Math.round(delay) }, 'docker events stream: retrying');
        options.onRetry?.(delay, error);
        await sleep(delay, signal);
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

// The agent's HTTP API as the map uses it: JSON documents and the live topology stream (Server-Sent Events).
// Same origin: with a token, the browser's Basic-auth credentials (asked once by its own prompt) go with
// every fetch and with the EventSource.
import type { TopologyDiff } from '../core/model/topology.js';
import type { ContainersDoc, Freshness, HistoryDoc, SocketsDoc, TopologyDoc, TrafficDoc } from './types.js';

/** An error answer of the agent (`{statusCode, code, message}`), or a network failure (status 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** GETs a JSON document; throws ApiError. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'unreachable', `agent unreachable: ${(err as Error).message}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'bad_response', `not JSON from ${path} (${res.status})`);
  }
  if (!res.ok) {
    const e = body as { code?: string; message?: string };
    throw new ApiError(res.status, e.code ?? 'error', e.message ?? `${res.status} from ${path}`);
  }
  return body as T;
}

/** The topology now, or at `atMs` from history. */
export function fetchTopology(atMs?: number, signal?: AbortSignal): Promise<TopologyDoc> {
  return getJson(atMs === undefined ? '/api/v1/topology' : `/api/v1/topology?at=${atMs / 1000}`, signal);
}

/** Containers with labels and traffic rates. */
export function fetchContainers(): Promise<ContainersDoc> {
  return getJson('/api/v1/containers');
}

/** Sockets of these containers (by id); only listening ones when asked. */
export function fetchSockets(containerIds: readonly string[], listening = false): Promise<SocketsDoc> {
  const q = new URLSearchParams();
  for (const id of containerIds) q.append('container', id);
  if (listening) q.set('listening', 'true');
  return getJson(`/api/v1/sockets?${q.toString()}`);
}

/** Stored traffic samples of a container since `sinceMs`. */
export function fetchTraffic(containerId: string, sinceMs: number): Promise<TrafficDoc> {
  return getJson(`/api/v1/traffic?container=${encodeURIComponent(containerId)}&since=${sinceMs / 1000}`);
}

/** What history covers and when the topology changed. */
export function fetchHistory(): Promise<HistoryDoc> {
  return getJson('/api/v1/history');
}

/** What the live stream tells. */
export interface LiveHandlers {
  /** A full topology (first, and after every reconnect). */
  onTopology(doc: TopologyDoc): void;
  onDiff(diff: TopologyDiff): void;
  /** Docker went away or came back. */
  onStatus(f: Freshness): void;
  /** The stream is open, or lost and being retried. */
  onConnection(state: 'open' | 'retrying'): void;
}

/** The live stream's path the map follows: a fleet's first document then has only the edges between hosts. */
export const LIVE_PATH = '/api/v1/topology/stream?edges=cross-host';

/** The event types of the live stream (and EventSource's own) that openLive listens to. */
export const LIVE_EVENTS = ['open', 'topology', 'diff', 'status', 'error'] as const;

/**
 * A stream opened by index.html's inline script before the bundle is loaded (so the agent's first document is
 * on its way while the page's code downloads and starts), with the events it received until openLive adopts it.
 */
export interface EarlyStream {
  readonly path: string;
  readonly source: EventSource;
  /** Events received so far, in order; openLive replays them and sets `adopted` (the script then stops buffering). */
  readonly events: Event[];
  adopted?: boolean;
}

/** What openLive needs of EventSource (the browser's, or a stand-in in tests). */
export interface LiveDeps {
  /** Opens a stream. */
  open(path: string): EventSource;
  /** The stream index.html opened, if any (taken once). */
  early?: EarlyStream;
}

const browserDeps = (): LiveDeps => {
  const w = globalThis as { portolanEarlyStream?: EarlyStream };
  const early = w.portolanEarlyStream;
  delete w.portolanEarlyStream;
  return { open: (path) => new EventSource(path), ...(early ? { early } : {}) };
};

/**
 * Follows /api/v1/topology/stream until closed, reconnecting for ever. The map asks for `edges=cross-host`: a
 * fleet's first document then has only the edges between hosts (`partial` says so) and the rest is fetched.
 * The first connection is the stream index.html opened when it is for the same path: its events so far are
 * replayed in order, then it is followed like any other.
 */
export function openLive(handlers: LiveHandlers, retryMs = 2000, path = LIVE_PATH, deps: LiveDeps = browserDeps()): { close(): void } {
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let early = deps.early;
  if (early && early.path !== path) {
    early.source.close();
    early.adopted = true;
    early = undefined;
  }
  const parse = (ev: Event) => JSON.parse((ev as MessageEvent<string>).data) as unknown;
  const connect = () => {
    const taken = early;
    early = undefined;
    // Marks for the benchmark (bench/ui-render.mjs): when the stream was asked for and its first document came.
    if (!taken) performance.mark('portolan:stream-open');
    const s = taken ? taken.source : deps.open(path);
    source = s;
    const on: Record<(typeof LIVE_EVENTS)[number], (ev: Event) => void> = {
      open: () => handlers.onConnection('open'),
      topology: (ev) => {
        performance.mark('portolan:topology-message');
        const doc = parse(ev) as TopologyDoc;
        performance.mark('portolan:topology-parsed');
        handlers.onTopology(doc);
      },
      diff: (ev) => handlers.onDiff(parse(ev) as TopologyDiff),
      status: (ev) => handlers.onStatus(parse(ev) as Freshness),
      error: () => {
        handlers.onConnection('retrying');
        // EventSource retries a dropped connection itself, but gives up on an error answer (a 503 while a
        // restarted agent has not collected yet): then start a new one.
        if (s.readyState === 2 /* EventSource.CLOSED */ && !closed && !timer) {
          timer = setTimeout(() => { timer = undefined; connect(); }, retryMs);
        }
      },
    };
    for (const type of LIVE_EVENTS) s.addEventListener(type, on[type]);
    if (taken) {
      // Synchronously: no event can come between the replay and the listeners above taking over.
      taken.adopted = true;
      for (const ev of taken.events.splice(0)) on[ev.type as (typeof LIVE_EVENTS)[number]]?.(ev);
    }
  };
  connect();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      source?.close();
    },
  };
}

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

/**
 * Follows /api/v1/topology/stream until closed, reconnecting for ever. The map asks for `edges=cross-host`: a
 * fleet's first document then has only the edges between hosts (`partial` says so) and the rest is fetched.
 */
export function openLive(handlers: LiveHandlers, retryMs = 2000, path = '/api/v1/topology/stream?edges=cross-host'): { close(): void } {
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const parse = (ev: Event) => JSON.parse((ev as MessageEvent<string>).data) as unknown;
  const connect = () => {
    const s = new EventSource(path);
    source = s;
    s.addEventListener('open', () => handlers.onConnection('open'));
    s.addEventListener('topology', (ev) => handlers.onTopology(parse(ev) as TopologyDoc));
    s.addEventListener('diff', (ev) => handlers.onDiff(parse(ev) as TopologyDiff));
    s.addEventListener('status', (ev) => handlers.onStatus(parse(ev) as Freshness));
    s.addEventListener('error', () => {
      handlers.onConnection('retrying');
      // EventSource retries a dropped connection itself, but gives up on an error answer (a 503 while a
      // restarted agent has not collected yet): then start a new one.
      if (s.readyState === EventSource.CLOSED && !closed) {
        timer = setTimeout(connect, retryMs);
      }
    });
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

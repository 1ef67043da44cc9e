// `--server URL`: read documents from a running agent instead of collecting. The CLI renders them with the
// same core report functions it uses on its own collections; it never re-implements the server's logic.
import type { Topology } from '../core/model/topology.js';
import { CliError } from './common.js';

/** Fetches a JSON document from the agent at `server` (PORTOLAN_TOKEN, when set, is sent as bearer token). */
export async function fetchFromAgent<T>(server: string, path: string, query?: URLSearchParams): Promise<T> {
  let url: URL;
  try {
    url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  } catch {
    throw new CliError(`bad --server URL "${server}": use e.g. http://127.0.0.1:9057`);
  }
  if (query) url.search = query.toString();
  const token = process.env.PORTOLAN_TOKEN?.trim();
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach the agent at ${url.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message} (is \`portolan serve\` running there?)`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CliError(`the agent at ${url.origin} answered ${path} with HTTP ${res.status} and no JSON: is it a portolan agent?`);
  }
  if (!res.ok) {
    const e = body as { code?: string; message?: string };
    const hint = res.status === 401 ? ' (set PORTOLAN_TOKEN)'
      : res.status === 421 ? ` (reach it as 127.0.0.1 or localhost, or start it with --allowed-host ${url.hostname})` : '';
    throw new CliError(`the agent at ${url.origin} answered HTTP ${res.status} ${e.code ?? ''}: ${e.message ?? text.slice(0, 200)}${hint}`);
  }
  return body as T;
}

/** Warns on stderr when the agent serves a stale state (Docker away). */
export function staleWarning(doc: { stale?: boolean; staleSince?: string }): string[] {
  return doc.stale ? [`the agent cannot reach Docker${doc.staleSince ? ` since ${doc.staleSince}` : ''}: this is the last state it collected`] : [];
}

/** The topology from a running agent (`/api/v1/topology`, `?at=` from its history), for `graph --server`. */
export async function fetchTopology(server: string, at?: string): Promise<Topology & { stale?: boolean; staleSince?: string }> {
  return fetchFromAgent(server, 'api/v1/topology', at !== undefined ? new URLSearchParams({ at }) : undefined);
}

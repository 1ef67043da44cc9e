// `portolan events`: follows an agent's change events (/api/v1/events, Server-Sent Events) and prints each as an
// NDJSON line in connbeat's shape (the same mapping `serve --export` uses), or as the agent sends it (`--raw`).
// Reconnects with Last-Event-ID when the stream breaks, so nothing the agent still keeps is missed; what it no
// longer keeps is said on stderr.
import { Command, InvalidArgumentError } from 'commander';
import type { ChangeEvent } from '../core/report/changes.js';
import { CHANGE_EVENT_TYPES } from '../core/report/changes.js';
import type { ContainersReport } from '../core/report/containers.js';
import { toConnbeatDocuments, type ConnbeatContext, type ExportContainer } from '../core/report/connbeat.js';
import { matchesExportFilter } from '../core/report/export-filter.js';
import { createSseParser, type SseEvent } from '../core/parse/sse.js';
import { escapeJsonForTerminal, escapeTerminal } from '../core/report/terminal-text.js';
import { DEFAULT_LISTEN } from '../server/listen.js';
import { CliError } from './common.js';
import { fetchFromAgent } from './remote.js';
import { exportFilterOf, VERSION } from './serve.js';

/** Flags of `portolan events`. */
export interface EventsFlags {
  server?: string;
  raw?: boolean;
  type?: string[];
  container?: string[];
  port?: string[];
  direction?: string[];
  noLoopback?: boolean;
  /** Stop after this many printed lines (for scripts and tests). */
  count?: number;
}

const repeat = (v: string, prev: string[] = []) => [...prev, v];

/** The agent `events` follows without `--server`: this host's, where `serve` listens by default (PORTOLAN_LISTEN). */
export function defaultServer(env: NodeJS.ProcessEnv = process.env): string {
  const listen = env.PORTOLAN_LISTEN ?? DEFAULT_LISTEN;
  const host = listen.replace(/:\d+$/, '');
  const port = /:(\d+)$/.exec(listen)?.[1] ?? '9057';
  const reach = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host;
  return `http://${reach}:${port}`;
}

/** Adds `portolan events` to the program. */
export function registerEvents(program: Command): void {
  program.command('events')
    .description('follow an agent\'s container and connection events and print them as NDJSON (connbeat\'s document shape)')
    .option('--server <url>', 'the agent to follow (default: this host\'s, at PORTOLAN_LISTEN or 127.0.0.1:9057)')
    .option('--raw', 'print the agent\'s events as it sends them, not as connbeat documents')
    .option('--type <type>', `only these event types: ${CHANGE_EVENT_TYPES.join(', ')} (repeatable)`, repeat)
    .option('--container <glob>', 'only events of containers whose name or id matches (repeatable)', repeat)
    .option('--port <port>', 'only connections with this local or remote port or range (repeatable)', repeat)
    .option('--direction <direction>', 'only incoming or outgoing connections', repeat)
    .option('--no-loopback', 'leave out connections between loopback addresses')
    .option('--count <n>', 'stop after printing n lines', (v: string) => {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1) throw new InvalidArgumentError(`expected a positive whole number, got "${v}"`);
      return n;
    })
    .action(async (flags: EventsFlags & { loopback?: boolean }) => {
      for (const t of flags.type ?? []) {
        if (!(CHANGE_EVENT_TYPES as readonly string[]).includes(t)) throw new CliError(`--type: unknown event type "${t}" (use ${CHANGE_EVENT_TYPES.join(', ')})`);
      }
      const filter = exportFilterOf({
        ...(flags.container ? { exportContainer: flags.container } : {}), ...(flags.port ? { exportPort: flags.port } : {}),
        ...(flags.direction ? { exportDirection: flags.direction } : {}), exportNoLoopback: flags.loopback === false,
      }, 'portolan events');
      await followEvents({ ...flags, server: flags.server ?? defaultServer() }, filter);
    });
}

interface StatusDoc {
  dockerHost?: { hostname: string; ips: string[] };
  capture?: { state: string };
}

/** Follows the agent until interrupted (or `--count` lines). */
async function followEvents(flags: EventsFlags & { server: string }, filter: ReturnType<typeof exportFilterOf>): Promise<void> {
  const server = flags.server;
  const status = await fetchFromAgent<StatusDoc>(server, 'api/v1/status');
  const containers = new Map<string, ExportContainer>();
  const capturing = status.capture?.state === 'running';
  let hostname = status.dockerHost?.hostname ?? '';
  // On a hub: the fleet's hosts (id → name), from its containers, to name each event's own Docker host.
  const fleetHosts = new Map<string, string>();
  const refresh = async () => {
    const doc = await fetchFromAgent<ContainersReport>(server, 'api/v1/containers');
    hostname ||= doc.host.hostname;
    for (const c of doc.containers) {
      containers.set(c.id, { id: c.id, name: c.name, image: c.image, labels: c.labels, ports: c.ports });
      if (c.host) fleetHosts.set(c.host.id, c.host.hostname);
    }
  };
  await refresh().catch((err: unknown) => {
    // Not ready yet (no collection): containers are named from the events until a refresh succeeds.
    process.stderr.write(`portolan: warning: ${escapeTerminal((err as Error).message)}\n`);
  });
  const ctx = (event: ChangeEvent): ConnbeatContext => ({
    beat: { hostname, name: 'portolan', version: VERSION },
    // A hub's event names the host whose agent published it (its addresses are not in the answer).
    dockerHost: event.host !== undefined ? { hostname: fleetHosts.get(event.host) ?? event.host, ips: [] } : { hostname, ips: status.dockerHost?.ips ?? [] },
    containers,
  });
  const tty = process.stdout.isTTY === true;
  let printed = 0;
  const print = async (value: unknown) => {
    const line = JSON.stringify(value);
    const ok = process.stdout.write(`${tty ? escapeJsonForTerminal(line) : line}\n`);
    if (!ok) await new Promise((resolve) => process.stdout.once('drain', resolve));
    printed++;
  };
  const done = () => flags.count !== undefined && printed >= flags.count;

  let lastEventId: string | undefined;
  let backoffMs = 500;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    while (!controller.signal.aborted && !done()) {
      const url = new URL('api/v1/events', server.endsWith('/') ? server : `${server}/`);
      for (const t of flags.type ?? []) url.searchParams.append('type', t);
      const token = process.env.PORTOLAN_TOKEN?.trim();
      let res: Response;
      try {
        res = await fetch(url, {
          headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
          signal: controller.signal,
        });
      } catch (err) {
        if (controller.signal.aborted) break;
        if (lastEventId === undefined) throw new CliError(`cannot reach the agent at ${url.origin}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message} (is \`portolan serve\` running there?)`);
        await pause(backoffMs, controller.signal);
        backoffMs = Math.min(backoffMs * 2, 10_000);
        continue;
      }
      if (!res.ok || !res.body) {
        const text = await res.text().catch(() => '');
        throw new CliError(`the agent at ${url.origin} answered /api/v1/events with HTTP ${res.status}: ${escapeTerminal(text.slice(0, 200))}${res.status === 401 ? ' (set PORTOLAN_TOKEN)' : ''}`);
      }
      backoffMs = 500;
      const parser = createSseParser();
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          for (const e of parser.push(decoder.decode(chunk, { stream: true }))) {
            await handle(e);
            if (done()) break;
          }
          if (done()) break;
        }
      } catch (err) {
        if (controller.signal.aborted || done()) break;
        process.stderr.write(`portolan: warning: event stream broken (${escapeTerminal((err as Error).message)}); reconnecting\n`);
      }
      if (!controller.signal.aborted && !done()) await pause(backoffMs, controller.signal);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    controller.abort();
  }

  async function handle(e: SseEvent): Promise<void> {
    if (e.id !== undefined) lastEventId = e.id;
    if (e.event === 'ready') return;
    if (e.event === 'gap') {
      process.stderr.write(`portolan: warning: events missed: ${escapeTerminal(safeReason(e.data))}\n`);
      return;
    }
    let event: ChangeEvent;
    try {
      event = JSON.parse(e.data) as ChangeEvent;
    } catch {
      process.stderr.write(`portolan: warning: an event that is not JSON skipped (${escapeTerminal(e.data.slice(0, 80))})\n`);
      return;
    }
    if (flags.raw) {
      await print(event);
      return;
    }
    // While the agent captures connections from the kernel, the ones two collections derive are the same, later.
    if (capturing && 'connection' in event) return;
    if (event.type === 'container.started' && !containers.has(event.container.id)) await refresh().catch(() => undefined);
    let docs;
    try {
      docs = toConnbeatDocuments(event, ctx(event));
    } catch {
      process.stderr.write(`portolan: warning: an event of unknown shape skipped (${escapeTerminal(e.data.slice(0, 80))})\n`);
      return;
    }
    for (const d of docs) {
      if (!matchesExportFilter(d, filter)) continue;
      await print(d);
      if (done()) return;
    }
  }
}

function safeReason(data: string): string {
  try {
    return String((JSON.parse(data) as { reason?: unknown }).reason ?? data);
  } catch {
    return data;
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

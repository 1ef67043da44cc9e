// Builds the HTTP app over an agent, without listening: the CLI listens, tests call inject().
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Agent } from '../agent/loop.js';
import type { EbpfStatus } from '../core/capture/ebpf-event.js';
import type { ExportStatusSource } from './metrics-export.js';
import { DEFAULT_OUTPOST_INTERFACES } from '../core/report/outpost.js';
import { installAuth } from './auth.js';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandlers } from './errors.js';
import { installHostCheck, type HostCheckOptions } from './host-check.js';
import { registerLiveRoutes, type LiveOptions } from './live.js';
import { createMetrics, type MetricsOptions } from './metrics.js';
import { registerApiRoutes } from './routes/api.js';
import { registerHealthRoutes } from './routes/health.js';
import { collectOpenApi } from './routes/openapi.js';
import { registerOutpostRoute } from './routes/outpost.js';
import { registerSflowRoutes } from './routes/sflow.js';
import { registerUiRoutes, type UiAssets } from './ui-assets.js';
import { createViews } from './views.js';

/** Options of buildApp. */
export interface AppOptions {
  /** A pino logger (default: none). */
  readonly logger?: FastifyBaseLogger;
  /** When set, every endpoint but /healthz and /readyz needs it (bearer, or basic with it as password). */
  readonly token?: string;
  /** OUTPOST_INTERFACES: what a wildcard listener expands to in GET / (default 0.0.0.0). */
  readonly outpostInterfaces?: readonly string[];
  readonly metrics?: MetricsOptions;
  readonly live?: LiveOptions;
  /** The collectors' timeout, for the liveness rule (default 10 s). */
  readonly collectTimeoutMs?: number;
  readonly version?: string;
  /** The page browsers get at GET / (default: the web map's page when `ui` is given, else a small page pointing at the API). */
  readonly html?: string;
  /** The built web map (loadUiAssets): its page at GET / for browsers, its files under /ui/. */
  readonly ui?: UiAssets;
  /** Names the agent answers to besides loopback and the address it is reached on (DNS rebinding guard). */
  readonly hosts?: HostCheckOptions;
  /** The export (`serve --export`): each sink's state and counters, in /api/v1/status and /metrics. */
  readonly export?: ExportStatusSource;
  /** This Docker host's name and own addresses (connbeat's `docker_host`), in /api/v1/status for `portolan events`. */
  readonly dockerHost?: { readonly hostname: string; readonly ips: readonly string[] };
  /** The eBPF source (`serve --ebpf`): its state, or why it is off, in /api/v1/status. */
  readonly ebpf?: () => EbpfStatus;
}

/** Builds the fastify app (routes, auth, errors, metrics, live streams); call listen() or inject() on it. */
export async function buildApp(agent: Agent, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    // One log line per request would be most of the agent's output (and CPU) under polling clients.
    logController: new LogController({ disableRequestLogging: true }),
    // Unknown query parameters are a 400, not silently dropped; `?state=listen` becomes ['listen'].
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    forceCloseConnections: 'idle',
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });
  const version = options.version ?? '0.0.0';
  installErrorHandlers(app);
  // First of all hooks: a foreign Host or a cross-site request gets nothing, not even a 401.
  installHostCheck(app, options.hosts);
  if (options.token !== undefined) installAuth(app, options.token);
  const openapi = collectOpenApi(app, { title: 'portolan', version });

  const views = createViews(options.outpostInterfaces ?? DEFAULT_OUTPOST_INTERFACES);
  const live = registerLiveRoutes(app, agent, views, options.live);
  const metrics = createMetrics(agent, { version, ...options.metrics, live: live.stats, ...(options.export ? { export: options.export } : {}) });
  app.addHook('onClose', async () => { metrics.close(); });

  registerHealthRoutes(app, agent, { collectTimeoutMs: options.collectTimeoutMs ?? 10_000 });
  const html = options.html ?? options.ui?.index ?? DEFAULT_HTML;
  registerOutpostRoute(app, agent, views, () => html);
  if (options.ui) registerUiRoutes(app, options.ui);
  registerApiRoutes(app, agent, views, { live: live.stats, ...(options.export ? { export: options.export } : {}), ...(options.dockerHost ? { dockerHost: options.dockerHost } : {}), ...(options.ebpf ? { ebpf: options.ebpf } : {}) });
  registerSflowRoutes(app, agent);
  app.get('/metrics', {
    schema: { summary: 'Prometheus exposition: per-container traffic and sockets, per-edge connections and bytes, portolan\'s own health', produces: ['text/plain'], response: { 200: { type: 'string' } } },
  }, async (_req, reply) => reply.type(metrics.contentType).send(await metrics.render()));
  app.get('/api/v1/openapi.json', {
    schema: { summary: 'This API as an OpenAPI 3 document, generated from the route schemas', response: { 200: { type: 'object', additionalProperties: true } } },
  }, async (_req, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(openapi())));
  return app;
}

const DEFAULT_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>portolan</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:48em;margin:2em auto;padding:0 1em}code{background:#eee;padding:0 .2em}</style>
</head><body>
<h1>portolan</h1>
<p>Which Docker containers talk to which, read from the kernel. The web map is not built into this agent (<code>npm run build</code> builds it into dist/ui); the API is:</p>
<ul>
<li><a href="/api/v1/topology">/api/v1/topology</a> — who talks to whom (<code>?at=-10m</code> from history)</li>
<li><a href="/api/v1/containers">/api/v1/containers</a>, <a href="/api/v1/sockets">/api/v1/sockets</a></li>
<li><a href="/api/v1/topology/stream">/api/v1/topology/stream</a>, <a href="/api/v1/events">/api/v1/events</a> — live (Server-Sent Events)</li>
<li><a href="/api/v1/sflow">/api/v1/sflow</a> — sFlow agents, with <code>--sflow</code></li>
<li><a href="/metrics">/metrics</a> — Prometheus</li>
<li><a href="/api/v1/openapi.json">/api/v1/openapi.json</a> — OpenAPI 3</li>
</ul>
</body></html>
`;

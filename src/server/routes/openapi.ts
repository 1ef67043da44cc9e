// /api/v1/openapi.json: an OpenAPI 3 document generated from the route schemas as fastify registers them.
import type { FastifyInstance, RouteOptions } from 'fastify';

declare module 'fastify' {
  /** Documentation keywords the OpenAPI document reads from route schemas (fastify itself ignores them). */
  interface FastifySchema {
    summary?: string;
    description?: string;
    /** Content types of the 200 response when not JSON (`text/event-stream`, `text/plain`). */
    produces?: readonly string[];
    /** Leave the route out of the document. */
    hide?: boolean;
  }
}

interface RouteDoc {
  readonly method: string;
  readonly url: string;
  readonly schema: Record<string, unknown>;
}

/** Collects the routes' schemas (call before registering routes); the document is built on first request. */
export function collectOpenApi(app: FastifyInstance, info: { title: string; version: string }): () => unknown {
  const routes: RouteDoc[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    const methods = (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD');
    const schema = (r.schema ?? {}) as Record<string, unknown>;
    if (schema.hide === true) return;
    for (const method of methods) routes.push({ method: method.toLowerCase(), url: r.url, schema });
  });
  let doc: unknown;
  return () => {
    doc ??= build(routes, info);
    return doc;
  };
}

function build(routes: readonly RouteDoc[], info: { title: string; version: string }): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const s = r.schema;
    const parameters: unknown[] = [];
    const query = s.querystring as { properties?: Record<string, Record<string, unknown>>; required?: string[] } | undefined;
    for (const [name, p] of Object.entries(query?.properties ?? {})) {
      const { description, ...schema } = p;
      const isArray = schema.type === 'array';
      parameters.push({
        name, in: 'query', required: query?.required?.includes(name) ?? false, schema,
        ...(description ? { description } : {}), ...(isArray ? { style: 'form', explode: true } : {}),
      });
    }
    const params = s.params as { properties?: Record<string, Record<string, unknown>> } | undefined;
    for (const [name, schema] of Object.entries(params?.properties ?? {})) parameters.push({ name, in: 'path', required: true, schema });
    const produces = (s.produces as string[] | undefined)?.[0];
    const responses: Record<string, unknown> = {};
    for (const [code, schema] of Object.entries((s.response ?? {}) as Record<string, Record<string, unknown>>)) {
      const type = code === '200' && produces ? produces : 'application/json';
      responses[code] = { description: (schema.description as string | undefined) ?? describe(code), content: { [type]: { schema } } };
    }
    if (Object.keys(responses).length === 0) responses['200'] = { description: 'OK' };
    paths[path] ??= {};
    paths[path][r.method] = {
      ...(s.summary ? { summary: s.summary } : {}),
      ...(s.description ? { description: s.description } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info: { ...info, description: 'portolan agent: which Docker containers talk to which, read from the kernel. Read-only.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } },
    },
    security: [{ bearer: [] }, { basic: [] }, {}],
    paths,
  };
}

function describe(code: string): string {
  return ({ '200': 'OK', '400': 'Bad parameter', '401': 'Token missing or wrong', '404': 'Not found', '503': 'Not ready' } as Record<string, string>)[code] ?? code;
}

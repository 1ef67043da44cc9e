// Coded JSON errors: every error the API returns is `{ statusCode, code, message }` — including what fastify and
// Node would answer by themselves (a malformed request line, an unknown method, a URL that does not decode).
import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** An error the API answers with its own status and code. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    /** Stable, snake_case: `bad_parameter`, `not_found`, `not_ready`, `unauthorized`, `no_history`… */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The body of every error response. */
export interface ErrorBody {
  readonly statusCode: number;
  readonly code: string;
  readonly message: string;
}

/** JSON schema of ErrorBody, for route schemas and the OpenAPI document. */
export const errorSchema = {
  type: 'object',
  required: ['statusCode', 'code', 'message'],
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } },
} as const;

/** The 503 of an agent that has not collected yet. */
export function notReady(): HttpError {
  return new HttpError(503, 'not_ready', 'no collection has completed yet; retry in a moment');
}

/** Longest request path echoed in a message. */
const PATH_ECHO = 200;

function pathOf(url: string): string {
  const p = url.split('?')[0] ?? '';
  return p.length > PATH_ECHO ? `${p.slice(0, PATH_ECHO)}…` : p;
}

/**
 * fastify's `frameworkErrors`: a URL that does not decode (`/%zz`) gets portolan's 400 instead of fastify's
 * own body.
 */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const body: ErrorBody = { statusCode: 400, code: 'bad_request', message: `bad request: ${err.message.slice(0, PATH_ECHO)}` };
  req.log.debug({ code: err.code }, 'bad url');
  void reply.code(400).type('application/json; charset=utf-8').send(body);
}

/**
 * fastify's `clientErrorHandler`: what Node's parser refuses before any route runs (an unknown method, a
 * malformed request line, headers too large, a request too slow) answered in the same contract.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [statusCode, code, message] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request_timeout', 'the request took too long to arrive']
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers_too_large', 'request headers too large']
      : err.code === 'HPE_INVALID_METHOD' ? [405, 'method_not_allowed', 'unknown method: this API answers GET and HEAD']
        : [400, 'bad_request', 'malformed HTTP request'];
  this.log.debug({ code: err.code }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify({ statusCode, code, message } satisfies ErrorBody);
    socket.write(`HTTP/1.1 ${statusCode} ${http.STATUS_CODES[statusCode] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n${statusCode === 405 ? 'Allow: GET, HEAD\r\n' : ''}\r\n${body}`);
  }
  socket.destroy(err);
}

/** Installs the JSON error handler, and the 404/405 handler (405 for a known path asked with another method than GET/HEAD). */
export function installErrorHandlers(app: FastifyInstance): void {
  // Every route is a GET (fastify adds HEAD): known static paths and wildcard prefixes, for 405 vs 404.
  const paths = new Set<string>();
  const prefixes: string[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('GET')) return;
    if (route.url.endsWith('*')) prefixes.push(route.url.slice(0, -1));
    else paths.add(route.url);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const known = paths.has(path) || prefixes.some((p) => path.startsWith(p));
    if (known && req.method !== 'GET' && req.method !== 'HEAD') {
      const body: ErrorBody = { statusCode: 405, code: 'method_not_allowed', message: `${req.method} ${pathOf(req.url)}: this API is read-only, use GET` };
      void reply.code(405).header('allow', 'GET, HEAD').type('application/json; charset=utf-8').send(body);
      return;
    }
    const body: ErrorBody = { statusCode: 404, code: 'not_found', message: `no route ${req.method} ${pathOf(req.url)}` };
    void reply.code(404).type('application/json; charset=utf-8').send(body);
  });
  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    let body: ErrorBody;
    if (err instanceof HttpError) {
      body = { statusCode: err.statusCode, code: err.code, message: err.message };
    } else if ((err as FastifyError).validation) {
      body = { statusCode: 400, code: 'bad_parameter', message: err.message };
    } else if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      body = { statusCode: err.statusCode, code: (err.code ?? 'bad_request').toLowerCase(), message: err.message };
    } else {
      req.log.error({ err }, 'request failed');
      body = { statusCode: 500, code: 'internal_error', message: 'internal error (see the agent log)' };
    }
    // One challenge per header line: browsers read a line as one challenge, and Chromium would take
    // `Bearer …, Basic …` for a Bearer challenge it cannot answer instead of prompting for Basic (the web map).
    if (body.statusCode === 401) void reply.header('www-authenticate', ['Basic realm="portolan", charset="UTF-8"', 'Bearer realm="portolan"']);
    void reply.code(body.statusCode).type('application/json; charset=utf-8').send(body);
  });
}

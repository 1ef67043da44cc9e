// Coded JSON errors: every error the API returns is `{ statusCode, code, message }`.
import type { FastifyError, FastifyInstance } from 'fastify';

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

/** Installs the JSON error and 404 handlers. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((req, reply) => {
    const body: ErrorBody = { statusCode: 404, code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` };
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

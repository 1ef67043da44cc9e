// Token authentication: bearer (`Authorization: Bearer <token>`) or basic (any user, the token as password),
// compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.js';

/** Paths open without a token: liveness and readiness say nothing about the host. */
export const UNAUTHENTICATED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** True when the Authorization header carries the token (bearer or basic password). */
export function isAuthorized(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const m = /^(Bearer|Basic)\s+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  let presented = m[2] ?? '';
  if ((m[1] ?? '').toLowerCase() === 'basic') {
    const decoded = Buffer.from(presented, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    presented = decoded.slice(colon + 1);
  }
  // Hash both so lengths match and the comparison time says nothing about the token.
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/** Requires the token on every request but the health checks. */
export function installAuth(app: FastifyInstance, token: string): void {
  app.addHook('onRequest', async (req) => {
    if (UNAUTHENTICATED_PATHS.has(req.url.split('?')[0] ?? '')) return;
    if (!isAuthorized(req.headers.authorization, token)) {
      throw new HttpError(401, 'unauthorized', 'this agent needs a token: send "Authorization: Bearer <token>" (or basic auth with the token as password)');
    }
  });
}

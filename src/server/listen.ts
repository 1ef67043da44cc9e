// Where the agent listens, and the rule that anything but loopback needs authentication.
import { isIP } from 'node:net';

/** A parsed `--listen HOST:PORT`. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Default listen address: loopback only. */
export const DEFAULT_LISTEN = '127.0.0.1:9057';

/** Parses `HOST:PORT`, `[v6]:PORT` or `:PORT` (all addresses); throws a one-line Error when malformed. */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new Error(`bad listen address "${text}": use HOST:PORT, e.g. 127.0.0.1:9057, [::1]:9057 or 0.0.0.0:9057`);
  }
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : (m[2] ?? ''));
  if (m[1] !== undefined && isIP(host) !== 6) throw new Error(`bad listen address "${text}": [${host}] is not an IPv6 address`);
  return { host, port };
}

/** True for addresses only this host can reach: 127.0.0.0/8, ::1, ::ffff:127.x, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

/** Formats a listen address for messages and URLs. */
export function formatListen(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * The security rule: listening beyond loopback needs a token, or an explicit opt-out. Returns the refusal
 * message, or undefined when the agent may start.
 */
export function checkListenPolicy(address: ListenAddress, token: string | undefined, insecureNoAuth: boolean): string | undefined {
  if (isLoopback(address.host) || token !== undefined || insecureNoAuth) return undefined;
  return `refusing to listen on ${formatListen(address)} without authentication: anyone who can reach it would see every ` +
    'container\'s connections. Set PORTOLAN_TOKEN or --token-file FILE (clients then send "Authorization: Bearer <token>"), ' +
    'listen on loopback (--listen 127.0.0.1:9057), or pass --insecure-no-auth if something else guards the port';
}

/** The base URL a client on this host reaches an agent listening on `a` at: a wildcard address is reached on loopback. */
export function localUrl(a: ListenAddress): string {
  const host = a.host === '0.0.0.0' ? '127.0.0.1' : a.host === '::' ? '::1' : a.host;
  return `http://${formatListen({ host, port: a.port })}`;
}

// DNS rebinding and cross-site requests. Any web page a user opens can send requests to 127.0.0.1; a page
// whose name rebinds to 127.0.0.1 can even read the answers (same origin for the browser). The agent
// therefore answers only to names it knows (Host), and refuses requests a browser makes on behalf of another
// site (Origin, Sec-Fetch-Site). IP literals cannot be rebound, so the address a client reached the agent on
// is always accepted: `curl http://10.0.0.5:9057` works on an agent listening on 0.0.0.0.
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/** Names every agent answers to (with its port): loopback. */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** Longest Host or Origin echoed in an error message. */
const ECHO_MAX = 100;

/** Options of the Host/Origin check. */
export interface HostCheckOptions {
  /** `--allowed-host` values: `name` (any port) or `name:port`, `[v6]` or `[v6]:port`. */
  readonly allowedHosts?: readonly string[];
  /** The `--listen` host, accepted as a name when it is not a wildcard (0.0.0.0, ::). */
  readonly listenHost?: string;
}

/** A host and optional port, as in a Host header or `--allowed-host`. */
export interface HostPort {
  /** Lower case, IPv6 without brackets. */
  readonly name: string;
  readonly port?: number;
}

/** Parses `name`, `name:port`, `[v6]`, `[v6]:port` (a Host header, an --allowed-host); undefined when malformed. */
export function parseHostPort(text: string): HostPort | undefined {
  const t = text.trim().toLowerCase();
  if (t === '' || t.length > 300) return undefined;
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]\s/@]+))(?::(\d{1,5}))?$/.exec(t);
  if (!m) return undefined;
  const name = m[1] ?? m[2] ?? '';
  if (m[1] !== undefined && isIP(name) !== 6) return undefined;
  const port = m[3] !== undefined ? Number(m[3]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  // A trailing dot names the same host (`localhost.`).
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return port !== undefined ? { name: bare, port } : { name: bare };
}

/** Parses the `--allowed-host` values and PORTOLAN_ALLOWED_HOSTS (comma-separated); throws naming a bad one. */
export function parseAllowedHosts(values: readonly string[]): HostPort[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '').map((v) => {
    const hp = parseHostPort(v);
    if (!hp) throw new Error(`bad allowed host "${v}": use a name or address, optionally with :port (e.g. portolan.example:9057, [fd00::5])`);
    return hp;
  });
}

function unmapped(address: string): string {
  const a = address.toLowerCase();
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** What a request's Host and Origin are checked against. */
export interface HostRule {
  /** Why `host` (a Host header or an Origin's host) is refused, or undefined when it is accepted. */
  refuse(host: HostPort, local: { address?: string | undefined; port?: number | undefined }): string | undefined;
}

/** Builds the rule: loopback names and the listen host on the agent's port, configured names, the address reached. */
export function createHostRule(options: HostCheckOptions = {}): HostRule {
  const configured = parseAllowedHosts(options.allowedHosts ?? []);
  const own = new Set(DEFAULT_ALLOWED_HOSTS);
  const listen = options.listenHost?.toLowerCase();
  if (listen !== undefined && listen !== '0.0.0.0' && listen !== '::' && listen !== '') own.add(unmapped(listen));
  return {
    refuse(host, local) {
      for (const c of configured) if (c.name === host.name && (c.port === undefined || c.port === host.port)) return undefined;
      // Without a port the browser meant 80: not this agent unless it listens there.
      const portOk = local.port === undefined || host.port === local.port || (host.port === undefined && local.port === 80);
      const reached = local.address !== undefined && isIP(host.name) !== 0 && unmapped(host.name) === unmapped(local.address);
      if ((own.has(unmapped(host.name)) || reached) && portOk) return undefined;
      return 'not a name of this agent';
    },
  };
}

function echo(text: string): string {
  return JSON.stringify(text.length > ECHO_MAX ? `${text.slice(0, ECHO_MAX)}…` : text);
}

/** Checks one request; throws the coded HttpError (421 host_not_allowed, 403 cross_site) when it is refused. */
export function checkRequestOrigin(req: Pick<FastifyRequest, 'headers'> & { socket: { localAddress?: string | undefined; localPort?: number | undefined } }, rule: HostRule): void {
  const local = { address: req.socket.localAddress, port: req.socket.localPort };
  const hostHeader = req.headers.host;
  const host = typeof hostHeader === 'string' ? parseHostPort(hostHeader) : undefined;
  if (!host || rule.refuse(host, local) !== undefined) {
    throw new HttpError(421, 'host_not_allowed', `Host ${hostHeader === undefined ? '(none)' : echo(String(hostHeader))} is not a name of this agent: ` +
      'it answers to localhost, 127.0.0.1, [::1] and the address it is reached on (with its port); start it with ' +
      '--allowed-host NAME (env PORTOLAN_ALLOWED_HOSTS) to accept another name');
  }
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site') {
    throw new HttpError(403, 'cross_site', 'cross-site browser requests are refused (Sec-Fetch-Site: cross-site): open the agent\'s own page instead');
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    // `null` (sandboxed frames, file:), other schemes and garbage are no allowed origin.
    let originHost: HostPort | undefined;
    if (URL.canParse(origin)) {
      const u = new URL(origin);
      const port = u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
      if (u.protocol === 'http:' || u.protocol === 'https:') originHost = parseHostPort(`${u.hostname}:${port}`);
    }
    if (!originHost || rule.refuse(originHost, local) !== undefined) {
      throw new HttpError(403, 'cross_site', `cross-site browser requests are refused (Origin ${echo(origin)} is not this agent)`);
    }
  }
}

/** Refuses requests with a foreign Host (421) and cross-site browser requests (403), before anything else runs. */
export function installHostCheck(app: FastifyInstance, options: HostCheckOptions = {}): void {
  const rule = createHostRule(options);
  app.addHook('onRequest', async (req) => {
    checkRequestOrigin({ headers: req.headers, socket: req.raw.socket ?? {} }, rule);
  });
}

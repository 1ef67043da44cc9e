// How portolan connects to NATS, as NATS users deploy it: one or several server URLs (a cluster), credentials in
// the URL (user:password@) or as a token, an nkey seed file or a `.creds` file (JWT + seed), and TLS with
// `tls://` URLs (and a CA file for a private CA). Files are read here, once, with a clear error.
import fs from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';

export { NatsConfigError, parseNatsServers, type NatsConfig } from './nats-config.js';
import { NatsConfigError, type NatsConfig } from './nats-config.js';

function readFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new NatsConfigError(`cannot read the NATS ${what} ${file}: ${(err as Error).message}`);
  }
}

/** Turns the configuration into nats.js options (pure apart from reading the named files). */
export function toConnectionOptions(config: NatsConfig): ConnectionOptions {
  if (config.servers.length === 0) throw new NatsConfigError('no NATS server given (e.g. --nats nats://127.0.0.1:4222)');
  let user: string | undefined;
  let pass: string | undefined;
  let tls = false;
  const servers = config.servers.map((s) => {
    const withScheme = /^[a-z]+:\/\//i.test(s) ? s : `nats://${s}`;
    let u: URL;
    try {
      u = new URL(withScheme);
    } catch {
      throw new NatsConfigError(`bad NATS URL "${s}": use nats://HOST:PORT or tls://HOST:PORT`);
    }
    if (!['nats:', 'tls:'].includes(u.protocol)) throw new NatsConfigError(`bad NATS URL "${s}": the scheme must be nats:// or tls://`);
    if (u.protocol === 'tls:') tls = true;
    if (u.username !== '') {
      const uu = decodeURIComponent(u.username);
      const pp = decodeURIComponent(u.password);
      if (user !== undefined && (user !== uu || pass !== pp)) throw new NatsConfigError('the NATS URLs carry different credentials');
      user = uu;
      pass = pp;
    }
    return `${u.hostname.includes(':') && !u.hostname.startsWith('[') ? `[${u.hostname}]` : u.hostname}:${u.port === '' ? '4222' : u.port}`;
  });
  const ways = [user !== undefined, config.token !== undefined, config.nkeyFile !== undefined, config.credsFile !== undefined].filter(Boolean).length;
  if (ways > 1) throw new NatsConfigError('give one NATS credential: user:password in the URL, a token, an nkey seed file or a .creds file');
  const options: ConnectionOptions & { servers: string[] } = { servers, name: config.name ?? 'portolan' };
  if (user !== undefined) Object.assign(options, { user, pass });
  if (config.token !== undefined) options.token = config.token;
  if (config.nkeyFile !== undefined) {
    const seed = readFile(config.nkeyFile, 'nkey seed file').trim();
    if (!/^S[A-Z2-7]{20,}$/.test(seed)) throw new NatsConfigError(`${config.nkeyFile} holds no nkey seed (a line starting with S…)`);
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (config.credsFile !== undefined) {
    const creds = readFile(config.credsFile, '.creds file');
    if (!creds.includes('-----BEGIN NATS USER JWT-----') || !creds.includes('NKEY SEED')) throw new NatsConfigError(`${config.credsFile} is not a NATS .creds file (a user JWT and an nkey seed)`);
    options.authenticator = credsAuthenticator(new TextEncoder().encode(creds));
  }
  if (tls || config.caFile !== undefined || config.certFile !== undefined) {
    options.tls = {
      ...(config.caFile !== undefined ? { ca: readFile(config.caFile, 'CA file') } : {}),
      ...(config.certFile !== undefined ? { cert: readFile(config.certFile, 'certificate file') } : {}),
      ...(config.keyFile !== undefined ? { key: readFile(config.keyFile, 'key file') } : {}),
    };
  }
  return options;
}

/**
 * Connects, retrying for ever in the background once connected (nats.js reconnects; the publisher and the hub
 * watch its status). The first connection is awaited up to `timeoutMs`; `waitOnFirstConnect` keeps trying when
 * no server answers yet (an agent starting before NATS must still start collecting).
 */
export function connectNats(config: NatsConfig, extra: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  return connect({
    ...toConnectionOptions(config),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    pingInterval: 10_000,
    maxPingOut: 3,
    ...extra,
  });
}

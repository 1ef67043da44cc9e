// What the user tells portolan about NATS (flags and environment), apart from connecting: the CLI's option parsing
// reads this module, which does not load the NATS client (every command would pay for loading it at start).

/** What the user told portolan about NATS (flags and environment). */
export interface NatsConfig {
  /** Server URLs: `nats://host:4222`, `tls://host:4222`, `host:4222`; user:password@ in a URL is taken as credentials. */
  readonly servers: readonly string[];
  readonly token?: string;
  /** A file holding an nkey seed (`SU…`). */
  readonly nkeyFile?: string;
  /** A `.creds` file (user JWT and nkey seed, as `nsc` writes them). */
  readonly credsFile?: string;
  /** A CA certificate (PEM) to trust for TLS. */
  readonly caFile?: string;
  /** Client certificate and key (PEM) for TLS client authentication. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** The connection's name, shown by the server's monitoring (`connz`). */
  readonly name?: string;
}

/** Thrown for a NATS configuration that cannot work (bad URL, unreadable file, two credentials at once). */
export class NatsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NatsConfigError';
  }
}

/** Splits `--nats` values and PORTOLAN_NATS (comma- or space-separated lists) into server URLs. */
export function parseNatsServers(values: readonly string[]): string[] {
  const out = values.flatMap((v) => v.split(/[\s,]+/)).map((s) => s.trim()).filter((s) => s !== '');
  if (out.length > 64) throw new NatsConfigError(`${out.length} NATS servers: at most 64`);
  return out;
}

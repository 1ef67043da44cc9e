// The NATS flags `serve` and `hub` share: servers (repeatable, env PORTOLAN_NATS), and credentials as NATS users
// deploy them — user:password in the URL, a token (file or env), an nkey seed file, a .creds file; TLS with tls://
// URLs and a CA file.
import fs from 'node:fs';
import type { Command } from 'commander';
import type { NatsConfig } from '../fleet/nats-config.js';
import { parseNatsServers } from '../fleet/nats-config.js';
import { CliError } from './common.js';

/** The NATS flags as commander gives them. */
export interface NatsFlags {
  nats?: string[];
  natsCreds?: string;
  natsNkey?: string;
  natsTokenFile?: string;
  natsCa?: string;
  natsCert?: string;
  natsKey?: string;
}

/** Adds the NATS flags; `required` says so in the help of `--nats`. */
export function withNatsOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--nats <url>', `${what}: NATS server URL (nats://HOST:PORT, tls://HOST:PORT, user:password@ allowed); repeatable or comma-separated for a cluster (env PORTOLAN_NATS)`,
      (v: string, prev: string[] = []) => [...prev, v])
    .option('--nats-creds <file>', 'NATS .creds file (user JWT and nkey seed)')
    .option('--nats-nkey <file>', 'file holding a NATS nkey seed')
    .option('--nats-token-file <file>', 'file holding a NATS token (else env PORTOLAN_NATS_TOKEN)')
    .option('--nats-ca <file>', 'CA certificate (PEM) to trust for NATS TLS')
    .option('--nats-cert <file>', 'client certificate (PEM) for NATS TLS')
    .option('--nats-key <file>', 'client key (PEM) for NATS TLS');
}

/** The NATS configuration from the flags and environment; undefined when no server is given. */
export function toNatsConfig(flags: NatsFlags, name: string, env: NodeJS.ProcessEnv = process.env): NatsConfig | undefined {
  const servers = parseNatsServers(flags.nats ?? (env.PORTOLAN_NATS ? [env.PORTOLAN_NATS] : []));
  if (servers.length === 0) return undefined;
  let token: string | undefined;
  if (flags.natsTokenFile) {
    try {
      token = fs.readFileSync(flags.natsTokenFile, 'utf8').trim();
    } catch (err) {
      throw new CliError(`cannot read the NATS token file ${flags.natsTokenFile}: ${(err as Error).message}`);
    }
    if (token === '') throw new CliError(`the NATS token file ${flags.natsTokenFile} is empty`);
  } else if (env.PORTOLAN_NATS_TOKEN?.trim()) token = env.PORTOLAN_NATS_TOKEN.trim();
  return {
    servers, name,
    ...(token !== undefined ? { token } : {}),
    ...(flags.natsCreds ? { credsFile: flags.natsCreds } : {}),
    ...(flags.natsNkey ? { nkeyFile: flags.natsNkey } : {}),
    ...(flags.natsCa ? { caFile: flags.natsCa } : {}),
    ...(flags.natsCert ? { certFile: flags.natsCert } : {}),
    ...(flags.natsKey ? { keyFile: flags.natsKey } : {}),
  };
}

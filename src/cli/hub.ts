// `portolan hub`: the fleet's reading side. Consumes what every host's agent publishes to NATS JetStream, merges
// it into one topology and serves it as an agent does (API, streams, events, /metrics, the map, `?at=` history in
// its own SQLite), with the agent's security rules: loopback unless a token is set, Host-header check.
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_RETENTION_MS } from '../agent/retention.js';
import { parseAllowedHosts } from '../server/host-check.js';
import { checkListenPolicy, parseListen, type ListenAddress } from '../server/listen.js';
import { CliError, durationMs, formatDuration, positiveInteger, UsageError } from './common.js';
import { toNatsConfig, withNatsOptions, type NatsFlags } from './nats-options.js';
import { defaultDataDir, LOG_LEVELS, readToken } from './serve.js';

/** Where the hub listens by default (beside an agent's 9057 on the same machine). */
export const DEFAULT_HUB_LISTEN = '127.0.0.1:9058';

/** The flags of `portolan hub`. */
export interface HubFlags extends NatsFlags {
  listen: string;
  tokenFile?: string;
  insecureNoAuth?: boolean;
  allowedHost?: string[];
  name: string;
  data: string;
  history: boolean;
  retention: number;
  hostRetention: number;
  natsReplicas?: number;
  logLevel: string;
  metricsMaxEdges: number;
}

/** Adds `portolan hub` to the program. */
export function registerHub(program: Command): void {
  withNatsOptions(program.command('hub'), 'where the fleet is published (required)')
    .description('run the fleet\'s hub: read every host\'s agent from NATS JetStream and serve the whole fleet as one agent does')
    .option('--listen <host:port>', 'where to listen (env PORTOLAN_HUB_LISTEN); beyond loopback a token is required', process.env.PORTOLAN_HUB_LISTEN ?? DEFAULT_HUB_LISTEN)
    .option('--token-file <file>', 'file holding the API token (else env PORTOLAN_TOKEN); clients send "Authorization: Bearer <token>"')
    .option('--insecure-no-auth', 'allow listening beyond loopback without a token')
    .option('--allowed-host <name>', 'another Host name to answer to (repeatable; env PORTOLAN_ALLOWED_HOSTS)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--name <name>', 'this hub\'s durable consumer name: one per hub (two hubs with one name would split the fleet between them)', `portolan-hub-${os.hostname()}`)
    .option('--data <dir>', 'history directory (env PORTOLAN_DATA)', process.env.PORTOLAN_DATA ?? path.join(defaultDataDir(), 'hub'))
    .option('--no-history', 'keep no history')
    .addOption(new Option('--retention <duration>', 'how long history is kept').argParser(durationMs(undefined, 60_000)).default(DEFAULT_RETENTION_MS, formatDuration(DEFAULT_RETENTION_MS)))
    .addOption(new Option('--host-retention <duration>', 'how long a silent host\'s last state is kept (marked stale after 3 of its intervals)').argParser(durationMs(undefined, 1000)).default(3_600_000, '1h'))
    .option('--nats-replicas <n>', 'replicas of the fleet\'s streams when the hub creates them (default: 3 on a cluster, 1 on one server)', positiveInteger)
    .option('--metrics-max-edges <n>', 'most edges exported on /metrics (busiest first)', positiveInteger, 1000)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .action(async (flags: HubFlags) => {
      let address: ListenAddress;
      try {
        address = parseListen(flags.listen);
      } catch (err) {
        throw new UsageError(`--listen: ${(err as Error).message}`, 'portolan hub');
      }
      const nats = toNatsConfig(flags, `portolan-hub-${flags.name}`);
      if (!nats) throw new UsageError('--nats is required (or env PORTOLAN_NATS)', 'portolan hub');
      const token = readToken(flags);
      const allowedHosts = [...(process.env.PORTOLAN_ALLOWED_HOSTS ?? '').split(','), ...(flags.allowedHost ?? [])].map((h) => h.trim()).filter((h) => h !== '');
      try {
        parseAllowedHosts(allowedHosts);
      } catch (err) {
        throw new UsageError((err as Error).message, 'portolan hub');
      }
      const refusal = checkListenPolicy(address, token, flags.insecureNoAuth === true);
      if (refusal) throw new CliError(refusal);
      const { runHub } = await import('./hub-run.js');
      await runHub(flags, nats, address, token, allowedHosts);
    });
}

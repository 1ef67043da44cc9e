// `portolan serve`: the agent. Wires the collection, the Docker events follower, the history store, the
// agent loop and the HTTP app, then listens; SIGINT/SIGTERM stop it cleanly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isIP } from 'node:net';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseByteSize } from '../core/byte-size.js';
import { compileExportFilter, type ExportFilter } from '../core/report/export-filter.js';
import { parseExportSpec, type ExportSpec } from '../export/spec.js';
import { DEFAULT_RETENTION_MS } from '../agent/retention.js';
import { parseAllowedHosts } from '../server/host-check.js';
import { checkListenPolicy, DEFAULT_LISTEN, parseListen, type ListenAddress } from '../server/listen.js';
import { withNatsOptions, type NatsFlags } from './nats-options.js';
import { CliError, durationMs, formatDuration, intervalSeconds, positiveInteger, UsageError, withCollectionOptions, withConntrackAcctOption, type CollectionFlags } from './common.js';

/** portolan's version, as reported by /metrics and the OpenAPI document. */
export const VERSION = '0.1.0';

export interface ServeFlags extends CollectionFlags, NatsFlags {
  interval: number;
  listen: string;
  tokenFile?: string;
  insecureNoAuth?: boolean;
  data: string;
  history: boolean;
  retention: number;
  collectTimeout: number;
  metricsMaxEdges: number;
  logLevel: string;
  dns: boolean;
  allowedHost?: string[];
  /** `--sflow [HOST:]PORT`: receive sFlow there (true: the default address). */
  sflow?: SflowAddress | true;
  /** `--export` targets (repeatable). */
  export?: ExportSpec[];
  exportContainer?: string[];
  exportPort?: string[];
  exportDirection?: string[];
  exportType?: string[];
  exportNoLoopback?: boolean;
  exportBufferDir?: string;
  exportBufferMax: number;
  exportBatch: number;
  exportFileMaxSize: number;
  exportFileMaxFiles: number;
  /** `--ebpf`: also capture what conntrack cannot see, through bpftrace (opt-in). */
  ebpf?: boolean;
  /** `--no-capture` sets false: do not follow conntrack events. */
  capture: boolean;
  /** `--conntrack-timestamps`: set nf_conntrack_timestamp=1 at start (host-wide; explicit only). */
  conntrackTimestamps?: boolean;
}

const repeat = <T>(parse: (v: string) => T) => (v: string, prev: T[] = []) => [...prev, parse(v)];
const asArgument = <T>(parse: (v: string) => T) => (v: string): T => {
  try {
    return parse(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

/** Adds the export flags (`serve --export …` and its filters) to a command. */
export function withExportOptions(cmd: Command): Command {
  return cmd
    .option('--export <target>', 'also export container and connection events as NDJSON (connbeat shape) to stdout, file:PATH, http(s)://HOST/PATH (batched POST, retried, disk-buffered) or nats://HOST:PORT/SUBJECT (repeatable)', repeat(asArgument(parseExportSpec)))
    .option('--export-container <glob>', 'export only events of containers whose name or id matches (repeatable)', repeat(String))
    .option('--export-port <port>', 'export only connections with this local or remote port or range, e.g. 443 or 8000-8999 (repeatable, comma-separated)', repeat(String))
    .option('--export-direction <direction>', 'export only incoming or outgoing connections (as seen from the local end)', repeat(String))
    .option('--export-type <kind>', 'export only connection or container events', repeat(String))
    .option('--export-no-loopback', 'do not export connections between loopback addresses')
    .option('--export-buffer-dir <dir>', 'where HTTP exports keep undelivered batches (default: <data>/export-buffer)')
    .addOption(new Option('--export-buffer-max <size>', 'most disk an HTTP export\'s buffer takes; beyond it new events are dropped and counted').argParser(asArgument(parseByteSize)).default(64 * 1024 * 1024, '64MiB'))
    .option('--export-batch <n>', 'documents per HTTP POST', positiveInteger, 500)
    .addOption(new Option('--export-file-max-size <size>', 'size at which an export file is rotated').argParser(asArgument(parseByteSize)).default(10 * 1024 * 1024, '10MiB'))
    .option('--export-file-max-files <n>', 'export files kept, the live one included', positiveInteger, 5)
    .option('--ebpf', 'also capture TCP connections conntrack cannot see (loopback inside a container, a host process to the host\'s own address) with bpftrace on sock:inet_sock_set_state; needs bpftrace, root and tracefs mounted (portolan does not mount it: mount -t tracefs tracefs /sys/kernel/tracing)');
}

/** The export filter of the flags; a bad value is a usage error. */
export function exportFilterOf(flags: Pick<ServeFlags, 'exportContainer' | 'exportPort' | 'exportDirection' | 'exportType' | 'exportNoLoopback'>, command: string): ExportFilter {
  try {
    return compileExportFilter({
      containers: flags.exportContainer ?? [], ports: flags.exportPort ?? [], directions: flags.exportDirection ?? [], kinds: flags.exportType ?? [],
      loopback: flags.exportNoLoopback !== true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message, command);
  }
}

/** Where `--sflow` receives sFlow datagrams. */
export interface SflowAddress {
  readonly host: string;
  readonly port: number;
}

/** sFlow's port (IANA), and the address `--sflow` alone binds: every IPv4 address, as switches send from the network. */
export const DEFAULT_SFLOW: SflowAddress = { host: '0.0.0.0', port: 6343 };

/** Parses `--sflow PORT`, `HOST:PORT`, `[v6]:PORT` or `HOST` (port 6343); the host must be an IP address. */
export function parseSflowAddress(text: string): SflowAddress {
  const t = text.trim();
  const bad = (why: string) => new InvalidArgumentError(`bad sFlow address "${text}": ${why} (use PORT, HOST:PORT or [IPv6]:PORT, e.g. 6343, 0.0.0.0:6343, [::]:6343)`);
  let host = DEFAULT_SFLOW.host;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) {
    host = v6[1] ?? '';
    portText = v6[2];
    if (isIP(host) !== 6) throw bad(`[${host}] is not an IPv6 address`);
  } else if (/^\d+$/.test(t)) {
    portText = t;
  } else if (isIP(t) !== 0) {
    host = t;
  } else {
    const m = /^([^:]*):(\d+)$/.exec(t);
    if (!m) throw bad('not an address');
    host = m[1] === '' ? DEFAULT_SFLOW.host : (m[1] ?? '');
    portText = m[2];
    if (isIP(host) !== 4) throw bad(`${host} is not an IP address`);
  }
  const port = portText === undefined ? DEFAULT_SFLOW.port : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port ${portText ?? ''} out of range`);
  return { host, port };
}

/** Levels `--log-level` takes (pino's). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Shortest token accepted: a guessable token on a port anyone can reach is no protection. */
export const MIN_TOKEN_LENGTH = 16;

function checkToken(token: string, from: string): string {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new CliError(`the token from ${from} has ${token.length} characters: use at least ${MIN_TOKEN_LENGTH} (e.g. openssl rand -hex 32)`);
  }
  return token;
}

/**
 * Where history lives by default: $XDG_DATA_HOME/portolan when set; /var/lib/portolan for root (the agent
 * is a system service there); else ~/.local/share/portolan.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? -1): string {
  if (env.XDG_DATA_HOME) return path.join(env.XDG_DATA_HOME, 'portolan');
  if (uid === 0) return '/var/lib/portolan';
  return path.join(os.homedir(), '.local', 'share', 'portolan');
}

/** The token from --token-file, else PORTOLAN_TOKEN; undefined when neither is set. */
export function readToken(flags: { readonly tokenFile?: string | undefined }): string | undefined {
  if (flags.tokenFile) {
    let text: string;
    try {
      text = fs.readFileSync(flags.tokenFile, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read the token file ${flags.tokenFile}: ${(err as Error).message}`);
    }
    const token = text.trim();
    if (token === '') throw new CliError(`the token file ${flags.tokenFile} is empty`);
    return checkToken(token, flags.tokenFile);
  }
  const env = process.env.PORTOLAN_TOKEN?.trim();
  return env ? checkToken(env, 'PORTOLAN_TOKEN') : undefined;
}

/** Adds `portolan serve` to the program. */
export function registerServe(program: Command): void {
  withNatsOptions(withExportOptions(withConntrackAcctOption(withCollectionOptions(program.command('serve')))), 'publish this host to a fleet (portolan hub) through NATS JetStream')
    .description('run the agent: collect continuously, keep history, serve the HTTP API, /metrics and live streams')
    .addOption(new Option('--interval <seconds>', 'collection interval in seconds or as a duration, at least 0.5s (Docker events also trigger one at once)').argParser(intervalSeconds()).default(2, '2s'))
    .option('--listen <host:port>', 'where to listen (env PORTOLAN_LISTEN); beyond loopback a token is required', process.env.PORTOLAN_LISTEN ?? DEFAULT_LISTEN)
    .option('--token-file <file>', 'file holding the API token (else env PORTOLAN_TOKEN); clients send "Authorization: Bearer <token>"')
    .option('--insecure-no-auth', 'allow listening beyond loopback without a token')
    .option('--data <dir>', 'history directory (env PORTOLAN_DATA)', process.env.PORTOLAN_DATA ?? defaultDataDir())
    .option('--no-history', 'keep no history (nothing written to disk)')
    .addOption(new Option('--retention <duration>', 'how long history is kept (e.g. 7d, 12h)').argParser(durationMs(undefined, 60_000)).default(DEFAULT_RETENTION_MS, formatDuration(DEFAULT_RETENTION_MS)))
    .addOption(new Option('--collect-timeout <duration>', 'longest a collector may take before its part is dropped for that collection (e.g. 10s, 500ms)').argParser(durationMs(undefined, 100)).default(10_000, '10s'))
    .option('--metrics-max-edges <n>', 'most edges exported on /metrics (busiest first)', positiveInteger, 1000)
    .option('--no-dns', 'do not look up reverse-DNS names of external addresses')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--no-capture', 'do not follow conntrack events (capture is on by default where it can run: every TCP and UDP flow that crosses netfilter, however short, is counted in its edge and streamed as events, and containers that exited keep naming their addresses)')
    .option('--conntrack-timestamps', 'set net.netfilter.nf_conntrack_timestamp=1 in the host network namespace at start, so captured connections get the kernel\'s start and stop times (a host-wide setting; portolan never changes it without this flag)')
    .option('--sflow [address]', 'receive sFlow v5 from switches and host agents on UDP [HOST:]PORT (default 0.0.0.0:6343) and show its estimates as their own source', parseSflowAddress)
    .option('--allowed-host <name>', 'another Host name (optionally name:port) to answer to besides localhost, 127.0.0.1, [::1] and the address reached (repeatable; env PORTOLAN_ALLOWED_HOSTS, comma-separated); every other Host is refused (DNS rebinding)',
      (v: string, prev: string[] = []) => [...prev, v])
    .action(async (flags: ServeFlags) => {
      let address: ListenAddress;
      try {
        address = parseListen(flags.listen);
      } catch (err) {
        throw new UsageError(`--listen: ${(err as Error).message}`, 'portolan serve');
      }
      const token = readToken(flags);
      const allowedHosts = [...(process.env.PORTOLAN_ALLOWED_HOSTS ?? '').split(','), ...(flags.allowedHost ?? [])].map((h) => h.trim()).filter((h) => h !== '');
      try {
        parseAllowedHosts(allowedHosts);
      } catch (err) {
        throw new UsageError((err as Error).message, 'portolan serve');
      }
      exportFilterOf(flags, 'portolan serve');
      const refusal = checkListenPolicy(address, token, flags.insecureNoAuth === true);
      if (refusal) throw new CliError(refusal);
      const { serve } = await import('./serve-run.js');
      await serve(flags, address, token, allowedHosts);
    });
}


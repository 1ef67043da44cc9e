import { Command, InvalidArgumentError, Option } from 'commander';
import { CONNTRACK_ACCT_NAME, createCollection, dockerHostProblem, isDockerUnavailable, isPrivilegeError, type AccountingChange, type Collection, type CollectionConfig } from '../collectors/index.js';
import { parseDuration } from '../core/duration.js';
import type { Snapshot } from '../core/model/snapshot.js';
import { escapeJsonForTerminal, escapeTerminal } from '../core/report/terminal-text.js';

/** Error the CLI reports as one line with exit code 2 (bad usage, Docker unreachable, missing privileges). */
export class CliError extends Error {}

/** A bad command line: reported as one line with a pointer to the command's `--help`, exit code 2. */
export class UsageError extends CliError {
  constructor(message: string, readonly command: string) {
    super(message);
  }
}

/** Options every collecting command takes. */
export interface CollectionFlags {
  readonly source: 'auto' | 'netlink' | 'proc';
  readonly procRoot: string;
  readonly dockerHost?: string;
  readonly hostPid?: number;
  /** Ask netlink for tcp_info (`--no-tcp-info` turns it off). */
  readonly tcpInfo: boolean;
  /** `--conntrack-acct` (graph, top, serve): turn conntrack byte accounting on at start. */
  readonly conntrackAcct?: boolean;
}

/** Adds the collection flags (socket source, proc root, Docker endpoint, tcp_info) to a command. */
export function withCollectionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--source <source>', 'socket source: netlink (with /proc fallback), or force one').choices(['auto', 'netlink', 'proc']).default('auto'))
    .option('--no-tcp-info', 'do not ask netlink for tcp_info (no per-connection bytes, RTT or retransmits; cheaper)')
    .option('--proc-root <dir>', 'procfs root (e.g. /host/proc in a container)', '/proc')
    .option('--docker-host <url>', 'Docker endpoint: unix:///path or tcp://host:port (default: DOCKER_HOST or /var/run/docker.sock)', parseDockerHostFlag)
    .option('--host-pid <pid>', 'a pid in the Docker host\'s network namespace, when dockerd runs in another one (default: pid 1)', parsePid);
}

/** Adds `--conntrack-acct` to a command that shows edges (graph, top, serve). */
export function withConntrackAcctOption(cmd: Command): Command {
  return cmd.option('--conntrack-acct', `set ${CONNTRACK_ACCT_NAME}=1 in the host network namespace at start, so that UDP edges and connections closed between samples get byte counts (a host-wide setting; portolan never changes it without this flag)`);
}

/** Shortest collection interval accepted (serve, top): below it a collection would take most of the interval. */
export const MIN_INTERVAL_SECONDS = 0.5;

/**
 * Parser of an interval flag in seconds: a plain number of seconds (`2`, `0.5`) or a duration (`500ms`, `2s`,
 * `1m`), at least `min` seconds.
 */
export function intervalSeconds(min = MIN_INTERVAL_SECONDS): (value: string) => number {
  return (value: string) => {
    let s: number;
    if (/^\d+(\.\d+)?$/.test(value.trim())) s = Number(value);
    else {
      try {
        s = parseDuration(value) / 1000;
      } catch {
        throw new InvalidArgumentError(`expected seconds (e.g. 2, 0.5) or a duration (e.g. 500ms, 2s, 1m), got "${value}"`);
      }
    }
    if (!Number.isFinite(s) || s < min) throw new InvalidArgumentError(`must be at least ${min} s`);
    return s;
  };
}

/** Parser of a duration flag into ms (`500ms`, `30s`, `15m`, `7d`; a plain number is `unit`s, or refused without one). */
export function durationMs(unit: 'ms' | 's' | undefined, min = 1): (value: string) => number {
  return (value: string) => {
    const text = unit !== undefined && /^\d+(\.\d+)?$/.test(value.trim()) ? `${value.trim()}${unit}` : value;
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    if (ms < min) throw new InvalidArgumentError(`must be at least ${formatDuration(min)}`);
    return ms;
  };
}

/** Parser of a positive whole number flag. */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
  return n;
}

/** Formats ms as a duration text that parseDuration reads back (`7d`, `10s`, `500ms`), for help. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function parseDockerHostFlag(value: string): string {
  const problem = dockerHostProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value;
}

function parsePid(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a pid, got "${value}"`);
  return n;
}

/** Turns collection flags into the collectors' configuration. */
export function toCollectionConfig(flags: CollectionFlags): CollectionConfig {
  return {
    source: flags.source, procRoot: flags.procRoot,
    ...(flags.dockerHost ? { dockerHost: flags.dockerHost } : {}),
    ...(flags.hostPid !== undefined ? { hostPid: flags.hostPid } : {}),
    ...(flags.tcpInfo === false ? { tcpInfo: false } : {}),
  };
}

/** The one line that says what `--conntrack-acct` did. */
export function accountingMessage(change: AccountingChange): string {
  return change.previous === '1'
    ? `conntrack accounting already on: ${CONNTRACK_ACCT_NAME} is 1 in the host network namespace (net:[${change.netns}]); nothing changed`
    : `conntrack accounting enabled: ${CONNTRACK_ACCT_NAME} was 0, now 1 in the host network namespace (net:[${change.netns}]); only flows that start from now on are counted (restore with: sysctl -w ${CONNTRACK_ACCT_NAME}=0)`;
}

/** Turns accounting on for `--conntrack-acct`; a failure becomes a one-line CliError. */
export function enableAccounting(collection: Pick<Collection, 'enableConntrackAccounting'>): AccountingChange {
  try {
    return collection.enableConntrackAccounting();
  } catch (err) {
    throw new CliError(`--conntrack-acct: ${(err as Error).message}`);
  }
}

/**
 * Gets a collection ready for a command: Docker must answer (else a one-line CliError), and `--conntrack-acct`
 * turns accounting on, saying so on stderr.
 */
export async function prepareCollection(collection: Collection, flags: CollectionFlags): Promise<void> {
  try {
    await collection.preflight();
  } catch (err) {
    if (isDockerUnavailable(err) || isPrivilegeError(err)) throw new CliError(err.message);
    throw err;
  }
  if (flags.conntrackAcct) process.stderr.write(`portolan: ${accountingMessage(enableAccounting(collection))}\n`);
}

/** Collects one snapshot; Docker being unreachable becomes a one-line CliError. */
export async function collectOnce(flags: CollectionFlags, extra: Pick<CollectionConfig, 'purpose' | 'containers'> = {}): Promise<Snapshot> {
  const collection = createCollection({ ...toCollectionConfig(flags), ...extra });
  await prepareCollection(collection, flags);
  const { snapshot } = await collection.collect();
  const dockerFailure = snapshot.issues.find((i) => i.source === 'docker');
  if (dockerFailure) throw new CliError(`docker: ${dockerFailure.message}`);
  // A host namespace named on the command line that cannot be read leaves nothing to show.
  const netnsFailure = flags.hostPid !== undefined ? snapshot.issues.find((i) => i.source === 'netns') : undefined;
  if (netnsFailure) throw new CliError(`netns: ${netnsFailure.message}`);
  return snapshot;
}

/** Prints warnings to stderr, one line each, escaped for the terminal (they echo names and raw /proc lines). */
export function printWarnings(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`portolan: warning: ${escapeTerminal(w)}\n`);
}

/** A document as pretty JSON text for stdout, with what a terminal would act on escaped (still the same JSON). */
export function jsonText(value: unknown): string {
  return escapeJsonForTerminal(JSON.stringify(value, null, 2)) + '\n';
}

/** Resolves on the first SIGINT or SIGTERM (logged with its name), and stops listening for them: `serve` and `hub`. */
export function untilStopSignal(logger: { info: (fields: object, message: string) => void }): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping');
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve();
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

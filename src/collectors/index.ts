import os from 'node:os';
import type { Snapshot } from '../core/model/snapshot.js';
import { createDockerClient, DockerUnavailableError, parseDockerHost } from '../sources/docker-api.js';
import { scanProcesses, scanProcessesInWorker } from '../sources/proc-scan.js';
import { compileGlob } from '../core/glob.js';
import { parseNsLink } from '../core/parse/pid-cgroup.js';
import { toContainerInfo } from '../core/docker/containers.js';
import { createProcfs } from '../sources/procfs.js';
import { runCollectors, type AnyCollector, type CollectorRun } from './collector.js';
import type { Logger } from 'pino';
import { createCaptureReceiver, type CaptureConfig, type CaptureReceiver } from './capture.js';
import { createConntrackCollector, enableConntrackAccounting, type AccountingChange } from './conntrack.js';
import { dumpConntrack } from '../sources/ctnetlink.js';
import { createDockerEventsFollower, type DockerEventsFollower } from './docker-events.js';
import { findContainerInits } from './container-inits.js';
import { createDockerCollector } from './docker.js';
import { createIdentityCollector } from './identity.js';
import { createNetdevCollector } from './netdev.js';
import { createNetnsCollector } from './netns.js';
import { checkPrivileges, PrivilegeError, type PrivilegeReport } from './privileges.js';
import { createProcessesCollector } from './processes.js';
import { createSflowReceiver, type SflowReceiver, type SflowReceiverConfig } from './sflow.js';
import { createSocketsCollector, type SocketSourceChoice } from './sockets.js';

/** Settings that choose and parameterise the collectors. */
export interface CollectionConfig {
  /** procfs root (default /proc). */
  readonly procRoot?: string;
  /** Docker endpoint (`unix://…` or `tcp://…`; default DOCKER_HOST or the standard socket). */
  readonly dockerHost?: string;
  readonly source?: SocketSourceChoice;
  /** Ask netlink for tcp_info (per-connection bytes, RTT); default true. */
  readonly tcpInfo?: boolean;
  readonly timeoutMs?: number;
  /** A pid in the Docker host's network namespace (default: pid 1, or portolan's own when pid 1 is unreadable). */
  readonly hostPid?: number;
  /**
   * Collections repeat (the agent, `top`): keep what the last one learnt and read again only what changed —
   * namespaces with socket activity, processes new or suspected of holding a new socket — with everything read
   * afresh at least every `fullEveryMs` (default 30 s).
   */
  readonly repeat?: { readonly fullEveryMs?: number };
  /** Receive sFlow v5 datagrams there (`serve --sflow`); the receiver must be started with `sflow.listen()`. */
  readonly sflow?: SflowReceiverConfig;
  /**
   * `sockets`: what `ps` shows and nothing more — no conntrack table, the host's sockets only when a host-network
   * container lists them, and with `containers` only the containers whose name or id a glob matches (and those
   * sharing their namespaces), their owners found by a targeted walk (processes collector, `targeted`).
   */
  readonly purpose?: 'sockets';
  /** Also read who the host is (engine id, name, addresses: Snapshot `identity`), for a fleet (`serve --nats`). */
  readonly identity?: boolean;
  /** With `purpose: 'sockets'`: container name or id globs. */
  readonly containers?: readonly string[];
  /** Follow conntrack's events (`serve`): start with `capture.start()`. */
  readonly capture?: CaptureConfig;
}

/** A ready-to-run set of collectors over real sources. */
export interface Collection {
  /**
   * Fails with a one-line message when privileges are missing (see isPrivilegeError: capabilities, or the Docker
   * socket refusing this user) or when Docker does not answer (see isDockerUnavailable).
   */
  preflight(): Promise<void>;
  /** What privileges the collection lacks (capabilities, Docker socket access), without failing. */
  privileges(): Promise<PrivilegeReport>;
  collect(): Promise<{ snapshot: Snapshot; runs: CollectorRun[] }>;
  /** What the Docker events stream says (see AgentCollection.dockerEvents); with `repeat`, lets the list be skipped while nothing changed. */
  dockerEvents(news: 'event' | 'connected' | 'lost', containerId?: string, action?: string): void;
  /**
   * Turns conntrack byte accounting on in the Docker host's network namespace (for an explicit flag only:
   * portolan never does it on its own). Throws with a one-line message when it cannot.
   */
  enableConntrackAccounting(): AccountingChange;
  /** A follower of this Docker endpoint's events stream (the agent collects on them). */
  createEventsFollower(logger: Pick<Logger, 'debug' | 'info' | 'warn'>): DockerEventsFollower;
  /** Releases the Docker client's connections and every open netlink socket. */
  close(): void;
  readonly collectors: readonly AnyCollector[];
  /** The sFlow receiver, when configured: listen() before collecting, close() at the end. */
  readonly sflow?: Pick<SflowReceiver, 'listen' | 'close'>;
  /** Capture of conntrack events, when configured: start() before collecting, close() at the end. */
  readonly capture?: Pick<CaptureReceiver, 'start' | 'status' | 'onNews' | 'close'>;
  /** Turns conntrack timestamps on in the host namespace (`--conntrack-timestamps`, explicit only). */
  enableConntrackTimestamps(): AccountingChange;
}

export { isFatal } from './collector.js';
export type { PrivilegeReport } from './privileges.js';
export { CONNTRACK_ACCT_NAME, CONNTRACK_TIMESTAMP_NAME, type AccountingChange } from './conntrack.js';
export type { CaptureStatus } from '../core/model/connection.js';
export { createNameResolver, type NameResolver } from './reverse-dns.js';
export { createEbpfFeed, type EbpfFeed } from './ebpf.js';
export type { DockerEventsFollower } from './docker-events.js';

// Beyond this many fds (about 50 ms of readlink), a repeating collection walks them in a worker thread.
const INLINE_WALK_MAX_FDS = 10_000;

/** The registry: builds the sources and every collector, in one place. */
export function createCollection(config: CollectionConfig = {}): Collection {
  const procfs = createProcfs(config.procRoot ?? '/proc');
  const docker = createDockerClient(config.dockerHost ? { host: config.dockerHost } : {});
  const fullEveryMs = config.repeat?.fullEveryMs ?? 30_000;
  const forSockets = config.purpose === 'sockets';
  const globs = forSockets && config.containers && config.containers.length > 0 ? config.containers.map(compileGlob) : undefined;
  const only = globs ? (name: string, id: string) => globs.some((g) => g.test(name) || g.test(id) || g.test(id.slice(0, 12))) : undefined;
  // `ps` once: containers from the list, their pids from /proc (one list call instead of an inspect per container).
  const initPids = forSockets && !config.repeat ? (ids: ReadonlySet<string>) => findContainerInits(procfs, ids) : undefined;
  const dockerCollector = createDockerCollector(docker, { ...(config.repeat ? { repeat: { reuseForMs: fullEveryMs } } : {}), ...(only ? { only } : {}), ...(initPids ? { initPids } : {}) });
  // A full walk of a host with few fds is cheaper inline than a worker thread started for it; a host with very many
  // (100,000 sockets) walks them on another core, beside the netlink dumps.
  let lastFds = Infinity;
  const walkAll = async () => {
    const r = lastFds > INLINE_WALK_MAX_FDS ? await scanProcessesInWorker(procfs.root, { keepWorker: false }) : scanProcesses(procfs.root);
    lastFds = r.fds ?? Infinity;
    return r;
  };
  const collectors: AnyCollector[] = [
    dockerCollector,
    createNetnsCollector(procfs, {
      ...(config.hostPid !== undefined ? { hostPid: config.hostPid } : {}),
      ...(config.repeat ? { repeat: { reuseForMs: fullEveryMs } } : {}),
    }),
    config.repeat
      ? createProcessesCollector(
        {
          full: walkAll,
          some: (pids) => scanProcesses(procfs.root, pids),
          listPids: () => procfs.listPids(),
          fdCount: (pid) => procfs.fdCount(pid),
        },
        { repeat: { fullEveryMs: fullEveryMs } },
      )
      : only
        ? createProcessesCollector({ some: (pids) => scanProcesses(procfs.root, pids), listPids: () => procfs.listPids(), netnsOf: (pid) => parseNsLink(procfs.readLink(pid, 'ns/net')), full: () => scanProcessesInWorker(procfs.root) }, { targeted: true })
        : createProcessesCollector({ full: () => scanProcessesInWorker(procfs.root) }),
    createSocketsCollector({
      procfs, source: config.source ?? 'auto', tcpInfo: config.tcpInfo ?? true,
      ...(config.repeat ? { repeat: { reuseForMs: fullEveryMs } } : {}),
      ...(forSockets ? { hostTable: 'when-shared' as const } : {}),
    }),
    createNetdevCollector(procfs, { repeat: config.repeat !== undefined }),
    ...(forSockets ? [] : [createConntrackCollector(procfs, { ...(procfs.root === '/proc' ? { dump: dumpConntrack } : {}), ...(config.repeat ? { repeat: { reuseForMs: fullEveryMs } } : {}) })]),
  ];
  if (config.identity) {
    collectors.push(createIdentityCollector(docker, procfs, { hostname: os.hostname(), ...(config.repeat ? { repeat: { reuseForMs: fullEveryMs } } : {}) }));
  }
  const privileges = () => checkPrivileges(procfs, { setns: (config.source ?? 'auto') !== 'proc' }, docker);
  const sflow = config.sflow ? createSflowReceiver(config.sflow, { procfs }) : undefined;
  if (sflow) collectors.push(sflow.collector);
  const capture = config.capture ? createCaptureReceiver({ ...config.capture, ...(config.hostPid !== undefined ? { hostPid: config.hostPid } : {}) }, { procfs }) : undefined;
  if (capture) collectors.push(capture.collector);
  return {
    collectors,
    createEventsFollower: (logger) => createDockerEventsFollower({ docker, logger }),
    close: () => { docker.close(); capture?.close(); },
    ...(sflow ? { sflow } : {}),
    ...(capture ? { capture } : {}),
    privileges,
    preflight: async () => {
      const report = await privileges();
      if (report.message !== undefined) throw new PrivilegeError(report.missing, report.message);
      if (report.dockerError) throw report.dockerError;
    },
    dockerEvents: (news, containerId, action) => {
      dockerCollector.dockerEvents(news, containerId);
      // A container that starts may be gone before the next collection lists it (`docker run --rm` clients): capture
      // inspects it at once (on `network connect`, which comes first, and again on `start`), so its address is in the history the flows it opens are named with.
      if (capture && containerId && (action === 'container start' || action === 'network connect')) capture.learn(() => docker.inspectContainer(containerId).then(toContainerInfo));
      // Its exit frees its addresses at once: Docker may hand one to the next client before the next collection.
      if (capture && containerId && action === 'container die') capture.ended(containerId);
    },
    enableConntrackAccounting: () => enableConntrackAccounting(procfs, config.hostPid),
    enableConntrackTimestamps: () => enableConntrackAccounting(procfs, config.hostPid, undefined, 'timestamp'),
    collect: () => runCollectors(collectors, { hostname: os.hostname(), timeoutMs: config.timeoutMs ?? 10_000 }),
  };
}

/** True when an error means "privileges are missing"; its message is the one line naming them. */
export function isPrivilegeError(err: unknown): err is PrivilegeError {
  return err instanceof PrivilegeError;
}

/** Checks a Docker address (`--docker-host`, DOCKER_HOST) without connecting; returns why it is refused, if it is. */
export function dockerHostProblem(address: string): string | undefined {
  try {
    parseDockerHost(address);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** True when an error means "Docker is not reachable"; its message is one line meant for the user. */
export function isDockerUnavailable(err: unknown): err is Error {
  return err instanceof DockerUnavailableError;
}

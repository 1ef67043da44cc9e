import os from 'node:os';
import type { Snapshot } from '../core/model/snapshot.js';
import { createDockerClient, DockerUnavailableError, type DockerClient } from '../sources/docker-api.js';
import { scanProcessesInWorker } from '../sources/proc-scan.js';
import { createProcfs } from '../sources/procfs.js';
import { runCollectors, type AnyCollector, type CollectorRun } from './collector.js';
import { createConntrackCollector } from './conntrack.js';
import { createDockerCollector } from './docker.js';
import { createNetdevCollector } from './netdev.js';
import { createNetnsCollector } from './netns.js';
import { createProcessesCollector } from './processes.js';
import { createSocketsCollector, type SocketSourceChoice } from './sockets.js';

/** Settings that choose and parameterise the collectors. */
export interface CollectionConfig {
  /** procfs root (default /proc). */
  readonly procRoot?: string;
  /** Docker endpoint (`unix://…` or `tcp://…`; default DOCKER_HOST or the standard socket). */
  readonly dockerHost?: string;
  readonly source?: SocketSourceChoice;
  readonly tcpInfo?: boolean;
  readonly timeoutMs?: number;
  /** A pid in the Docker host's network namespace (default: pid 1, or portolan's own when pid 1 is unreadable). */
  readonly hostPid?: number;
}

/** A ready-to-run set of collectors over real sources. */
export interface Collection {
  /** Fails with a one-line message when Docker does not answer (see isDockerUnavailable). */
  preflight(): Promise<void>;
  collect(): Promise<{ snapshot: Snapshot; runs: CollectorRun[] }>;
  readonly collectors: readonly AnyCollector[];
  readonly docker: DockerClient;
}

/** The registry: builds the sources and every collector, in one place. */
export function createCollection(config: CollectionConfig = {}): Collection {
  const procfs = createProcfs(config.procRoot ?? '/proc');
  const docker = createDockerClient(config.dockerHost ? { host: config.dockerHost } : {});
  const collectors: AnyCollector[] = [
    createDockerCollector(docker),
    createNetnsCollector(procfs, config.hostPid !== undefined ? { hostPid: config.hostPid } : {}),
    createProcessesCollector(() => scanProcessesInWorker(procfs.root)),
    createSocketsCollector({ procfs, source: config.source ?? 'auto', tcpInfo: config.tcpInfo ?? true }),
    createNetdevCollector(procfs),
    createConntrackCollector(procfs),
  ];
  return {
    collectors,
    docker,
    preflight: async () => { await docker.ping(); },
    collect: () => runCollectors(collectors, { hostname: os.hostname(), timeoutMs: config.timeoutMs ?? 10_000 }),
  };
}

/** True when an error means "Docker is not reachable"; its message is one line meant for the user. */
export function isDockerUnavailable(err: unknown): err is Error {
  return err instanceof DockerUnavailableError;
}

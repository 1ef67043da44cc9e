import type { ConntrackTable } from './conntrack.js';
import type { ContainerInfo } from './container.js';
import type { HostIdentity } from './host-identity.js';
import type { ProcessInfo } from './process.js';
import type { SflowPart } from './sflow.js';
import type { NetnsSockets } from './socket.js';
import type { NetnsCounters } from './traffic.js';

/** A problem met while collecting that did not stop the collection (a malformed line, a failed collector). */
export interface CollectionIssue {
  /** Collector or source that met it, e.g. `sockets`, `docker`. */
  readonly source: string;
  readonly message: string;
  /** Number of occurrences folded into this issue (e.g. malformed lines). */
  readonly count: number;
}

/** Where a running container's network namespace is, resolved from Docker's pid and the kernel. */
export interface ContainerNetns {
  readonly containerId: string;
  readonly netns: number;
  /** A pid whose `/proc/<pid>/ns/net` and `/proc/<pid>/net/*` reach that namespace. */
  readonly pid: number;
}

/** The parts a collector may own; a Snapshot is their union plus the time it was taken. */
export interface SnapshotParts {
  /** Running containers (Docker inventory). */
  containers: readonly ContainerInfo[];
  /** Namespace of each running container, and of the host. */
  netns: {
    readonly host: number;
    /** Where the host namespace is reached: pid 1, or portolan itself when pid 1 is not readable. */
    readonly hostPid: number | 'self';
    readonly containers: readonly ContainerNetns[];
  };
  /** Processes on the host: namespace, container by cgroup, socket inodes. */
  processes: readonly ProcessInfo[];
  /** Socket tables, one per distinct network namespace read. */
  sockets: readonly NetnsSockets[];
  /** Interface counters, one per distinct network namespace read (from /proc/<pid>/net/dev). */
  netdev: readonly NetnsCounters[];
  /** The Docker host's conntrack table (NATed and UDP flows), or why it could not be read. */
  conntrack: ConntrackTable;
  /** Who this Docker host is (engine id, name, addresses), for a fleet; absent unless asked for (`identity`). */
  identity?: HostIdentity;
  /** What sFlow agents sent since the previous collection (`serve --sflow`); absent when sFlow is not received. */
  sflow?: SflowPart;
}

/** Facts at time T: everything the collectors returned, plus what went wrong on the way. */
export interface Snapshot extends SnapshotParts {
  readonly takenAt: string;
  readonly hostname: string;
  readonly issues: readonly CollectionIssue[];
}

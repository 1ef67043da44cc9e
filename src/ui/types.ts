// The parts of the agent's JSON documents the map reads, beyond the topology (whose types come from
// core/model). These mirror the HTTP API's contract (README: /api/v1/containers, /sockets, /traffic, /history);
// they are the agent's answers as the browser receives them.
import type { PortBinding } from '../core/model/container.js';
import type { Endpoint, Protocol, SocketState, TcpInfo } from '../core/model/socket.js';
import type { Topology } from '../core/model/topology.js';
import type { PartialTopology } from '../core/topology/cross-host.js';

/** Freshness fields every live document carries. */
export interface Freshness {
  readonly stale: boolean;
  readonly staleSince?: string;
}

/**
 * `/api/v1/topology` and the stream's `topology` event; `partial` when the stream left out the edges within each
 * fleet host (`edges=cross-host`).
 */
export type TopologyDoc = Topology & Partial<Freshness> & { readonly partial?: PartialTopology };

/** One container of `/api/v1/containers`. */
export interface ContainerSummary {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly networkMode: string;
  readonly networks: readonly { name: string; ipv4?: string; ipv6?: string }[];
  readonly ports: readonly PortBinding[];
  readonly labels: Readonly<Record<string, string>>;
  readonly socketCount: number;
  readonly traffic?: { readonly rxBytesPerSec?: number; readonly txBytesPerSec?: number; readonly rxBytes: number; readonly txBytes: number; readonly scope: string };
  readonly top: { readonly established: number; readonly listening: number; readonly rttMeanMs: number | null; readonly retransmits: number };
}

/** `/api/v1/containers`. */
export interface ContainersDoc extends Freshness {
  readonly takenAt: string;
  readonly containers: readonly ContainerSummary[];
}

/** One socket of `/api/v1/sockets`. */
export interface SocketRow {
  readonly protocol: Protocol;
  readonly state: SocketState;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly processes: readonly { pid: number; command: string; container?: string | null }[];
  readonly tcp?: TcpInfo;
}

/** `/api/v1/sockets`. */
export interface SocketsDoc {
  readonly containers: readonly { readonly id: string; readonly name: string; readonly sockets: readonly SocketRow[] }[];
}

/** One stored traffic sample of `/api/v1/traffic`. */
export interface TrafficSample {
  readonly atMs: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly rxBytesPerSec: number | null;
  readonly txBytesPerSec: number | null;
}

/** `/api/v1/traffic`. */
export interface TrafficDoc {
  readonly containerId: string;
  readonly samples: readonly TrafficSample[];
}

/** `/api/v1/history`. */
export interface HistoryDoc {
  readonly firstMs: number;
  readonly lastMs: number;
  readonly runs: readonly { readonly startMs: number; readonly lastMs: number }[];
  readonly changes: readonly number[];
  readonly truncated: boolean;
}

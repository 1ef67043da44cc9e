// The rendered view: who talks to whom. Built from a Snapshot by core/topology (pure); what `portolan graph`
// prints and what the server will stream as diffs. Ids are stable across snapshots so that diffs are small.
import type { PortBinding } from './container.js';
import type { Endpoint, Protocol, SocketState } from './socket.js';

/** What a node stands for. */
export type NodeKind = 'container' | 'process' | 'external' | 'host';

/** A container's address on one Docker network, as shown on its node. */
export interface NodeNetwork {
  readonly name: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
}

/** A running container. Id: the container's full 64-hex id. */
export interface ContainerNode {
  readonly kind: 'container';
  readonly id: string;
  /** Container name without the leading slash. */
  readonly name: string;
  readonly image: string;
  /** From the `com.docker.compose.project` / `com.docker.compose.service` labels, when present. */
  readonly compose?: { readonly project?: string; readonly service?: string };
  /** `bridge`, `host`, `none`, `container:<id>` or a network name, as `docker inspect` spells it. */
  readonly networkMode: string;
  readonly networks: readonly NodeNetwork[];
  readonly ports: readonly PortBinding[];
  readonly pid: number;
  /** In a fleet: the id of the host it runs on (`Topology.hosts`). */
  readonly host?: string;
  /** Set on a container that exited recently (the capture work keeps it a while): when it exited. */
  readonly exitedAt?: string;
}

/**
 * Host processes (in the host's network namespace, in no container) sharing one command name. Id:
 * `process:<command>` — pids churn with every restart, the command does not, so a restarted service keeps its
 * node (and its edges) in diffs; the pids seen in this snapshot are listed.
 */
export interface ProcessNode {
  readonly kind: 'process';
  readonly id: string;
  /** The command (`/proc/<pid>/comm`). */
  readonly name: string;
  readonly command: string;
  /** Pids of the processes holding this node's sockets in the edges, ascending. */
  readonly pids: readonly number[];
  /** In a fleet: the id of the host it runs on (the node id is then scoped by it). */
  readonly host?: string;
}

/** An address outside this Docker host. Id: `external:<canonical ip>`. */
export interface ExternalNode {
  readonly kind: 'external';
  readonly id: string;
  /** The reverse-DNS name when one is known, else the address. */
  readonly name: string;
  readonly address: string;
  readonly dnsName?: string;
  /** In a fleet: the id of the host that saw it (the node id is then scoped by it). */
  readonly host?: string;
}

/**
 * The Docker host itself, when a host-side socket has no known process (TIME_WAIT, unreadable fds). Id: `host`
 * (`HOST_NODE_ID`); in a fleet, scoped by the host like process and external nodes.
 */
export interface HostNode {
  readonly kind: 'host';
  readonly id: string;
  /** The host's name. */
  readonly name: string;
  /** In a fleet: the id of the host it stands for. */
  readonly host?: string;
}

/** A node of the topology, discriminated by kind. */
export type TopologyNode = ContainerNode | ProcessNode | ExternalNode | HostNode;

/**
 * A flow's state: the kernel's socket state of the client's socket (or the server's when the client's is not
 * seen), or for UDP flows known only to conntrack, whether the server ever answered.
 */
export type FlowState = SocketState | 'UNREPLIED' | 'REPLIED';

/**
 * How a connection was resolved to its server:
 * - `socket`: both sockets seen, matched by their addresses and ports;
 * - `docker-proxy`: the client reached a published port served by Docker's userland proxy (two connections collapsed);
 * - `dnat`: the client reached a published port rewritten by iptables DNAT, read from conntrack;
 * - `port-binding`: the client reached a published port, resolved from Docker's port bindings alone (no conntrack entry);
 * - `address`: only one socket seen; the peer named by its address (a container's IP, the host's, or an external one);
 * - `conntrack`: a flow with no connected socket (UDP `sendto`), seen only by conntrack.
 */
export type Resolution = 'socket' | 'docker-proxy' | 'dnat' | 'port-binding' | 'address' | 'conntrack';

/** One connection (or UDP flow) summarised in an edge. */
export interface ConnectionDetail {
  readonly state: FlowState;
  readonly via: Resolution;
  /** The client's own address and port. */
  readonly client: Endpoint;
  /** The server's own address and port (inside its container). */
  readonly server: Endpoint;
  /** The host address and port the client dialled, when it reached the server through a published port. */
  readonly published?: Endpoint;
  /** Processes holding the client's and the server's sockets, when known. */
  readonly clientPids: readonly number[];
  readonly serverPids: readonly number[];
}

/** Directed client → server traffic between two nodes on one server port. Id: `<from>-><to>/<protocol>/<port>`. */
export interface TopologyEdge {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly protocol: Protocol;
  /** The server's port (inside the container for published ports, not the host port). */
  readonly port: number;
  readonly connections: number;
  /** Connections per state. */
  readonly states: Readonly<Partial<Record<FlowState, number>>>;
  /** How the connections were resolved, sorted. */
  readonly via: readonly Resolution[];
  /** Host ports through which the client reached this server (published ports), sorted. */
  readonly publishedPorts?: readonly number[];
  /** Each connection, sorted by client endpoint; omitted when built without details. */
  readonly details?: readonly ConnectionDetail[];
  /** Bytes, rates, RTT and retransmits over the edge's connections; absent when none has byte counts. */
  readonly traffic?: EdgeTraffic;
  /**
   * sFlow's estimate of the edge's traffic, a source of its own beside `traffic` (never mixed into it). An edge
   * only sFlow saw has `connections: 0`, no states, no via and no details. Topologies read back from history carry
   * only where sFlow saw the edge (EdgeSflowSource), not the estimate.
   */
  /** Set on an edge with no live connection that was seen recently (the capture work keeps it a while): when it closed. */
  readonly closedAt?: string;
  /** What capture (conntrack events) saw on this edge since the agent started, however short the connections. */
  readonly captured?: EdgeCaptured;
  readonly sflow?: EdgeSflow | EdgeSflowSource;
}

/** Connections of an edge counted from conntrack's events: each one once, opened and closed between collections included. */
export interface EdgeCaptured {
  /** Connections opened (NEW events) since the agent started. */
  readonly connections: number;
  /** Of those, still open at this collection (no DESTROY yet; TCP stays until TIME_WAIT ends). */
  readonly open: number;
  /** Bytes client → server and back over the closed ones (conntrack accounting: IP-level bytes; absent when off). */
  readonly bytesSent?: number;
  readonly bytesReceived?: number;
  /** When the latest connection opened or closed. */
  readonly lastSeenAt: string;
}

/** Where sFlow saw an edge: the agents whose samples it rests on and their sampling rates. */
export interface EdgeSflowSource {
  readonly bytesSource: 'sflow';
  /** Agent addresses, sorted. */
  readonly agents: readonly string[];
  /** Distinct sampling rates of the samples, ascending. */
  readonly samplingRates: readonly number[];
}

/**
 * sFlow's estimate of the traffic over an edge, from sampled packet headers: every sample stands for
 * `sampling rate` packets of its frame's size. Bytes are Ethernet frame bytes without the FCS (frame_length −
 * stripped: what `tcpdump` shows as a frame's length), so headers and handshake packets count, unlike
 * tcp_info's payload bytes. Sent is client → server, received server → client. Totals run from the first sample
 * while the edge stays on the map; it leaves it when no sample arrived for a while.
 */
export interface EdgeSflow extends EdgeSflowSource {
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly packetsSent: number;
  readonly packetsReceived: number;
  /** Over the interval since the previous collection. */
  readonly bytesSentPerSec: number;
  readonly bytesReceivedPerSec: number;
  /** Samples the totals rest on. */
  readonly samples: number;
  /**
   * Relative error bound of the estimates at 95 % confidence, in percent: 196 × √(1/samples) (sFlow's bound for
   * packet sampling); 0 when every packet was sampled (sampling rate 1).
   */
  readonly errorPercent: number;
  readonly firstSampleAt: string;
  readonly lastSampleAt: string;
}

/**
 * Where an edge's byte counts come from. `tcp_info`: the kernel's per-socket TCP counters (netlink source),
 * which count **payload** bytes (bytes_acked / bytes_received: no IP or TCP headers, no retransmissions).
 * `conntrack`: netfilter's per-flow accounting (`net.netfilter.nf_conntrack_acct=1`), which counts **IP-level**
 * bytes of every packet, headers included (IPv4 UDP: payload + 28 bytes a datagram; TCP: + 40–60 bytes a
 * segment, handshake and ACKs included) — for UDP flows, and for TCP connections that closed before tcp_info
 * could see them. `mixed`: some connections of the edge counted each way.
 */
export type EdgeBytesSource = 'tcp_info' | 'conntrack' | 'mixed';

/** Traffic over one edge: bytes from tcp_info or conntrack accounting, RTT and retransmits from tcp_info. */
export interface EdgeTraffic {
  /**
   * Bytes client → server and server → client, summed over the edge's current connections: each connection
   * from its tcp_info when tcp_info has seen it, else from its conntrack entry (see `bytesSource`).
   */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /**
   * Bytes per second in each direction since the previous sample, from counters accumulated per connection
   * (closed connections included up to their last sample; a connection opened and closed between two samples
   * once, from conntrack, when accounting is on).
   */
  readonly bytesSentPerSec?: number;
  readonly bytesReceivedPerSec?: number;
  /** Payload bytes (tcp_info), IP-level bytes (conntrack), or both over different connections. */
  readonly bytesSource: EdgeBytesSource;
  /** Smoothed RTT over the tcp_info connections: min, mean and max, in ms; absent without tcp_info (UDP). */
  readonly rttMinMs?: number;
  readonly rttMeanMs?: number;
  readonly rttMaxMs?: number;
  /** Smoothed RTT percentiles (nearest rank) over the tcp_info connections, in ms: the median and the 95th. */
  readonly rttP50Ms?: number;
  readonly rttP95Ms?: number;
  /**
   * Retransmitted segments over the connections' lives (`tcpi_total_retrans`), summed over the tcp_info
   * connections; absent without tcp_info (UDP). A lifetime count: health reads `recent` instead.
   */
  readonly retransmits?: number;
  /** How many of the edge's connections had tcp_info (the connections RTT and retransmits are over). */
  readonly measuredConnections: number;
  /** How many had no tcp_info and were counted from conntrack instead (UDP flows, TCP connections closed unseen). */
  readonly conntrackConnections: number;
  /** What happened over the last samples (about a minute): present once two samples of the edge exist. */
  readonly recent?: EdgeRecentTraffic;
}

/**
 * An edge's figures over a recent window of samples (up to `EDGE_WINDOW_MS`), not its connections' lifetimes:
 * what health is judged on (core/report/edge-health.ts). Counters sum what each connection added between
 * samples, connections that closed in the window included.
 */
export interface EdgeRecentTraffic {
  /** The window these figures cover: from its first sample to this one, in seconds. */
  readonly windowSeconds: number;
  /**
   * Segments sent and retransmitted over the window (tcp_info `segs_out`, `total_retrans`): each socket counts
   * what it sent, so both ends' sockets are summed when both are read (a download retransmits on the server).
   */
  readonly segmentsOut: number;
  readonly retransmits: number;
  /** Retransmitted segments per second over the window. */
  readonly retransmitsPerSec: number;
  /** Retransmitted / sent segments over the window; absent when no segment was sent. */
  readonly retransmitRatio?: number;
  /**
   * TCP connects seen in the window: answered (seen in any state past the handshake), and unanswered (seen in
   * SYN_SENT at samples at least a second apart, or last seen in SYN_SENT and not since answered: the kernel
   * retransmits an unanswered SYN after 1 s).
   */
  readonly connectsAnswered: number;
  readonly connectsUnanswered: number;
  /** UDP flows conntrack saw in the window, replied and never replied to. */
  readonly flowsReplied: number;
  readonly flowsUnreplied: number;
}

/** A host of a fleet topology. */
export interface FleetHost {
  /** The host id nodes name in `host`. */
  readonly id: string;
  readonly name: string;
  /** True while the host's agent is not reporting (its nodes are its last known state). */
  readonly stale?: boolean;
}

/** Who talks to whom at one moment: the `portolan graph --json` document. */
export interface Topology {
  readonly takenAt: string;
  readonly hostname: string;
  /** Collection problems, and what the topology cannot show because of them. */
  readonly warnings: readonly string[];
  readonly nodes: readonly TopologyNode[];
  readonly edges: readonly TopologyEdge[];
  /** In a fleet: the hosts the nodes run on (nodes name theirs in `host`). Absent for one host. */
  readonly hosts?: readonly FleetHost[];
}

/** What changed between two topologies, for live updates: whole new values for added and updated items. */
export interface TopologyDiff {
  /** takenAt of the topology the diff applies to, and of the one it produces. */
  readonly from: string;
  readonly to: string;
  readonly warnings?: readonly string[];
  /** The fleet's hosts, only when they changed. */
  readonly hosts?: readonly FleetHost[];
  readonly nodes: { readonly added: readonly TopologyNode[]; readonly updated: readonly TopologyNode[]; readonly removed: readonly string[] };
  readonly edges: { readonly added: readonly TopologyEdge[]; readonly updated: readonly TopologyEdge[]; readonly removed: readonly string[] };
}

/** Id of the host node (of one host; a fleet scopes it by host). */
export const HOST_NODE_ID = 'host';

/** How far back an edge's `recent` figures look, in ms. */
export const EDGE_WINDOW_MS = 60_000;

/** Id of the node for host processes with this command. */
export function processNodeId(command: string): string {
  return `process:${command}`;
}

/** Id of the node for an external address (canonical text). */
export function externalNodeId(address: string): string {
  return `external:${address}`;
}

/** Id of an edge. */
export function edgeId(from: string, to: string, protocol: Protocol, port: number): string {
  return `${from}->${to}/${protocol}/${port}`;
}

// Captured connections: one event when a flow opens and one when it closes, however short it lived. Produced from
// conntrack's ctnetlink events (and, later, eBPF), attributed to the containers that held the addresses at that
// time (address history, so a `docker run --rm` client that is gone is still named), consumed by the event journal
// (`/api/v1/events`), the topology's short-lived edge counts and the export sinks.
import type { ContainerInfo } from './container.js';
import type { ConntrackEvent } from './conntrack.js';
import type { Endpoint, Family, Protocol } from './socket.js';

/** The two kinds of captured connection event (the same type names the topology-derived events use). */
export type ConnectionEventType = 'connection.opened' | 'connection.closed';

/** Which kernel facility saw the flow. */
export type CaptureSource = 'conntrack' | 'ebpf';

/**
 * Where the flow runs relative to this Docker host: `internal` when both ends are on it (container ↔ container,
 * host ↔ container), `outbound` when the client is on it and the server is not, `inbound` the other way round,
 * `unknown` when neither end is known to be local (a flow routed through the host, e.g. another host's traffic).
 */
export type ConnectionDirection = 'internal' | 'outbound' | 'inbound' | 'unknown';

/** A container as it was when the flow was seen (it may have exited since, or before the event was handled). */
export interface ContainerAt {
  /** Full 64-hex id. */
  readonly id: string;
  readonly name: string;
  readonly image: string;
  /** Docker network the address belonged to. */
  readonly network?: string;
  /** When the container stopped holding the address (it exited or left the network); absent while it holds it. */
  readonly exitedAt?: string;
}

/** The local process holding one end's socket, when a collection saw it. */
export interface ProcessAt {
  readonly pid: number;
  /** The command (`/proc/<pid>/comm`). */
  readonly binary: string;
  /** `/proc/<pid>/cmdline` joined by spaces, when read. */
  readonly cmdline?: string;
}

/** One end of a captured connection, with who held its address. */
export interface ConnectionEnd extends Endpoint {
  /** The container that held this address at the time of the flow. */
  readonly container?: ContainerAt;
  readonly process?: ProcessAt;
  /** The address is one of the Docker host's own (a bridge gateway, a host interface, loopback). */
  readonly host?: boolean;
}

/** Bytes and packets each way (conntrack accounting, `net.netfilter.nf_conntrack_acct=1`: IP-level bytes). */
export interface ConnectionBytes {
  /** Client → server. */
  readonly sent: number;
  readonly packetsSent: number;
  /** Server → client. */
  readonly received: number;
  readonly packetsReceived: number;
}

/** A flow as capture saw it, attributed. */
export interface CapturedConnection {
  readonly source: CaptureSource;
  /** Inode of the network namespace whose conntrack table held it. */
  readonly netns: number;
  /** Conntrack's id of the entry (unique among live entries of one namespace; reused after). */
  readonly flowId?: number;
  readonly protocol: Protocol;
  readonly family: Family;
  /** Who opened the flow: the original direction's source. */
  readonly client: ConnectionEnd;
  /** Who answers: the reply direction's source, i.e. after DNAT (a container's own address and port). */
  readonly server: ConnectionEnd;
  /** What the client dialled, when it differs from the server (DNAT to a published port). */
  readonly published?: Endpoint;
  readonly direction: ConnectionDirection;
  /** Protocol state at the event (TCP: `SYN_SENT`, `ESTABLISHED`, `TIME_WAIT`…); absent for UDP. */
  readonly state?: string;
  /** The server never answered (conntrack's `[UNREPLIED]`: status bit SEEN_REPLY unset). */
  readonly unreplied: boolean;
  /** When the flow opened: the kernel's timestamp (`nf_conntrack_timestamp=1`) or when its NEW event was read. */
  readonly openedAt?: string;
  /**
   * When it closed (closed events): for TCP, when its UPDATE to TIME_WAIT or CLOSE was read (where followed);
   * else the kernel's stop timestamp or when its DESTROY event was read.
   */
  readonly closedAt?: string;
  /** `kernel`: both times from conntrack's timestamps; `observed`: from when the agent read the events. */
  readonly timing: 'kernel' | 'observed';
  /** closedAt − openedAt, when both are known. */
  readonly durationMs?: number;
  /** Bytes each way over the whole flow (closed events, with accounting on). */
  readonly bytes?: ConnectionBytes;
  /** The Docker host's name. */
  readonly host: string;
}

/** A captured connection event as the journal and the export carry it. `at` is when it happened. */
export interface ConnectionEvent {
  readonly type: ConnectionEventType;
  readonly at: string;
  readonly flow: CapturedConnection;
  /** On a hub: the id of the fleet host whose agent published the event (`flow.host` is that host's name). */
  readonly host?: string;
}

/** How capture is doing, for `/api/v1/status` and `/metrics`. */
export interface CaptureStatus {
  /** `running`: subscribed; `off`: disabled (`--no-capture`); `unavailable`: could not subscribe (see reason). */
  readonly state: 'running' | 'off' | 'unavailable';
  readonly reason?: string;
  /** Namespaces subscribed to (the host's, and containers' where conntrack runs). */
  readonly namespaces: number;
  /** Events read since start (NEW, DESTROY, and the UPDATEs to TCP's closing states the socket filter keeps). */
  readonly events: number;
  /** Events per second over the last few seconds. */
  readonly eventsPerSec: number;
  /** Records dropped because more arrived between two collections than capture holds. */
  readonly dropped: number;
  /** Messages that failed to parse (counted, skipped). */
  readonly parseErrors: number;
  /** Times the kernel dropped events (ENOBUFS) and capture resynchronised from a dump. */
  readonly resyncs: number;
  /** Flows that may have been missed: open flows found by a resync that no event announced, plus flows evicted from the in-flight table. */
  readonly mayHaveMissed: number;
  /** Flows in flight (opened, not yet closed) and the bound. */
  readonly inFlight: number;
  readonly inFlightLimit: number;
  /** Conntrack's timestamps and accounting in the host namespace. */
  readonly timestamps: 'on' | 'off' | 'unknown';
  readonly accounting: 'on' | 'off' | 'unknown';
  /**
   * When a TCP connection that closes (TIME_WAIT or CLOSE) is reported: `state` at that UPDATE event; `destroy` at its
   * DESTROY (accounting on: the bytes come only then), with the UPDATE's time as its close; `off` at its DESTROY
   * with the DESTROY's time (the kernel refused the socket filter that keeps those UPDATE events).
   */
  readonly tcpCloses?: 'state' | 'destroy' | 'off';
}

/** What capture read about one flow, before attribution: its NEW or DESTROY message and when and where it was read. */
export type FlowRecord =
  | { readonly kind: 'opened'; readonly msg: ConntrackEvent; readonly netns: number; readonly receivedAtMs: number }
  | {
    readonly kind: 'closed'; readonly msg: ConntrackEvent; readonly netns: number; readonly receivedAtMs: number; readonly openedAtMs?: number;
    /** When the TCP connection reached TIME_WAIT or CLOSE (an UPDATE event), when that was read: its close. */
    readonly closedAtMs?: number;
  };

/** What the capture collector hands each collection: the flows read since the previous one, and how capture is doing. */
export interface CapturePart {
  readonly status: CaptureStatus;
  /** Flows opened and closed since the previous collection, in the order read (bounded: see status.dropped). */
  readonly records: readonly FlowRecord[];
  /** Containers inspected on their start event since the previous collection (they may be gone by now), and when. */
  readonly started?: readonly { readonly container: ContainerInfo; readonly atMs: number }[];
  /** Containers Docker said exited (`die`) since the previous collection, and when: their addresses are free then. */
  readonly ended?: readonly { readonly containerId: string; readonly atMs: number }[];
}

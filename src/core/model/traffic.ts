/** Counters of one network interface as /proc/<pid>/net/dev shows them. */
export interface InterfaceCounters {
  readonly name: string;
  readonly rxBytes: number;
  readonly rxPackets: number;
  readonly rxErrors: number;
  readonly rxDropped: number;
  readonly txBytes: number;
  readonly txPackets: number;
  readonly txErrors: number;
  readonly txDropped: number;
}

/** A namespace's own TCP and UDP counters (/proc/<pid>/net/snmp): what its sockets did, whatever the interface. */
export interface ProtocolCounters {
  readonly tcpActiveOpens: number;
  readonly tcpPassiveOpens: number;
  readonly tcpInSegs: number;
  readonly tcpOutSegs: number;
  readonly tcpRetransSegs: number;
  readonly udpInDatagrams: number;
  readonly udpOutDatagrams: number;
}

/** Interface counters of one network namespace, read at one moment. */
export interface NetnsCounters {
  readonly netns: number;
  /** Milliseconds since the epoch when read (for rates). */
  readonly readAtMs: number;
  /** Every interface but `lo`. */
  readonly interfaces: readonly InterfaceCounters[];
  /** `lo`: traffic that never leaves the namespace (not the container's traffic, but a sign of activity). */
  readonly loopback?: InterfaceCounters;
  /** The namespace's TCP and UDP counters, when read (repeating collections read them to tell what moved). */
  readonly protocols?: ProtocolCounters;
}

/** Traffic of a container: interface counters summed over its interfaces (all but `lo`), with rates. */
export interface ContainerTraffic {
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly rxErrors: number;
  readonly txErrors: number;
  readonly rxDropped: number;
  readonly txDropped: number;
  /** Bytes per second since the previous sample; absent until two samples of the same container exist. */
  readonly rxBytesPerSec?: number;
  readonly txBytesPerSec?: number;
  /**
   * `container`: its own namespace's interfaces. `host`: the host's interfaces (host-network container), not
   * the container's own traffic. `shared`: a `container:` mode namespace, counted for the whole namespace.
   */
  readonly scope: 'container' | 'host' | 'shared';
  readonly interfaces: readonly InterfaceCounters[];
  /**
   * On a hub only: what `top` shows of the container's established TCP connections (tcp_info), as its host's agent
   * published it — RTT to two significant digits, within a dead band (core/fleet/host-document.ts hostTraffic).
   */
  readonly tcp?: TrafficTcp;
}

/** A container's established TCP connections summed up: mean and max smoothed RTT, retransmitted segments. */
export interface TrafficTcp {
  readonly rttMeanMs: number;
  readonly rttMaxMs: number;
  readonly retransmits: number;
}

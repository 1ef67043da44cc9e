// What portolan's sFlow collector knows: flows sampled since the previous collection (aggregated by flow key),
// the latest counter samples of every data source, and per-agent status. Pure data, built by core/sflow.
import type { SflowCounterRecord, SflowDataSource, SflowDecodeFailure } from '../parse/sflow.js';

/** An sFlow agent as identified in datagrams: its address and sub-agent id. */
export interface SflowAgentId {
  readonly agent: string;
  readonly subAgentId: number;
}

/**
 * TCP or UDP packets of one direction of one flow, sampled since the previous collection by one agent:
 * the flow key (addresses, ports, MACs) and the sums over its samples.
 */
export interface SflowFlow extends SflowAgentId {
  readonly protocol: 'tcp' | 'udp';
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** From the Ethernet header, when the sampled header has one. */
  readonly srcMac?: string;
  readonly dstMac?: string;
  /** hsflowd's entities record (0:2210): the data sources (e.g. containers, `3:<index>`) of the packet's ends. */
  readonly srcEntity?: string;
  readonly dstEntity?: string;
  /** Packets sampled. */
  readonly samples: number;
  /** Bytes of the sampled packets: frame_length − stripped (an Ethernet frame without its FCS), summed. */
  readonly sampledBytes: number;
  /** Estimated bytes and packets: each sample counts `sampling rate` times. */
  readonly bytes: number;
  readonly packets: number;
  /** A sample was a TCP SYN without ACK: this direction opened a connection (its source is the client). */
  readonly syn: boolean;
  /** Distinct sampling rates of the samples, ascending. */
  readonly samplingRates: readonly number[];
}

/** What one data source of an agent said in its flow samples. */
export interface SflowSourceStatus {
  /** `type:index`, e.g. `0:4` (ifIndex 4) or `3:144023` (an hsflowd container). */
  readonly source: string;
  readonly samplingRate: number;
  /** Packets the sampler saw, as last reported. */
  readonly samplePool: number;
  /** Samples the agent itself dropped for lack of resources, as last reported. */
  readonly drops: number;
  readonly flowSamples: number;
  /** Flow samples missing from the source's sample sequence numbers (lost with their datagrams). */
  readonly lostSamples: number;
}

/** Per-agent receive status, since portolan started. */
export interface SflowAgentStatus extends SflowAgentId {
  /** UDP source address of its latest datagram. */
  readonly from: string;
  readonly datagrams: number;
  readonly flowSamples: number;
  readonly counterSamples: number;
  /** Samples of formats portolan does not decode (skipped by length). */
  readonly unknownSamples: number;
  /** Flow samples that are no TCP or UDP (ARP, ICMP, fragments…) or carry no decodable header: not attributed. */
  readonly otherSamples: number;
  /** Datagrams missing from the datagram sequence numbers (lost between agent and portolan). */
  readonly lostDatagrams: number;
  /** Datagrams that arrived after a later one (counted, not lost). */
  readonly reorderedDatagrams: number;
  /** Times the agent restarted (its sequence numbers and uptime went back). */
  readonly restarts: number;
  readonly lastSequence: number;
  readonly uptimeMs: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** Distinct sampling rates of its flow samples so far, ascending. */
  readonly samplingRates: readonly number[];
  /** Its flow-sampling data sources (the first 1,024). */
  readonly sources: readonly SflowSourceStatus[];
}

/** The latest counter sample of one data source of one agent. */
export interface SflowCounterSource extends SflowAgentId {
  /** `type:index`: `0:N` an interface, `2:1` hsflowd's host, `3:N` one of its containers. */
  readonly source: string;
  readonly dataSource: SflowDataSource;
  readonly sequence: number;
  readonly atMs: number;
  readonly records: readonly SflowCounterRecord[];
}

/** Why a datagram was not (fully) taken: a bounded set, for metrics. `internal_error`: portolan failed on it (a bug). */
export type SflowRejectReason = SflowDecodeFailure | 'too_many_agents' | 'internal_error';

/** What the receiver saw, since portolan started. */
export interface SflowReceiverStatus {
  /** Where it listens (`host:port`). */
  readonly listen: string;
  readonly datagrams: number;
  readonly bytes: number;
  /** Datagrams dropped before decoding, by reason. */
  readonly rejected: Readonly<Partial<Record<SflowRejectReason, number>>>;
  /** The latest rejected datagram: sender and why. */
  readonly lastRejected?: { readonly from: string; readonly atMs: number; readonly reason: string };
  /** Samples left out of the flow table because it was full (more distinct flows in one interval than it holds). */
  readonly flowTableOverflow: number;
  /** Counter samples of new data sources left out because the counter table was full. */
  readonly counterTableOverflow: number;
  /** Datagrams the socket layer could not hand over (receive queue full), as the source counts them. */
  readonly queueDropped: number;
}

/** The sFlow part of a snapshot: what arrived in [fromMs, toMs), plus cumulative status. */
export interface SflowPart {
  readonly fromMs: number;
  readonly toMs: number;
  readonly flows: readonly SflowFlow[];
  readonly counters: readonly SflowCounterSource[];
  readonly agents: readonly SflowAgentStatus[];
  readonly receiver: SflowReceiverStatus;
}

/** `type:index` of a data source. */
export function dataSourceKey(ds: SflowDataSource): string {
  return `${ds.type}:${ds.index}`;
}

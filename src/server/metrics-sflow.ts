// sFlow's Prometheus families: the receiver, each agent (datagrams, samples, sequence-gap loss, last seen,
// sampling rates), the container counters hsflowd reports, and the per-edge estimates (busiest first, capped
// like the exact edge families). All read from the agent's latest state at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AgentState } from '../agent/loop.js';
import type { SflowAgentStatus } from '../core/model/sflow.js';
import type { EdgeSflow, TopologyEdge, TopologyNode } from '../core/model/topology.js';
import { sflowContainerCounters } from '../core/sflow/containers.js';
import { EDGE_LABELS, edgeLabels, type EdgeLabels } from './metric-labels.js';

/** Options of registerSflowMetrics. */
export interface SflowMetricsOptions {
  /** Most edges exported per family and scrape (busiest by estimated bytes). */
  readonly maxEdges: number;
  /** Most sampling-rate series (agent × data source) per scrape. */
  readonly maxSources?: number;
  /** portolan_metrics_series_dropped_total, to count what the caps leave out. */
  readonly dropped: Counter<'family'>;
}

/** Registers the sFlow families on `registry`; they are empty while no sFlow is received. */
export function registerSflowMetrics(registry: Registry, current: () => AgentState | undefined, options: SflowMetricsOptions): void {
  const maxSources = options.maxSources ?? 1000;
  options.dropped.inc({ family: 'sflow_edge' }, 0);
  options.dropped.inc({ family: 'sflow_source' }, 0);
  const part = () => current()?.snapshot.sflow;
  const agentLabels = (a: SflowAgentStatus) => ({ agent: a.agent, sub_agent: String(a.subAgentId) });

  const perAgent = (name: string, help: string, pick: (a: SflowAgentStatus) => number) => new Counter({
    name, help, labelNames: ['agent', 'sub_agent'], registers: [registry],
    collect() {
      this.reset();
      for (const a of part()?.agents ?? []) this.inc(agentLabels(a), pick(a));
    },
  });
  perAgent('portolan_sflow_datagrams_total', 'sFlow datagrams decoded from the agent since portolan started.', (a) => a.datagrams);
  perAgent('portolan_sflow_lost_datagrams_total', 'sFlow datagrams missing from the agent\'s sequence numbers (lost on the way), since portolan started.', (a) => a.lostDatagrams);
  perAgent('portolan_sflow_reordered_datagrams_total', 'sFlow datagrams that arrived after a later one (or twice).', (a) => a.reorderedDatagrams);
  perAgent('portolan_sflow_agent_restarts_total', 'Times the agent restarted (its sequence numbers and uptime went back).', (a) => a.restarts);
  perAgent('portolan_sflow_lost_samples_total', 'Flow samples missing from the agent\'s per-source sample sequence numbers.', (a) => a.sources.reduce((n, s) => n + s.lostSamples, 0));
  perAgent('portolan_sflow_agent_dropped_samples_total', 'Flow samples the agent says it dropped itself for lack of resources (its drops counters, summed over sources).', (a) => a.sources.reduce((n, s) => n + s.drops, 0));
  perAgent('portolan_sflow_unattributed_flow_samples_total', 'Flow samples that are no TCP or UDP (ARP, ICMP, fragments) or carry no decodable header: on no edge.', (a) => a.otherSamples);
  new Counter({
    name: 'portolan_sflow_samples_total', help: 'sFlow samples received from the agent, by type (flow, counter, unknown: a format portolan skips).',
    labelNames: ['agent', 'sub_agent', 'type'], registers: [registry],
    collect() {
      this.reset();
      for (const a of part()?.agents ?? []) {
        this.inc({ ...agentLabels(a), type: 'flow' }, a.flowSamples);
        this.inc({ ...agentLabels(a), type: 'counter' }, a.counterSamples);
        this.inc({ ...agentLabels(a), type: 'unknown' }, a.unknownSamples);
      }
    },
  });
  new Gauge({
    name: 'portolan_sflow_last_datagram_timestamp_seconds', help: 'When the agent\'s latest datagram arrived (unix time).',
    labelNames: ['agent', 'sub_agent'], registers: [registry],
    collect() {
      this.reset();
      for (const a of part()?.agents ?? []) this.set(agentLabels(a), a.lastSeenMs / 1000);
    },
  });
  new Gauge({
    name: 'portolan_sflow_sampling_rate', help: 'The sampling rate (1 in N packets) a data source of the agent last reported in a flow sample.',
    labelNames: ['agent', 'sub_agent', 'source'], registers: [registry],
    collect() {
      this.reset();
      let n = 0;
      let left = 0;
      for (const a of part()?.agents ?? []) {
        for (const s of a.sources) {
          if (n++ < maxSources) this.set({ ...agentLabels(a), source: s.source }, s.samplingRate);
          else left++;
        }
      }
      if (left > 0) options.dropped.inc({ family: 'sflow_source' }, left);
    },
  });
  new Gauge({
    name: 'portolan_sflow_agents', help: 'sFlow agents (address and sub-agent) heard from in the last hour.', registers: [registry],
    collect() { this.set(part()?.agents.length ?? 0); },
  });
  const receiver = (name: string, help: string, pick: (r: NonNullable<ReturnType<typeof part>>['receiver']) => number) => new Counter({
    name, help, registers: [registry],
    collect() {
      this.reset();
      const r = part()?.receiver;
      if (r) this.inc(pick(r));
    },
  });
  receiver('portolan_sflow_received_datagrams_total', 'UDP datagrams the sFlow receiver got, good or bad.', (r) => r.datagrams);
  receiver('portolan_sflow_kernel_dropped_datagrams_total', 'Datagrams the kernel dropped before portolan read them (receive buffer full).', (r) => r.queueDropped);
  receiver('portolan_sflow_flow_table_overflow_total', 'Flow samples left out because one interval held more distinct flows than the flow table.', (r) => r.flowTableOverflow);
  new Counter({
    name: 'portolan_sflow_rejected_datagrams_total', help: 'Datagrams dropped undecoded, by reason: not_sflow_v5, bad_agent_address, bad_length (a length or count that lies), trailing_bytes, too_many_agents, internal_error (a bug in portolan).',
    labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      const r = part()?.receiver;
      if (!r) return;
      for (const reason of ['not_sflow_v5', 'bad_agent_address', 'bad_length', 'trailing_bytes', 'too_many_agents', 'internal_error'] as const) this.inc({ reason }, r.rejected[reason] ?? 0);
    },
  });

  // Container counters as hsflowd reports them (virt_net_io), beside portolan's own portolan_container_network_*.
  const containerCounter = (name: string, help: string, pick: (c: ReturnType<typeof sflowContainerCounters>[number]) => number) => new Counter({
    name, help, labelNames: ['container', 'id', 'agent'], registers: [registry],
    collect() {
      this.reset();
      const s = current();
      if (!s?.snapshot.sflow) return;
      for (const c of sflowContainerCounters(s.snapshot.sflow, s.snapshot.containers)) this.inc({ container: c.name, id: c.containerId.slice(0, 12), agent: c.agent }, pick(c));
    },
  });
  containerCounter('portolan_sflow_container_receive_bytes_total', 'Bytes the container received, as an sFlow host agent (hsflowd) reports them (virt_net_io).', (c) => c.rxBytes);
  containerCounter('portolan_sflow_container_transmit_bytes_total', 'Bytes the container sent, as an sFlow host agent (hsflowd) reports them (virt_net_io).', (c) => c.txBytes);
  containerCounter('portolan_sflow_container_receive_packets_total', 'Packets the container received, as an sFlow host agent reports them.', (c) => c.rxPackets);
  containerCounter('portolan_sflow_container_transmit_packets_total', 'Packets the container sent, as an sFlow host agent reports them.', (c) => c.txPackets);

  // Edge estimates: the busiest maxEdges sFlow edges by estimated bytes, chosen once per scrape.
  let chosen: { state: AgentState | undefined; edges: { labels: EdgeLabels; sflow: EdgeSflow }[] } = { state: undefined, edges: [] };
  const edges = () => {
    const s = current();
    if (!s) return [];
    if (chosen.state !== s) {
      const nodes = new Map<string, TopologyNode>(s.topology.nodes.map((n) => [n.id, n]));
      const all = s.topology.edges.filter((e): e is TopologyEdge & { sflow: EdgeSflow } => e.sflow !== undefined && 'samples' in e.sflow);
      all.sort((a, b) => (b.sflow.bytesSent + b.sflow.bytesReceived) - (a.sflow.bytesSent + a.sflow.bytesReceived) || a.id.localeCompare(b.id));
      if (all.length > options.maxEdges) options.dropped.inc({ family: 'sflow_edge' }, all.length - options.maxEdges);
      chosen = {
        state: s,
        edges: all.slice(0, options.maxEdges).map((e) => ({ labels: edgeLabels(nodes, e), sflow: e.sflow })),
      };
    }
    return chosen.edges;
  };
  const edgeCounter = (name: string, help: string, pick: (s: EdgeSflow) => number) => new Counter({
    name, help, labelNames: EDGE_LABELS, registers: [registry],
    collect() {
      this.reset();
      for (const e of edges()) this.inc(e.labels, pick(e.sflow));
    },
  });
  const est = 'sFlow\'s estimate (sampled frame bytes × sampling rate, Ethernet frames without FCS) since the edge appeared; its own source, not added to portolan_edge_*_bytes_total';
  edgeCounter('portolan_edge_sflow_sent_bytes_total', `Bytes clients sent to servers on the edge: ${est}.`, (s) => s.bytesSent);
  edgeCounter('portolan_edge_sflow_received_bytes_total', `Bytes servers sent back to clients on the edge: ${est}.`, (s) => s.bytesReceived);
  edgeCounter('portolan_edge_sflow_sent_packets_total', 'Packets clients sent to servers on the edge, estimated from sFlow samples.', (s) => s.packetsSent);
  edgeCounter('portolan_edge_sflow_received_packets_total', 'Packets servers sent back to clients on the edge, estimated from sFlow samples.', (s) => s.packetsReceived);
  edgeCounter('portolan_edge_sflow_samples_total', 'sFlow samples the edge\'s estimates rest on (their relative error at 95 % is about 196 % / sqrt(samples)).', (s) => s.samples);
}

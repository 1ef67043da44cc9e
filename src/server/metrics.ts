// Prometheus exposition on its own Registry: per-container traffic and sockets and per-edge connections
// and bytes (read from the agent's state at scrape time; edges capped, with a counter of what the cap left
// out), and portolan's own health (collections, collectors, Docker events, history).
import type { CaptureStatus } from '../core/model/connection.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Agent, AgentState } from '../agent/loop.js';
import type { EdgeBytes } from '../core/report/edge-bytes.js';
import type { TopologyNode } from '../core/model/topology.js';
import type { ContainerTraffic } from '../core/model/traffic.js';
import { isDockerDnsSocket } from '../core/report/docker-dns.js';
import { EDGE_LABELS, edgeLabels as labelsOf, hostNames, networkModeLabel, shortId } from './metric-labels.js';
import { registerExportMetrics, type ExportStatusSource } from './metrics-export.js';
import { registerSflowMetrics } from './metrics-sflow.js';
import type { LiveStats } from './live.js';

/** Options of createMetrics. */
export interface MetricsOptions {
  /** Most edges exported per scrape (busiest first); the rest are counted in portolan_metrics_series_dropped_total. */
  readonly maxEdgeSeries?: number;
  readonly version?: string;
  /** Include process_* and nodejs_* metrics (default true). */
  readonly defaultMetrics?: boolean;
  /** The live streams' statistics (clients, buffered bytes, drops). */
  readonly live?: () => LiveStats;
  /** The export's sinks (`serve --export`). */
  readonly export?: ExportStatusSource;
  /** Registers more metrics on the registry (the fleet's publisher or hub: src/fleet/metrics.ts). */
  readonly extra?: (registry: Registry) => void;
}

/** The metrics of one agent. */
export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  render(): Promise<string>;
  close(): void;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Creates the registry and subscribes to the agent's collections. */
export function createMetrics(agent: Agent, options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const maxEdges = options.maxEdgeSeries ?? 1000;
  if (options.defaultMetrics !== false) {
    // The event-loop delay histogram samples on a libuv timer: at prom-client's default 10 ms that alone costs
    // ~0.3 % of a core in an idle agent; 50 ms costs ~0.1 % and still shows any stall that matters here.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 50 });
    // prom-client names these gauges `_total`, which Prometheus reserves for counters (promtool flags them).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  }
  const current = (): AgentState | undefined => agent.current();
  options.extra?.(registry);

  new Gauge({ name: 'portolan_build_info', help: 'Always 1; the version of the running portolan.', labelNames: ['version'], registers: [registry] })
    .set({ version: options.version ?? 'unknown' }, 1);

  new Gauge({
    name: 'portolan_container_info', help: 'Always 1 per running container: its image, compose project and service, and network mode (container:<id> for a shared namespace, host, none, or the network).',
    labelNames: ['container', 'id', 'image', 'compose_project', 'compose_service', 'network_mode', 'host'], registers: [registry],
    collect() {
      this.reset();
      const s = current();
      if (!s) return;
      const hosts = hostNames(s.topology);
      if (hosts) {
        // A fleet: its containers are the topology's, each with its host's name.
        for (const n of s.topology.nodes) {
          if (n.kind !== 'container') continue;
          this.set({
            container: n.name, id: shortId(n.id), image: n.image, compose_project: n.compose?.project ?? '', compose_service: n.compose?.service ?? '',
            network_mode: n.networkMode.startsWith('container:') ? `container:${shortId(n.networkMode.slice('container:'.length))}` : n.networkMode,
            host: n.host !== undefined ? hosts.get(n.host) ?? n.host : '',
          }, 1);
        }
        return;
      }
      for (const c of s.snapshot.containers) {
        this.set({
          container: c.name, id: shortId(c.id), image: c.image, compose_project: c.labels['com.docker.compose.project'] ?? '',
          compose_service: c.labels['com.docker.compose.service'] ?? '', network_mode: networkModeLabel(c),
        }, 1);
      }
    },
  });

  // On a hub, every container series also names its host (as portolan_container_info does); one agent's have no host label.
  const hostLabel = (c: { readonly host?: { readonly hostname: string } }): { host?: string } => (c.host ? { host: c.host.hostname } : {});

  // Kernel counters are absolute values: each scrape replaces the series with the current ones. `scope` says whose
  // counters they are, so that sums count each interface once: sum by (...) ({scope="own"}).
  const scopeLabel: Record<ContainerTraffic['scope'], string> = { container: 'own', shared: 'shared', host: 'host' };
  const containerCounter = (name: string, help: string, pick: (t: ContainerTraffic) => number) =>
    new Counter({
      name, help, labelNames: ['container', 'id', 'scope', 'host'], registers: [registry],
      collect() {
        this.reset();
        const s = current();
        if (!s) return;
        for (const c of s.snapshot.containers) {
          const t = s.traffic.get(c.id);
          if (t) this.inc({ container: c.name, id: shortId(c.id), scope: scopeLabel[t.scope], ...hostLabel(c) }, pick(t));
        }
      },
    });
  const whose = 'scope="own": its own namespace; "shared": a container: namespace, the owner\'s counters again; "host": a host-network container, the host\'s interfaces';
  containerCounter('portolan_container_network_receive_bytes_total', `Bytes received on the container's interfaces (all but lo; ${whose}).`, (t) => t.rxBytes);
  containerCounter('portolan_container_network_transmit_bytes_total', `Bytes sent on the container's interfaces (all but lo; ${whose}).`, (t) => t.txBytes);
  containerCounter('portolan_container_network_receive_packets_total', `Packets received on the container's interfaces (${whose}).`, (t) => t.rxPackets);
  containerCounter('portolan_container_network_transmit_packets_total', `Packets sent on the container's interfaces (${whose}).`, (t) => t.txPackets);

  new Gauge({
    name: 'portolan_container_sockets', help: 'Sockets attributed to the container, by protocol and kernel state (without Docker\'s embedded DNS sockets on 127.0.0.11, which are dockerd\'s).',
    labelNames: ['container', 'id', 'protocol', 'state', 'host'], registers: [registry],
    collect() {
      this.reset();
      const s = current();
      if (!s) return;
      for (const cs of s.attribution.containers) {
        const counts = new Map<string, number>();
        for (const so of cs.sockets) if (!isDockerDnsSocket(so)) counts.set(`${so.protocol}|${so.state}`, (counts.get(`${so.protocol}|${so.state}`) ?? 0) + 1);
        for (const [k, n] of counts) {
          const [protocol, state] = k.split('|');
          this.set({ container: cs.container.name, id: shortId(cs.container.id), protocol, state, ...hostLabel(cs.container) }, n);
        }
      }
    },
  });
  new Gauge({
    name: 'portolan_container_established_connections', help: 'Established TCP connections the container holds.',
    labelNames: ['container', 'id', 'host'], registers: [registry],
    collect() {
      this.reset();
      const s = current();
      if (!s) return;
      for (const cs of s.attribution.containers) {
        this.set({ container: cs.container.name, id: shortId(cs.container.id), ...hostLabel(cs.container) }, cs.sockets.filter((x) => x.protocol === 'tcp' && x.state === 'ESTABLISHED').length);
      }
    },
  });
  new Gauge({
    name: 'portolan_containers', help: 'Running containers seen.', registers: [registry],
    collect() {
      const s = current();
      this.set(s?.topology.hosts ? s.topology.nodes.filter((n) => n.kind === 'container').length : s?.snapshot.containers.length ?? 0);
    },
  });

  // Edges: the busiest maxEdges, chosen once per scrape and shared by the edge families.
  const dropped = new Counter({ name: 'portolan_metrics_series_dropped_total', help: 'Series left out of scrapes by the cardinality cap (--metrics-max-edges), summed over scrapes.', labelNames: ['family'], registers: [registry] });
  dropped.inc({ family: 'edge' }, 0);
  let scrapeEdges: { state: AgentState | undefined; edges: AgentState['topology']['edges']; nodes: ReadonlyMap<string, TopologyNode>; hosts: ReadonlyMap<string, string> | undefined } =
    { state: undefined, edges: [], nodes: new Map(), hosts: undefined };
  const scrapeOf = (s: AgentState) => {
    if (scrapeEdges.state !== s) {
      const sorted = [...s.topology.edges].sort((a, b) => b.connections - a.connections || a.id.localeCompare(b.id));
      scrapeEdges = { state: s, edges: sorted.slice(0, maxEdges), nodes: new Map(s.topology.nodes.map((n) => [n.id, n])), hosts: hostNames(s.topology) };
    }
    return scrapeEdges;
  };
  const edgesOf = (s: AgentState) => scrapeOf(s).edges;
  const edgeLabels = (s: AgentState, e: AgentState['topology']['edges'][number]) => { const x = scrapeOf(s); return labelsOf(x.nodes, e, x.hosts); };
  new Gauge({
    name: 'portolan_fleet_host_stale', help: 'In a fleet (a hub): 1 per host while its agent is not reporting (its last state is shown), else 0.',
    labelNames: ['host', 'host_id'], registers: [registry],
    collect() {
      this.reset();
      for (const h of current()?.topology.hosts ?? []) this.set({ host: h.name, host_id: h.id }, h.stale ? 1 : 0);
    },
  });
  new Gauge({
    name: 'portolan_edges', help: 'Edges in the topology (before the cardinality cap).', registers: [registry],
    collect() {
      const s = current();
      const n = s?.topology.edges.length ?? 0;
      this.set(n);
      // Counted here, once per scrape.
      if (s && n > maxEdges) dropped.inc({ family: 'edge' }, n - maxEdges);
    },
  });
  new Gauge({
    name: 'portolan_edge_connections', help: 'Connections (or UDP flows) on a topology edge: client node -> server node on a server port.',
    labelNames: EDGE_LABELS, registers: [registry],
    collect() {
      this.reset();
      const s = current();
      if (!s) return;
      for (const e of edgesOf(s)) this.set(edgeLabels(s, e), e.connections);
    },
  });
  const edgeCounter = (name: string, help: string, pick: (b: EdgeBytes) => number | undefined) => new Counter({
    name, help, labelNames: EDGE_LABELS, registers: [registry],
    collect() {
      this.reset();
      const s = current();
      if (!s) return;
      for (const e of edgesOf(s)) {
        const b = s.edgeBytes.get(e.id);
        const v = b ? pick(b) : undefined;
        if (v !== undefined) this.inc(edgeLabels(s, e), v);
      }
    },
  });
  edgeCounter('portolan_edge_sent_bytes_total', 'Bytes clients sent to servers on the edge since portolan started: TCP payload from tcp_info (netlink source), plus IP-level bytes from conntrack accounting for UDP flows and connections closed between samples (nf_conntrack_acct=1).', (b) => b.sent);
  edgeCounter('portolan_edge_received_bytes_total', 'Bytes servers sent back to clients on the edge since portolan started: TCP payload from tcp_info (netlink source), plus IP-level bytes from conntrack accounting for UDP flows and connections closed between samples (nf_conntrack_acct=1).', (b) => b.received);
  edgeCounter('portolan_edge_retransmits_total', 'TCP segments retransmitted on the edge\'s connections since portolan started, by either end (tcp_info total_retrans of each socket seen; netlink source only).', (b) => b.retransmits);
  // Smoothed RTT of the edge's TCP connections at the last collection, as statistics over its connections: not a
  // histogram over time (each connection's srtt is already the kernel's moving average), hence gauges — with a
  // `stat` label, since Prometheus keeps `quantile` for summaries.
  const rttStats = [['min', 'rttMinMs'], ['p50', 'rttP50Ms'], ['p95', 'rttP95Ms'], ['max', 'rttMaxMs']] as const;
  new Gauge({
    name: 'portolan_edge_rtt_seconds', help: 'Smoothed round-trip time (tcp_info srtt) of the edge\'s TCP connections at the last collection, over its connections: stat="min", "p50", "p95" or "max" (netlink source only).',
    labelNames: [...EDGE_LABELS, 'stat'], registers: [registry],
    collect() {
      this.reset();
      const s = current();
      if (!s) return;
      for (const e of edgesOf(s)) {
        const t = e.traffic;
        if (t?.rttP50Ms === undefined) continue;
        const labels = edgeLabels(s, e);
        for (const [stat, key] of rttStats) {
          const ms = t[key];
          if (ms !== undefined) this.set({ ...labels, stat }, ms / 1000);
        }
      }
    },
  });

  registerSflowMetrics(registry, current, { maxEdges, dropped });
  if (options.export) registerExportMetrics(registry, options.export);

  // portolan's own health.
  const collectorDuration = new Histogram({ name: 'portolan_collector_duration_seconds', help: 'Duration of each collector run.', labelNames: ['collector'], buckets: DURATION_BUCKETS, registers: [registry] });
  const collectorRuns = new Counter({ name: 'portolan_collector_runs_total', help: 'Collector runs by result.', labelNames: ['collector', 'result'], registers: [registry] });
  const collectorUp = new Gauge({ name: 'portolan_collector_success', help: '1 when the collector\'s last run succeeded, else 0.', labelNames: ['collector'], registers: [registry] });
  const collectionDuration = new Histogram({ name: 'portolan_collection_duration_seconds', help: 'Duration of a whole collection (all collectors).', buckets: DURATION_BUCKETS, registers: [registry] });
  const collections = new Counter({ name: 'portolan_collections_total', help: 'Collections by result: accepted, or rejected (an essential collector failed; the last state stays, stale).', labelNames: ['result'], registers: [registry] });
  collections.inc({ result: 'accepted' }, 0);
  collections.inc({ result: 'rejected' }, 0);
  new Counter({
    name: 'portolan_docker_reconnects_total', help: 'Times the Docker events stream was re-established after a break.', registers: [registry],
    collect() {
      this.reset();
      this.inc(agent.status().dockerReconnects);
    },
  });
  new Gauge({
    name: 'portolan_docker_events_connected', help: '1 while the Docker events stream is connected.', registers: [registry],
    collect() { this.set(agent.status().dockerEvents === 'connected' ? 1 : 0); },
  });
  // Capture (conntrack events): what it reads and what it may have missed.
  const capture = () => agent.status().capture;
  new Gauge({
    name: 'portolan_capture_up', help: '1 while capture follows conntrack events, 0 when it could not start or stopped (absent without capture).', registers: [registry],
    collect() { this.reset(); const c = capture(); if (c) this.set(c.state === 'running' ? 1 : 0); },
  });
  for (const [name, help, pick] of [
    ['portolan_capture_events_total', 'Conntrack events read (NEW and DESTROY).', (c: CaptureStatus) => c.events],
    ['portolan_capture_parse_errors_total', 'Conntrack event messages that could not be decoded (skipped).', (c: CaptureStatus) => c.parseErrors],
    ['portolan_capture_resyncs_total', 'Times the kernel dropped events (ENOBUFS) and capture resynchronised from a dump.', (c: CaptureStatus) => c.resyncs],
    ['portolan_capture_dropped_total', 'Flow records dropped because more arrived between two collections than capture holds.', (c: CaptureStatus) => c.dropped],
    ['portolan_capture_missed_total', 'Flows that may have been missed: found open or gone by a resync, or dropped.', (c: CaptureStatus) => c.mayHaveMissed],
  ] as const) {
    new Counter({ name, help, registers: [registry], collect() { this.reset(); const c = capture(); if (c) this.inc(pick(c)); } });
  }
  new Gauge({ name: 'portolan_capture_events_per_second', help: 'Conntrack events read per second between the last two collections.', registers: [registry], collect() { this.reset(); const c = capture(); if (c) this.set(c.eventsPerSec); } });
  new Gauge({ name: 'portolan_capture_flows_in_flight', help: 'Flows opened and not yet closed that capture remembers.', registers: [registry], collect() { this.reset(); const c = capture(); if (c) this.set(c.inFlight); } });
  new Gauge({ name: 'portolan_capture_namespaces', help: 'Network namespaces whose conntrack events capture follows.', registers: [registry], collect() { this.reset(); const c = capture(); if (c) this.set(c.namespaces); } });
  new Gauge({
    name: 'portolan_state_stale', help: '1 while Docker is away and the state served is the last one collected before.', registers: [registry],
    collect() { this.set(agent.status().stale ? 1 : 0); },
  });
  new Gauge({
    name: 'portolan_last_collection_timestamp_seconds', help: 'When the last collection ended (unix time).', registers: [registry],
    collect() { this.set(agent.status().lastCollectionAtMs / 1000); },
  });
  const history = agent.history;
  if (history) {
    new Gauge({
      name: 'portolan_history_ok', help: '1 while history writes succeed; 0 from a failed write (e.g. disk full) until one succeeds again.', registers: [registry],
      collect() { this.set(history.health().ok ? 1 : 0); },
    });
    new Counter({
      name: 'portolan_history_write_failures_total', help: 'History writes (records and prunes) that failed since the agent started.', registers: [registry],
      collect() {
        this.reset();
        this.inc(history.health().writeFailures);
      },
    });
  }
  new Gauge({
    name: 'portolan_history_size_bytes', help: 'Size of the history database on disk (with its WAL).', registers: [registry],
    collect() { this.set(agent.history?.sizeBytes() ?? 0); },
  });

  const live = options.live;
  if (live) {
    new Gauge({
      name: 'portolan_live_clients', help: 'Open Server-Sent Events clients, by stream.', labelNames: ['stream'], registers: [registry],
      collect() {
        const s = live();
        this.set({ stream: 'topology' }, s.clients.topology);
        this.set({ stream: 'events' }, s.clients.events);
      },
    });
    new Gauge({
      name: 'portolan_live_buffered_bytes', help: 'Bytes written to live clients and not yet taken by them (bounded by the live budget).', registers: [registry],
      collect() { this.set(live().bufferedBytes); },
    });
    new Counter({
      name: 'portolan_live_clients_dropped_total', help: 'Live clients disconnected or refused: slow (over their share of the budget), behind (fell out of the event journal), stalled (took nothing), full (too many clients).',
      labelNames: ['reason'], registers: [registry],
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(live().dropped)) this.inc({ reason }, n);
      },
    });
  }

  const unsubscribe = agent.subscribe((u) => {
    if (u.kind !== 'collection') return;
    collectionDuration.observe(u.durationMs / 1000);
    collections.inc({ result: u.accepted ? 'accepted' : 'rejected' });
    for (const r of u.runs) {
      collectorDuration.observe({ collector: r.name }, r.durationMs / 1000);
      collectorRuns.inc({ collector: r.name, result: r.ok ? 'success' : 'failure' });
      collectorUp.set({ collector: r.name }, r.ok ? 1 : 0);
    }
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close: unsubscribe,
  };
}

// The side panel: what a clicked container (or process, host, external address) is and whom it talks to,
// or a clicked edge's connections one by one.
import type { TopologyEdge, TopologyNode } from '../core/model/topology.js';
import { EDGE_HEALTH_RULE } from '../core/report/edge-health.js';
import type { Aggregate } from './aggregate.js';
import type { ConnectionRow, ContainerConnectionRow } from './connections.js';
import { h } from './dom.js';
import { formatAgo, formatBytes, formatEndpoint, formatMs, formatRate, formatTime } from './format.js';
import { edgeLabel, edgeRate, isSflowOnly, sflowEstimate } from './graph-model.js';
import { edgeHealth } from '../core/report/edge-health.js';
import { sparkline, type RatePoint } from './sparkline.js';
import type { ContainerSummary, SocketRow } from './types.js';

/** Something still loading, failed, or there. */
export type Loaded<T> = { readonly state: 'loading' } | { readonly state: 'error'; readonly message: string } | { readonly state: 'ok'; readonly value: T };

/** What the node panel shows. */
export interface NodePanelData {
  readonly node: TopologyNode;
  /** The container as /api/v1/containers lists it (labels, traffic), when it is one and running now. */
  readonly summary?: ContainerSummary;
  readonly listening: Loaded<readonly SocketRow[]>;
  readonly connections: readonly ContainerConnectionRow[];
  /** Received and sent bytes/s over the sparkline's window. */
  readonly rates: readonly RatePoint[];
  readonly windowMs: number;
  /** Set when the map shows history: live-only facts are then not shown. */
  readonly historyAtMs?: number;
  /** Whether edges carry per-connection details (not kept in history). */
  readonly hasDetails: boolean;
  /** For a `container:` container: the container whose network namespace it shares. */
  readonly sharesWith?: { readonly id: string; readonly name: string };
  /** The topology's time, to say how long ago a container exited. */
  readonly nowMs: number;
}

/** What the edge panel shows. */
export interface EdgePanelData {
  readonly edge: TopologyEdge;
  readonly fromName: string;
  readonly toName: string;
  readonly connections: Loaded<readonly ConnectionRow[]>;
  readonly historyAtMs?: number;
  readonly nowMs: number;
}

/** What the panel of an aggregate (a host, project, network or service drawn as one) shows. */
export interface AggregatePanelData {
  readonly aggregate: Aggregate;
  readonly members: readonly TopologyNode[];
  /** Drawn open (a box) or folded (one node). */
  readonly open: boolean;
  /** Edges between its own members (not drawn while folded). */
  readonly inner: number;
}

/** What the panel of an aggregated edge shows: the topology's edges it stands for. */
export interface EdgeGroupPanelData {
  readonly fromName: string;
  readonly toName: string;
  readonly edges: readonly TopologyEdge[];
  readonly names: ReadonlyMap<string, string>;
}

/** What the panel's buttons do. */
export interface PanelActions {
  close(): void;
  focus(nodeId: string): void;
  openEdge(edgeId: string): void;
  openNode(nodeId: string): void;
  openAggregate(id: string): void;
  closeAggregate(id: string): void;
}

const KIND_TEXT: Record<TopologyNode['kind'], string> = { container: 'container', process: 'host process', external: 'external address', host: 'Docker host' };

function header(title: string, sub: string, actions: PanelActions, extra: HTMLElement[] = []): HTMLElement {
  return h('header', { class: 'panel-head' },
    h('div', {}, h('h2', { id: 'panel-title' }, title), h('p', { class: 'sub' }, sub)),
    h('div', { class: 'panel-buttons' }, ...extra, h('button', { type: 'button', class: 'icon', 'aria-label': 'Close panel', title: 'Close (Esc)', onclick: () => actions.close() }, '✕')));
}

function facts(rows: readonly [string, Node | string | undefined][]): HTMLElement {
  const dl = h('dl', { class: 'facts' });
  for (const [k, v] of rows) if (v !== undefined && v !== '') dl.append(h('dt', {}, k), h('dd', {}, v));
  return dl;
}

function section(title: string, ...body: (Node | string)[]): HTMLElement {
  return h('section', {}, h('h3', {}, title), ...body);
}

function loaded<T>(l: Loaded<T>, render: (v: T) => Node): Node {
  if (l.state === 'loading') return h('p', { class: 'muted' }, 'Loading…');
  if (l.state === 'error') return h('p', { class: 'error' }, l.message);
  return render(l.value);
}

/** Renders the node panel. */
export function renderNodePanel(root: HTMLElement, d: NodePanelData, actions: PanelActions): void {
  const n = d.node;
  const focusButton = h('button', { type: 'button', onclick: () => actions.focus(n.id), title: 'Show only this node and its neighbours' }, 'Focus');
  const parts: Node[] = [header(n.name, KIND_TEXT[n.kind] + (d.historyAtMs !== undefined ? ` · as of ${formatTime(d.historyAtMs)}` : ''), actions, [focusButton])];
  if (n.kind === 'container') {
    const labels = d.summary?.labels ?? {};
    parts.push(facts([
      ['Image', n.image],
      ['Id', h('code', {}, n.id.slice(0, 12))],
      ['Compose', n.compose?.project ? `${n.compose.project}${n.compose.service ? ` / ${n.compose.service}` : ''}` : undefined],
      ['Network mode', d.sharesWith ? h('span', {}, 'shares the network namespace of ', h('button', { type: 'button', class: 'link', onclick: () => actions.openNode(d.sharesWith?.id ?? '') }, d.sharesWith.name)) : n.networkMode],
      ['Pid', String(n.pid)],
      ['Exited', n.exitedAt ? `${formatTime(Date.parse(n.exitedAt))} (${formatAgo(Date.parse(n.exitedAt), d.nowMs)})` : undefined],
    ]));
    parts.push(section('Networks', n.networks.length === 0 ? h('p', { class: 'muted' }, 'none (own namespace: ' + n.networkMode + ')')
      : h('ul', { class: 'plain' }, ...n.networks.map((x) => h('li', {}, h('strong', {}, x.name), ' ', [x.ipv4, x.ipv6].filter(Boolean).join(', ') || '–')))));
    parts.push(section('Published ports', n.ports.length === 0 ? h('p', { class: 'muted' }, 'none')
      : h('ul', { class: 'plain' }, ...n.ports.map((p) => h('li', {}, `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort} → ${p.containerPort}/${p.protocol}`)))));
    if (d.historyAtMs === undefined) {
      const listeners = (socks: readonly SocketRow[]): Node => (socks.length === 0 ? h('p', { class: 'muted' }, 'no listening sockets')
        : h('ul', { class: 'plain' }, ...socks.map((s) => h('li', {}, `${s.protocol} ${formatEndpoint(s.local)}`,
          h('span', { class: 'muted' }, ' ', s.processes.map((p) => `${p.command}/${p.pid}`).join(', '))))));
      parts.push(section('Listening', loaded(d.listening, listeners)));
      const last = d.rates.at(-1);
      const now = Date.now();
      // Over the window, or over what there is when the agent has not been up that long.
      const from = Math.max(now - d.windowMs, d.rates[0]?.atMs ?? now - d.windowMs);
      const peak = Math.max(0, ...d.rates.map((r) => Math.max(r.rx, r.tx)));
      parts.push(section('Traffic',
        h('div', { class: 'spark-wrap' }, sparkline(d.rates, from, now),
          h('p', { class: 'legend-line' },
            h('span', { class: 'key rx' }, 'received'), ' ', formatRate(last?.rx ?? d.summary?.traffic?.rxBytesPerSec), '  ',
            h('span', { class: 'key tx' }, 'sent'), ' ', formatRate(last?.tx ?? d.summary?.traffic?.txBytesPerSec),
            h('span', { class: 'muted' }, ` · peak ${formatRate(peak)} · since ${formatTime(from)}`)))));
      const labelKeys = Object.keys(labels).sort();
      if (labelKeys.length > 0) {
        parts.push(h('details', { class: 'labels' }, h('summary', {}, `Labels (${labelKeys.length})`),
          h('ul', { class: 'plain mono' }, ...labelKeys.map((k) => h('li', {}, `${k}=${labels[k] ?? ''}`)))));
      }
    }
  } else if (n.kind === 'process') {
    parts.push(facts([['Command', n.command], ['Pids', n.pids.join(', ')]]));
  } else if (n.kind === 'external') {
    parts.push(facts([['Address', n.address], ['DNS name', n.dnsName ?? '–']]));
  } else {
    parts.push(facts([['Host', n.name]]));
  }
  parts.push(section(`Connections (${d.connections.length})`, connectionsTable(d, actions)));
  root.replaceChildren(...parts);
}

function connectionsTable(d: NodePanelData, actions: PanelActions): Node {
  if (!d.hasDetails) return h('p', { class: 'muted' }, 'History keeps edges, not their connections one by one: see the edges in the table, or go live.');
  if (d.connections.length === 0) return h('p', { class: 'muted' }, 'none');
  return h('table', { class: 'conns' },
    h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'Peer'), h('th', {}, 'Port'), h('th', { class: 'num' }, 'Bytes'), h('th', { class: 'num' }, 'RTT'), h('th', {}, 'Process'))),
    h('tbody', {}, ...d.connections.map((c) => {
      // Bytes this container sent / received on the connection.
      const up = c.direction === 'out' ? c.bytesToServer : c.bytesToClient;
      const down = c.direction === 'out' ? c.bytesToClient : c.bytesToServer;
      return h('tr', { tabindex: 0, class: 'clickable', title: `${formatEndpoint(c.client)} → ${formatEndpoint(c.server)} (${c.state}, ${c.via})`, onclick: () => actions.openEdge(c.edgeId), onkeydown: (ev: Event) => { if ((ev as KeyboardEvent).key === 'Enter') actions.openEdge(c.edgeId); } },
        h('td', { 'aria-label': c.direction === 'out' ? 'outgoing' : 'incoming' }, c.direction === 'out' ? '→' : '←'),
        h('td', { class: 'peer', title: c.peerName }, c.peerName),
        h('td', {}, `${c.protocol}/${c.port}`),
        h('td', { class: 'num' }, up === undefined ? '–' : h('span', { class: 'pair' }, h('span', {}, formatBytes(up)), h('span', {}, formatBytes(down ?? 0)))),
        h('td', { class: 'num' }, formatMs(c.rttMs)),
        h('td', { class: 'mono proc', title: c.process }, c.process));
    })));
}

/** Renders the edge panel. */
export function renderEdgePanel(root: HTMLElement, d: EdgePanelData, actions: PanelActions): void {
  const e = d.edge;
  const t = e.traffic;
  const { level: health, reasons } = edgeHealth(e);
  const fromLink = h('button', { type: 'button', class: 'link', onclick: () => actions.openNode(e.from) }, d.fromName);
  const toLink = h('button', { type: 'button', class: 'link', onclick: () => actions.openNode(e.to) }, d.toName);
  const parts: Node[] = [
    header(`${d.fromName} → ${d.toName}`, `${e.protocol}/${e.port}${d.historyAtMs !== undefined ? ` · as of ${formatTime(d.historyAtMs)}` : ''}`, actions),
    facts([
      ['Client', fromLink],
      ['Server', toLink],
      ['Port', `${e.protocol}/${e.port}${e.publishedPorts?.length ? ` (host port ${e.publishedPorts.join(', ')})` : ''}`],
      ['Connections', Object.keys(e.states).length > 0 ? `${e.connections} · ${Object.entries(e.states).map(([s, n]) => `${s}=${n}`).join(' ')}` : String(e.connections)],
      ['Resolved by', e.via.join(', ')],
      ['Health', h('span', {}, h('span', { class: `dot ${health}`, 'aria-hidden': 'true' }), ` ${health}`, reasons.length > 0 ? h('span', { class: 'muted' }, ` — ${reasons.join('; ')}`) : '')],
      ['Captured', e.captured ? `${e.captured.connections} connections seen (${e.captured.open} open), last ${formatAgo(Date.parse(e.captured.lastSeenAt), d.nowMs)}` +
        (e.captured.bytesSent !== undefined ? ` · ${formatBytes(e.captured.bytesSent)} → / ${formatBytes(e.captured.bytesReceived ?? 0)} ← over closed ones` : '') : undefined],
      ['Closed', e.closedAt ? `${formatTime(Date.parse(e.closedAt))} (${formatAgo(Date.parse(e.closedAt), d.nowMs)}): no live connection` : undefined],
      ['Client → server', t ? `${formatRate(t.bytesSentPerSec)} · ${formatBytes(t.bytesSent)} in all` : undefined],
      ['Server → client', t ? `${formatRate(t.bytesReceivedPerSec)} · ${formatBytes(t.bytesReceived)} in all` : undefined],
      ['RTT', t && t.rttMeanMs !== undefined ? `p50 ${formatMs(t.rttP50Ms ?? t.rttMeanMs)} · p95 ${formatMs(t.rttP95Ms ?? t.rttMaxMs)} · max ${formatMs(t.rttMaxMs)}` : undefined],
      ['Retransmits', t?.recent ? `${t.recent.retransmits} of ${t.recent.segmentsOut} segments in ${Math.round(t.recent.windowSeconds)} s` +
        (t.recent.retransmitRatio !== undefined ? ` (${(t.recent.retransmitRatio * 100).toFixed(2)}%)` : '') : t?.retransmits !== undefined ? `${t.retransmits} over the connections' lives` : undefined],
      ['Connects', t?.recent && (t.recent.connectsUnanswered > 0 || t.recent.flowsUnreplied > 0)
        ? `${t.recent.connectsUnanswered} unanswered, ${t.recent.connectsAnswered} answered; UDP flows ${t.recent.flowsUnreplied} unreplied, ${t.recent.flowsReplied} replied (last ${EDGE_HEALTH_RULE.windowSeconds} s)` : undefined],
      ['Counted by', t ? (t.bytesSource === 'tcp_info' ? 'tcp_info (payload bytes)' : t.bytesSource === 'conntrack' ? 'conntrack (IP bytes, headers included)' : 'tcp_info and conntrack') : undefined],
    ]),
  ];
  if (e.sflow) parts.push(section(isSflowOnly(e) ? 'sFlow estimate (only sFlow saw this edge)' : 'sFlow estimate', sflowFacts(e)));
  if (isSflowOnly(e)) {
    parts.push(section('Connections', h('p', { class: 'muted' }, 'None seen: no socket or conntrack entry of this host holds this traffic; sFlow agents sampled it.')));
  } else if (d.historyAtMs !== undefined && !e.details) {
    parts.push(section('Connections', h('p', { class: 'muted' }, 'History keeps edges, not their connections one by one. Go live to list them.')));
  } else {
    parts.push(section(`Connections (${e.details?.length ?? e.connections})`, loaded(d.connections, (rows) => h('ol', { class: 'conn-list' }, ...rows.map((c) => h('li', { class: 'conn' },
      h('div', { class: 'ends' }, h('code', {}, formatEndpoint(c.client)), ' → ', h('code', {}, formatEndpoint(c.server)),
        c.published ? h('span', { class: 'muted' }, ` via ${formatEndpoint(c.published)}`) : ''),
      facts([
        ['Client process', c.clientProcess],
        ['Server process', c.serverProcess],
        ['State', `${c.state} (${c.via})`],
        ['Bytes', c.bytesToServer !== undefined ? `→ ${formatBytes(c.bytesToServer)} · ← ${formatBytes(c.bytesToClient ?? 0)}` : '–'],
        ['RTT', formatMs(c.rttMs)],
        ['Retransmits', c.retransmits !== undefined ? String(c.retransmits) : '–'],
      ])))))));
  }
  root.replaceChildren(...parts);
}

/** sFlow's estimate of an edge, apart from the exact counters: bytes and packets each way, what it rests on. */
function sflowFacts(e: TopologyEdge): Node {
  const s = sflowEstimate(e);
  const source = e.sflow;
  const rates = source ? `1 in ${source.samplingRates.join(', 1 in ')}` : '';
  if (!s) return facts([['Agents', source?.agents.join(', ')], ['Sampling', rates], ['Estimate', 'not kept in history: go live to see it']]);
  return facts([
    ['Client → server', `~${formatRate(s.bytesSentPerSec)} · ~${formatBytes(s.bytesSent)}, ~${s.packetsSent} packets`],
    ['Server → client', `~${formatRate(s.bytesReceivedPerSec)} · ~${formatBytes(s.bytesReceived)}, ~${s.packetsReceived} packets`],
    ['Samples', `${s.samples} at ${rates}${s.errorPercent > 0 ? ` · ±${s.errorPercent} % (95 %)` : ' · every packet'}`],
    ['Agents', s.agents.join(', ')],
    ['Counted as', 'Ethernet frames (headers included), sampled × rate'],
    ['Since', `${formatTime(Date.parse(s.firstSampleAt))} · last sample ${formatTime(Date.parse(s.lastSampleAt))}`],
  ]);
}

/** Renders the panel of an aggregate: what it stands for, its members, and Open / Close. */
export function renderAggregatePanel(root: HTMLElement, d: AggregatePanelData, actions: PanelActions): void {
  const a = d.aggregate;
  const what = { host: 'host', group: a.groupKind === 'compose' ? 'compose project' : a.groupKind === 'network' ? 'network' : a.groupKind === 'external' ? 'external addresses' : a.groupKind === 'host' ? 'host processes' : 'group', service: 'replicas' }[a.kind];
  const button = d.open
    ? h('button', { type: 'button', onclick: () => actions.closeAggregate(a.id), title: 'Draw it as one node again (Backspace)' }, 'Close')
    : h('button', { type: 'button', onclick: () => actions.openAggregate(a.id), title: 'Draw its members (Enter)' }, 'Open');
  const title = a.kind === 'service' ? `${a.label} ×${a.size}` : a.label;
  const shown = d.members.slice(0, 200);
  root.replaceChildren(
    header(title, `${what}${a.stale ? ' · not reporting (stale)' : ''}`, actions, [button]),
    facts([
      ['Containers', String(a.containers)],
      ['Other nodes', a.size - a.containers > 0 ? String(a.size - a.containers) : undefined],
      ['Inner edges', d.open ? undefined : String(d.inner)],
    ]),
    section(`Members (${d.members.length})`, h('ul', { class: 'plain members' }, ...shown.map((n) => h('li', {},
      h('button', { type: 'button', class: 'link', onclick: () => actions.openNode(n.id) }, n.name), n.kind === 'container' ? h('span', { class: 'muted' }, ` ${n.image}`) : ''))),
    d.members.length > shown.length ? h('p', { class: 'muted' }, `and ${d.members.length - shown.length} more (search to find one)`) : ''),
  );
}

/** Renders the panel of an aggregated edge: the topology's edges it stands for, busiest first. */
export function renderEdgeGroupPanel(root: HTMLElement, d: EdgeGroupPanelData, actions: PanelActions): void {
  const rows = [...d.edges].sort((a, b) => (edgeRate(b) ?? -1) - (edgeRate(a) ?? -1) || a.id.localeCompare(b.id)).slice(0, 300);
  root.replaceChildren(
    header(`${d.fromName} → ${d.toName}`, `${d.edges.length} edge${d.edges.length === 1 ? '' : 's'}`, actions),
    h('table', { class: 'conns' },
      h('thead', {}, h('tr', {}, h('th', {}, 'From'), h('th', {}, 'To'), h('th', {}, 'Port · rate'), h('th', {}, 'Health'))),
      h('tbody', {}, ...rows.map((e) => {
        const { level } = edgeHealth(e);
        return h('tr', { tabindex: 0, class: 'clickable', onclick: () => actions.openEdge(e.id), onkeydown: (ev: Event) => { if ((ev as KeyboardEvent).key === 'Enter') actions.openEdge(e.id); } },
          h('td', {}, d.names.get(e.from) ?? e.from), h('td', {}, d.names.get(e.to) ?? e.to), h('td', { class: 'nowrap' }, edgeLabel(e)),
          h('td', {}, h('span', { class: `dot ${level}`, 'aria-hidden': 'true' }), ` ${level}`));
      }))),
    d.edges.length > rows.length ? h('p', { class: 'muted' }, `and ${d.edges.length - rows.length} more (the table lists them all)`) : '',
  );
}

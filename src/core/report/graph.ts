// Renderers of a topology for people and diagram tools: a text table, Graphviz DOT and Mermaid (pure; the CLI
// prints them, the server can serve them).
import type { Topology, TopologyEdge, TopologyNode } from '../model/topology.js';
import { escapeTerminal } from './terminal-text.js';
import { renderTable } from './text-table.js';
import { formatBytes } from './top.js';

/** How a node is named in text output: container name, `command@host`, the host's name, or a DNS name/address. */
export function nodeLabel(node: TopologyNode | undefined, fallbackId = '?'): string {
  if (!node) return fallbackId;
  switch (node.kind) {
    case 'container': return node.name;
    case 'process': return `${node.command}@host`;
    case 'host': return `${node.name} (host)`;
    case 'external': return node.dnsName ? `${node.dnsName} (${node.address})` : node.address;
  }
}

/** `tcp/8080`. */
export function edgePort(edge: TopologyEdge): string {
  return `${edge.protocol}/${edge.port}`;
}

function statesText(edge: TopologyEdge): string {
  return Object.entries(edge.states).map(([s, n]) => `${s}=${n}`).join(',');
}

function viaText(edge: TopologyEdge): string {
  const via = edge.via.join(',');
  return edge.publishedPorts && edge.publishedPorts.length > 0 ? `${via} (host port ${edge.publishedPorts.join(',')})` : via;
}

const bytesText = (n: number | undefined): string => formatBytes(n ?? null);

function trafficCells(edge: TopologyEdge): string[] {
  const t = edge.traffic;
  if (!t) return ['-', '-', '-'];
  const rate = t.bytesSentPerSec !== undefined || t.bytesReceivedPerSec !== undefined
    ? ` (${bytesText(t.bytesSentPerSec)}/s ↔ ${bytesText(t.bytesReceivedPerSec)}/s)` : '';
  // Conntrack counts IP-level bytes (headers included), tcp_info payload: say which when it is not tcp_info.
  const source = t.bytesSource === 'tcp_info' ? '' : ` [${t.bytesSource}]`;
  const rtt = t.rttMeanMs === undefined ? '-' : `${t.rttMinMs?.toFixed(2)}/${t.rttMeanMs.toFixed(2)}/${t.rttMaxMs?.toFixed(2)}`;
  return [`${bytesText(t.bytesSent)} → ${bytesText(t.bytesReceived)} ←${rate}${source}`, rtt, t.retransmits === undefined ? '-' : String(t.retransmits)];
}

/**
 * One row per edge: FROM, TO, PROTO/PORT, CONNECTIONS, STATES, then (when some edge has byte counts) BYTES
 * client→server / server→client with rates (marked `[conntrack]` or `[mixed]` when conntrack's IP-level
 * accounting counted them), RTT min/mean/max in ms and RETRANS, then VIA; columns aligned.
 */
export function renderGraphText(topology: Topology): string {
  const byId = new Map(topology.nodes.map((n) => [n.id, n]));
  const withTraffic = topology.edges.some((e) => e.traffic);
  const header = ['FROM', 'TO', 'PORT', 'CONNECTIONS', 'STATES', ...(withTraffic ? ['BYTES', 'RTT MS', 'RETRANS'] : []), 'VIA'];
  const rows = topology.edges.map((e) => [
    nodeLabel(byId.get(e.from), e.from), nodeLabel(byId.get(e.to), e.to), edgePort(e), String(e.connections), statesText(e),
    ...(withTraffic ? trafficCells(e) : []), viaText(e),
  ]);
  return renderTable(header, rows);
}

function edgeLabel(edge: TopologyEdge): string {
  const published = edge.publishedPorts && edge.publishedPorts.length > 0 ? ` via :${edge.publishedPorts.join(',:')}` : '';
  return `${edgePort(edge)} ×${edge.connections}${published}`;
}

function nodeLines(node: TopologyNode): string[] {
  switch (node.kind) {
    case 'container': return [node.name, node.image];
    case 'process': return [node.command, `host process ${node.pids.join(',')}`.trimEnd()];
    case 'host': return [node.name, 'host'];
    case 'external': return node.dnsName ? [node.dnsName, node.address] : [node.address];
  }
}

function composeProject(node: TopologyNode): string | undefined {
  return node.kind === 'container' ? node.compose?.project : undefined;
}

// DOT and Mermaid text goes to a terminal as often as to a file: names are escaped for it too.
function dotString(text: string): string {
  return `"${text.split('\n').map(escapeTerminal).join('\n').replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

const DOT_STYLE: Record<TopologyNode['kind'], string> = {
  container: 'shape=box, style="rounded,filled", fillcolor="#dbeafe"',
  process: 'shape=ellipse, style=filled, fillcolor="#fef3c7"',
  host: 'shape=house, style=filled, fillcolor="#e5e7eb"',
  external: 'shape=ellipse, style=dashed',
};

/** Graphviz DOT (`dot -Tpng`): one node per topology node, compose projects as clusters, one arrow per edge. */
export function renderGraphDot(topology: Topology): string {
  const out: string[] = [
    'digraph portolan {',
    `  graph [rankdir=LR, fontname="Helvetica", labelloc=t, label=${dotString(`${topology.hostname} at ${topology.takenAt}`)}];`,
    '  node [fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ];
  const nodeLine = (n: TopologyNode, indent: string) =>
    `${indent}${dotString(n.id)} [label=${dotString(nodeLines(n).join('\n'))}, ${DOT_STYLE[n.kind]}];`;
  const projects = new Map<string, TopologyNode[]>();
  for (const n of topology.nodes) {
    const p = composeProject(n);
    if (p === undefined) { out.push(nodeLine(n, '  ')); continue; }
    const list = projects.get(p) ?? [];
    list.push(n);
    projects.set(p, list);
  }
  let i = 0;
  for (const [project, members] of projects) {
    out.push(`  subgraph cluster_${i++} {`, `    label=${dotString(project)}; style=rounded; color="#94a3b8";`);
    for (const n of members) out.push(nodeLine(n, '    '));
    out.push('  }');
  }
  for (const e of topology.edges) {
    const style = e.protocol === 'udp' ? ', style=dashed' : '';
    out.push(`  ${dotString(e.from)} -> ${dotString(e.to)} [label=${dotString(edgeLabel(e))}${style}];`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}

function mermaidEscape(text: string): string {
  return escapeTerminal(text).replace(/&/g, '#amp;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

function mermaidText(text: string): string {
  return `"${mermaidEscape(text)}"`;
}

function mermaidNode(n: TopologyNode, key: string): string {
  const label = `"${nodeLines(n).map(mermaidEscape).join('<br/>')}"`;
  switch (n.kind) {
    case 'container': return `${key}[${label}]`;
    case 'process': return `${key}([${label}])`;
    case 'host': return `${key}{{${label}}}`;
    case 'external': return `${key}((${label}))`;
  }
}

/** Mermaid flowchart (left to right): node keys n0, n1…, compose projects as subgraphs, UDP edges dotted. */
export function renderGraphMermaid(topology: Topology): string {
  const keys = new Map(topology.nodes.map((n, i) => [n.id, `n${i}`]));
  const out = ['flowchart LR'];
  const projects = new Map<string, TopologyNode[]>();
  for (const n of topology.nodes) {
    const p = composeProject(n);
    if (p === undefined) { out.push(`  ${mermaidNode(n, keys.get(n.id) ?? '')}`); continue; }
    const list = projects.get(p) ?? [];
    list.push(n);
    projects.set(p, list);
  }
  let i = 0;
  for (const [project, members] of projects) {
    out.push(`  subgraph p${i++}[${mermaidText(project)}]`);
    for (const n of members) out.push(`    ${mermaidNode(n, keys.get(n.id) ?? '')}`);
    out.push('  end');
  }
  for (const e of topology.edges) {
    const from = keys.get(e.from);
    const to = keys.get(e.to);
    if (from === undefined || to === undefined) continue;
    const arrow = e.protocol === 'udp' ? '-.->' : '-->';
    out.push(`  ${from} ${arrow}|${mermaidText(edgeLabel(e))}| ${to}`);
  }
  return out.join('\n') + '\n';
}

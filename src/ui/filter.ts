// Search and filters (pure): which nodes and edges the map and the table show.

import type { Topology, TopologyNode } from '../core/model/topology.js';
import { isIdleEdge } from './graph-model.js';

/** What the person asked to see. */
export interface FilterState {
  /** Search words: free text (name, image, service, address, id prefix) and `net:`, `project:`, `label:key[=value]`, `kind:` terms, all required. */
  readonly query: string;
  /** Only containers on this network (empty: any). */
  readonly network: string;
  /** Only containers of this compose project (empty: any). */
  readonly project: string;
  /** Hide edges that moved no bytes, and nodes left without edges. */
  readonly hideIdle: boolean;
  /** Show only this node and its neighbours. */
  readonly focus?: string;
}

/** No filter. */
export const NO_FILTER: FilterState = { query: '', network: '', project: '', hideIdle: false };

/** A parsed search. */
export interface Query {
  readonly words: readonly string[];
  readonly networks: readonly string[];
  readonly projects: readonly string[];
  readonly labels: readonly { readonly key: string; readonly value?: string }[];
  readonly kinds: readonly string[];
}

/** Parses the search box: `api net:shop_net label:tier=web project:shop kind:external`. */
export function parseQuery(text: string): Query {
  const words: string[] = [];
  const networks: string[] = [];
  const projects: string[] = [];
  const labels: { key: string; value?: string }[] = [];
  const kinds: string[] = [];
  for (const raw of text.trim().split(/\s+/)) {
    if (raw === '') continue;
    const m = /^(net|network|project|compose|label|kind):(.*)$/i.exec(raw);
    const term = m?.[2] ?? '';
    if (!m || term === '') {
      words.push(raw.toLowerCase());
      continue;
    }
    switch ((m[1] ?? '').toLowerCase()) {
      case 'net':
      case 'network': networks.push(term); break;
      case 'project':
      case 'compose': projects.push(term); break;
      case 'kind': kinds.push(term.toLowerCase()); break;
      default: {
        const eq = term.indexOf('=');
        labels.push(eq < 0 ? { key: term } : { key: term.slice(0, eq), value: term.slice(eq + 1) });
      }
    }
  }
  return { words, networks, projects, labels, kinds };
}

/** True when nothing is asked. */
export function isEmptyQuery(q: Query): boolean {
  return q.words.length + q.networks.length + q.projects.length + q.labels.length + q.kinds.length === 0;
}

/** The text a free word is looked for in. */
function haystack(n: TopologyNode): string {
  switch (n.kind) {
    case 'container': return [n.name, n.image, n.compose?.service ?? '', n.id.slice(0, 12), ...n.networks.flatMap((x) => [x.ipv4 ?? '', x.ipv6 ?? ''])].join(' ').toLowerCase();
    case 'process': return [n.name, n.command, ...n.pids.map(String)].join(' ').toLowerCase();
    case 'external': return [n.name, n.address, n.dnsName ?? ''].join(' ').toLowerCase();
    case 'host': return `${n.name} host`.toLowerCase();
  }
}

/** True when a node matches every term. Network, project and label terms only match containers. */
export function matchesNode(n: TopologyNode, q: Query, labels: Readonly<Record<string, string>> = {}): boolean {
  if (q.kinds.length > 0 && !q.kinds.includes(n.kind)) return false;
  const text = haystack(n);
  if (!q.words.every((w) => text.includes(w))) return false;
  if (q.networks.length + q.projects.length + q.labels.length === 0) return true;
  if (n.kind !== 'container') return false;
  const nets = [...n.networks.map((x) => x.name), n.networkMode];
  if (!q.networks.every((want) => nets.includes(want))) return false;
  if (!q.projects.every((want) => n.compose?.project === want)) return false;
  return q.labels.every((l) => (l.value === undefined ? l.key in labels : labels[l.key] === l.value));
}

/** The node and edge ids to show. */
export interface Visible {
  readonly nodes: ReadonlySet<string>;
  readonly edges: ReadonlySet<string>;
}

/**
 * What to show (pure): the nodes matching the filter with all their edges and the peers at the other end of
 * those (a search for `worker` shows whom it talks to; `project:shop` shows the project and what it reaches);
 * without idle edges when asked (then nodes left without edges go too); with a focus, only that node and its
 * neighbours.
 */
export function visibleElements(t: Topology, f: FilterState, labelsById: ReadonlyMap<string, Readonly<Record<string, string>>> = new Map()): Visible {
  const extra = [f.network ? `net:${f.network}` : '', f.project ? `project:${f.project}` : ''].join(' ');
  const q = parseQuery(`${f.query} ${extra}`);
  const filtered = !isEmptyQuery(q);
  const matched = new Set(t.nodes.filter((n) => !filtered || matchesNode(n, q, labelsById.get(n.id))).map((n) => n.id));
  let edges = t.edges.filter((e) => (matched.has(e.from) || matched.has(e.to)) && !(f.hideIdle && isIdleEdge(e)));
  let nodes = new Set([...matched, ...edges.flatMap((e) => [e.from, e.to])]);
  if (f.hideIdle) {
    const used = new Set(edges.flatMap((e) => [e.from, e.to]));
    nodes = new Set([...nodes].filter((id) => used.has(id)));
  }
  if (f.focus !== undefined && nodes.has(f.focus)) {
    const focus = f.focus;
    edges = edges.filter((e) => e.from === focus || e.to === focus);
    nodes = new Set([focus, ...edges.flatMap((e) => [e.from, e.to])]);
  }
  return { nodes, edges: new Set(edges.map((e) => e.id)) };
}

/** The networks and compose projects present, sorted, for the filter menus. */
export function filterChoices(t: Topology): { networks: string[]; projects: string[] } {
  const networks = new Set<string>();
  const projects = new Set<string>();
  for (const n of t.nodes) {
    if (n.kind !== 'container') continue;
    for (const x of n.networks) networks.add(x.name);
    if (n.compose?.project) projects.add(n.compose.project);
  }
  return { networks: [...networks].sort(), projects: [...projects].sort() };
}

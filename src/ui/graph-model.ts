// From the agent's topology to what the map draws (pure): which aggregates to open so that every name is
// readable in the window (aggregate.ts), where everything goes (layered-layout.ts), and how each thing looks —
// labels, sizes, edge widths from bytes/s, health colours (core/report/edge-health.ts), recently closed edges
// and exited containers faded by age. graph-view.ts hands the result to cytoscape.
import type { EdgeSflow, Topology, TopologyEdge, TopologyNode } from '../core/model/topology.js';
import { edgeHealth, worseHealth, type HealthLevel } from '../core/report/edge-health.js';
import { aggregateView, buildHierarchy, chooseOpen, type AggregatedView, type Aggregate, type GroupBy, type GroupKind, type Hierarchy } from './aggregate.js';
import { formatRate } from './format.js';
import { layeredLayout, METRICS, type Layout, type LayoutLimits } from './layered-layout.js';

export type { GroupBy } from './aggregate.js';

/** Health of a drawn thing (core's levels). */
export type Health = HealthLevel;

/** A box: an open aggregate, drawn as a compound node with its title above it. */
export interface BoxData {
  readonly id: string;
  readonly kind: 'box';
  readonly label: string;
  readonly boxKind: Aggregate['kind'];
  readonly groupKind?: GroupKind;
  readonly parent?: string;
  readonly stale?: boolean;
}

/** A drawn node: a topology node, or a closed aggregate standing for its members. */
export interface NodeData {
  readonly id: string;
  readonly kind: TopologyNode['kind'] | 'aggregate';
  readonly label: string;
  readonly parent?: string;
  /** Diameter in px: grows with the number of edges (aggregates with their members). */
  readonly size: number;
  /** The worst health of its edges (a ring on the node). */
  readonly health: Health;
  /** For aggregates: what they stand for and how many nodes. */
  readonly aggKind?: Aggregate['kind'];
  readonly groupKind?: GroupKind;
  readonly count?: number;
  /** A container that exited recently, or an aggregate of a stale host. */
  readonly gone?: boolean;
  /** 0.3–1: faded by the age of its exit. */
  readonly opacity: number;
  /** The container whose network namespace it shares (drawn right above it). */
  readonly pin?: string;
}

/** An edge as drawn. */
export interface EdgeData {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly label: string;
  /** `mixed` for an aggregated edge over both protocols. */
  readonly protocol: 'tcp' | 'udp' | 'mixed';
  /** Line width in px, from bytes/s. */
  readonly width: number;
  readonly health: Health;
  /** Bytes/s both ways; undefined when not measured. */
  readonly rate?: number;
  readonly idle: boolean;
  /** How many topology edges it stands for (1 unless aggregated). */
  readonly count: number;
  readonly aggregated: boolean;
  /** Every member closed (no live connection, seen recently). */
  readonly closed: boolean;
  /** 0.25–0.9: closed edges fade with the age of their closing. */
  readonly opacity: number;
  /** Only sFlow saw it (no socket, no conntrack entry): drawn dotted, sized by sFlow's estimate. */
  readonly sflowOnly: boolean;
}

/** A dotted link between a `container:` container and the container whose namespace it shares. */
export interface NetnsLink {
  readonly id: string;
  readonly source: string;
  readonly target: string;
}

/** Everything the map draws for one view. */
export interface GraphModel {
  readonly boxes: readonly BoxData[];
  readonly nodes: readonly NodeData[];
  readonly edges: readonly EdgeData[];
  readonly netns: readonly NetnsLink[];
}

/** Seconds over which recently closed edges and exited containers fade to their faintest. */
export const FADE_SECONDS = 300;

/** Bytes per second both ways over an edge; undefined when not measured. */
export function edgeRate(e: TopologyEdge): number | undefined {
  const t = e.traffic;
  if (!t || (t.bytesSentPerSec === undefined && t.bytesReceivedPerSec === undefined)) return undefined;
  return (t.bytesSentPerSec ?? 0) + (t.bytesReceivedPerSec ?? 0);
}

/** sFlow's live estimate on an edge (absent on edges read from history, which keep only that sFlow saw them). */
export function sflowEstimate(e: TopologyEdge): EdgeSflow | undefined {
  return e.sflow && 'samples' in e.sflow ? e.sflow : undefined;
}

/** An edge only sFlow saw: no connection of its own. */
export function isSflowOnly(e: TopologyEdge): boolean {
  return e.connections === 0 && e.sflow !== undefined;
}

/** Bytes/s sFlow estimates on an sFlow-only edge (0 when read back from history); undefined for other edges. */
function sflowOnlyRate(e: TopologyEdge): number | undefined {
  if (!isSflowOnly(e)) return undefined;
  const s = sflowEstimate(e);
  return s ? s.bytesSentPerSec + s.bytesReceivedPerSec : 0;
}

/** Line width for a rate: 1.5 px idle, growing with log10 of bytes/s to 10 px. */
export function edgeWidth(rate: number | undefined): number {
  if (rate === undefined || rate <= 0) return 1.5;
  return Math.min(10, 1.5 + 1.4 * Math.log10(1 + rate / 256));
}

/** True when an edge moved no bytes since the previous sample (measured at 0 B/s). Unmeasured edges are not idle. */
export function isIdleEdge(e: TopologyEdge): boolean {
  return edgeRate(e) === 0;
}

/** `tcp/8080`, with the host port when reached through one, and the rate when it moves (`~… sFlow` for sFlow-only edges). */
export function edgeLabel(e: TopologyEdge): string {
  const published = e.publishedPorts && e.publishedPorts.length > 0 ? ` (:${e.publishedPorts.join(', :')})` : '';
  const rate = edgeRate(e);
  const estimate = rate === undefined ? sflowOnlyRate(e) : undefined;
  if (estimate !== undefined) return `${e.protocol}/${e.port}${published} · ${estimate > 0 ? `~${formatRate(estimate)} ` : ''}sFlow`;
  return `${e.protocol}/${e.port}${published}${rate ? ` · ${formatRate(rate)}` : ''}`;
}

/** An aggregated edge's label: its ports (two at most, then `+N`), how many edges, the rate when it moves. */
export function aggregatedEdgeLabel(members: readonly TopologyEdge[]): string {
  const ports = [...new Set(members.map((e) => `${e.protocol}/${e.port}`))].sort();
  const shown = ports.length <= 2 ? ports.join(', ') : `${ports.slice(0, 2).join(', ')} +${ports.length - 2}`;
  const rates = members.map(edgeRate).filter((r): r is number => r !== undefined);
  const rate = rates.reduce((a, b) => a + b, 0);
  return `${shown}${members.length > 1 ? ` ×${members.length}` : ''}${rate ? ` · ${formatRate(rate)}` : ''}`;
}

/** A name shortened in the middle (`shop-billing-wo…er-12`) so that two lines of a label hold it. */
export function shortName(name: string, max = 40): string {
  if (name.length <= max) return name;
  const keep = max - 1;
  return `${name.slice(0, Math.ceil(keep / 2))}…${name.slice(name.length - Math.floor(keep / 2))}`;
}

/** Opacity for something that went away `ageSeconds` ago: from `full` down to `faintest` over FADE_SECONDS. */
export function fade(ageSeconds: number, full: number, faintest: number): number {
  const f = Math.min(1, Math.max(0, ageSeconds / FADE_SECONDS));
  return Math.round((full - (full - faintest) * f) * 100) / 100;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function aggregateLabel(a: Aggregate): string {
  const others = a.size - a.containers;
  const what = a.containers > 0
    ? plural(a.containers, 'container', 'containers') + (others > 0 ? ` + ${others}` : '')
    : a.groupKind === 'external' ? plural(a.size, 'address', 'addresses') : plural(a.size, 'node', 'nodes');
  switch (a.kind) {
    case 'host': return `${a.label}${a.stale ? ' (stale)' : ''}\n${what}`;
    case 'group': return `${a.label}\n${what}`;
    case 'service': return `${shortName(a.label)} ×${a.size}`;
  }
}

function boxLabel(a: Aggregate): string {
  if (a.kind === 'service') return `${a.label} ×${a.size}`;
  if (a.kind === 'host') return `${a.label}${a.stale ? ' (stale)' : ''} · ${plural(a.containers, 'container', 'containers')}`;
  return a.label;
}

/** What the map draws for a view (pure); `nowMs` ages closed edges and exited containers (the topology's time). */
export function toGraphModel(view: AggregatedView, h: Hierarchy, nowMs: number): GraphModel {
  const degree = new Map<string, number>();
  const health = new Map<string, Health>();
  const age = (at: string | undefined) => (at ? Math.max(0, (nowMs - Date.parse(at)) / 1000) : undefined);
  const edges: EdgeData[] = view.edges.map((ve) => {
    let hl: Health = 'unknown';
    let rate: number | undefined;
    let allIdle = true;
    let closedAge: number | undefined = 0;
    let estimate: number | undefined;
    let sflowOnly = ve.members.length > 0;
    for (const e of ve.members) {
      const est = sflowOnlyRate(e);
      if (est === undefined) sflowOnly = false;
      else estimate = (estimate ?? 0) + est;
      hl = worseHealth(hl, edgeHealth(e, false).level);
      const r = edgeRate(e);
      if (r !== undefined) rate = (rate ?? 0) + r;
      if (!isIdleEdge(e)) allIdle = false;
      const a = age(e.closedAt);
      // An aggregated edge is closed only when every member is; it fades with the most recent closing.
      closedAge = a === undefined || closedAge === undefined ? undefined : Math.max(closedAge, a);
    }
    for (const id of [ve.source, ve.target]) {
      degree.set(id, (degree.get(id) ?? 0) + ve.members.length);
      health.set(id, worseHealth(health.get(id) ?? 'unknown', hl));
    }
    const protocols = new Set(ve.members.map((e) => e.protocol));
    const first = ve.members[0] as TopologyEdge;
    return {
      id: ve.id, source: ve.source, target: ve.target,
      label: ve.aggregated ? aggregatedEdgeLabel(ve.members) : edgeLabel(first),
      protocol: protocols.size > 1 ? 'mixed' : first.protocol,
      // Aggregated edges are drawn lighter: many of them meet at a folded node. An edge only sFlow saw is as wide as
      // its estimate says, and never "idle" (no exact counter says so).
      width: ve.aggregated ? Math.min(6, edgeWidth(rate ?? estimate)) : edgeWidth(rate ?? estimate), health: hl, ...(rate !== undefined ? { rate } : {}), idle: allIdle && ve.members.length > 0 && rate !== undefined,
      sflowOnly,
      count: ve.members.length, aggregated: ve.aggregated,
      closed: closedAge !== undefined, opacity: closedAge !== undefined ? fade(closedAge, 0.75, 0.25) : ve.aggregated ? 0.6 : 0.9,
    };
  });
  const nodes: NodeData[] = view.units.map((u) => {
    const d = degree.get(u.id) ?? 0;
    const parent = u.parent ? { parent: u.parent } : {};
    if (u.kind === 'aggregate') {
      const a = u.aggregate;
      return {
        id: u.id, kind: 'aggregate', label: aggregateLabel(a), ...parent, size: Math.round(40 + Math.min(16, 4 * Math.log2(1 + a.size))),
        health: health.get(u.id) ?? 'unknown', aggKind: a.kind, ...(a.groupKind ? { groupKind: a.groupKind } : {}), count: a.size,
        ...(a.stale ? { gone: true } : {}), opacity: a.stale ? 0.6 : 1,
      };
    }
    const n = u.node;
    const exited = n.kind === 'container' ? age(n.exitedAt) : undefined;
    const pin = h.sharesWith.get(n.id);
    return {
      id: n.id, kind: n.kind, label: shortName(n.name) + (exited !== undefined ? ' · exited' : ''), ...parent,
      size: Math.round(26 + Math.min(22, 5 * Math.log2(1 + d))), health: health.get(n.id) ?? 'unknown',
      ...(exited !== undefined ? { gone: true } : {}), opacity: exited !== undefined ? fade(exited, 0.8, 0.3) : 1,
      ...(pin && view.drawnAs.get(pin) === pin ? { pin } : {}),
    };
  });
  const netns = nodes.filter((n) => n.pin).map((n) => ({ id: `netns:${n.id}`, source: n.id, target: n.pin as string }));
  const boxes: BoxData[] = view.boxes.map((a) => ({
    id: a.id, kind: 'box', label: boxLabel(a), boxKind: a.kind, ...(a.groupKind ? { groupKind: a.groupKind } : {}), ...(a.parent ? { parent: a.parent } : {}), ...(a.stale ? { stale: true } : {}),
  }));
  return { boxes, nodes, edges, netns };
}

/** The rectangle the map has for its drawing, in screen px. */
export interface Viewport {
  readonly width: number;
  readonly height: number;
}

/** A view of a topology: what is open, what is drawn, how it looks, and where. */
export interface ViewPlan {
  readonly hierarchy: Hierarchy;
  readonly open: ReadonlySet<string>;
  readonly view: AggregatedView;
  readonly model: GraphModel;
  readonly layout: Layout;
}

/** Room a drawn node needs top to bottom: itself, its label's lines (12 px, wrapped at a column's width), a gap. */
export function nodeHeight(n: Pick<NodeData, 'size' | 'label' | 'kind'>): number {
  const perLine = (METRICS.colWidth - 24) / (n.kind === 'aggregate' ? 7.4 : 6.9);
  const lines = n.label.split('\n').reduce((k, part) => k + Math.max(1, Math.ceil(part.length / perLine)), 0);
  return Math.ceil(n.size + 8 + lines * 14 + 14);
}

/** How wide a box title is drawn (13 px, semibold: about 8 px a character, generously), in model px. */
export function titleWidth(label: string): number {
  return Math.ceil(label.length * 8.2 + 16);
}

/** The layout of a view (pure), kept to `limits` (model px) where it can be. */
export function layoutView(view: AggregatedView, model: GraphModel, h: Hierarchy, limits?: LayoutLimits): Layout {
  // Replicas of a small open service (drawn without a box) stay together: each rides under the one before.
  const previous = new Map<string, string>();
  const riding = new Map<string, string>();
  for (const u of view.units) {
    const svc = h.chain.get(u.id)?.at(-1);
    if (u.kind !== 'node' || !svc?.startsWith('svc:')) continue;
    const before = previous.get(svc);
    if (before) riding.set(u.id, before);
    previous.set(svc, u.id);
  }
  return layeredLayout(
    view.boxes.map((b) => ({ id: b.id, ...(b.parent ? { parent: b.parent } : {}), titleWidth: titleWidth(boxLabel(b)) })),
    model.nodes.map((n) => {
      const pin = n.pin ?? riding.get(n.id);
      return { id: n.id, ...(n.parent ? { parent: n.parent } : {}), ...(pin ? { pin } : {}), height: nodeHeight(n) };
    }),
    view.edges.map((e) => ({ source: e.source, target: e.target })),
    METRICS,
    limits,
  );
}

/** True when a layout fits the viewport at this zoom, with `margin` px around. */
export function fitsAt(layout: Layout, viewport: Viewport, zoom: number, margin: number): boolean {
  const b = layout.bounds;
  return (b.x2 - b.x1) * zoom <= viewport.width - 2 * margin && (b.y2 - b.y1) * zoom <= viewport.height - 2 * margin;
}

/**
 * Plans what to draw so that names stay readable (pure): with `open` given, exactly that; else as much detail
 * as fits the viewport at `zoom` (the smallest zoom at which labels are still readable), the aggregates in
 * `keep` opened first and those in `closed` left closed. The budget starts from how many grid cells the viewport holds and shrinks until the
 * laid-out map fits, or nothing more can be closed.
 */
export function planView(t: Topology, groupBy: GroupBy, opts: { viewport: Viewport; zoom: number; margin: number; nowMs: number; open?: ReadonlySet<string>; keep?: ReadonlySet<string>; closed?: ReadonlySet<string>; all?: readonly TopologyNode[] }): ViewPlan {
  const h = buildHierarchy(t, groupBy, opts.all);
  const limits = { width: (opts.viewport.width - 2 * opts.margin) / opts.zoom, height: (opts.viewport.height - 2 * opts.margin) / opts.zoom };
  const make = (open: ReadonlySet<string>): ViewPlan => {
    const view = aggregateView(t, h, open);
    const model = toGraphModel(view, h, opts.nowMs);
    return { hierarchy: h, open, view, model, layout: layoutView(view, model, h, limits) };
  };
  if (opts.open) return make(opts.open);
  const cells = ((opts.viewport.width - 2 * opts.margin) / (METRICS.colWidth * opts.zoom)) * ((opts.viewport.height - 2 * opts.margin) / (METRICS.rowHeight * opts.zoom));
  let budget = Math.max(1, Math.floor(cells * 0.6));
  let plan: ViewPlan | undefined;
  for (let attempt = 0; attempt < 12; attempt++) {
    plan = make(chooseOpen(h, budget, opts.keep, opts.closed));
    if (fitsAt(plan.layout, opts.viewport, opts.zoom, opts.margin) || plan.open.size === 0 || budget <= h.roots.length) break;
    budget = Math.max(h.roots.length, Math.floor(Math.min(budget, plan.view.units.length) * 0.8));
  }
  return plan as ViewPlan;
}

/**
 * Most lines between two outermost folded aggregates drawn at once. A fleet of 100 hosts folded has about 1,100 of them;
 * drawing each one (styles, paths, arrows) was most of the map's first frame, and so many lines cross into a grey
 * mesh. The busiest are drawn, the others counted (the status line says how many) and drawn around what is selected.
 */
export const LINE_BUDGET = 150;

/** What `budgetLines` drew and left out. */
export interface BudgetedModel {
  readonly model: GraphModel;
  /** Lines between folded aggregates left out. */
  readonly hidden: number;
  /** Lines between folded aggregates in all (drawn or not). */
  readonly lines: number;
}

/**
 * The model with at most `budget` lines between two outermost folded aggregates — folded hosts, say, not a folded
 * service inside an open host — (pure): every other edge stays, and so do
 * lines that touch an id in `keep` (the selected node) or are in it (the selected line); of the rest, the busiest
 * (bytes/s, then how many edges they stand for). A line drawn before (`previous`) stays while it ranks within
 * twice the budget, so live rates that shift a little do not swap lines in and out every second.
 */
export function budgetLines(model: GraphModel, budget: number, opts: { keep?: ReadonlySet<string>; previous?: ReadonlySet<string> } = {}): BudgetedModel {
  // Outermost folded aggregates only (a fleet's hosts): lines from inside an open one are all drawn.
  const folded = new Set(model.nodes.filter((n) => n.kind === 'aggregate' && n.parent === undefined).map((n) => n.id));
  const candidates = model.edges.filter((e) => e.aggregated && folded.has(e.source) && folded.has(e.target));
  if (candidates.length <= budget) return { model, hidden: 0, lines: candidates.length };
  const keep = opts.keep ?? new Set<string>();
  const previous = opts.previous ?? new Set<string>();
  const ranked = [...candidates].sort((a, b) => (b.rate ?? -1) - (a.rate ?? -1) || b.count - a.count || compareIds(a.id, b.id));
  const drawn = new Set<string>();
  for (const e of ranked) if (keep.has(e.id) || keep.has(e.source) || keep.has(e.target)) drawn.add(e.id);
  let room = budget;
  for (let i = 0; i < ranked.length && i < 2 * budget && room > 0; i++) {
    const e = ranked[i] as EdgeData;
    if (previous.has(e.id) && !drawn.has(e.id)) { drawn.add(e.id); room--; }
  }
  for (let i = 0; i < ranked.length && room > 0; i++) {
    const e = ranked[i] as EdgeData;
    if (!drawn.has(e.id)) { drawn.add(e.id); room--; }
  }
  const isCandidate = new Set(candidates.map((e) => e.id));
  const edges = model.edges.filter((e) => !isCandidate.has(e.id) || drawn.has(e.id));
  return { model: { ...model, edges }, hidden: model.edges.length - edges.length, lines: candidates.length };
}

const compareIds = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// Fewer, bigger things (pure): the map draws aggregates — a fleet's hosts, compose projects or networks, and
// replicas of one service — as single nodes with their edges summed, and opens them on request. Every node
// sits in a chain of aggregates, outermost first: [host (fleet only)] › group › [service] › node. A view is
// the set of open aggregates: a node is drawn as itself when every aggregate above it is open, else as the
// outermost closed one; edges between drawn things are the topology's own edge when both ends are nodes, else
// one aggregated edge per pair of drawn ends.
import type { ContainerNode, Topology, TopologyEdge, TopologyNode } from '../core/model/topology.js';

/** What containers are grouped by. */
export type GroupBy = 'compose' | 'network';

/** What a group stands for (drawn differently: host processes and external addresses are set apart). */
export type GroupKind = 'compose' | 'network' | 'netns' | 'host' | 'external';

/** An aggregate of nodes. */
export interface Aggregate {
  readonly id: string;
  readonly kind: 'host' | 'group' | 'service';
  /** Its name: the host's, `compose · shop`, `network · bridge`, or a service's name pattern (`api-*`). */
  readonly label: string;
  readonly groupKind?: GroupKind;
  /** The aggregate it sits in. */
  readonly parent?: string;
  /** Aggregates inside it, in drawing order. */
  readonly children: readonly string[];
  /** Nodes directly inside it (not in a child aggregate), in drawing order. */
  readonly nodes: readonly string[];
  /** Nodes anywhere below it, and how many of them are containers. */
  readonly size: number;
  readonly containers: number;
  /** A fleet host whose agent is not reporting. */
  readonly stale?: boolean;
}

/** Every aggregate of a topology and where each node sits. */
export interface Hierarchy {
  readonly aggregates: ReadonlyMap<string, Aggregate>;
  /** Outermost aggregates, in drawing order. */
  readonly roots: readonly string[];
  /** Per node: the aggregates above it, outermost first. */
  readonly chain: ReadonlyMap<string, readonly string[]>;
  /** A `container:` mode container → the container whose network namespace it shares (when on the map). */
  readonly sharesWith: ReadonlyMap<string, string>;
}

// ---- the hierarchy ------------------------------------------------------------------------------------

/** The id of the container a `container:<id>` network mode names, among these nodes (by id, id prefix or name). */
export function namespaceOwner(node: ContainerNode, byId: ReadonlyMap<string, TopologyNode>, byName: ReadonlyMap<string, TopologyNode>): TopologyNode | undefined {
  if (!node.networkMode.startsWith('container:')) return undefined;
  const ref = node.networkMode.slice('container:'.length);
  const direct = byId.get(ref) ?? byName.get(ref);
  if (direct) return direct;
  if (ref.length < 12) return undefined;
  for (const [id, n] of byId) if (id.startsWith(ref)) return n;
  return undefined;
}

/** The group a node is drawn in (id suffix and label), before any host prefix. */
function groupKey(node: TopologyNode, groupBy: GroupBy, hostname: string, owner: TopologyNode | undefined, fleet: boolean): { key: string; label: string; kind: GroupKind } {
  switch (node.kind) {
    case 'process':
    case 'host':
      return { key: 'host', label: fleet ? 'host processes' : hostname ? `host · ${hostname}` : 'host', kind: 'host' };
    case 'external':
      return { key: 'external', label: 'external', kind: 'external' };
    case 'container': {
      // A `container:` mode container is drawn with the container whose namespace it shares.
      if (owner && owner.kind === 'container' && owner.id !== node.id) return groupKey(owner, groupBy, hostname, undefined, fleet);
      const project = node.compose?.project;
      if (groupBy === 'compose' && project) return { key: `compose:${project}`, label: `compose · ${project}`, kind: 'compose' };
      if (node.networkMode.startsWith('container:') && node.networks.length === 0) {
        const ref = node.networkMode.slice('container:'.length, 'container:'.length + 12);
        return { key: `netns:${ref}`, label: `netns of ${ref}`, kind: 'netns' };
      }
      const net = node.networks[0]?.name ?? node.networkMode;
      return { key: `net:${net}`, label: `network · ${net}`, kind: 'network' };
    }
  }
}

/** Splits a name into runs of digits and the rest: the shape replicas share (`web-1`, `web-2` → `web-#`). */
const tokens = (name: string) => name.split(/(\d+)/).filter((t) => t !== '');
const shapeOf = (name: string) => tokens(name).map((t) => (/^\d/.test(t) ? '#' : t)).join('');

/** The replica class of a node within its group: compose service, else its name's shape (and image). */
function serviceKey(node: TopologyNode): string | undefined {
  switch (node.kind) {
    case 'container':
      return node.compose?.service ? `compose:${node.compose.service}` : `shape:${node.image}|${shapeOf(node.name)}`;
    case 'process':
      return `shape:${shapeOf(node.command)}`;
    case 'external': {
      if (node.dnsName) return `shape:${shapeOf(node.dnsName)}`;
      // Addresses by network: IPv4 /24, IPv6 /64.
      const v4 = /^(\d+\.\d+\.\d+)\.\d+$/.exec(node.address);
      return v4 ? `net:${v4[1]}.*` : `net:${node.address.split(':').slice(0, 4).join(':')}:*`;
    }
    case 'host':
      return undefined;
  }
}

/** `web-*` for web-1, web-2: the parts all names share, `*` where digits differ. */
export function namePattern(names: readonly string[]): string {
  const split = names.map(tokens);
  const first = split[0] ?? [];
  if (!split.every((t) => t.length === first.length)) return names[0] ?? '';
  return first.map((t, i) => (split.every((s) => s[i] === t) ? t : '*')).join('');
}

const GROUP_ORDER: Record<GroupKind, number> = { compose: 0, network: 0, netns: 0, host: 1, external: 2 };

/** What a hierarchy was built from, so that the next topology's can be built from it (updateHierarchy). */
const origins = new WeakMap<Hierarchy, { readonly t: Topology; readonly groupBy: GroupBy; readonly all: readonly TopologyNode[] }>();

/** Builds the hierarchy of a topology (pure). `all` resolves shared namespaces when `t` is a filtered subset. */
export function buildHierarchy(t: Topology, groupBy: GroupBy, all: readonly TopologyNode[] = t.nodes): Hierarchy {
  const h = buildWhole(t, groupBy, all);
  origins.set(h, { t, groupBy, all });
  return h;
}

/**
 * The hierarchy of `t`, equal to `buildHierarchy(t, groupBy)` (entries in the same order), built from `prev` when
 * it is a fleet's hierarchy built by this module from a topology with the same hosts: only the hosts whose nodes
 * were added, removed or changed (a live diff's container, say) are built again, the others' aggregates are
 * taken as they are. A fleet of 100 hosts then costs a host's nodes, not 6,000, per container started or gone.
 * Anything it cannot be sure of (another grouping, a filtered topology, hosts that came, went or turned stale,
 * a shared namespace across the hosts rebuilt and the others) builds the whole hierarchy.
 */
export function updateHierarchy(prev: Hierarchy | undefined, t: Topology, groupBy: GroupBy): Hierarchy {
  const o = prev ? origins.get(prev) : undefined;
  const h = prev && o ? rebuildHosts(prev, o.t, o.groupBy, o.all, t, groupBy) : undefined;
  if (!h) return buildHierarchy(t, groupBy);
  origins.set(h, { t, groupBy, all: t.nodes });
  return h;
}

/** What of a node decides where buildHierarchy puts it and in which order (every field it reads). */
function placing(n: TopologyNode): string {
  switch (n.kind) {
    case 'container':
      return JSON.stringify([n.kind, n.host, n.name, n.networkMode, n.networks.length, n.networks[0]?.name, n.compose?.project, n.compose?.service, n.image]);
    case 'process':
      return JSON.stringify([n.kind, n.host, (n as { name?: string }).name, n.command]);
    case 'external':
      return JSON.stringify([n.kind, n.host, (n as { name?: string }).name, n.dnsName, n.address]);
    case 'host':
      return JSON.stringify([n.kind, n.host, n.name]);
  }
}

function sameHosts(a: Topology['hosts'], b: Topology['hosts']): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (!x || !y || x.id !== y.id || x.name !== y.name || (x.stale ?? false) !== (y.stale ?? false)) return false;
  }
  return true;
}

/** The aggregates of a subtree, children before their parent (the order buildHierarchy finishes them in). */
function postOrder(h: Hierarchy, id: string, out: Aggregate[]): void {
  const a = h.aggregates.get(id);
  if (!a) return;
  for (const c of a.children) postOrder(h, c, out);
  out.push(a);
}

function rebuildHosts(prev: Hierarchy, prevT: Topology, prevGroupBy: GroupBy, prevAll: readonly TopologyNode[], t: Topology, groupBy: GroupBy): Hierarchy | undefined {
  if (prevGroupBy !== groupBy || prevAll !== prevT.nodes || t.hosts === undefined || !sameHosts(prevT.hosts, t.hosts) || prevT.hostname !== t.hostname) return undefined;
  // Hosts whose nodes changed: a node added, removed or changed in what places it (a diff keeps the objects of
  // nodes it did not touch; the whole topology behind a partial first document has copies of the same nodes).
  const before = new Map(prevT.nodes.map((n) => [n.id, n]));
  const changed = new Set<string>();
  for (const n of t.nodes) {
    const was = before.get(n.id);
    if (was !== n && (!was || placing(was) !== placing(n))) {
      changed.add(n.host ?? '');
      if (was) changed.add(was.host ?? '');
    }
    before.delete(n.id);
  }
  for (const gone of before.values()) changed.add(gone.host ?? '');
  if (changed.size === 0) return { ...prev };
  // Rebuilding a few hosts pays only when they are a few.
  if (changed.size * 4 > prev.roots.length) return undefined;
  const inChanged = (n: TopologyNode) => changed.has(n.host ?? '');
  // Shared namespaces are resolved over every node: where one crosses between a host rebuilt and another (a
  // name or an id prefix met on two hosts), or a node outside the hosts rebuilt names one (its owner may have
  // come or gone), build everything.
  const sharing = t.nodes.filter((n): n is ContainerNode => n.kind === 'container' && n.networkMode.startsWith('container:'));
  const byId = sharing.length > 0 ? new Map(t.nodes.map((n) => [n.id, n])) : new Map<string, TopologyNode>();
  const byName = sharing.length > 0 ? new Map(t.nodes.filter((n) => n.kind === 'container').map((n) => [n.name, n])) : new Map<string, TopologyNode>();
  for (const n of sharing) {
    const owner = namespaceOwner(n, byId, byName);
    if (!inChanged(n)) {
      if ((owner && owner.id !== n.id ? owner.id : undefined) !== prev.sharesWith.get(n.id)) return undefined;
      if (owner && inChanged(owner)) return undefined;
    } else if (owner && !inChanged(owner)) {
      return undefined;
    }
  }
  const part = buildWhole({ ...t, nodes: t.nodes.filter(inChanged) }, groupBy, t.nodes);
  const hostIds = new Set([...changed].map((host) => `host:${host}`));
  // The same roots (hosts) as before, or build everything: a host without nodes left, or with its first ones.
  if (part.roots.length !== hostIds.size || !part.roots.every((r) => hostIds.has(r)) || [...hostIds].some((id) => !prev.aggregates.has(id))) return undefined;
  const aggregates = new Map<string, Aggregate>();
  for (const r of prev.roots) {
    const list: Aggregate[] = [];
    postOrder(hostIds.has(r) ? part : prev, r, list);
    for (const a of list) aggregates.set(a.id, a);
  }
  const chain = new Map<string, readonly string[]>();
  const sharesWith = new Map<string, string>();
  for (const n of t.nodes) {
    const from = inChanged(n) ? part : prev;
    const c = from.chain.get(n.id);
    if (c) chain.set(n.id, c);
    const s = from.sharesWith.get(n.id);
    if (s !== undefined) sharesWith.set(n.id, s);
  }
  return { aggregates, roots: prev.roots, chain, sharesWith };
}

function buildWhole(t: Topology, groupBy: GroupBy, all: readonly TopologyNode[]): Hierarchy {
  const byId = new Map(all.map((n) => [n.id, n]));
  const byName = new Map(all.filter((n) => n.kind === 'container').map((n) => [n.name, n]));
  const fleet = t.hosts !== undefined;
  const hostInfo = new Map((t.hosts ?? []).map((h) => [h.id, h]));
  interface Draft { id: string; kind: Aggregate['kind']; label: string; groupKind?: GroupKind; parent?: string; children: string[]; nodes: string[]; stale?: boolean; sort: string }
  const drafts = new Map<string, Draft>();
  const chain = new Map<string, string[]>();
  const sharesWith = new Map<string, string>();
  const roots: string[] = [];
  const ensure = (d: Omit<Draft, 'children' | 'nodes'>): Draft => {
    let x = drafts.get(d.id);
    if (!x) {
      x = { ...d, children: [], nodes: [] };
      drafts.set(d.id, x);
      if (d.parent) drafts.get(d.parent)?.children.push(d.id);
      else roots.push(d.id);
    }
    return x;
  };
  // Service classes first: a class of one is no aggregate.
  const classes = new Map<string, TopologyNode[]>();
  const placed: { node: TopologyNode; group: Draft; classKey?: string }[] = [];
  const present = new Set(t.nodes.map((n) => n.id));
  // A fleet's thousands of nodes share a hundred hosts and a few groups each: their drafts are found by the host
  // and the group key, not by building (and hashing) their ids again for every node.
  const hostDrafts = new Map<string, Draft>();
  const groupDrafts = new Map<string, Map<string, Draft>>();
  for (const n of t.nodes) {
    const owner = n.kind === 'container' ? namespaceOwner(n, byId, byName) : undefined;
    if (owner && owner.id !== n.id && present.has(owner.id)) sharesWith.set(n.id, owner.id);
    const host = n.host ?? '';
    let parent: string | undefined;
    if (fleet) {
      let hd = hostDrafts.get(host);
      if (!hd) {
        const info = hostInfo.get(host);
        hd = ensure({ id: `host:${host}`, kind: 'host', label: info?.name ?? (host || 'unknown host'), ...(info?.stale ? { stale: true } : {}), sort: `${info?.name ?? host}` });
        hostDrafts.set(host, hd);
      }
      parent = hd.id;
    }
    const g = groupKey(n, groupBy, t.hostname, owner, fleet);
    let groupsOfHost = groupDrafts.get(host);
    if (!groupsOfHost) {
      groupsOfHost = new Map();
      groupDrafts.set(host, groupsOfHost);
    }
    let group = groupsOfHost.get(g.key);
    if (!group) {
      const groupId = fleet ? `group:${host}:${g.key}` : `group:${g.key}`;
      group = drafts.get(groupId) ?? ensure({ id: groupId, kind: 'group', label: g.label, groupKind: g.kind, ...(parent ? { parent } : {}), sort: `${GROUP_ORDER[g.kind]}|${g.label}` });
      groupsOfHost.set(g.key, group);
    }
    const groupId = group.id;
    const sk = serviceKey(n);
    const classKey = sk === undefined ? undefined : `${groupId}/${sk}`;
    if (classKey) {
      const members = classes.get(classKey);
      if (members) members.push(n);
      else classes.set(classKey, [n]);
    }
    placed.push({ node: n, group, ...(classKey ? { classKey } : {}) });
  }
  // Keys are long built strings: drafts are found once per class, not hashed again for every member.
  const services = new Map<string, Draft>();
  const ups = new Map<Draft, string[]>();
  for (const { node, group, classKey } of placed) {
    const members = classKey ? classes.get(classKey) ?? [] : [];
    let up = ups.get(group);
    if (!up) {
      up = group.parent ? [group.parent, group.id] : [group.id];
      ups.set(group, up);
    }
    if (classKey && members.length >= 2) {
      let svc = services.get(classKey);
      if (!svc) {
        const net = classKey.indexOf('/net:');
        svc = ensure({
          id: `svc:${classKey}`, kind: 'service', parent: group.id, sort: classKey, ...(group.groupKind ? { groupKind: group.groupKind } : {}),
          label: net >= 0 ? classKey.slice(net + 5) : node.kind === 'container' && node.compose?.service ? node.compose.service : namePattern(members.map((m) => m.name)),
        });
        services.set(classKey, svc);
      }
      svc.nodes.push(node.id);
      chain.set(node.id, [...up, svc.id]);
    } else {
      group.nodes.push(node.id);
      chain.set(node.id, up);
    }
  }
  // Sizes bottom-up; children and nodes in a stable order (by name), sidecars right after their owner.
  const name = (id: string) => byId.get(id)?.name ?? id;
  const aggregates = new Map<string, Aggregate>();
  const finish = (id: string): Aggregate => {
    const d = drafts.get(id);
    if (!d) throw new Error(`no aggregate ${id}`);
    const children = [...d.children].sort((a, b) => compare(drafts.get(a)?.sort ?? a, drafts.get(b)?.sort ?? b)).map(finish);
    const nodes = orderNodes(d.nodes, name, sharesWith);
    const containers = nodes.filter((x) => byId.get(x)?.kind === 'container').length + children.reduce((s, c) => s + c.containers, 0);
    const a: Aggregate = {
      id, kind: d.kind, label: d.label, ...(d.groupKind ? { groupKind: d.groupKind } : {}), ...(d.parent ? { parent: d.parent } : {}),
      children: children.map((c) => c.id), nodes, size: nodes.length + children.reduce((s, c) => s + c.size, 0), containers, ...(d.stale ? { stale: true } : {}),
    };
    aggregates.set(id, a);
    return a;
  };
  const sortedRoots = roots.sort((a, b) => compare(drafts.get(a)?.sort ?? a, drafts.get(b)?.sort ?? b));
  for (const r of sortedRoots) finish(r);
  return { aggregates, roots: sortedRoots, chain, sharesWith };
}

/**
 * Orders strings by code unit: deterministic and fast (localeCompare costs far more, which a fleet's thousands
 * of names feel); case and accents only decide ties a person would not notice.
 */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Names in natural order (pair-2 before pair-10); one collator, built once (localeCompare builds one a call).
const natural = new Intl.Collator('en', { numeric: true }).compare;

/** Nodes by name, each sidecar right after the container whose namespace it shares. */
function orderNodes(ids: readonly string[], name: (id: string) => string, sharesWith: ReadonlyMap<string, string>): string[] {
  const here = new Set(ids);
  const sorted = [...ids].sort((a, b) => natural(name(a), name(b)) || compare(a, b));
  const out: string[] = [];
  const riders = new Map<string, string[]>();
  for (const id of sorted) {
    const owner = sharesWith.get(id);
    if (owner && here.has(owner)) riders.set(owner, [...(riders.get(owner) ?? []), id]);
  }
  if (riders.size === 0) return sorted;
  for (const id of sorted) {
    const owner = sharesWith.get(id);
    if (owner && here.has(owner)) continue;
    out.push(id, ...(riders.get(id) ?? []));
  }
  return out;
}

// ---- a view -------------------------------------------------------------------------------------------

/** Something drawn as one node: a topology node, or a closed aggregate. */
export type Unit =
  | { readonly kind: 'node'; readonly id: string; readonly node: TopologyNode; readonly parent?: string }
  | { readonly kind: 'aggregate'; readonly id: string; readonly aggregate: Aggregate; readonly parent?: string };

/** An edge as drawn: one topology edge between two nodes, or the sum of the edges between two drawn ends. */
export interface ViewEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly members: readonly TopologyEdge[];
  /** True when it stands for more than the one topology edge between two nodes. */
  readonly aggregated: boolean;
}

/** What is drawn for a set of open aggregates. */
export interface AggregatedView {
  /** Open aggregates (drawn as boxes around their contents), outermost first. */
  readonly boxes: readonly Aggregate[];
  /** Drawn nodes, in drawing order. */
  readonly units: readonly Unit[];
  readonly edges: readonly ViewEdge[];
  /** Per closed aggregate: how many topology edges run between its own members (not drawn). */
  readonly inner: ReadonlyMap<string, number>;
  /** Per topology node: the id of what draws it (itself or a closed aggregate). */
  readonly drawnAs: ReadonlyMap<string, string>;
}

/** True when an aggregate is drawn open: asked for, or holding one node only (nothing to fold). */
export function isOpen(a: Aggregate, open: ReadonlySet<string>): boolean {
  return open.has(a.id) || a.size <= 1;
}

/** Open services this small get no box of their own: their few replicas sit in their group, side by side. */
export const SMALL_SERVICE = 3;

/** True when an open aggregate is drawn as a box (a small open service is not). */
export function hasBox(a: Aggregate): boolean {
  return !(a.kind === 'service' && a.size <= SMALL_SERVICE);
}

/** The view of a topology with these aggregates open (pure). */
export function aggregateView(t: Topology, h: Hierarchy, open: ReadonlySet<string>): AggregatedView {
  const drawn = drawnUnits(t, h, open);
  return { ...drawn, ...aggregateEdges(t.edges, drawn.drawnAs) };
}

/** What is drawn as what, for these aggregates open (pure): the nodes part of a view. */
export function drawnUnits(t: Topology, h: Hierarchy, open: ReadonlySet<string>): Pick<AggregatedView, 'boxes' | 'units' | 'drawnAs'> {
  const boxes: Aggregate[] = [];
  const units: Unit[] = [];
  const drawnAs = new Map<string, string>();
  const nodes = new Map(t.nodes.map((n) => [n.id, n]));
  const walk = (id: string, parent: string | undefined) => {
    const a = h.aggregates.get(id);
    if (!a) return;
    if (!isOpen(a, open)) {
      units.push({ kind: 'aggregate', id: a.id, aggregate: a, ...(parent ? { parent } : {}) });
      markAll(a, a.id);
      return;
    }
    const box = hasBox(a) ? a.id : parent;
    if (hasBox(a)) boxes.push(a);
    for (const n of a.nodes) {
      const node = nodes.get(n);
      if (!node) continue;
      units.push({ kind: 'node', id: n, node, ...(box ? { parent: box } : {}) });
      drawnAs.set(n, n);
    }
    for (const c of a.children) walk(c, box);
  };
  const markAll = (a: Aggregate, as: string) => {
    for (const n of a.nodes) drawnAs.set(n, as);
    for (const c of a.children) {
      const child = h.aggregates.get(c);
      if (child) markAll(child, as);
    }
  };
  for (const r of h.roots) walk(r, undefined);
  return { boxes, units, drawnAs };
}

/**
 * The edges of a view (pure): each topology edge between two drawn nodes as itself, the others summed into one
 * line per pair of drawn ends; edges inside one folded aggregate counted, not drawn.
 */
export function aggregateEdges(topologyEdges: readonly TopologyEdge[], drawnAs: ReadonlyMap<string, string>): Pick<AggregatedView, 'edges' | 'inner'> {
  // Aggregated lines by source, then target: no id string is built per topology edge (a fleet has many).
  const edges: { id: string; source: string; target: string; members: TopologyEdge[]; aggregated: boolean }[] = [];
  const lines = new Map<string, Map<string, (typeof edges)[number]>>();
  const inner = new Map<string, number>();
  for (const e of topologyEdges) {
    const s = drawnAs.get(e.from);
    const d = drawnAs.get(e.to);
    if (s === undefined || d === undefined) continue;
    if (s === d) {
      if (s !== e.from) inner.set(s, (inner.get(s) ?? 0) + 1);
      continue;
    }
    if (s === e.from && d === e.to) {
      edges.push({ id: e.id, source: s, target: d, members: [e], aggregated: false });
      continue;
    }
    let from = lines.get(s);
    if (!from) {
      from = new Map();
      lines.set(s, from);
    }
    const line = from.get(d);
    if (line) {
      line.members.push(e);
    } else {
      const x = { id: `agg:${s}->${d}`, source: s, target: d, members: [e], aggregated: true };
      from.set(d, x);
      edges.push(x);
    }
  }
  return { inner, edges };
}

// ---- what to open -------------------------------------------------------------------------------------

/**
 * The aggregates to open so that about `budget` things are drawn (pure): level by level from the outermost
 * (every project before any service, so detail is even), the cheapest first within a level (an aggregate costs
 * the things it shows minus itself; host processes and external addresses count thrice, as containers are what
 * the map is about), as long as the total stays within the budget. Everything fits: everything opens. `keep` are opened first whatever they cost, `closed` never
 * (what the person opened and closed).
 */
export function chooseOpen(h: Hierarchy, budget: number, keep: ReadonlySet<string> = new Set(), closed: ReadonlySet<string> = new Set(), within?: string): Set<string> {
  const open = new Set<string>();
  const cost = (a: Aggregate) => a.children.length + a.nodes.length - 1;
  const depth = (a: Aggregate) => {
    let d = 0;
    for (let p = a.parent; p; p = h.aggregates.get(p)?.parent) d++;
    return d;
  };
  const apart = (a: Aggregate): boolean => {
    for (let x: Aggregate | undefined = a; x; x = x.parent ? h.aggregates.get(x.parent) : undefined) if (x.groupKind === 'host' || x.groupKind === 'external') return true;
    return false;
  };
  const order = (a: Aggregate) => depth(a) * 1e6 + cost(a) * (apart(a) ? 3 : 1);
  const start = within === undefined ? h.roots : h.aggregates.get(within)?.children ?? [];
  let drawn = start.length + (within === undefined ? 0 : h.aggregates.get(within)?.nodes.length ?? 0);
  const frontier: Aggregate[] = [];
  const push = (ids: readonly string[]) => {
    for (const id of ids) {
      const a = h.aggregates.get(id);
      if (a && a.size > 1 && !closed.has(id)) frontier.push(a);
    }
  };
  push(start);
  for (;;) {
    frontier.sort((a, b) => Number(keep.has(b.id)) - Number(keep.has(a.id)) || order(a) - order(b) || compare(a.id, b.id));
    const next = frontier.shift();
    if (!next) break;
    if (!keep.has(next.id) && drawn + cost(next) > budget) continue;
    open.add(next.id);
    drawn += cost(next);
    push(next.children);
  }
  return open;
}

/** The open aggregates around a node (to show it as itself): every aggregate in its chain. */
export function openingFor(h: Hierarchy, nodeIds: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const id of nodeIds) for (const a of h.chain.get(id) ?? []) out.add(a);
  return out;
}

// Where things go on the map (pure): a layered layout that shows direction, like `graph --dot`, at every level
// of boxes. Inside a box (an open aggregate: a host, project, network or service) — and on the map itself —
// the things it holds (nodes and the boxes inside it) get a rank: callers left, the servers they call to the
// right, tier by tier (longest path; cycles broken where a depth-first walk meets them). Ranks are columns,
// ordered by their neighbours' heights (barycentres) to uncross edges; a column taller than the window wraps
// into sub-columns and a graph with more tiers than the window has columns folds its tiers together, so the
// map keeps the window's shape. Boxes never overlap and each keeps room for its title above it. Deterministic:
// the same input gives the same places.

/** A point on the map (model coordinates). */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/** A rectangle on the map. */
export interface Rect {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

/** A box (drawn as a compound node with a title above its top edge). */
export interface LayoutBox {
  readonly id: string;
  readonly parent?: string;
  /** How wide its title is drawn, in model px: the box takes at least that room. */
  readonly titleWidth?: number;
}

/** A node to place. */
export interface LayoutNode {
  readonly id: string;
  /** The box it is drawn in. */
  readonly parent?: string;
  /** A node to sit right under, in the same column (a `container:` sidecar and the container it shares). */
  readonly pin?: string;
  /** Room it needs top to bottom (the node and its label's lines), when more than a row. */
  readonly height?: number;
}

/** A directed edge, client → server. */
export interface LayoutEdge {
  readonly source: string;
  readonly target: string;
}

/** Sizes of the grid, in model px. */
export interface LayoutMetrics {
  /** Width of one column and height of one row: a node with its name under it, and room around. */
  readonly colWidth: number;
  readonly rowHeight: number;
  /** Extra room between ranks, for arrows. */
  readonly rankGap: number;
  /** Padding of a box around its contents, the height of its title, and the gap between boxes. */
  readonly boxPad: number;
  readonly titleHeight: number;
  readonly boxGap: number;
}

/** The metrics the map uses (graph-view.ts sizes its labels for them). */
export const METRICS: LayoutMetrics = { colWidth: 176, rowHeight: 74, rankGap: 56, boxPad: 14, titleHeight: 24, boxGap: 18 };

/** The room the map should keep to (model px: the window at the zoom it will be shown at). */
export interface LayoutLimits {
  readonly width: number;
  readonly height: number;
}

/** A finished layout. */
export interface Layout {
  readonly positions: ReadonlyMap<string, Point>;
  /** Rank of each node among the things of its box. */
  readonly ranks: ReadonlyMap<string, number>;
  /** Each box's rectangle, its title included. */
  readonly boxes: ReadonlyMap<string, Rect>;
  /** Everything. */
  readonly bounds: Rect;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Ranks by longest path from the callers (pure); back edges of cycles are ignored; pinned nodes share their anchor's rank. */
export function rankNodes(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[]): Map<string, number> {
  const ids = new Set(nodes.map((n) => n.id));
  const out = new Map<string, string[]>();
  for (const e of edges) {
    if (e.source === e.target || !ids.has(e.source) || !ids.has(e.target)) continue;
    push(out, e.source, e.target);
  }
  // Depth-first (iterative: a long chain must not overflow the stack): post-order, back edges dropped.
  const state = new Map<string, 1 | 2>();
  const post: string[] = [];
  const kept = new Map<string, string[]>();
  for (const root of nodes) {
    if (state.has(root.id)) continue;
    const stack: [string, number][] = [[root.id, 0]];
    state.set(root.id, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as [string, number];
      const [v, i] = top;
      const next = out.get(v)?.[i];
      if (next === undefined) {
        state.set(v, 2);
        post.push(v);
        stack.pop();
        continue;
      }
      top[1] = i + 1;
      const s = state.get(next);
      if (s === 1) continue; // a back edge: the cycle is broken here
      push(kept, v, next);
      if (s === undefined) {
        state.set(next, 1);
        stack.push([next, 0]);
      }
    }
  }
  // Reverse post-order is a topological order of what is left: callers before the servers they call.
  const topological = [...post].reverse();
  const rank = new Map<string, number>(topological.map((v) => [v, 0]));
  for (const v of topological) for (const w of kept.get(v) ?? []) rank.set(w, Math.max(rank.get(w) ?? 0, (rank.get(v) ?? 0) + 1));
  for (const n of nodes) if (n.pin && rank.has(n.pin)) rank.set(n.id, rank.get(n.pin) ?? 0);
  return rank;
}

/** A thing placed inside a box (or on the map): a node, or a box with its own contents. */
interface Item {
  readonly id: string;
  readonly box: boolean;
  readonly pin?: string;
  w: number;
  h: number;
  /** Top-left corner, relative to the parent's content area. */
  x: number;
  y: number;
}

/** Lays out boxes and nodes (pure). Boxes in any order (parents named by id); nodes in their drawing order. */
export function layeredLayout(
  boxes: readonly LayoutBox[], nodes: readonly LayoutNode[], edges: readonly LayoutEdge[], m: LayoutMetrics = METRICS,
  limits: LayoutLimits = { width: 8 * (METRICS.colWidth + METRICS.rankGap), height: 10 * METRICS.rowHeight },
): Layout {
  const boxById = new Map(boxes.map((b) => [b.id, b]));
  const parentOf = (id: string): string => {
    const p = boxById.get(id)?.parent ?? nodeById.get(id)?.parent;
    return p && boxById.has(p) ? p : '';
  };
  const nodeById = new Map(nodes.map((n) => [n.id, n]));
  const contents = new Map<string, string[]>();
  for (const b of boxes) push(contents, parentOf(b.id), b.id);
  for (const n of nodes) push(contents, parentOf(n.id), n.id);
  // Each edge joins two things of the box that holds both ends (their lowest common box).
  const chain = (id: string) => {
    const up = [id];
    for (let p = parentOf(id); p !== ''; p = parentOf(p)) up.push(p);
    up.push('');
    return up;
  };
  const chains = new Map<string, string[]>();
  const chainOf = (id: string) => {
    let c = chains.get(id);
    if (!c) { c = chain(id); chains.set(id, c); }
    return c;
  };
  const itemEdges = new Map<string, LayoutEdge[]>();
  for (const e of edges) {
    if (e.source === e.target || !nodeById.has(e.source) || !nodeById.has(e.target)) continue;
    const a = chainOf(e.source);
    const b = new Set(chainOf(e.target));
    const lca = a.find((x) => b.has(x) && x !== e.source && x !== e.target) ?? '';
    const ia = a[a.indexOf(lca) - 1];
    const tb = chainOf(e.target);
    const ib = tb[tb.indexOf(lca) - 1];
    if (ia !== undefined && ib !== undefined && ia !== ib) push(itemEdges, lca, { source: ia, target: ib });
  }

  const ranks = new Map<string, number>();
  const placed = new Map<string, Item[]>();
  const maxCols = Math.max(2, Math.floor(limits.width / (m.colWidth + m.rankGap)));
  /** Lays out a box's contents; returns their width and height. */
  const layoutContents = (id: string): { w: number; h: number } => {
    const items: Item[] = (contents.get(id) ?? []).map((c) => {
      const box = boxById.get(c);
      if (!box) {
        const node = nodeById.get(c);
        return { id: c, box: false, ...(node?.pin ? { pin: node.pin } : {}), w: m.colWidth, h: Math.max(m.rowHeight, node?.height ?? 0), x: 0, y: 0 };
      }
      const inner = layoutContents(c);
      return { id: c, box: true, w: Math.max(inner.w + 2 * m.boxPad, box.titleWidth ?? 0), h: inner.h + 2 * m.boxPad + m.titleHeight, x: 0, y: 0 };
    });
    placed.set(id, items);
    if (items.length === 0) return { w: 0, h: 0 };
    const es = itemEdges.get(id) ?? [];
    const raw = rankNodes(items.map((i) => ({ id: i.id, ...(i.pin ? { pin: i.pin } : {}) })), es);
    const linked = new Set(es.flatMap((e) => [e.source, e.target]));
    const tiers = Math.max(0, ...items.filter((i) => linked.has(i.id) || i.pin).map((i) => raw.get(i.id) ?? 0)) + 1;
    const neighbours = new Map<string, string[]>();
    for (const e of es) {
      push(neighbours, e.source, e.target);
      push(neighbours, e.target, e.source);
    }
    const byId = new Map(items.map((i) => [i.id, i]));
    const limit = Math.max(Math.max(...items.map((i) => i.h)), limits.height);
    const height = (col: Item[]) => col.reduce((s, i) => s + i.h + (i.box ? m.boxGap : 0), 0);
    /** Places the columns side by side, wrapping those taller than the limit; returns the size. */
    const place = (columns: Item[][]): { w: number; h: number } => {
      let x = 0;
      let h = 0;
      columns.forEach((col, k) => {
        if (col.length === 0) return;
        if (k > 0 && x > 0) x += m.rankGap;
        let y = 0;
        let colW = 0;
        for (const i of col) {
          if (y > 0 && y + i.h > limit) {
            x += colW + (i.box ? m.boxGap : 0);
            y = 0;
            colW = 0;
          }
          i.x = x;
          i.y = y;
          y += i.h + (i.box ? m.boxGap : 0);
          colW = Math.max(colW, i.w);
          h = Math.max(h, i.y + i.h);
        }
        x += colW;
      });
      return { w: x, h };
    };
    /** Columns for at most `cap` of them: tiers folded together in order, things without edges where there is most room. */
    const arrange = (cap: number): { columns: Item[][]; rank: Map<string, number> } => {
      const n = Math.min(cap, tiers);
      const rank = new Map([...raw].map(([k, r]) => [k, Math.floor((r * n) / tiers)]));
      const columns: Item[][] = Array.from({ length: n }, () => []);
      const rides = (i: Item) => i.pin !== undefined && byId.has(i.pin);
      for (const i of items) if (linked.has(i.id) && !rides(i)) columns[rank.get(i.id) ?? 0]?.push(i);
      for (const i of items) {
        if (linked.has(i.id) || rides(i)) continue;
        const shortest = columns.reduce((best, col, k) => (height(col) < height(columns[best] ?? []) ? k : best), 0);
        columns[shortest]?.push(i);
        rank.set(i.id, shortest);
      }
      // Riders go to their anchor's column, wherever it went (anchors come first in drawing order).
      for (const i of items) {
        if (!rides(i)) continue;
        const k = rank.get(i.pin ?? '') ?? 0;
        rank.set(i.id, k);
        columns[k]?.push(i);
      }
      return { columns, rank };
    };
    /** Orders each column by its things' neighbours' heights, a few sweeps; pinned nodes ride under their anchor. */
    const uncross = (columns: Item[][]): { w: number; h: number } => {
      let size = place(columns);
      for (let sweep = 0; sweep < 3 && es.length > 0; sweep++) {
        for (let k = 0; k < columns.length; k++) {
          const col = columns[k] ?? [];
          const index = new Map(col.map((i, n) => [i.id, n]));
          const score = (i: Item) => {
            const ys = (neighbours.get(i.id) ?? []).map((x) => byId.get(x)).filter((x): x is Item => x !== undefined).map((x) => x.y + x.h / 2);
            return ys.length > 0 ? ys.reduce((a, b) => a + b, 0) / ys.length : Number.POSITIVE_INFINITY;
          };
          const scores = new Map(col.map((i) => [i.id, score(i)]));
          const anchors = col.filter((i) => !(i.pin && index.has(i.pin)));
          // Tiers folded into one column keep their order (a wrapped column reads tier by tier), then barycentres.
          anchors.sort((a, b) => {
            const ta = linked.has(a.id) ? raw.get(a.id) ?? 0 : tiers;
            const tb = linked.has(b.id) ? raw.get(b.id) ?? 0 : tiers;
            if (ta !== tb) return ta - tb;
            const sa = scores.get(a.id) ?? 0;
            const sb = scores.get(b.id) ?? 0;
            return sa === sb ? (index.get(a.id) ?? 0) - (index.get(b.id) ?? 0) : sa < sb ? -1 : 1;
          });
          const riders = new Map<string, Item[]>();
          for (const i of col) if (i.pin && index.has(i.pin)) push(riders, i.pin, i);
          // Riders of riders (replicas in a row) follow in turn.
          const train = (i: Item): Item[] => [i, ...(riders.get(i.id) ?? []).flatMap(train)];
          columns[k] = anchors.flatMap(train);
        }
        size = place(columns);
      }
      return size;
    };
    // As many tiers as columns fit the window's width; wider than the window: fold tiers until it fits.
    let cap = Math.min(tiers, maxCols);
    for (;;) {
      const { columns, rank } = arrange(cap);
      const size = uncross(columns);
      if (size.w <= limits.width || cap <= 1) {
        for (const i of items) if (!i.box) ranks.set(i.id, rank.get(i.id) ?? 0);
        return size;
      }
      cap--;
    }
  };
  const total = layoutContents('');

  const positions = new Map<string, Point>();
  const boxRects = new Map<string, Rect>();
  const absolute = (id: string, ox: number, oy: number) => {
    for (const i of placed.get(id) ?? []) {
      if (!i.box) {
        positions.set(i.id, { x: ox + i.x + m.colWidth / 2, y: oy + i.y + m.rowHeight / 2 });
        continue;
      }
      boxRects.set(i.id, { x1: ox + i.x, y1: oy + i.y, x2: ox + i.x + i.w, y2: oy + i.y + i.h });
      absolute(i.id, ox + i.x + m.boxPad, oy + i.y + m.titleHeight + m.boxPad);
    }
  };
  absolute('', 0, 0);
  return { positions, ranks, boxes: boxRects, bounds: { x1: 0, y1: 0, x2: total.w, y2: total.h } };
}

/** A node to add to a map already laid out. */
export interface NewNode {
  readonly id: string;
  readonly parent?: string;
  /** Placed nodes it calls, and placed nodes that call it. */
  readonly servers: readonly string[];
  readonly clients: readonly string[];
}

/** A box already drawn: its rectangle (title included) and the box it sits in. */
export interface PlacedBox {
  readonly rect: Rect;
  readonly parent?: string;
}

const overlap = (a: Rect, b: Rect) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
const union = (a: Rect, b: Rect): Rect => ({ x1: Math.min(a.x1, b.x1), y1: Math.min(a.y1, b.y1), x2: Math.max(a.x2, b.x2), y2: Math.max(a.y2, b.y2) });

/**
 * Places new nodes on a map whose nodes stay where they are (pure): in its box, right of the nodes that call
 * it or left of those it calls, on the nearest free slot of the grid — preferably inside the box as drawn,
 * else where the box can grow without running into another box or node; a node of a box not drawn yet goes
 * under everything.
 */
export function placeNewNodes(
  fresh: readonly NewNode[], placed: ReadonlyMap<string, Point>, parents: ReadonlyMap<string, string | undefined>,
  boxes: ReadonlyMap<string, PlacedBox> = new Map(), m: LayoutMetrics = METRICS,
): Map<string, Point> {
  const taken = new Map(placed);
  const parentOf = new Map(parents);
  const rects = new Map([...boxes].map(([id, b]) => [id, b.rect]));
  const boxParent = (id: string) => boxes.get(id)?.parent;
  const out = new Map<string, Point>();
  const cellOf = (p: Point): Rect => ({ x1: p.x - m.colWidth / 2, y1: p.y - m.rowHeight / 2, x2: p.x + m.colWidth / 2, y2: p.y + m.rowHeight / 2 });
  // Boxes a node or box sits in, innermost first.
  const boxesAbove = (parent: string | undefined) => {
    const up: string[] = [];
    for (let b = parent; b !== undefined && rects.has(b); b = boxParent(b)) up.push(b);
    return up;
  };
  const within = (id: string, box: string, isBox: boolean) => {
    for (let b = isBox ? boxParent(id) : parentOf.get(id); b !== undefined; b = boxParent(b)) if (b === box) return true;
    return false;
  };
  const free = (p: Point) => {
    for (const q of taken.values()) if (Math.abs(q.x - p.x) < m.colWidth * 0.9 && Math.abs(q.y - p.y) < m.rowHeight * 0.9) return false;
    return true;
  };
  /** True when a node at `p` in box `parent` keeps every box clear of every other box and node. */
  const clear = (p: Point, parent: string | undefined) => {
    const cell = cellOf(p);
    const up = boxesAbove(parent);
    if (up.length === 0) {
      for (const r of rects.values()) if (overlap(cell, r)) return false;
      return true;
    }
    let grown = cell;
    for (const box of up) {
      const r = rects.get(box);
      if (!r) continue;
      grown = union(r, { x1: grown.x1 - m.boxPad, y1: grown.y1 - m.boxPad - (grown === cell ? 0 : m.titleHeight), x2: grown.x2 + m.boxPad, y2: grown.y2 + m.boxPad });
      for (const [other, o] of rects) {
        if (other === box || within(other, box, true) || within(box, other, true)) continue;
        if (overlap(grown, o)) return false;
      }
      for (const [id, q] of taken) {
        if (within(id, box, false)) continue;
        if (overlap(grown, cellOf(q))) return false;
      }
    }
    return true;
  };
  for (const n of fresh) {
    const lane = [...taken].filter(([id]) => parentOf.get(id) === n.parent).map(([, p]) => p);
    const all = [...taken.values()];
    const step = m.colWidth + m.rankGap;
    const servers = n.servers.map((id) => taken.get(id)).filter((p): p is Point => p !== undefined);
    const clients = n.clients.map((id) => taken.get(id)).filter((p): p is Point => p !== undefined);
    const minX = (ps: Point[]) => ps.reduce((a, p) => Math.min(a, p.x), Number.POSITIVE_INFINITY);
    const maxX = (ps: Point[]) => ps.reduce((a, p) => Math.max(a, p.x), Number.NEGATIVE_INFINITY);
    let at: Point | undefined;
    if (lane.length > 0) {
      const wantX = clients.length > 0 ? maxX(clients) + step : servers.length > 0 ? minX(servers) - step : minX(lane);
      const top = lane.reduce((a, p) => Math.min(a, p.y), Number.POSITIVE_INFINITY);
      const bottom = lane.reduce((a, p) => Math.max(a, p.y), Number.NEGATIVE_INFINITY);
      const rows = Math.round((bottom - top) / m.rowHeight) + 1;
      const box = n.parent ? rects.get(n.parent) : undefined;
      // Slots on the lane's grid (its columns are the lane's own x positions, or steps from the wanted one).
      const xs = [...new Set([...lane.map((p) => p.x), ...Array.from({ length: 17 }, (_, i) => wantX + (i - 6) * m.colWidth)])];
      let best: { p: Point; score: number } | undefined;
      for (const x of xs) {
        for (let j = -1; j <= rows + 2; j++) {
          const p = { x, y: top + j * m.rowHeight };
          if (!free(p) || !clear(p, n.parent)) continue;
          // Inside the box as drawn costs nothing extra; growing it, a little.
          const inside = box !== undefined && p.x - m.colWidth / 2 >= box.x1 && p.x + m.colWidth / 2 <= box.x2 && p.y - m.rowHeight / 2 >= box.y1 && p.y + m.rowHeight / 2 <= box.y2;
          const score = Math.abs(x - wantX) / m.colWidth + Math.abs(j) * 0.01 + (inside ? 0 : 3);
          if (!best || score < best.score) best = { p, score };
        }
      }
      at = best?.p;
    }
    if (!at) {
      const bottom = Math.max(all.length > 0 ? all.reduce((a, p) => Math.max(a, p.y), Number.NEGATIVE_INFINITY) : 0, ...[...rects.values()].map((r) => r.y2));
      const left = all.length > 0 ? minX(all) : m.colWidth / 2;
      const wantX = clients.length > 0 ? maxX(clients) + step : servers.length > 0 ? minX(servers) - step : left;
      let p = { x: Number.isFinite(wantX) ? wantX : left, y: bottom + m.rowHeight / 2 + m.titleHeight + m.boxPad * 2 + m.boxGap };
      while (!free(p)) p = { x: p.x + m.colWidth, y: p.y };
      at = p;
    }
    out.set(n.id, at);
    taken.set(n.id, at);
    parentOf.set(n.id, n.parent);
    // The boxes around it grow.
    let grown = cellOf(at);
    for (const box of boxesAbove(n.parent)) {
      const r = rects.get(box);
      if (!r) continue;
      grown = union(r, { x1: grown.x1 - m.boxPad, y1: grown.y1 - m.boxPad, x2: grown.x2 + m.boxPad, y2: grown.y2 + m.boxPad });
      rects.set(box, grown);
    }
  }
  return out;
}

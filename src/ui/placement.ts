// Where new nodes go on a map that is already laid out (pure): existing nodes never move. A node seen before
// gets its old place back (scrubbing history in and out does not shuffle the map); a new one goes to a free
// spot in its group, nearest its neighbours; the first node of a new group starts a new column to the right.

/** A point on the map. */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/** A node to place. */
export interface NewNode {
  readonly id: string;
  /** Its group (compound parent). */
  readonly group: string;
  /** Ids of the nodes it has edges with. */
  readonly neighbours: readonly string[];
}

/** Inputs of placeNodes besides the nodes. */
export interface PlacementContext {
  /** Positions of the nodes already on the map. */
  readonly positions: ReadonlyMap<string, Point>;
  /** The group of each node already on the map. */
  readonly groups: ReadonlyMap<string, string>;
  /** Last known positions of nodes that were on the map before. */
  readonly remembered?: ReadonlyMap<string, Point>;
  /** Distance kept between node centres (default 80). */
  readonly spacing?: number;
}

/** Positions for new nodes, in order (each placed node counts as taken for the next). */
export function placeNodes(nodes: readonly NewNode[], ctx: PlacementContext): Map<string, Point> {
  const spacing = ctx.spacing ?? 80;
  const taken = new Map(ctx.positions);
  const groups = new Map(ctx.groups);
  const placed = new Map<string, Point>();
  let newGroupColumn: { x: number; y: number } | undefined;

  for (const n of nodes) {
    const old = ctx.remembered?.get(n.id);
    let at: Point;
    if (old) {
      at = old;
    } else {
      const anchors = n.neighbours.map((id) => taken.get(id)).filter((p): p is Point => p !== undefined);
      const members = [...groups].filter(([, g]) => g === n.group).map(([id]) => taken.get(id)).filter((p): p is Point => p !== undefined);
      if (members.length > 0) {
        // Start from the member nearest the neighbours (or the group's centre) and take the closest free spot.
        const target = anchors.length > 0 ? centroid(anchors) : centroid(members);
        const start = members.reduce((best, p) => (dist(p, target) < dist(best, target) ? p : best));
        at = freeSpot(start, target, [...taken.values()], spacing);
      } else {
        // A new group: a column right of everything, at the height of its neighbours when it has some.
        if (!newGroupColumn) {
          const all = [...taken.values()];
          const right = all.reduce((m, p) => Math.max(m, p.x), all.length > 0 ? -Infinity : 0);
          const top = all.reduce((m, p) => Math.min(m, p.y), all.length > 0 ? Infinity : 0);
          newGroupColumn = { x: right + spacing * 2.5, y: top };
        }
        const want = { x: newGroupColumn.x, y: anchors.length > 0 ? centroid(anchors).y : newGroupColumn.y };
        at = freeSpot(want, want, [...taken.values()], spacing * 1.5);
      }
    }
    placed.set(n.id, at);
    taken.set(n.id, at);
    groups.set(n.id, n.group);
  }
  return placed;
}

function centroid(points: readonly Point[]): Point {
  const x = points.reduce((a, p) => a + p.x, 0) / points.length;
  const y = points.reduce((a, p) => a + p.y, 0) / points.length;
  return { x, y };
}

function dist(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

/**
 * The free spot (at least `spacing` from every taken point) on rings around `start`, the closest to `target`
 * among the first ring that has any.
 */
export function freeSpot(start: Point, target: Point, taken: readonly Point[], spacing: number): Point {
  const free = (p: Point) => taken.every((q) => dist(p, q) >= spacing * 0.95);
  if (free(start)) return start;
  for (let ring = 1; ring < 60; ring++) {
    const r = ring * spacing;
    const steps = 6 * ring;
    let best: Point | undefined;
    for (let i = 0; i < steps; i++) {
      const a = (2 * Math.PI * i) / steps;
      const p = { x: start.x + r * Math.cos(a), y: start.y + r * Math.sin(a) };
      if (free(p) && (!best || dist(p, target) < dist(best, target))) best = p;
    }
    if (best) return best;
  }
  return { x: start.x, y: start.y + 60 * spacing };
}

// The map: cytoscape.js drawing what graph-model.ts plans, at the places layered-layout.ts computes. A view
// change (first topology, a group opened or closed, a search, Re-layout) lays everything out again, animated
// when the map was already there; a live update keeps every node where it is, gives a node seen before its old
// place and puts new ones on free slots of their band (placeNewNodes). Names are drawn at LABEL_PX and hidden
// below MIN_LABEL_PX on screen (cytoscape's min-zoomed-font-size), and fitting never zooms out past the point
// where they would shrink below it: a map too big for the window is panned, not shrunk into unreadable dots.
import cytoscape from 'cytoscape';
import type { BoxData, EdgeData, GraphModel, NodeData } from './graph-model.js';
import { METRICS, placeNewNodes, type Layout, type PlacedBox, type Point, type Rect } from './layered-layout.js';

/** Font size of node and edge labels, in model px. */
export const LABEL_PX = 12;
/** Font size of box titles, in model px. */
export const TITLE_PX = 13;
/** The smallest size a name is drawn at on screen: below it, cytoscape hides the label. */
export const MIN_LABEL_PX = 11;
/** The smallest zoom at which names are readable: fitting never goes below it. */
export const READABLE_ZOOM = MIN_LABEL_PX / LABEL_PX;
/** The largest zoom a fit may leave (a few nodes would otherwise fill the window). */
export const MAX_FIT_ZOOM = 1.4;
/** Room kept around the map when fitting, in screen px. */
export const FIT_MARGIN = 24;
/** Edges get their labels when at most this many are shown (else on hover and around the selection). */
export const EDGE_LABELS_UP_TO = 12;
/** Beyond this many edges (a fleet's hosts folded), edges are drawn faint but those of the hovered or selected node. */
export const DENSE_EDGES = 250;

/** What was clicked: a node, an edge (topology's own or aggregated), a box (an open aggregate). */
export type Selection = { readonly kind: 'node' | 'edge' | 'box'; readonly id: string } | undefined;

/** Timings of the last render, for the benchmark and the status line. */
export interface RenderStats {
  readonly syncMs: number;
  readonly layoutMs: number;
  readonly added: number;
  readonly placed: number;
}

/** What the page hears from the map. */
export interface GraphViewEvents {
  /** A node, edge or box clicked, or the background (undefined). */
  select(sel: Selection): void;
  /** A closed aggregate clicked, or zoomed into: open it. */
  open(id: string): void;
}

/** Elements as drawn, for the SVG export. */
export interface Scene {
  readonly extent: { x1: number; y1: number; x2: number; y2: number };
  readonly boxes: readonly { x1: number; y1: number; x2: number; y2: number; label: string; fill: string; stroke: string; dashed: boolean; text: string }[];
  readonly nodes: readonly { x: number; y: number; size: number; shape: string; fill: string; stroke: string; strokeWidth: number; label: string; text: string; opacity: number }[];
  readonly edges: readonly { points: readonly Point[]; color: string; width: number; dashed: boolean; arrow: boolean; label?: string; text: string; opacity: number }[];
  readonly background: string;
}

/** The map on the page. */
export interface GraphView {
  /** Shows a model: placed by `layout` when given (a view change), else kept in place (a live update). */
  render(model: GraphModel, layout?: Layout, opts?: { animate?: boolean; anchor?: { id: string; at: Point } }): RenderStats;
  /** Highlights an element (or none). */
  select(sel: Selection): void;
  /** Pans an element into view when it is (partly) outside it. */
  reveal(id: string): void;
  /**
   * Fits the view to everything drawn (or these ids, or a rectangle already known, such as a layout's bounds,
   * which spares measuring every label), between READABLE_ZOOM and MAX_FIT_ZOOM.
   */
  fit(ids?: readonly string[], rect?: Rect): void;
  /** Fits the view to an element when it does not fit in the window as it is. */
  showWhole(id: string): void;
  /** Runs `fn` once nodes moving to a new layout have arrived (at once when none is moving). */
  whenSettled(fn: () => void): void;
  /** Follows a change of the map's size: refits unless the person moved the view since the last fit. */
  resized(): void;
  /** Runs a change of the map's size (a panel opening or closing) keeping the map's centre where it is. */
  keepCentre(change: () => void): void;
  /** Re-reads the theme's colours. */
  restyle(): void;
  /** The next node from `id` in a direction (arrow keys), or the one nearest the centre. */
  step(id: string | undefined, dir: 'left' | 'right' | 'up' | 'down'): string | undefined;
  /** Zooms by a factor about the centre (keyboard). */
  zoomBy(factor: number): void;
  /** What is drawn, for the SVG export. */
  scene(): Scene;
  /** A PNG of what the window shows. */
  png(): Blob;
  /** The cytoscape core, for tests and the benchmark. */
  readonly cy: cytoscape.Core;
}

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function palette() {
  return {
    text: css('--text'), muted: css('--muted'), bg: css('--map-bg'), groupBg: css('--group-bg'), groupBorder: css('--group-border'),
    hostBg: css('--group-host-bg'), extBg: css('--group-ext-bg'), svcBg: css('--group-svc-bg'), container: css('--node-container'), process: css('--node-process'),
    external: css('--node-external'), host: css('--node-host'), ok: css('--edge-ok'), slow: css('--edge-slow'), bad: css('--edge-bad'),
    unknown: css('--edge-unknown'), select: css('--select'), nodeBorder: css('--node-border'), gone: css('--node-gone'),
  };
}

function stylesheet(): cytoscape.StylesheetJson {
  const c = palette();
  const text = {
    'font-family': 'system-ui, sans-serif', 'min-zoomed-font-size': MIN_LABEL_PX, color: c.text,
    'text-background-color': c.bg, 'text-background-opacity': 0.85, 'text-background-padding': '2px', 'text-background-shape': 'roundrectangle',
  } as const;
  return [
    // Data mappings only on elements that carry the data (a mapping without it is what cytoscape warns about).
    {
      selector: 'node[kind != "box"]',
      style: {
        ...text, label: 'data(label)', 'font-size': LABEL_PX, 'text-valign': 'bottom', 'text-margin-y': 3, 'text-wrap': 'wrap',
        'text-max-width': `${METRICS.colWidth - 24}px`, 'text-overflow-wrap': 'anywhere', 'line-height': 1.15,
        width: 'data(size)', height: 'data(size)', 'border-width': 2, 'border-color': c.nodeBorder, opacity: 'data(opacity)' as unknown as number,
      },
    },
    { selector: 'node[kind = "container"]', style: { shape: 'round-rectangle', 'background-color': c.container } },
    { selector: 'node[kind = "process"]', style: { shape: 'ellipse', 'background-color': c.process } },
    { selector: 'node[kind = "external"]', style: { shape: 'diamond', 'background-color': c.external } },
    { selector: 'node[kind = "host"]', style: { shape: 'hexagon', 'background-color': c.host } },
    {
      // A closed aggregate: a stack (double border), coloured by what it holds; a click opens it.
      selector: 'node[kind = "aggregate"]',
      style: { shape: 'round-rectangle', 'background-color': c.container, 'border-style': 'double', 'border-width': 6, 'border-color': c.nodeBorder, 'font-weight': 600 },
    },
    { selector: 'node[kind = "aggregate"][aggKind = "host"]', style: { 'background-color': c.host, shape: 'round-hexagon' } },
    { selector: 'node[kind = "aggregate"][groupKind = "host"]', style: { 'background-color': c.process } },
    { selector: 'node[kind = "aggregate"][groupKind = "external"]', style: { 'background-color': c.external, shape: 'round-diamond' } },
    { selector: 'node[?gone]', style: { 'background-color': c.gone, 'border-style': 'dashed', color: c.muted } },
    { selector: 'node[health = "slow"]', style: { 'border-color': c.slow, 'border-width': 3 } },
    { selector: 'node[health = "bad"]', style: { 'border-color': c.bad, 'border-width': 3 } },
    {
      selector: 'node[kind = "box"]',
      style: {
        ...text, label: 'data(label)', shape: 'round-rectangle', 'background-color': c.groupBg, 'background-opacity': 1, 'border-width': 1, 'border-color': c.groupBorder,
        'text-valign': 'top', 'text-halign': 'center', 'text-margin-y': -3, 'font-size': TITLE_PX, 'font-weight': 600, color: c.muted,
        'text-background-opacity': 0, padding: `${METRICS.boxPad}px`, 'text-wrap': 'none',
        // A click on the title picks the box (its panel says what it holds and closes it).
        'text-events': 'yes',
      },
    },
    { selector: 'node[kind = "box"][boxKind = "service"]', style: { 'background-color': c.svcBg, 'border-style': 'dotted' } },
    { selector: 'node[kind = "box"][groupKind = "host"]', style: { 'background-color': c.hostBg, 'border-style': 'dashed' } },
    { selector: 'node[kind = "box"][groupKind = "external"]', style: { 'background-color': c.extBg, 'border-style': 'dashed' } },
    { selector: 'node[kind = "box"][?stale]', style: { 'border-style': 'dashed', color: c.gone } },
    {
      selector: 'edge[kind = "traffic"]',
      style: {
        width: 'data(width)', 'curve-style': 'bezier', 'line-color': c.unknown, 'target-arrow-color': c.unknown, 'target-arrow-shape': 'triangle',
        'arrow-scale': 0.9, opacity: 'data(opacity)' as unknown as number,
      },
    },
    { selector: 'edge[kind = "traffic"][health = "ok"]', style: { 'line-color': c.ok, 'target-arrow-color': c.ok } },
    { selector: 'edge[kind = "traffic"][health = "slow"]', style: { 'line-color': c.slow, 'target-arrow-color': c.slow } },
    { selector: 'edge[kind = "traffic"][health = "bad"]', style: { 'line-color': c.bad, 'target-arrow-color': c.bad } },
    { selector: 'edge[protocol = "udp"]', style: { 'line-style': 'dashed' } },
    { selector: 'edge[?closed]', style: { 'line-style': 'dotted' } },
    // Seen only by sFlow (an estimate from sampled packets, no socket): dash-dot, whatever the protocol.
    { selector: 'edge[?sflowOnly]', style: { 'line-style': 'dashed', 'line-dash-pattern': [6, 2, 2, 2] } },
    {
      selector: 'edge.labelled, edge:selected, edge.hover',
      style: { ...text, label: 'data(label)', 'font-size': LABEL_PX, color: c.muted, 'text-rotation': 'autorotate', 'text-background-padding': '1px' },
    },
    // A `container:` container and the one whose namespace it shares: a short dotted tie, no arrow.
    { selector: 'edge[kind = "netns"]', style: { width: 1.5, 'line-style': 'dotted', 'line-color': c.muted, 'curve-style': 'straight', 'target-arrow-shape': 'none', opacity: 0.8 } },
    { selector: 'edge.dim', style: { opacity: 0.1 } },
    { selector: 'node:selected', style: { 'border-color': c.select, 'border-width': 4, 'overlay-opacity': 0 } },
    { selector: 'node[kind = "box"]:selected', style: { 'border-color': c.select, 'border-width': 2 } },
    { selector: 'edge:selected', style: { 'line-color': c.select, 'target-arrow-color': c.select, 'z-index': 10, opacity: 1, color: c.text } },
    { selector: 'edge.hover', style: { 'z-index': 9, opacity: 1 } },
  ];
}

const NODE_KEYS = ['label', 'size', 'health', 'opacity', 'gone', 'count', 'kind', 'aggKind', 'groupKind', 'pin'] as const;
const EDGE_KEYS = ['label', 'width', 'health', 'rate', 'idle', 'count', 'closed', 'opacity', 'protocol'] as const;

/** Creates the map in `container`. */
export function createGraphView(container: HTMLElement, events: GraphViewEvents): GraphView {
  const cy = cytoscape({
    container,
    style: stylesheet(),
    minZoom: 0.08,
    maxZoom: 3,
    boxSelectionEnabled: false,
    selectionType: 'single',
    autoungrabify: true,
    // Pan and zoom redraw a cached texture of the map instead of every element.
    textureOnViewport: true,
    motionBlur: false,
  });
  /** Last positions of nodes that left the map, so they come back where they were. */
  const remembered = new Map<string, Point>();
  /** Nodes still moving to their place in a new layout, and what waits for them to arrive. */
  let moving = 0;
  let waiting: (() => void)[] = [];
  const arrived = () => {
    if (--moving > 0) return;
    const run = waiting;
    waiting = [];
    for (const fn of run) fn();
  };
  /** True while the view is as the last fit left it (a resize then refits). */
  let fitted = true;
  let fitZoom = 1;
  let selected: Selection;

  cy.on('tap', (ev) => {
    if ((ev.target as unknown) === cy) events.select(undefined);
  });
  cy.on('tap', 'node', (ev) => {
    const n = ev.target as cytoscape.NodeSingular;
    const kind = n.data('kind') as string;
    if (kind === 'aggregate') events.open(n.id());
    else events.select({ kind: kind === 'box' ? 'box' : 'node', id: n.id() });
  });
  cy.on('tap', 'edge[kind = "traffic"]', (ev) => events.select({ kind: 'edge', id: (ev.target as cytoscape.EdgeSingular).id() }));
  cy.on('mouseover', 'edge[kind = "traffic"]', (ev) => (ev.target as cytoscape.EdgeSingular).addClass('hover'));
  cy.on('mouseout', 'edge[kind = "traffic"]', (ev) => (ev.target as cytoscape.EdgeSingular).removeClass('hover'));
  let hovered: string | undefined;
  cy.on('mouseover', 'node[kind != "box"]', (ev) => { hovered = (ev.target as cytoscape.NodeSingular).id(); labelEdges(); });
  cy.on('mouseout', 'node[kind != "box"]', () => { hovered = undefined; labelEdges(); });

  // The person moving the view (not a fit): a resize no longer refits. Zooming far into a closed aggregate opens it.
  let lastPointer: Point | undefined;
  let wheelTimer: ReturnType<typeof setTimeout> | undefined;
  container.addEventListener('pointerdown', () => { fitted = false; });
  container.addEventListener('wheel', (ev) => {
    fitted = false;
    const box = container.getBoundingClientRect();
    lastPointer = { x: ev.clientX - box.left, y: ev.clientY - box.top };
    if (wheelTimer) clearTimeout(wheelTimer);
    wheelTimer = setTimeout(openUnderPointer, 250);
  }, { passive: true });
  function openUnderPointer(): void {
    if (!lastPointer || cy.zoom() < Math.max(1.5, fitZoom * 1.5)) return;
    const p = lastPointer;
    const hit = cy.nodes('[kind = "aggregate"]').filter((n) => {
      const b = n.renderedBoundingBox({ includeLabels: false });
      return p.x >= b.x1 - 8 && p.x <= b.x2 + 8 && p.y >= b.y1 - 8 && p.y <= b.y2 + 8;
    });
    if (hit.nonempty()) events.open(hit.first().id());
  }

  const drawnNodes = () => cy.nodes('[kind != "box"]');
  const trafficEdges = () => cy.edges('[kind = "traffic"]');

  /**
   * Edge labels: all of them when few edges are shown, else those around the selected or hovered node; with
   * very many edges, the others are drawn faint.
   */
  function labelEdges(): void {
    const edges = trafficEdges();
    const all = edges.length <= EDGE_LABELS_UP_TO;
    const dense = edges.length > DENSE_EDGES;
    const around = new Set<string>();
    for (const id of [selected?.kind === 'node' ? selected.id : undefined, hovered]) {
      if (id) cy.getElementById(id).connectedEdges().forEach((e) => { around.add(e.id()); });
    }
    cy.batch(() => edges.forEach((e) => {
      const label = all || around.has(e.id());
      if (e.hasClass('labelled') !== label) e.toggleClass('labelled', label);
      const dim = dense && !around.has(e.id());
      if (e.hasClass('dim') !== dim) e.toggleClass('dim', dim);
    }));
  }

  function fit(ids?: readonly string[], rect?: Rect): void {
    const els = ids ? ids.reduce((c, id) => c.union(cy.getElementById(id)), cy.collection()) : cy.elements();
    if (els.empty()) return;
    const bb = rect ? { ...rect, w: rect.x2 - rect.x1, h: rect.y2 - rect.y1 } : els.boundingBox({});
    const w = cy.width() - 2 * FIT_MARGIN;
    const h = cy.height() - 2 * FIT_MARGIN;
    const want = Math.min(w / Math.max(1, bb.w), h / Math.max(1, bb.h));
    const zoom = Math.min(MAX_FIT_ZOOM, Math.max(READABLE_ZOOM, want));
    if (zoom <= want) {
      cy.zoom(zoom);
      cy.pan({ x: cy.width() / 2 - ((bb.x1 + bb.x2) / 2) * zoom, y: cy.height() / 2 - ((bb.y1 + bb.y2) / 2) * zoom });
    } else {
      // Too big to show whole with readable names: start at its top left (clients and the first bands), centred when it is narrower than the window.
      cy.zoom(zoom);
      const x = bb.w * zoom <= w ? (cy.width() - bb.w * zoom) / 2 - bb.x1 * zoom : FIT_MARGIN - bb.x1 * zoom;
      const y = bb.h * zoom <= h ? (cy.height() - bb.h * zoom) / 2 - bb.y1 * zoom : FIT_MARGIN - bb.y1 * zoom;
      cy.pan({ x, y });
    }
    fitZoom = zoom;
    fitted = true;
  }

  function render(model: GraphModel, layout?: Layout, opts: { animate?: boolean; anchor?: { id: string; at: Point } } = {}): RenderStats {
    const t0 = performance.now();
    const wantNodes = new Map<string, NodeData>(model.nodes.map((n) => [n.id, n]));
    const wantBoxes = new Map<string, BoxData>(model.boxes.map((b) => [b.id, b]));
    const wantEdges = new Map<string, EdgeData>(model.edges.map((e) => [e.id, e]));
    const wantLinks = new Set(model.netns.map((l) => l.id));
    const hadNodes = drawnNodes().nonempty();
    let added = 0;
    const fresh: NodeData[] = [];
    const targets = new Map<string, Point>();
    // A new layout places everything afresh: places remembered from the old one would not fit it.
    if (layout) remembered.clear();
    cy.batch(() => {
      cy.edges().filter((e) => !wantEdges.has(e.id()) && !wantLinks.has(e.id())).remove();
      drawnNodes().filter((n) => !wantNodes.has(n.id())).forEach((n) => {
        if (!layout) remembered.set(n.id(), { ...n.position() });
        n.remove();
      });
      // Boxes outermost first (their parents exist when they are added).
      for (const b of model.boxes) {
        const el = cy.getElementById(b.id);
        if (el.empty()) {
          cy.add({ group: 'nodes', data: { ...b, parent: b.parent && wantBoxes.has(b.parent) ? b.parent : undefined } });
          continue;
        }
        if (el.data('label') !== b.label) el.data('label', b.label);
        if (el.data('stale') !== b.stale) el.data('stale', b.stale);
        const parent = b.parent && wantBoxes.has(b.parent) ? b.parent : null;
        if ((el.data('parent') ?? null) !== parent) (el as unknown as cytoscape.NodeSingular).move({ parent });
      }
      for (const n of model.nodes) {
        const el = cy.getElementById(n.id);
        if (el.empty()) {
          fresh.push(n);
          continue;
        }
        const parent = n.parent && wantBoxes.has(n.parent) ? n.parent : null;
        if ((el.data('parent') ?? null) !== parent) (el as unknown as cytoscape.NodeSingular).move({ parent });
        for (const k of NODE_KEYS) if (el.data(k) !== n[k]) el.data(k, n[k]);
      }
      // Boxes no longer drawn go once their members moved out (removing a box removes what is inside).
      cy.nodes('[kind = "box"]').filter((b) => !wantBoxes.has(b.id())).forEach((b) => {
        b.children().forEach((c) => { (c as cytoscape.NodeSingular).move({ parent: null }); });
        b.remove();
      });
      let placed = new Map<string, Point>();
      if (!layout) {
        // A live update: what is there stays; a node seen before returns to its place when it is free; others go to free slots of their band.
        const positions = new Map<string, Point>();
        const parents = new Map<string, string | undefined>();
        drawnNodes().forEach((n) => {
          positions.set(n.id(), { ...n.position() });
          parents.set(n.id(), n.data('parent') as string | undefined);
        });
        const clients = new Map<string, string[]>();
        const servers = new Map<string, string[]>();
        for (const e of model.edges) {
          servers.set(e.source, [...(servers.get(e.source) ?? []), e.target]);
          clients.set(e.target, [...(clients.get(e.target) ?? []), e.source]);
        }
        const newcomers = fresh.filter((n) => {
          const old = remembered.get(n.id);
          if (!old) return true;
          const free = [...positions.values()].every((q) => Math.abs(q.x - old.x) >= METRICS.colWidth * 0.9 || Math.abs(q.y - old.y) >= METRICS.rowHeight * 0.9);
          if (free) {
            placed.set(n.id, old);
            positions.set(n.id, old);
            parents.set(n.id, n.parent);
          }
          return !free;
        });
        const boxes = new Map<string, PlacedBox>();
        cy.nodes('[kind = "box"]').forEach((b) => {
          const r = b.boundingBox({ includeLabels: true });
          const parent = b.data('parent') as string | undefined;
          boxes.set(b.id(), { rect: { x1: r.x1, y1: r.y1, x2: r.x2, y2: r.y2 }, ...(parent ? { parent } : {}) });
        });
        placed = new Map([...placed, ...placeNewNodes(newcomers.map((n) => ({ id: n.id, ...(n.parent ? { parent: n.parent } : {}), clients: clients.get(n.id) ?? [], servers: servers.get(n.id) ?? [] })), positions, parents, boxes)]);
      }
      for (const n of fresh) {
        const p = layout ? layout.positions.get(n.id) : placed.get(n.id);
        remembered.delete(n.id);
        cy.add({ group: 'nodes', data: { ...n, parent: n.parent && wantBoxes.has(n.parent) ? n.parent : undefined }, ...(p ? { position: { ...p } } : {}) });
        added++;
      }
      for (const e of model.edges) {
        const el = cy.getElementById(e.id);
        if (el.empty()) {
          cy.add({ group: 'edges', data: { ...e, kind: 'traffic' } });
          continue;
        }
        for (const k of EDGE_KEYS) if (el.data(k) !== e[k]) el.data(k, e[k]);
      }
      for (const l of model.netns) if (cy.getElementById(l.id).empty()) cy.add({ group: 'edges', data: { ...l, kind: 'netns' } });
      if (layout) {
        // A view change: everything to the layout's places (animated below when the map was there).
        let dx = 0;
        let dy = 0;
        if (opts.anchor) {
          // Keep what was opened where it was clicked: the layout is shifted so the anchor's box centre lands there.
          const b = layout.boxes.get(opts.anchor.id);
          const p = layout.positions.get(opts.anchor.id);
          const c = b ? { x: (b.x1 + b.x2) / 2, y: (b.y1 + b.y2) / 2 } : p;
          if (c) { dx = opts.anchor.at.x - c.x; dy = opts.anchor.at.y - c.y; }
        }
        drawnNodes().forEach((n) => {
          const p = layout.positions.get(n.id());
          if (p) targets.set(n.id(), { x: p.x + dx, y: p.y + dy });
        });
        if (!(opts.animate && hadNodes)) for (const [id, p] of targets) cy.getElementById(id).position(p);
      }
    });
    const syncMs = performance.now() - t0;
    if (targets.size > 0 && opts.animate && hadNodes) {
      for (const [id, p] of targets) {
        const n = cy.getElementById(id);
        const at = n.position();
        if (at.x === p.x && at.y === p.y) continue;
        moving++;
        n.animate({ position: p }, { duration: 250, easing: 'ease-out', complete: arrived });
      }
    }
    labelEdges();
    return { syncMs, layoutMs: 0, added, placed: layout ? 0 : fresh.length };
  }

  function scene(): Scene {
    const c = palette();
    const ext = cy.extent();
    const color = (el: { style(name: string): unknown }, prop: string) => String(el.style(prop));
    return {
      extent: { x1: ext.x1, y1: ext.y1, x2: ext.x2, y2: ext.y2 },
      background: c.bg,
      boxes: cy.nodes('[kind = "box"]').map((b) => {
        const bb = b.boundingBox({ includeLabels: false });
        return { ...bb, label: String(b.data('label')), fill: color(b, 'background-color'), stroke: color(b, 'border-color'), dashed: b.style('border-style') !== 'solid', text: color(b, 'color') };
      }),
      nodes: drawnNodes().map((n) => ({
        x: n.position('x'), y: n.position('y'), size: Number(n.data('size')), shape: String(n.style('shape')), fill: color(n, 'background-color'),
        stroke: color(n, 'border-color'), strokeWidth: parseFloat(String(n.style('border-width'))), label: String(n.data('label')), text: color(n, 'color'), opacity: Number(n.data('opacity') ?? 1),
      })),
      edges: cy.edges().map((e) => {
        const traffic = e.data('kind') === 'traffic';
        const cps = traffic ? (e.controlPoints() ?? []) : [];
        return {
          points: [e.sourceEndpoint(), ...cps, e.targetEndpoint()],
          color: color(e, 'line-color'), width: parseFloat(String(e.style('width'))), dashed: e.style('line-style') !== 'solid', arrow: traffic,
          ...(traffic && e.hasClass('labelled') ? { label: String(e.data('label')) } : {}), text: c.muted, opacity: Number(e.data('opacity') ?? 0.8),
        };
      }),
    };
  }

  return {
    cy,
    render,
    fit,
    scene,
    png: () => cy.png({ output: 'blob', bg: palette().bg, full: false, scale: 2 }) as unknown as Blob,
    select(sel) {
      selected = sel;
      cy.elements(':selected').unselect();
      if (sel) cy.getElementById(sel.id).select();
      labelEdges();
    },
    reveal(id) {
      const el = cy.getElementById(id);
      if (el.empty() || !el.visible()) return;
      const box = el.renderedBoundingBox({});
      const margin = 30;
      if (box.x1 < margin || box.y1 < margin || box.x2 > cy.width() - margin || box.y2 > cy.height() - margin) {
        cy.animate({ center: { eles: el } }, { duration: 200 });
      }
    },
    whenSettled(fn) {
      if (moving > 0) waiting.push(fn);
      else fn();
    },
    showWhole(id) {
      fitted = false;
      const el = cy.getElementById(id);
      if (el.empty()) return;
      const b = el.renderedBoundingBox({});
      if (b.x1 < 0 || b.y1 < 0 || b.x2 > cy.width() || b.y2 > cy.height()) {
        fit([id]);
        fitted = false;
      }
    },
    keepCentre(change) {
      const e = cy.extent();
      const c = { x: (e.x1 + e.x2) / 2, y: (e.y1 + e.y2) / 2 };
      change();
      cy.resize();
      const z = cy.zoom();
      cy.pan({ x: cy.width() / 2 - c.x * z, y: cy.height() / 2 - c.y * z });
    },
    resized() {
      cy.resize();
      if (fitted) fit();
    },
    restyle() {
      cy.style(stylesheet());
    },
    step(id, dir) {
      const nodes = drawnNodes();
      if (nodes.empty()) return undefined;
      const from = id ? cy.getElementById(id) : undefined;
      if (!from || from.empty()) {
        const ext = cy.extent();
        const mid = { x: (ext.x1 + ext.x2) / 2, y: (ext.y1 + ext.y2) / 2 };
        return nodes.min((n) => Math.hypot(n.position('x') - mid.x, n.position('y') - mid.y)).ele.id();
      }
      const p = (from as cytoscape.NodeSingular).position();
      let best: { id: string; score: number } | undefined;
      nodes.forEach((n) => {
        if (n.id() === from.id()) return;
        const dx = n.position('x') - p.x;
        const dy = n.position('y') - p.y;
        const along = dir === 'right' ? dx : dir === 'left' ? -dx : dir === 'down' ? dy : -dy;
        const across = dir === 'left' || dir === 'right' ? Math.abs(dy) : Math.abs(dx);
        if (along <= 1) return;
        const score = along + across * 2;
        if (!best || score < best.score) best = { id: n.id(), score };
      });
      return best?.id;
    },
    zoomBy(factor) {
      fitted = false;
      cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
    },
  };
}

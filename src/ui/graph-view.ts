// The map: cytoscape.js with the fCoSE layout (compound groups). Positions are stable: the first topology is
// laid out once; later ones keep every existing node where it is, give nodes seen before their old place,
// put new ones near their group and neighbours (placement.ts), and let fCoSE tidy only those, with every
// other node fixed. Filters hide elements (display: none) without moving anything.
import cytoscape from 'cytoscape';
import fcose, { type FcoseLayoutOptions } from 'cytoscape-fcose';
import type { Visible } from './filter.js';
import type { EdgeData, GraphModel, GroupData, NodeData } from './graph-model.js';
import { placeNodes, type NewNode, type Point } from './placement.js';

cytoscape.use(fcose);

/** What was clicked. */
export type Selection = { readonly kind: 'node' | 'edge'; readonly id: string } | undefined;

/** Timings of the last render, for the benchmark and the status line. */
export interface RenderStats {
  readonly syncMs: number;
  readonly layoutMs: number;
  readonly added: number;
  readonly placed: number;
}

/** The map on the page. */
export interface GraphView {
  /** Shows a model (see the file comment for what moves). */
  render(model: GraphModel): RenderStats;
  /** Shows only these nodes and edges (groups follow their members). */
  setVisible(visible: Visible | undefined): void;
  /** Highlights an element (or none). */
  select(sel: Selection): void;
  /** Pans an element into view when it is (partly) outside it. */
  reveal(id: string): void;
  /** Fits the view to the visible elements (or these ids). */
  fit(ids?: readonly string[]): void;
  /** Lays out everything again (the person asked for it). */
  relayout(): number;
  /** Re-reads the theme's colours. */
  restyle(): void;
  /** The cytoscape core, for tests and the benchmark. */
  readonly cy: cytoscape.Core;
}

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function stylesheet(): cytoscape.StylesheetJson {
  const c = {
    text: css('--text'), muted: css('--muted'), bg: css('--map-bg'), groupBg: css('--group-bg'), groupBorder: css('--group-border'),
    hostBg: css('--group-host-bg'), extBg: css('--group-ext-bg'), container: css('--node-container'), process: css('--node-process'),
    external: css('--node-external'), host: css('--node-host'), ok: css('--edge-ok'), slow: css('--edge-slow'), bad: css('--edge-bad'),
    unknown: css('--edge-unknown'), select: css('--select'), nodeBorder: css('--node-border'),
  };
  return [
    {
      selector: 'node',
      style: {
        label: 'data(label)', color: c.text, 'font-size': 12, 'font-family': 'system-ui, sans-serif', 'text-valign': 'bottom', 'text-margin-y': 4,
        'text-background-color': c.bg, 'text-background-opacity': 0.8, 'text-background-padding': '2px', 'text-background-shape': 'roundrectangle',
        'min-zoomed-font-size': 7, width: 'data(size)', height: 'data(size)', 'border-width': 2, 'border-color': c.nodeBorder,
        'text-max-width': '140px', 'text-wrap': 'ellipsis',
      },
    },
    { selector: 'node[kind = "container"]', style: { shape: 'round-rectangle', 'background-color': c.container } },
    { selector: 'node[kind = "process"]', style: { shape: 'ellipse', 'background-color': c.process } },
    { selector: 'node[kind = "external"]', style: { shape: 'diamond', 'background-color': c.external } },
    { selector: 'node[kind = "host"]', style: { shape: 'hexagon', 'background-color': c.host } },
    { selector: 'node[health = "slow"]', style: { 'border-color': c.slow, 'border-width': 3 } },
    { selector: 'node[health = "bad"]', style: { 'border-color': c.bad, 'border-width': 3 } },
    {
      selector: 'node[kind = "group"]',
      style: {
        shape: 'round-rectangle', 'background-color': c.groupBg, 'background-opacity': 1, 'border-width': 1, 'border-color': c.groupBorder,
        label: 'data(label)', 'text-valign': 'top', 'text-halign': 'center', 'text-margin-y': -4, 'font-size': 12, 'font-weight': 600, color: c.muted,
        'text-background-opacity': 0, padding: '16px', 'min-zoomed-font-size': 5, 'text-wrap': 'none', 'text-max-width': '2000px',
      },
    },
    { selector: 'node[groupKind = "host"]', style: { 'background-color': c.hostBg, 'border-style': 'dashed' } },
    { selector: 'node[groupKind = "external"]', style: { 'background-color': c.extBg, 'border-style': 'dashed' } },
    {
      selector: 'edge',
      style: {
        width: 'data(width)', 'curve-style': 'bezier', 'line-color': c.unknown, 'target-arrow-color': c.unknown, 'target-arrow-shape': 'triangle',
        'arrow-scale': 0.9, opacity: 0.9, label: 'data(label)', 'font-size': 10, color: c.muted, 'text-rotation': 'autorotate',
        'text-background-color': c.bg, 'text-background-opacity': 0.85, 'text-background-padding': '1px', 'min-zoomed-font-size': 8,
        'font-family': 'system-ui, sans-serif',
      },
    },
    { selector: 'edge[health = "ok"]', style: { 'line-color': c.ok, 'target-arrow-color': c.ok } },
    { selector: 'edge[health = "slow"]', style: { 'line-color': c.slow, 'target-arrow-color': c.slow } },
    { selector: 'edge[health = "bad"]', style: { 'line-color': c.bad, 'target-arrow-color': c.bad } },
    { selector: 'edge[protocol = "udp"]', style: { 'line-style': 'dashed' } },
    // Seen only by sFlow (an estimate from sampled packets, no socket): dotted, whatever the protocol.
    { selector: 'edge[?sflowOnly]', style: { 'line-style': 'dotted' } },
    { selector: 'node:selected', style: { 'border-color': c.select, 'border-width': 4, 'overlay-opacity': 0 } },
    { selector: 'edge:selected', style: { 'line-color': c.select, 'target-arrow-color': c.select, 'z-index': 10, opacity: 1, color: c.text } },
    { selector: '.hidden', style: { display: 'none' } },
  ];
}

/** The largest zoom a fit may leave (a few nodes would otherwise fill the window). */
const MAX_FIT_ZOOM = 1.3;

/** True when an edge joins two groups (a compose project to another, a container to the host or outside). */
const crossesGroups = (e: cytoscape.EdgeSingular) => e.source().data('parent') !== e.target().data('parent');

/**
 * Forces of both layouts: edges inside a group are short and stiff, edges between groups long and weak, and
 * groups hold their members together, so projects read as separate clusters instead of one hairball.
 */
const FORCES = {
  idealEdgeLength: (e: cytoscape.EdgeSingular) => (crossesGroups(e) ? 220 : 70),
  edgeElasticity: (e: cytoscape.EdgeSingular) => (crossesGroups(e) ? 0.08 : 0.45),
  nodeRepulsion: 9000,
  nestingFactor: 0.1,
  gravityCompound: 2.5,
  gravityRangeCompound: 1.0,
} satisfies Partial<FcoseLayoutOptions>;

/** Creates the map in `container`; `onSelect` hears clicks on nodes, edges and the background. */
export function createGraphView(container: HTMLElement, onSelect: (sel: Selection) => void): GraphView {
  const cy = cytoscape({
    container,
    style: stylesheet(),
    minZoom: 0.05,
    maxZoom: 4,
    boxSelectionEnabled: false,
    selectionType: 'single',
    // Pan and zoom redraw a cached texture of the map instead of every element: smooth at 1,000 edges.
    textureOnViewport: true,
    motionBlur: false,
  });
  let laidOut = false;
  /** Last positions of nodes that left the map, so they come back where they were. */
  const remembered = new Map<string, Point>();

  cy.on('tap', (ev) => {
    const t = ev.target as cytoscape.Core | cytoscape.SingularElementReturnValue;
    if (t === cy) onSelect(undefined);
  });
  cy.on('tap', 'node', (ev) => {
    const n = ev.target as cytoscape.NodeSingular;
    if (n.data('kind') === 'group') return;
    onSelect({ kind: 'node', id: n.id() });
  });
  cy.on('tap', 'edge', (ev) => onSelect({ kind: 'edge', id: (ev.target as cytoscape.EdgeSingular).id() }));

  const leafNodes = () => cy.nodes('[kind != "group"]');
  const groupNodes = () => cy.nodes('[kind = "group"]');

  function fullLayout(): number {
    const t0 = performance.now();
    const options: FcoseLayoutOptions = {
      name: 'fcose', quality: 'default', randomize: true, animate: false, fit: true, padding: 40,
      nodeDimensionsIncludeLabels: true, packComponents: false, tile: true, tilingPaddingVertical: 24, tilingPaddingHorizontal: 24,
      ...FORCES, gravity: 0.3, numIter: 2500,
    };
    cy.layout(options).run();
    // A small map fitted to the window would be drawn huge: keep it at a natural size.
    if (cy.zoom() > MAX_FIT_ZOOM) {
      cy.zoom(MAX_FIT_ZOOM);
      cy.center();
    }
    scaleGroupLabels();
    return performance.now() - t0;
  }

  /** Group names stay readable when zoomed out: their font grows as the map shrinks (to ~12 px on screen). */
  function scaleGroupLabels(): void {
    const size = Math.min(48, Math.max(12, 12 / cy.zoom()));
    if (size === groupFont) return;
    groupFont = size;
    groupNodes().style('font-size', size);
  }
  let groupFont = 0;
  cy.on('zoom', () => scaleGroupLabels());

  /**
   * fCoSE over the groups that received new nodes, every other member fixed where it is: the new nodes settle
   * among their group without the cost (or the risk) of touching the rest of the map.
   */
  function tidy(moving: ReadonlySet<string>): number {
    const t0 = performance.now();
    const movers = cy.collection();
    for (const id of moving) movers.merge(cy.getElementById(id));
    const groups = movers.parent();
    // Only what is shown takes part: hidden elements keep their places for when they show again.
    const members = groups.children().filter((n) => n.visible()).union(movers);
    const scope = groups.union(members).union(members.edgesWith(members));
    const fixed: { nodeId: string; position: Point }[] = [];
    members.forEach((n) => {
      if (!moving.has(n.id())) fixed.push({ nodeId: n.id(), position: { ...n.position() } });
    });
    const before = movers.boundingBox({});
    const options: FcoseLayoutOptions = {
      name: 'fcose', quality: 'proof', randomize: false, animate: false, fit: false,
      nodeDimensionsIncludeLabels: true, packComponents: false, tile: false,
      ...FORCES, numIter: 600, initialEnergyOnIncremental: 0.2, fixedNodeConstraint: fixed,
    };
    scope.layout(options).run();
    // fCoSE keeps the fixed nodes' relative places but may translate the whole result (by half a label's
    // height with labels in node sizes): shift it back so nothing that was there moves at all. A group that
    // is all new keeps the place placement chose for it.
    const first = fixed[0];
    let dx: number;
    let dy: number;
    if (first) {
      const now = cy.getElementById(first.nodeId).position();
      dx = now.x - first.position.x;
      dy = now.y - first.position.y;
    } else {
      const after = movers.boundingBox({});
      dx = (after.x1 + after.x2 - before.x1 - before.x2) / 2;
      dy = (after.y1 + after.y2 - before.y1 - before.y2) / 2;
    }
    cy.batch(() => {
      movers.forEach((n) => { n.position({ x: n.position('x') - dx, y: n.position('y') - dy }); });
      for (const f of fixed) cy.getElementById(f.nodeId).position({ ...f.position });
    });
    return performance.now() - t0;
  }

  function render(model: GraphModel): RenderStats {
    const t0 = performance.now();
    const wantNodes = new Map<string, NodeData>(model.nodes.map((n) => [n.id, n]));
    const wantGroups = new Map<string, GroupData>(model.groups.map((g) => [g.id, g]));
    const wantEdges = new Map<string, EdgeData>(model.edges.map((e) => [e.id, e]));
    const fresh: NewNode[] = [];
    const neighbours = new Map<string, string[]>();
    for (const e of model.edges) {
      neighbours.set(e.source, [...(neighbours.get(e.source) ?? []), e.target]);
      neighbours.set(e.target, [...(neighbours.get(e.target) ?? []), e.source]);
    }
    let added = 0;
    cy.batch(() => {
      cy.edges().filter((e) => !wantEdges.has(e.id())).remove();
      leafNodes().filter((n) => !wantNodes.has(n.id())).forEach((n) => {
        remembered.set(n.id(), { ...n.position() });
        n.remove();
      });
      for (const g of model.groups) {
        const el = cy.getElementById(g.id);
        if (el.empty()) cy.add({ group: 'nodes', data: { ...g } }).style('font-size', groupFont || 12);
        else if (el.data('label') !== g.label) el.data('label', g.label);
      }
      const positions = new Map<string, Point>();
      const groupOf = new Map<string, string>();
      for (const n of model.nodes) {
        const el = cy.getElementById(n.id);
        if (el.empty()) {
          fresh.push({ id: n.id, group: n.parent, neighbours: neighbours.get(n.id) ?? [] });
          continue;
        }
        if (el.data('parent') !== n.parent) (el as unknown as cytoscape.NodeSingular).move({ parent: n.parent });
        for (const k of ['label', 'size', 'health'] as const) if (el.data(k) !== n[k]) el.data(k, n[k]);
        positions.set(n.id, { ...(el as unknown as cytoscape.NodeSingular).position() });
        groupOf.set(n.id, n.parent);
      }
      const placed = laidOut ? placeNodes(fresh, { positions, groups: groupOf, remembered }) : new Map<string, Point>();
      for (const f of fresh) {
        const n = wantNodes.get(f.id);
        if (!n) continue;
        const p = placed.get(f.id);
        cy.add({ group: 'nodes', data: { ...n }, ...(p ? { position: { ...p } } : {}) });
        added++;
      }
      for (const e of model.edges) {
        const el = cy.getElementById(e.id);
        if (el.empty()) {
          cy.add({ group: 'edges', data: { ...e } });
          continue;
        }
        for (const k of ['label', 'width', 'health', 'rate', 'idle'] as const) if (el.data(k) !== e[k]) el.data(k, e[k]);
      }
      // Groups left without members go.
      groupNodes().filter((n) => !wantGroups.has(n.id()) || n.children().empty()).remove();
    });
    const syncMs = performance.now() - t0;
    let layoutMs = 0;
    // Nodes with a remembered place keep it; only genuinely new ones are tidied.
    const moving = new Set(fresh.filter((f) => !remembered.has(f.id)).map((f) => f.id));
    for (const f of fresh) remembered.delete(f.id);
    if (!laidOut && cy.nodes().nonempty()) {
      layoutMs = fullLayout();
      laidOut = true;
    } else if (moving.size > 0) {
      layoutMs = tidy(moving);
    }
    return { syncMs, layoutMs, added, placed: moving.size };
  }

  function setVisible(visible: Visible | undefined): void {
    // Only elements whose visibility changes are touched: a class change restyles (and redraws) them.
    const show = (el: cytoscape.SingularElementArgument, want: boolean) => {
      if (el.hasClass('hidden') === want) el.toggleClass('hidden', !want);
    };
    cy.batch(() => {
      leafNodes().forEach((n) => show(n, visible === undefined || visible.nodes.has(n.id())));
      cy.edges().forEach((e) => show(e, visible === undefined || visible.edges.has(e.id())));
      groupNodes().forEach((g) => show(g, g.children().not('.hidden').nonempty()));
    });
  }

  return {
    cy,
    render,
    setVisible,
    select(sel) {
      cy.elements(':selected').unselect();
      if (sel) cy.getElementById(sel.id).select();
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
    fit(ids) {
      const els = ids ? ids.reduce((c, id) => c.union(cy.getElementById(id)), cy.collection()) : cy.elements(':visible');
      if (els.empty()) return;
      cy.fit(els, 60);
      if (cy.zoom() > MAX_FIT_ZOOM) {
        cy.zoom(MAX_FIT_ZOOM);
        cy.center(els);
      }
    },
    relayout() {
      const ms = fullLayout();
      laidOut = true;
      return ms;
    },
    restyle() {
      cy.style(stylesheet());
    },
  };
}

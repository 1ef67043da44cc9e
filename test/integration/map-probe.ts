// What a person sees on the web map, measured through cytoscape's API (window.portolan.cy) for the browser
// tests (web-map.test.ts on synthetic topologies, web.test.ts on the real engine): every label's rendered
// font size (font size × zoom) and whether cytoscape draws it, label and group-title boxes, node positions.
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** The smallest rendered font size a name may have, in px. */
export const MIN_PX = 11;

/** A box in model coordinates. */
export interface Box { x1: number; y1: number; x2: number; y2: number; w: number; h: number }
/** What the map shows: zoom, the window's extent, labels, group titles, nodes and edges. */
export interface Probe {
  zoom: number;
  extent: Box;
  labels: { id: string; kind: string; text: string; px: number; drawn: boolean; box: Box; visible: boolean }[];
  titles: { id: string; text: string; box: Box }[];
  nodes: { id: string; kind: string; label: string; parent?: string; x: number; y: number; rx: number; ry: number }[];
  edges: { id: string; kind: string; labelled: boolean }[];
}

/** Waits until no element of the map is animating. */
export async function settle(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const cy = (globalThis as unknown as { portolan?: { cy: { animated(): boolean; nodes(): { some(f: (n: { animated(): boolean }) => boolean): boolean } } } }).portolan?.cy;
    return cy !== undefined && !cy.animated() && !cy.nodes().some((n) => n.animated());
  }, null, { timeout: 10_000 });
}

/** Everything drawn, measured through cytoscape: label font sizes on screen, label and title boxes, positions. */
export function probe(page: Page): Promise<Probe> {
  return page.evaluate((minPx) => {
    type El = {
      id(): string; data(k: string): unknown; style(k: string): string; visible(): boolean; hasClass(c: string): boolean; isNode(): boolean;
      boundingBox(o: object): Box; position(): { x: number; y: number }; renderedPosition(): { x: number; y: number };
    };
    type Box = { x1: number; y1: number; x2: number; y2: number; w: number; h: number };
    const cy = (globalThis as unknown as { portolan: { cy: { zoom(): number; extent(): Box; elements(): { map<T>(f: (e: El) => T): T[] } } } }).portolan.cy;
    const zoom = cy.zoom();
    const extent = cy.extent();
    const els = cy.elements().map((e) => e);
    const labelBox = (e: El) => e.boundingBox({ includeNodes: false, includeEdges: false, includeLabels: true, includeMainLabels: true, includeSourceLabels: false, includeTargetLabels: false, includeOverlays: false });
    const labels = els.filter((e) => String(e.style('label') ?? '') !== '').map((e) => {
      const px = parseFloat(e.style('font-size')) * zoom;
      const minZoomed = parseFloat(e.style('min-zoomed-font-size'));
      return {
        id: e.id(), kind: String(e.data('kind')), text: String(e.style('label')), px, drawn: e.visible() && px >= minZoomed && px >= minPx - 1e-9, box: labelBox(e), visible: e.visible(),
      };
    });
    return {
      zoom, extent, labels,
      titles: els.filter((e) => e.isNode() && e.data('kind') === 'box').map((e) => ({ id: e.id(), text: String(e.data('label')), box: labelBox(e) })),
      nodes: els.filter((e) => e.isNode() && e.data('kind') !== 'box').map((e) => ({
        id: e.id(), kind: String(e.data('kind')), label: String(e.data('label')), ...(e.data('parent') ? { parent: String(e.data('parent')) } : {}),
        x: e.position().x, y: e.position().y, rx: e.renderedPosition().x, ry: e.renderedPosition().y,
      })),
      edges: els.filter((e) => !e.isNode()).map((e) => ({ id: e.id(), kind: String(e.data('kind')), labelled: e.hasClass('labelled') })),
    };
  }, MIN_PX);
}

const overlaps = (a: Box, b: Box) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
const inside = (b: Box, e: Box) => overlaps(b, e);

/** Asserts the readability rules on what the window shows: names ≥ 11 px and drawn, no two names or titles overlapping. */
export function expectReadable(p: Probe, what: string): void {
  const onScreen = p.labels.filter((l) => l.visible && inside(l.box, p.extent));
  expect(onScreen.length, `${what}: labels on screen`).toBeGreaterThan(0);
  for (const l of onScreen) {
    // A label in the window is drawn (cytoscape hides those under min-zoomed-font-size) and at least 11 px.
    if (l.kind === 'traffic' || l.kind === 'netns') continue;
    expect(l.px, `${what}: "${l.text}" rendered at ${l.px.toFixed(1)} px`).toBeGreaterThanOrEqual(MIN_PX);
    expect(l.drawn, `${what}: "${l.text}" drawn`).toBe(true);
  }
  for (const l of onScreen.filter((x) => x.kind === 'traffic')) expect(l.px, `${what}: edge label "${l.text}"`).toBeGreaterThanOrEqual(MIN_PX);
  const names = onScreen.filter((l) => l.kind !== 'box' && l.kind !== 'traffic' && l.kind !== 'netns');
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = names[i] as Probe['labels'][number];
      const b = names[j] as Probe['labels'][number];
      expect(overlaps(a.box, b.box), `${what}: names "${a.text}" and "${b.text}" overlap`).toBe(false);
    }
  }
  for (let i = 0; i < p.titles.length; i++) {
    for (let j = i + 1; j < p.titles.length; j++) {
      const a = p.titles[i] as Probe['titles'][number];
      const b = p.titles[j] as Probe['titles'][number];
      expect(overlaps(a.box, b.box), `${what}: titles "${a.text}" and "${b.text}" overlap`).toBe(false);
    }
  }
}


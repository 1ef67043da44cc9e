// The web map at sizes no test host has — 10, 50 and 200 containers on one host and a fleet of 5,000 in 100
// hosts — in a real browser (Debian's Chromium, driven by playwright-core), served the synthetic topologies
// of test/fixtures/topology/synthetic-map.mjs by a stand-in for `portolan serve` (map-server.mjs). What a
// person sees is measured through cytoscape's API: every name drawn in the window is at least 11 px (font
// size × zoom), names do not overlap each other, nor do group titles; folded groups open on click, on Enter
// and on zoom; empty states say what happened; the page works at 1024×700 and refits when the window
// shrinks; the map is usable from the keyboard; exports download what is shown; the console stays silent.
// Screenshots go to artifacts/screenshots/ (web-map-*.png).
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Topology, TopologyDiff, TopologyEdge } from '../../src/core/model/topology.js';
import { toCrossHostTopology } from '../../src/core/topology/cross-host.js';
import { applyTopologyDiff } from '../../src/core/topology/diff-topology.js';
import { LINE_BUDGET } from '../../src/ui/graph-model.js';
import { startMapServer, type MapServer } from '../fixtures/topology/map-server.mjs';
import { fleetMap, pairsMap, projectsMap, smallMap } from '../fixtures/topology/synthetic-map.mjs';
import { ROOT } from './harness.js';
import { expectReadable, MIN_PX, probe, settle } from './map-probe.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'artifacts', 'screenshots');
const UI = path.join(ROOT, 'dist/ui');

let browser: Browser;
const servers: MapServer[] = [];
/** Every console message and page error of every page, checked empty at the end. */
const noise: string[] = [];

/** Opens a page on a server for this topology, at this size; resolves once the map's first frame is drawn. */
async function openMap(topology: Topology, size = { width: 1440, height: 900 }, opts: { stale?: boolean; ready?: boolean; holdTopology?: boolean } = {}): Promise<{ page: Page; context: BrowserContext; server: MapServer }> {
  const server = await startMapServer({ ui: UI, topology, ...opts });
  servers.push(server);
  const context = await browser.newContext({ viewport: size, colorScheme: 'light', acceptDownloads: true });
  const page = await context.newPage();
  page.on('console', (m: ConsoleMessage) => {
    // An agent that has not collected yet answers 503, which the browser itself logs: that page expects it.
    if (opts.ready === false && /^Failed to load resource: .* 503/.test(m.text())) return;
    noise.push(`${m.type()}: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => noise.push(`pageerror: ${e.message}`));
  await page.goto(server.base, { waitUntil: 'domcontentloaded' });
  if (opts.ready !== false) await page.waitForFunction(() => (globalThis as unknown as { portolan?: { stats(): { firstFrameAt?: number } } }).portolan?.stats().firstFrameAt !== undefined, null, { timeout: 60_000 });
  await settle(page);
  return { page, context, server };
}

async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `web-map-${name}.png`) });
}

/** Clicks a node of the map where it is drawn, as a person would. */
async function clickNode(page: Page, id: string): Promise<void> {
  const p = await probe(page);
  const n = p.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`${id} not drawn`);
  const box = await page.locator('#map').boundingBox();
  if (!box) throw new Error('no map');
  await page.mouse.click(box.x + n.rx, box.y + n.ry);
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(UI, 'index.html'))) throw new Error('dist/ui is not built: run npm run build first');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install chromium (scripts/ensure-docker.sh does)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
});

describe('web map: readable at every size', () => {
  it.each([
    ['10 containers', '10', () => smallMap({ containers: 10 })],
    ['50 containers', '50', () => smallMap({ containers: 50 })],
    ['200 containers (90 client/server pairs and 20 others)', '200-pairs', () => pairsMap()],
    ['200 containers, 1,000 edges in 10 projects', '200-projects', () => projectsMap()],
    ['5,000 containers in 100 hosts', '5000-fleet', () => fleetMap()],
  ])('%s: every name on screen ≥ 11 px, no names or titles overlapping', async (what, file, make) => {
    const t = make();
    const { page, context } = await openMap(t);
    const p = await probe(page);
    expectReadable(p, what);
    // Something is drawn for every node (itself or a folded group), and the fit left names readable.
    const drawnAs = await page.evaluate(() => (globalThis as unknown as { portolan: { stats(): { drawnAs: Record<string, string> } } }).portolan.stats().drawnAs);
    expect(Object.keys(drawnAs).length).toBe(t.nodes.length);
    expect(p.zoom).toBeGreaterThanOrEqual(MIN_PX / 12 - 1e-9);
    await shot(page, file);
    await context.close();
  }, 120_000);

  it('the issue\'s 200 containers: the pairs folded as two services, the few others by name, the sidecar with the container it shares', async () => {
    const t = pairsMap();
    const { page, context } = await openMap(t);
    const p = await probe(page);
    const labels = p.nodes.map((n) => n.label);
    expect(labels).toEqual(expect.arrayContaining(['pair-*-client ×90', 'pair-*-server ×90']));
    // The client/server pairs' 90 edges are one line, client → server.
    const clients = p.nodes.find((n) => n.label === 'pair-*-client ×90');
    const servers2 = p.nodes.find((n) => n.label === 'pair-*-server ×90');
    expect(clients && servers2 && clients.x < servers2.x).toBe(true);
    // The shop project is open or one click away; opened, the envoy sidecar sits right under shop-api-1, in its box, named by it.
    const shop = p.nodes.find((n) => n.id === 'group:compose:shop');
    if (shop) {
      await clickNode(page, shop.id);
      await settle(page);
    }
    const q = await probe(page);
    const api = q.nodes.find((n) => n.label === 'shop-api-1');
    const envoy = q.nodes.find((n) => n.label === 'shop-api-envoy');
    expect(api && envoy).toBeTruthy();
    expect(envoy?.parent).toBe(api?.parent);
    expect(envoy?.x).toBeCloseTo(api?.x ?? 0, 5);
    expect((envoy?.y ?? 0) - (api?.y ?? 0)).toBeGreaterThan(0);
    expect(q.edges.some((e) => e.kind === 'netns')).toBe(true);
    for (const title of q.titles) expect(title.text).not.toMatch(/[0-9a-f]{12}/);
    expectReadable(q, 'pairs, shop open');
    await shot(page, 'pairs-shop-open');
    await context.close();
  }, 120_000);
});

describe('web map: opening and closing folded groups', () => {
  it('a click opens a folded service, names stay readable; its title closes it again; zooming into one opens it', async () => {
    const { page, context } = await openMap(pairsMap());
    const before = await probe(page);
    const clients = before.nodes.find((n) => n.label === 'pair-*-client ×90');
    if (!clients) throw new Error('no folded clients');
    await clickNode(page, clients.id);
    await settle(page);
    const open = await probe(page);
    expect(open.nodes.filter((n) => /^pair-\d+-client$/.test(n.label))).toHaveLength(90);
    expectReadable(open, 'clients open');
    await shot(page, 'pairs-clients-open');
    // The box's title gives its panel, with Close.
    const box = open.titles.find((x) => x.text.startsWith('pair-*-client'));
    if (!box) throw new Error('no box for the clients');
    const mapBox = await page.locator('#map').boundingBox();
    const z = open.zoom;
    const pan = await page.evaluate(() => (globalThis as unknown as { portolan: { cy: { pan(): { x: number; y: number } } } }).portolan.cy.pan());
    // On its title.
    await page.mouse.click((mapBox?.x ?? 0) + ((box.box.x1 + box.box.x2) / 2) * z + pan.x, (mapBox?.y ?? 0) + ((box.box.y1 + box.box.y2) / 2) * z + pan.y);
    await expect.poll(() => page.locator('#panel-title').textContent(), { timeout: 5000 }).toBe('pair-*-client ×90');
    await page.locator('#panel button', { hasText: 'Close' }).click();
    await settle(page);
    expect((await probe(page)).nodes.some((n) => n.label === 'pair-*-client ×90')).toBe(true);
    // Zooming far into the folded servers with the wheel opens them.
    // (The panel closes first: the map widens, keeping its centre, so what is under the pointer changes.)
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#panel').isHidden()).toBe(true);
    const servers2 = (await probe(page)).nodes.find((n) => n.label === 'pair-*-server ×90');
    if (!servers2) throw new Error('no folded servers');
    await page.mouse.move((mapBox?.x ?? 0) + servers2.rx, (mapBox?.y ?? 0) + servers2.ry);
    for (let i = 0; i < 30; i++) await page.mouse.wheel(0, -200);
    await expect.poll(async () => (await probe(page)).nodes.filter((n) => /^pair-\d+-server$/.test(n.label)).length, { timeout: 5000 }).toBe(90);
    await context.close();
  }, 120_000);

  it('a fleet: hosts folded, a stale host says so; clicking a host opens its projects, readable', async () => {
    const { page, context } = await openMap(fleetMap());
    const p = await probe(page);
    expect(p.nodes).toHaveLength(100);
    expect(p.nodes.find((n) => n.id === 'host:h007')?.label).toMatch(/\(stale\)/);
    await clickNode(page, p.nodes.find((n) => n.id === 'host:h000')?.id ?? '');
    await settle(page);
    const q = await probe(page);
    expect(q.titles.some((x) => x.id === 'host:h000')).toBe(true);
    expect(q.nodes.some((n) => n.parent?.startsWith('group:h000:') || n.parent === 'host:h000')).toBe(true);
    expectReadable(q, 'fleet, one host open');
    await shot(page, 'fleet-host-open');
    await context.close();
  }, 120_000);
});

describe('web map: empty states', () => {
  it('says what happened: connecting, no containers, Docker unreachable, no match', async () => {
    const empty: Topology = { takenAt: '2026-11-21T06:00:00.000Z', hostname: 'idle-host', warnings: [], nodes: [], edges: [] };
    const a = await openMap(empty);
    await expect.poll(() => a.page.locator('#empty').textContent()).toBe('No containers are running on this host.');
    await shot(a.page, 'empty-no-containers');
    await a.context.close();
    const b = await openMap(empty, undefined, { stale: true });
    await expect.poll(() => b.page.locator('#empty').textContent()).toBe('Docker unreachable: no containers known yet.');
    await b.context.close();
    const c = await openMap(empty, undefined, { ready: false });
    await expect.poll(() => c.page.locator('#empty').textContent(), { timeout: 10_000 }).toMatch(/^(Connecting to the agent…|Agent unreachable — retrying…)$/);
    await c.context.close();
    const d = await openMap(smallMap({ containers: 10 }));
    await d.page.locator('#search').fill('nosuchthing');
    await expect.poll(() => d.page.locator('#empty').textContent()).toBe('No match for “nosuchthing”. Press Esc to clear the search.');
    expect((await probe(d.page)).nodes).toHaveLength(0);
    await shot(d.page, 'empty-no-match');
    await d.page.keyboard.press('Escape');
    await expect.poll(() => d.page.locator('#empty').isHidden()).toBe(true);
    expect((await probe(d.page)).nodes.length).toBeGreaterThan(0);
    await d.context.close();
  }, 120_000);
});

describe('web map: responsive and keyboard-usable', () => {
  it('at 1024×700: readable, nothing spills out of the window; shrinking the window refits the map', async () => {
    const small = await openMap(projectsMap(), { width: 1024, height: 700 });
    expectReadable(await probe(small.page), '1024×700');
    const spill = await small.page.evaluate(() => {
      const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; scrollHeight: number; clientWidth: number; clientHeight: number } } }).document.documentElement;
      return { x: d.scrollWidth - d.clientWidth, y: d.scrollHeight - d.clientHeight };
    });
    expect(spill).toEqual({ x: 0, y: 0 });
    await shot(small.page, '1024x700');
    await small.context.close();

    const { page, context } = await openMap(smallMap({ containers: 10 }));
    const wide = await probe(page);
    await page.setViewportSize({ width: 1024, height: 700 });
    await expect.poll(async () => (await probe(page)).zoom, { timeout: 5000 }).not.toBe(wide.zoom);
    await settle(page);
    const narrow = await probe(page);
    // Refitted: everything drawn is inside the window again, at a readable zoom.
    for (const n of narrow.nodes) expect(n.x >= narrow.extent.x1 && n.x <= narrow.extent.x2 && n.y >= narrow.extent.y1 && n.y <= narrow.extent.y2, `${n.label} in the window`).toBe(true);
    expectReadable(narrow, 'after shrinking');
    await shot(page, 'resized-1024x700');
    await context.close();
  }, 120_000);

  it('from the keyboard: / searches, arrows move between nodes and open their panel, Enter opens a folded group, Escape closes', async () => {
    const { page, context } = await openMap(pairsMap());
    await page.keyboard.press('/');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id)).toBe('search');
    await page.keyboard.press('Escape');
    await page.locator('#map').focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.locator('#panel').isVisible()).toBe(true);
    const first = await page.locator('#panel-title').textContent();
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.locator('#panel-title').textContent()).not.toBe(first);
    // Walk to a folded group and open it with Enter.
    let opened = false;
    for (let i = 0; i < 40 && !opened; i++) {
      const title = await page.locator('#panel-title').textContent();
      if (title?.endsWith('×90')) {
        await page.locator('#map').focus();
        await page.keyboard.press('Enter');
        await settle(page);
        opened = (await probe(page)).nodes.filter((n) => /^pair-\d+-(client|server)$/.test(n.label)).length === 90;
        break;
      }
      await page.locator('#map').focus();
      await page.keyboard.press(i % 2 === 0 ? 'ArrowDown' : 'ArrowRight');
    }
    expect(opened).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#panel').isHidden()).toBe(true);
    await context.close();
  }, 120_000);
});

describe('web map: exports and live updates', () => {
  it('exports the view as SVG and PNG and the visible edges as CSV and JSON', async () => {
    const t = smallMap({ containers: 10 });
    const { page, context } = await openMap(t);
    const get = async (button: string) => {
      await page.locator('details.export summary').click();
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator(button).click()]);
      const file = await download.path();
      return { name: download.suggestedFilename(), body: fs.readFileSync(file) };
    };
    const csv = await get('#export-csv');
    expect(csv.name).toMatch(/^portolan-small-host-.*\.csv$/);
    const lines = csv.body.toString('utf8').trim().split('\r\n');
    expect(lines[0]).toMatch(/^fromName,toName,protocol,port,/);
    expect(lines).toHaveLength(t.edges.length + 1);
    const json = JSON.parse((await get('#export-json')).body.toString('utf8')) as { hostname: string; edges: { id: string }[] };
    expect(json.hostname).toBe('small-host');
    expect(json.edges.map((e) => e.id).sort()).toEqual(t.edges.map((e) => e.id).sort());
    // Filtered: only what is shown.
    await page.locator('#search').fill('shop-web-1');
    await expect.poll(async () => (await probe(page)).nodes.length).toBeLessThan(t.nodes.length);
    const some = JSON.parse((await get('#export-json')).body.toString('utf8')) as { edges: { fromName: string; toName: string }[] };
    expect(some.edges.length).toBeGreaterThan(0);
    expect(some.edges.every((e) => e.fromName === 'shop-web-1' || e.toName === 'shop-web-1')).toBe(true);
    const svg = (await get('#export-svg')).body.toString('utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('>shop-web-1</text>');
    const png = (await get('#export-png')).body;
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    await context.close();
  }, 120_000);

  it('a live diff adds a container without moving anything; closed edges and exited containers are drawn faded', async () => {
    const t = smallMap({ containers: 10 });
    const { page, context, server } = await openMap(t);
    const before = await probe(page);
    const api = t.nodes.find((n) => n.kind === 'container' && n.name === 'shop-api-1');
    const web = t.nodes.find((n) => n.kind === 'container' && n.name === 'shop-web-1');
    if (!api || api.kind !== 'container' || !web) throw new Error('fixture');
    const late = { ...api, id: 'f'.repeat(64), name: 'shop-late-1', compose: { project: 'shop', service: 'late' } };
    const edge = { id: `${late.id}->${api.id}/tcp/8080`, from: late.id, to: api.id, protocol: 'tcp' as const, port: 8080, connections: 1, states: { ESTABLISHED: 1 }, via: ['socket' as const] };
    const to = '2026-11-21T06:00:02.000Z';
    const closedAt = '2026-11-21T06:00:01.000Z';
    const webEdge = t.edges.find((e) => e.from === web.id);
    if (!webEdge) throw new Error('fixture edge');
    const closed = { ...webEdge, closedAt };
    const exited = { ...web, exitedAt: closedAt };
    const next: Topology = { ...t, takenAt: to, nodes: [...t.nodes.map((n) => (n.id === web.id ? exited : n)), late], edges: [...t.edges.map((e) => (e.id === closed.id ? closed : e)), edge] };
    server.send({ from: t.takenAt, to, nodes: { added: [late], updated: [exited], removed: [] }, edges: { added: [edge], updated: [closed], removed: [] } }, next);
    await expect.poll(async () => (await probe(page)).nodes.some((n) => n.id === late.id), { timeout: 5000 }).toBe(true);
    await settle(page);
    const after = await probe(page);
    for (const n of before.nodes) {
      const now = after.nodes.find((x) => x.id === n.id);
      if (now) expect(Math.hypot(now.x - n.x, now.y - n.y), `${n.label} moved`).toBeLessThan(0.5);
    }
    const looks = await page.evaluate(({ e, n }) => {
      const cy = (globalThis as unknown as { portolan: { cy: { getElementById(id: string): { style(k: string): string; data(k: string): unknown } } } }).portolan.cy;
      const edgeEl = cy.getElementById(e);
      const nodeEl = cy.getElementById(n);
      return { lineStyle: edgeEl.style('line-style'), opacity: Number(edgeEl.style('opacity')), label: String(nodeEl.data('label')), gone: nodeEl.data('gone') === true, nodeOpacity: Number(nodeEl.style('opacity')) };
    }, { e: closed.id, n: web.id });
    expect(looks).toMatchObject({ lineStyle: 'dotted', label: 'shop-web-1 · exited', gone: true });
    expect(looks.opacity).toBeLessThan(0.9);
    expect(looks.nodeOpacity).toBeLessThan(1);
    await shot(page, 'live-closed-exited');
    await context.close();
  }, 120_000);
});

/** What the page tells about the map it shows (window.portolan.stats()). */
interface MapStats { whole: boolean; takenAt?: string; shownEdges: string[]; drawnAs: Record<string, string>; hiddenLines: number; lines: number }
const mapStats = (page: Page) => page.evaluate(() => (globalThis as unknown as { portolan: { stats(): MapStats } }).portolan.stats());
const sorted = (xs: Iterable<string>) => [...xs].sort();

describe('web map: a fleet drawn first from the stream\'s cross-host document', () => {
  it('100 hosts folded from the cross-host edges, the busiest lines drawn; the whole topology, with the diffs sent meanwhile, then comes in; an opened host shows its edges and follows live diffs', async () => {
    const t0 = fleetMap();
    const { page, context, server } = await openMap(t0, undefined, { holdTopology: true });
    // Drawn from the stream's first document: the edges between hosts, the whole topology asked for (and held).
    const cross = toCrossHostTopology(t0);
    expect(cross.partial?.omittedEdges).toBeGreaterThan(10_000);
    let st = await mapStats(page);
    expect(st.whole).toBe(false);
    expect(sorted(st.shownEdges)).toEqual(sorted(cross.topology.edges.map((e) => e.id)));
    expect(new Set(Object.values(st.drawnAs)).size).toBe(100);
    expect(st.lines).toBeGreaterThan(LINE_BUDGET);
    expect(st.lines - st.hiddenLines).toBe(LINE_BUDGET);
    expect((await probe(page)).edges.length).toBe(LINE_BUDGET);
    await expect.poll(() => page.locator('#counts').textContent()).toMatch(new RegExp(`loading ${cross.partial?.omittedEdges} edges within hosts…`));
    expect(await page.locator('#counts').textContent()).toContain(`the ${LINE_BUDGET} busiest of ${st.lines} lines between folded groups drawn`);
    await expect.poll(() => server.topologyGets, { timeout: 30_000 }).toBe(1);
    await shot(page, 'fleet-cross-host-first');

    // While the whole topology is on its way, two diffs: on h000, one edge between two projects goes and one comes.
    const on0 = t0.nodes.filter((n) => n.kind === 'container' && n.host === 'h000');
    const project = new Map(on0.map((n) => [n.id, n.kind === 'container' ? n.compose?.project : undefined]));
    const apart = (e: TopologyEdge) => project.has(e.from) && project.has(e.to) && project.get(e.from) !== project.get(e.to);
    const gone = t0.edges.find(apart);
    const a = on0.find((n) => project.get(n.id) === 'shop');
    const b = on0.find((n) => project.get(n.id) !== 'shop' && project.get(n.id) !== undefined);
    if (!gone || !a || !b) throw new Error('fleetMap has no edge between two projects of h000');
    const late = (at: number): TopologyEdge => ({ ...gone, id: `${a.id}->${b.id}/tcp/${at}`, from: a.id, to: b.id, port: at });
    const next = (t: Topology, change: Partial<Pick<TopologyDiff, 'edges'>>['edges']): { diff: TopologyDiff; t: Topology } => {
      const to = new Date(Date.parse(t.takenAt) + 1000).toISOString();
      const diff: TopologyDiff = { from: t.takenAt, to, nodes: { added: [], updated: [], removed: [] }, edges: change ?? { added: [], updated: [], removed: [] } };
      return { diff, t: applyTopologyDiff(t, diff) };
    };
    const d1 = next(t0, { added: [late(9001)], updated: [], removed: [gone.id] });
    server.send(d1.diff, d1.t);
    const d2 = next(d1.t, { added: [], updated: [{ ...cross.topology.edges[0] as TopologyEdge, connections: 3 }], removed: [] });
    server.send(d2.diff, d2.t);
    await expect.poll(async () => (await mapStats(page)).takenAt, { timeout: 30_000 }).toBe(d2.t.takenAt);
    expect((await mapStats(page)).whole).toBe(false);

    // The whole topology as it was when asked (t0), older than the map's: brought up to date with the two diffs.
    expect(server.release()).toBe(1);
    await expect.poll(async () => (await mapStats(page)).whole, { timeout: 60_000 }).toBe(true);
    st = await mapStats(page);
    expect(st.takenAt).toBe(d2.t.takenAt);
    expect(server.topologyGets).toBe(1);
    await expect.poll(() => page.locator('#counts').textContent(), { timeout: 30_000 }).not.toMatch(/loading/);

    // h000 opened: its containers drawn, and every edge of the API's topology (d2.t) between two things drawn apart shown.
    await clickNode(page, 'host:h000');
    await settle(page);
    st = await mapStats(page);
    const shownAs = (id: string) => st.drawnAs[id];
    const expected = d2.t.edges.filter((e) => shownAs(e.from) !== undefined && shownAs(e.to) !== undefined && shownAs(e.from) !== shownAs(e.to)).map((e) => e.id);
    expect(sorted(st.shownEdges)).toEqual(sorted(expected));
    expect(shownAs(a.id)).not.toBe(shownAs(b.id));
    expect(st.shownEdges).toContain(late(9001).id);
    expect(st.shownEdges).not.toContain(gone.id);
    expect(d2.t.edges.filter((e) => project.has(e.from) && project.has(e.to) && st.shownEdges.includes(e.id)).length).toBeGreaterThan(5);
    // Every line between the open host and the others is drawn (the line budget is for lines between folded hosts).
    const on0ids = new Set(on0.map((n) => n.id));
    const hostLines = new Set(d2.t.edges.filter((e) => on0ids.has(e.from) !== on0ids.has(e.to)).map((e) => {
      const [s0, t0x] = [shownAs(e.from), shownAs(e.to)];
      return s0 === e.from && t0x === e.to ? e.id : `agg:${s0}->${t0x}`;
    }));
    expect(hostLines.size).toBeGreaterThan(5);
    const opened = await probe(page);
    const drawnIds = new Set(opened.edges.map((e) => e.id));
    expect([...hostLines].filter((id) => !drawnIds.has(id))).toEqual([]);
    expectReadable(opened, 'fleet from the cross-host document, one host open');

    // The opened host follows live diffs: an edge added within it is shown.
    const d3 = next(d2.t, { added: [late(9002)], updated: [], removed: [] });
    server.send(d3.diff, d3.t);
    await expect.poll(async () => (await mapStats(page)).shownEdges.includes(late(9002).id), { timeout: 30_000 }).toBe(true);
    await shot(page, 'fleet-cross-host-host-open');
    await context.close();
  }, 180_000);
});

describe('web map: console', () => {
  it('no console warnings or errors in any page above', () => {
    expect(noise).toEqual([]);
  });
});

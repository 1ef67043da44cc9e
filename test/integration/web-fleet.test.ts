// The web map of a real fleet: the documents three lab hosts published (test/fixtures/fleet-lab, captured by its
// capture.sh) merged by core/fleet as a hub does, one host stale, served by the map's stand-in server and drawn in
// Chromium. Hosts are folded groups named by their Docker names, the stale one says so and is drawn dashed, the
// cross-host connections join the hosts, a host opens on click to its containers, names stay readable, the console
// silent. No Docker needed. Screenshots: artifacts/screenshots/web-fleet-*.png.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeFleet } from '../../src/core/fleet/merge-fleet.js';
import { parseHostDocument } from '../../src/core/fleet/parse-host-document.js';
import type { Topology } from '../../src/core/model/topology.js';
import { startMapServer, type MapServer } from '../fixtures/topology/map-server.mjs';
import { ROOT } from './harness.js';
import { expectReadable, probe, settle } from './map-probe.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'artifacts', 'screenshots');
const UI = path.join(ROOT, 'dist/ui');
const LAB = path.join(ROOT, 'test/fixtures/fleet-lab/captured');

const docs = ['fc1', 'fc2', 'fc3'].map((h) => parseHostDocument(fs.readFileSync(path.join(LAB, `${h}.json`), 'utf8')));
const NOW = Math.max(...docs.map((d) => Date.parse(d.takenAt)));
// fc3 last heard from 10 s ago: stale (3 intervals of 2 s), kept.
const fleet: Topology = mergeFleet(docs.map((document, i) => ({ document, lastSeenMs: i === 2 ? NOW - 10_000 : NOW })), NOW);
const hostId = (name: string) => docs.find((d) => d.hostname === name)?.engineId ?? '';

let browser: Browser;
let server: MapServer;
const noise: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(path.join(UI, 'index.html'))) throw new Error('dist/ui is not built: run npm run build first');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install chromium (scripts/ensure-docker.sh does)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  server = await startMapServer({ ui: UI, topology: fleet });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  page.on('console', (m) => noise.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => noise.push(`pageerror: ${e.message}`));
  await page.goto(server.base, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => (globalThis as unknown as { portolan?: { stats(): { firstFrameAt?: number } } }).portolan?.stats().firstFrameAt !== undefined, null, { timeout: 60_000 });
  await settle(page);
  return page;
}

/** Clicks where cytoscape draws a point of the model (x, y), as a person would. */
async function clickAt(page: Page, x: number, y: number): Promise<void> {
  const p = await probe(page);
  const box = await page.locator('#map').boundingBox();
  if (!box) throw new Error('no map');
  await page.mouse.click(box.x + (x - p.extent.x1) * p.zoom, box.y + (y - p.extent.y1) * p.zoom);
}

describe('web map of a real three-host fleet', () => {
  it('hosts as groups named by Docker, the stale one marked, cross-host edges; a host folds and opens again', async () => {
    const page = await open();
    const p = await probe(page);
    const title = (name: string) => p.titles.find((t) => t.id === `host:${hostId(name)}`)?.text ?? '';
    expect(title('fc1')).toBe('fc1 · 3 containers');
    expect(title('fc2')).toBe('fc2 · 4 containers');
    expect(title('fc3')).toBe('fc3 (stale) · 2 containers');
    expect(await page.locator('#host').textContent()).toBe('fleet of 3 hosts');
    // The three `first` containers (each 172.17.0.2) are three nodes, one in each host.
    const firsts = p.nodes.filter((n) => n.label === 'first');
    expect(new Set(firsts.map((n) => n.parent?.split(':net:')[0])).size).toBe(3);
    // The merge's three cross-host edges, drawn between the containers.
    expect(p.edges.map((e) => e.id).sort()).toEqual(fleet.edges.map((e) => e.id).sort());
    expectReadable(p, 'fleet, hosts open');
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'web-fleet-open.png') });

    // Fold fc2: its title opens its panel, whose Close draws it as one node.
    const fc2 = `host:${hostId('fc2')}`;
    const t2 = p.titles.find((t) => t.id === fc2);
    if (!t2) throw new Error('no fc2 title');
    await clickAt(page, (t2.box.x1 + t2.box.x2) / 2, (t2.box.y1 + t2.box.y2) / 2);
    await page.getByRole('button', { name: 'Close', exact: true }).click();
    await settle(page);
    await expect.poll(async () => (await probe(page)).nodes.some((n) => n.id === fc2), { timeout: 10_000 }).toBe(true);
    const folded = await probe(page);
    expect(folded.nodes.some((n) => ['web', 'web2', 'os'].includes(n.label))).toBe(false);
    // The clients on fc1 and fc3 now point at fc2 as a whole.
    expect(folded.edges.length).toBeGreaterThan(0);
    expect(folded.edges.every((e) => e.id.includes(fc2) || e.kind !== 'traffic')).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'web-fleet-fc2-folded.png') });

    // And open again on a click on it.
    const node = folded.nodes.find((n) => n.id === fc2);
    if (!node) throw new Error('fc2 not folded');
    await clickAt(page, node.x, node.y);
    await settle(page);
    await expect.poll(async () => (await probe(page)).nodes.map((n) => n.label).filter((l) => ['web', 'web2', 'os'].includes(l)).sort(), { timeout: 10_000 })
      .toEqual(['os', 'web', 'web2']);
    expectReadable(await probe(page), 'fleet, fc2 open again');
    await page.context().close();
    expect(noise).toEqual([]);
  }, 120_000);

  it('a fleet whose hosts open at once is drawn from the whole topology, not from the stream\'s cross-host document', async () => {
    // Three real lab hosts of 50 containers (bench/fleet-capture.mjs), with edges within each host and between two.
    const labDocs = ['h1', 'h2', 'h3'].map((h) => parseHostDocument(fs.readFileSync(path.join(ROOT, `test/fixtures/fleet/plfn1-${h}.json`), 'utf8')));
    const now = Math.max(...labDocs.map((d) => Date.parse(d.takenAt)));
    const lab = mergeFleet(labDocs.map((document) => ({ document, lastSeenMs: now })), now);
    const hostOf = new Map(lab.nodes.map((n) => [n.id, n.host]));
    const within = lab.edges.filter((e) => hostOf.get(e.from) === hostOf.get(e.to));
    expect(within.length).toBeGreaterThan(10);
    const labServer = await startMapServer({ ui: UI, topology: lab, holdTopology: true });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    try {
      const page = await context.newPage();
      page.on('console', (m) => noise.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => noise.push(`pageerror: ${e.message}`));
      await page.goto(labServer.base, { waitUntil: 'domcontentloaded' });
      type Stats = { firstFrameAt?: number; whole: boolean; shownEdges: string[]; drawnAs: Record<string, string> };
      const stats = () => page.evaluate(() => (globalThis as unknown as { portolan?: { stats(): Stats } }).portolan?.stats());
      // The cross-host document came (the whole topology is asked for) but nothing is drawn from it: hosts would be open.
      await expect.poll(() => labServer.topologyGets, { timeout: 30_000 }).toBe(1);
      expect((await stats())?.firstFrameAt).toBeUndefined();
      expect((await probe(page)).nodes).toHaveLength(0);
      labServer.release();
      await page.waitForFunction(() => (globalThis as unknown as { portolan?: { stats(): { firstFrameAt?: number } } }).portolan?.stats().firstFrameAt !== undefined, null, { timeout: 60_000 });
      await settle(page);
      const st = await stats();
      if (!st) throw new Error('no stats');
      expect(st.whole).toBe(true);
      // Every edge between two things drawn apart is shown, those within a host included.
      const as = (id: string) => st.drawnAs[id];
      const expected = lab.edges.filter((e) => as(e.from) !== undefined && as(e.to) !== undefined && as(e.from) !== as(e.to)).map((e) => e.id);
      expect([...st.shownEdges].sort()).toEqual(expected.sort());
      expect(within.filter((e) => st.shownEdges.includes(e.id)).length).toBeGreaterThan(5);
      expect(noise).toEqual([]);
    } finally {
      await context.close();
      await labServer.close();
    }
  }, 120_000);
});

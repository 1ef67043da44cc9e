// The web map in a real browser (Debian's Chromium, driven by playwright-core) against a real `portolan serve`
// on the real engine: a small compose-like project (a load generator pumping into a front end, a worker with
// two connections to an API, a reporter to a database), a plain container pair on the default bridge and a
// host process talking to a published port. Checks what a person sees and does — the scenario's containers
// and edges on the map (the same as the API's, and as the kernel's `ss`), an edge's connections listed one by
// one with the endpoints `ss` shows, a container started during the test appearing without reload while the
// others stay put, the table, the time slider bringing back an edge that no longer exists, the banners when
// the agent or Docker goes away, and token auth through the browser's own prompt; that every name on the map
// is readable (≥ 11 px through cytoscape), a `container:` sidecar is drawn with the container it shares and
// named, and edge health follows the kernel: a busy connection without retransmissions (ss -ti) is ok, a
// connect to an address of the test's own network where nothing answers (SYN_SENT in ss; only ARP on that
// bridge) is bad. The page's console stays silent. Screenshots (light and dark) go to artifacts/screenshots/.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, docker, inspect, name, network, ROOT, run, RUN_ID, ssSockets, testImage } from './harness.js';
import { expectReadable, probe, settle } from './map-probe.js';
import { eventually, getJson, startServe, type ServeProcess } from './serve-agent.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'artifacts', 'screenshots');
const P = '/opt/peer.mjs';
const compose = (service: string) => ['--label', `com.docker.compose.project=${name('shop')}`, '--label', `com.docker.compose.service=${service}`];

interface Endpoint { address: string; port: number }
interface Edge {
  id: string; from: string; to: string; port: number; connections: number; states: Record<string, number>; details?: { client: Endpoint; server: Endpoint }[];
  traffic?: { retransmits?: number; recent?: { retransmits: number; segmentsOut: number; connectsUnanswered: number; connectsAnswered: number } };
}
interface Topology { nodes: { id: string; name: string; kind: string }[]; edges: Edge[] }

/** What the page exposes (window.portolan): the map's cytoscape core, typed as far as the test reads it. */
interface MapElement { id(): string; data(key: string): unknown; position(): { x: number; y: number }; renderedPosition(): { x: number; y: number }; renderedMidpoint(): { x: number; y: number }; visible(): boolean }
interface PageGlobals { portolan?: { cy: { nodes(sel?: string): MapElement[] & { map<T>(f: (n: MapElement) => T): T[] }; edges(sel?: string): { map<T>(f: (e: MapElement) => T): T[] }; getElementById(id: string): MapElement & { empty(): boolean }; animated(): boolean }; stats(): { renders: number; atMs?: number; drawnAs: Record<string, string>; shownEdges: string[] } } }

const plain = (a: string) => a.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
const ssText = (t: string) => {
  const i = t.lastIndexOf(':');
  return `${plain(t.slice(0, i))}:${t.slice(i + 1)}`;
};
/** A container of this run by its short name (the harness adds the run's prefix). */
const idOf = (n: string) => inspect(n).Id;
const ipOf = (n: string, net2: string) => inspect(n).NetworkSettings.Networks[net2]?.IPAddress ?? '';

let agent: ServeProcess;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const dataDirs: string[] = [];
const extraAgents: ServeProcess[] = [];
let hostClient: net.Socket | undefined;
let hostTimer: NodeJS.Timeout | undefined;
const ids: Record<string, string> = {};
let netName = '';
/** Console messages and page errors of the main page (the other pages watch agents go away on purpose). */
const noise: string[] = [];
/** Every name of this run starts with it: typed into the search, it scopes the map to this test's containers. */
const PREFIX = `pt-${RUN_ID}`;
/** An address of the test's own network where nothing answers (no container has it). */
let silentIp = '';

async function shot(file: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, file) });
}

/** Nodes and traffic edges drawn on the map (cytoscape), with positions. */
function mapNow(p: Page = page): Promise<{ nodes: { id: string; label: string; x: number; y: number; visible: boolean }[]; edges: string[] }> {
  return p.evaluate(() => {
    const cy = (globalThis as unknown as PageGlobals).portolan?.cy;
    if (!cy) return { nodes: [], edges: [] };
    return {
      nodes: cy.nodes('[kind != "box"]').map((n) => ({ id: n.id(), label: String(n.data('label')), x: n.position().x, y: n.position().y, visible: n.visible() })),
      edges: cy.edges('[kind = "traffic"]').map((e) => e.id()),
    };
  });
}

/** What the map shows of the topology, drawn as themselves or inside a folded group: node ids and edge ids. */
function shownNow(p: Page): Promise<{ nodes: string[]; edges: string[] }> {
  return p.evaluate(() => {
    const s = (globalThis as unknown as PageGlobals).portolan?.stats();
    return { nodes: Object.keys(s?.drawnAs ?? {}), edges: s?.shownEdges ?? [] };
  });
}

/** Clicks an element of the map where it is drawn, as a person would (once the view stopped moving). */
async function clickOnMap(id: string, kind: 'node' | 'edge'): Promise<void> {
  await expect.poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).portolan?.cy.animated() ?? false)).toBe(false);
  const at = await page.evaluate(({ id: elId, kind: k }) => {
    const el = (globalThis as unknown as PageGlobals).portolan?.cy.getElementById(elId);
    if (!el || el.empty()) return undefined;
    return k === 'edge' ? el.renderedMidpoint() : el.renderedPosition();
  }, { id, kind });
  expect(at, `${kind} ${id} on the map`).toBeDefined();
  const box = await page.locator('#map').boundingBox();
  if (!at || !box) throw new Error('map not drawn');
  await page.mouse.click(box.x + at.x, box.y + at.y);
}

/** The edges of the API's topology between this run's containers (and the host process talking to them). */
function ours(t: Topology): string[] {
  const mine = new Set(Object.values(ids));
  return t.edges.filter((e) => mine.has(e.from) || mine.has(e.to)).map((e) => e.id).sort();
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'dist/ui/index.html'))) throw new Error('dist/ui is not built: run npm run build first');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install chromium (scripts/ensure-docker.sh does)`);
  testImage();
  netName = name('shopnet');
  network('shopnet');
  run('front', ['--network', netName, '-p', '127.0.0.1::8080', ...compose('front')], ['node', P, 'tcp-server', '8080']);
  run('api', ['--network', netName, ...compose('api')], ['node', P, 'tcp-server', '9000']);
  run('db', ['--network', netName, ...compose('db')], ['node', P, 'tcp-server', '5432']);
  run('solo', [], ['node', P, 'tcp-server', '7000']);
  run('loadgen', ['--network', netName, ...compose('loadgen')], ['node', P, 'tcp-pump', ipOf('front', netName), '8080', '40000', '3600']);
  run('worker', ['--network', netName, ...compose('worker')], ['node', P, 'tcp-client', ipOf('api', netName), '9000', '500', '2']);
  run('reporter', ['--network', netName, ...compose('reporter')], ['node', P, 'tcp-client', ipOf('db', netName), '5432', '100', '1']);
  run('probe', [], ['node', P, 'tcp-client', ipOf('solo', 'bridge'), '7000', '100', '1']);
  // A sidecar in api's network namespace (compose's network_mode: service:api), talking to db.
  run('side', ['--network', `container:${name('api')}`, ...compose('side')], ['node', P, 'tcp-client', ipOf('db', netName), '5432', '100', '1']);
  // A client whose server never answers: an address of the test's network no container has (its SYNs go nowhere).
  silentIp = ipOf('front', netName).replace(/\.\d+$/, '.250');
  run('lost', ['--network', netName, ...compose('lost')], ['node', P, 'tcp-client', silentIp, '9999', '0', '1']);
  for (const n of ['front', 'api', 'db', 'solo', 'loadgen', 'worker', 'reporter', 'probe', 'side', 'lost']) ids[n] = idOf(n);
  // A host process (this test) talking to front through its published port.
  const hostPort = Number(docker('port', name('front'), '8080/tcp').split('\n')[0]?.split(':').pop());
  hostClient = net.connect(hostPort, '127.0.0.1');
  hostClient.on('error', () => undefined);
  hostClient.on('data', () => undefined);
  hostTimer = setInterval(() => hostClient?.write(Buffer.alloc(2000, 120)), 250);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-web-'));
  dataDirs.push(dir);
  agent = await startServe(['--interval', '1', '--data', dir, '--no-dns']);
  await eventually(async () => (await getJson(`${agent.base}/readyz`)).status === 200, 30_000, 'readyz');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
  page = await context.newPage();
  page.on('console', (m) => noise.push(`${m.type()}: ${m.text()} (${m.location().url})`));
  page.on('pageerror', (e) => noise.push(`pageerror: ${e.message}`));
}, 180_000);

afterAll(async () => {
  if (hostTimer) clearInterval(hostTimer);
  hostClient?.destroy();
  await browser?.close();
  await agent?.stop();
  for (const a of extraAgents) await a.stop();
  cleanup();
  for (const d of dataDirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('web map in Chromium', () => {
  it('shows the scenario\'s containers and edges, the same as the API and the kernel', async () => {
    await page.goto(agent.base, { waitUntil: 'domcontentloaded' });
    expect(await page.title()).toMatch(/portolan/);
    // Other tests' containers may share this engine: the run's prefix scopes the map to this test's (and their peers).
    await page.locator('#search').fill(PREFIX);
    // Every client's connections are up and the map has all their edges.
    const wanted = [
      `${ids.loadgen}->${ids.front}/tcp/8080`, `${ids.worker}->${ids.api}/tcp/9000`, `${ids.reporter}->${ids.db}/tcp/5432`, `${ids.probe}->${ids.solo}/tcp/7000`,
    ];
    await eventually(async () => {
      const m = await mapNow();
      // The host process (this test, through the published port) is a process node, or the host when its fds are unreadable.
      return wanted.every((id) => m.edges.includes(id)) && m.edges.some((e) => (e.startsWith('process:') || e.startsWith('host->')) && e.endsWith(`->${ids.front}/tcp/8080`));
    }, 30_000, 'the scenario\'s edges on the map');
    // The map's edges among ours are the API's, at the same moment (retry across a collection in between).
    await eventually(async () => {
      const api = (await getJson<Topology>(`${agent.base}/api/v1/topology`)).body;
      const m = await mapNow();
      const mine = new Set(Object.values(ids));
      const mapOurs = m.edges.filter((id) => [...mine].some((c) => id.startsWith(`${c}->`) || id.includes(`->${c}/`))).sort();
      return JSON.stringify(mapOurs) === JSON.stringify(ours(api)) ? true : undefined;
    }, 10_000, 'map edges = API edges');
    const m = await mapNow();
    for (const n of ['front', 'api', 'db', 'solo', 'loadgen', 'worker', 'reporter', 'probe']) {
      expect(m.nodes.find((x) => x.id === ids[n])?.label, n).toBe(name(n));
    }
    // The kernel's answer: each client's established sockets to its server are an edge on the map.
    for (const [client, server, port] of [['worker', 'api', 9000], ['reporter', 'db', 5432], ['loadgen', 'front', 8080]] as const) {
      const ss = ssSockets(inspect(client).State.Pid).filter((s) => s.state === 'ESTABLISHED' && ssText(s.remote) === `${ipOf(server, netName)}:${port}`);
      expect(ss.length, `${client} → ${server} in ss`).toBeGreaterThan(0);
      expect(m.edges).toContain(`${ids[client]}->${ids[server]}/tcp/${port}`);
    }
    // Grouped by compose project; the bridge pair and the host process apart.
    const groups = await page.evaluate(() => (globalThis as unknown as PageGlobals).portolan?.cy.nodes('[kind = "box"]').map((g) => String(g.data('label'))) ?? []);
    expect(groups).toEqual(expect.arrayContaining([`compose · ${name('shop')}`, 'network · bridge', expect.stringMatching(/^host/)]));
    expect(groups.some((g) => /[0-9a-f]{12}/.test(g)), 'no group named by a container id').toBe(false);
    await page.locator('#fit').click();
    await shot('map-light.png');
  });

  it('clicking an edge lists its connections one by one, with the endpoints the kernel shows', async () => {
    const edgeId = `${ids.worker}->${ids.api}/tcp/9000`;
    await clickOnMap(edgeId, 'edge');
    await expect.poll(() => page.locator('#panel-title').textContent(), { timeout: 5000 }).toBe(`${name('worker')} → ${name('api')}`);
    const ss = ssSockets(inspect('worker').State.Pid).filter((s) => s.state === 'ESTABLISHED' && ssText(s.remote) === `${ipOf('api', netName)}:9000`);
    expect(ss).toHaveLength(2);
    const fromKernel = ss.map((s) => `${ssText(s.local)} → ${ssText(s.remote)}`).sort();
    await expect.poll(async () => (await page.locator('#panel li.conn .ends').allTextContents()).map((t) => t.trim()).sort(), { timeout: 5000 }).toEqual(fromKernel);
    // Each connection names its processes and carries its bytes and RTT (tcp_info, read once the sockets load).
    const first = page.locator('#panel li.conn').first();
    await expect.poll(() => first.textContent(), { timeout: 5000 }).toMatch(/Client process\s*node\/\d+/);
    expect(await first.textContent()).toMatch(/Server process\s*node\/\d+/);
    expect(await first.textContent()).toMatch(/Bytes\s*→ 500 B · ← 500 B/);
    expect(await first.textContent()).toMatch(/RTT\s*\d/);
    await shot('edge-panel-light.png');
  });

  it('clicking a container shows its image, networks, ports, listening sockets, traffic and connections', async () => {
    await page.keyboard.press('Escape');
    await clickOnMap(ids.front ?? '', 'node');
    await expect.poll(() => page.locator('#panel-title').textContent(), { timeout: 5000 }).toBe(name('front'));
    const panel = page.locator('#panel');
    const text = async () => (await panel.textContent()) ?? '';
    expect(await text()).toContain(testImage());
    expect(await text()).toContain(`${netName} ${ipOf('front', netName)}`);
    expect(await text()).toMatch(/127\.0\.0\.1:\d+ → 8080\/tcp/);
    await expect.poll(text, { timeout: 5000 }).toMatch(/tcp \[::\]:8080 node\/\d+|tcp \*:8080/);
    // Incoming: loadgen and the host process.
    expect(await text()).toContain(name('loadgen'));
    await expect.poll(async () => (await panel.locator('.sparkline path.rx').getAttribute('d')) ?? '', { timeout: 15_000 }).toMatch(/L/);
    await shot('container-panel-light.png');
  });

  it('every name is readable; the sidecar is drawn with the container it shares; edge health follows the kernel', async () => {
    await page.keyboard.press('Escape');
    await settle(page);
    const p = await probe(page);
    expectReadable(p, 'real engine');
    // The `container:` sidecar: in api's box, right under it, tied to it by a dotted line, named by itself.
    const api = p.nodes.find((n) => n.id === ids.api);
    const side = p.nodes.find((n) => n.id === ids.side);
    expect(side?.label).toBe(name('side'));
    expect(side?.parent).toBe(api?.parent);
    expect(side?.x).toBeCloseTo(api?.x ?? Number.NaN, 5);
    expect(side?.y ?? 0).toBeGreaterThan(api?.y ?? 0);
    expect(p.edges.some((e) => e.id === `netns:${ids.side}`)).toBe(true);

    // loadgen → front: 40 KB/s over a veth. Once the agent has a window of samples, its retransmits are the
    // kernel's (ss -ti prints `retrans:` only when the socket retransmitted), and without any the edge is ok.
    const pump = `${ids.loadgen}->${ids.front}/tcp/8080`;
    const edgeOf = async (id: string) => (await getJson<Topology>(`${agent.base}/api/v1/topology`)).body.edges.find((e) => e.id === id);
    await eventually(async () => (await edgeOf(pump))?.traffic?.recent !== undefined, 15_000, 'a window of samples on loadgen → front');
    const ss = execFileSync('nsenter', ['-t', String(inspect('loadgen').State.Pid), '-n', 'ss', '-tiH', 'dst', `${ipOf('front', netName)}:8080`], { encoding: 'utf8' });
    const kernelRetrans = Number(/retrans:\d+\/(\d+)/.exec(ss)?.[1] ?? 0);
    const edge = await edgeOf(pump);
    expect(edge?.traffic?.retransmits, `lifetime retransmits = the kernel's (${ss.trim()})`).toBe(kernelRetrans);
    if (kernelRetrans === 0) {
      expect(edge?.traffic?.recent?.retransmits).toBe(0);
      await expect.poll(() => page.evaluate((id) => (globalThis as unknown as { portolan: { cy: { getElementById(x: string): { data(k: string): unknown } } } }).portolan.cy.getElementById(id).data('health'), pump)).toBe('ok');
    }

    // lost → an address nothing answers: the kernel shows its connect pending (SYN_SENT); the edge is bad and says why.
    // The connect gives up when ARP does (EHOSTUNREACH after ~3 s) and is tried again 200 ms later: wait for one.
    await eventually(() => ssSockets(inspect('lost').State.Pid).some((x) => x.state === 'SYN_SENT' && ssText(x.remote) === `${silentIp}:9999`) || undefined,
      10_000, 'SYN_SENT in ss');
    let lostEdge = '';
    await eventually(async () => {
      const e = (await getJson<Topology>(`${agent.base}/api/v1/topology`)).body.edges.find((x) => x.from === ids.lost && x.port === 9999);
      lostEdge = e?.id ?? '';
      return (e?.traffic?.recent?.connectsUnanswered ?? 0) > 0 && e?.traffic?.recent?.connectsAnswered === 0;
    }, 15_000, 'the unanswered connect counted');
    await expect.poll(() => page.evaluate((id) => (globalThis as unknown as { portolan: { cy: { getElementById(x: string): { data(k: string): unknown } } } }).portolan.cy.getElementById(id).data('health'), lostEdge), { timeout: 5000 }).toBe('bad');
    await clickOnMap(lostEdge, 'edge');
    await expect.poll(() => page.locator('#panel').textContent(), { timeout: 5000 }).toMatch(/Health\s*bad — \d+ connects? never answered in \d+ s, none answered/);
    await page.keyboard.press('Escape');
    await shot('map-health-light.png');
  });

  it('a container started now appears within 3 s without a reload, and nothing else moves', async () => {
    await page.keyboard.press('Escape');
    await page.evaluate(() => { (globalThis as unknown as { marker: number }).marker = 42; });
    const before = await mapNow();
    const started = Date.now();
    run('late', ['--network', netName, ...compose('late')], ['node', P, 'tcp-client', ipOf('front', netName), '8080', '100', '1']);
    ids.late = idOf('late');
    const runMs = Date.now() - started;
    const t0 = Date.now();
    await eventually(async () => (await mapNow()).nodes.some((n) => n.id === ids.late), 3000, 'late on the map within 3 s');
    const appearedMs = Date.now() - t0;
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    // Positions of what was there stay (the new node is placed, not the map re-laid out).
    await new Promise((r) => setTimeout(r, 600));
    const after = await mapNow();
    for (const n of before.nodes) {
      const now = after.nodes.find((x) => x.id === n.id);
      if (!now) continue;
      expect(Math.hypot(now.x - n.x, now.y - n.y), `${n.label} moved`).toBeLessThan(0.5);
    }
    console.log(`late: docker run took ${runMs} ms, then on the map after ${appearedMs} ms`);
    await eventually(async () => (await mapNow()).edges.includes(`${ids.late}->${ids.front}/tcp/8080`), 5000, 'late → front edge');
    await shot('map-after-start-light.png');
  });

  it('the table lists the same edges, sorts, and works from the keyboard', async () => {
    await page.locator('#view-table').click();
    const rows = page.locator('table.edges tbody tr');
    const m = await mapNow();
    await expect.poll(() => rows.count()).toBe(m.edges.length);
    // Sort by received bytes/s: the busiest first (loadgen pumps 40 KB/s into front, echoed back).
    await page.locator('th button[data-sort="received"]').click();
    await expect.poll(() => page.locator('th[aria-sort="descending"] button').textContent()).toMatch(/Recv\/s/);
    // Tab into the table body, arrow down, Enter: the edge's panel opens.
    await rows.first().focus();
    await page.keyboard.press('ArrowDown');
    const id = await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null } | null } }).document.activeElement?.getAttribute('data-edge'));
    expect(id).toBe(await rows.nth(1).getAttribute('data-edge'));
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#panel').isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    await page.locator('#search').fill(name('worker'));
    await expect.poll(() => rows.count()).toBe(1);
    await shot('table-light.png');
    await page.locator('#search').fill(PREFIX);
    await page.locator('#view-map').click();
  });

  it('the time slider shows an edge that no longer exists', async () => {
    const gone = `${ids.reporter}->${ids.db}/tcp/5432`;
    // History has recorded the edge (the agent writes every collection); then the client goes.
    await eventually(async () => {
      const r = await getJson<Topology>(`${agent.base}/api/v1/topology?at=${Date.now() / 1000 - 1}`);
      return r.status === 200 && r.body.edges.some((e) => e.id === gone);
    }, 10_000, 'the edge in history');
    const existedAt = Date.now() - 1000;
    docker('rm', '-f', name('reporter'));
    await eventually(async () => !(await mapNow()).edges.includes(gone), 10_000, 'the edge gone from the live map');
    // Let history catch up, then move the slider back with the keyboard (1 s a step) to before the removal.
    await page.locator('#live-button').click();
    await new Promise((r) => setTimeout(r, 1500));
    const slider = page.locator('#time-slider');
    await expect.poll(async () => Number(await slider.getAttribute('max')), { timeout: 20_000 }).toBeGreaterThan(existedAt);
    const max = Number(await slider.evaluate((el) => (el as unknown as { max: string }).max));
    await slider.focus();
    for (let i = 0; i < Math.ceil((max - existedAt) / 1000) + 1; i++) await page.keyboard.press('ArrowLeft');
    await expect.poll(async () => (await mapNow()).edges.includes(gone), { timeout: 10_000 }).toBe(true);
    expect(await page.locator('#mode-badge').textContent()).toMatch(/^History · /);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).portolan?.stats().atMs)).toBeLessThan(Date.now() - 2000);
    await clickOnMap(gone, 'edge');
    await expect.poll(() => page.locator('#panel').textContent(), { timeout: 5000 }).toMatch(/as of/);
    await shot('history-light.png');
    // Next change steps forward to the removal: the edge is gone again; Live goes back to the stream.
    // Other containers on this engine may have changed in between: step until the removal.
    await page.keyboard.press('Escape');
    for (let i = 0; i < 30 && (await mapNow()).edges.includes(gone); i++) {
      const before = await page.evaluate(() => (globalThis as unknown as PageGlobals).portolan?.stats().renders ?? 0);
      await page.locator('#next-change').click();
      await expect.poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).portolan?.stats().renders ?? 0), { timeout: 5000 }).toBeGreaterThan(before);
    }
    expect((await mapNow()).edges).not.toContain(gone);
    await page.locator('#live-button').click();
    await expect.poll(() => page.locator('#mode-badge').isHidden()).toBe(true);
    expect((await mapNow()).edges).not.toContain(gone);
  });

  it('reads well in the dark theme', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    // The page follows the system's theme: the dark palette is in force (a dark background), and the map
    // re-reads its colours.
    const html = () => page.evaluate(() => {
      const d = (globalThis as unknown as { document: { documentElement: { getAttribute(n: string): string | null } ; body: unknown } }).document;
      const bg = (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(d.body).backgroundColor;
      return { theme: d.documentElement.getAttribute('data-theme'), bg };
    });
    await expect.poll(async () => (await html()).theme, { timeout: 3000 }).toBe('dark');
    const lum = (rgb: string) => {
      const [r = 255, g = 255, b = 255] = (rgb.match(/\d+/g) ?? []).map(Number);
      return (r + g + b) / 3;
    };
    await expect.poll(async () => lum((await html()).bg), { timeout: 3000 }).toBeLessThan(60);
    await page.waitForTimeout(300);
    await page.locator('#fit').click();
    await shot('map-dark.png');
    await clickOnMap(`${ids.worker}->${ids.api}/tcp/9000`, 'edge');
    await expect.poll(() => page.locator('#panel li.conn').count(), { timeout: 5000 }).toBe(2);
    await shot('edge-panel-dark.png');
    await page.keyboard.press('Escape');
    await clickOnMap(ids.api ?? '', 'node');
    await expect.poll(() => page.locator('#panel-title').textContent(), { timeout: 5000 }).toBe(name('api'));
    await shot('container-panel-dark.png');
    await page.keyboard.press('Escape');
    await page.locator('#view-table').click();
    await shot('table-dark.png');
    await page.locator('#view-map').click();
    // The toggle overrides the system: light, though the system is dark.
    await page.locator('#theme').click();
    expect(await html()).toMatchObject({ theme: 'light' });
    await expect.poll(async () => lum((await html()).bg), { timeout: 3000 }).toBeGreaterThan(200);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('says so when Docker is unreachable, and when the agent is', async () => {
    // An agent whose Docker endpoint is a proxy this test can cut: Docker "goes away" without touching dockerd.
    const sock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-web-proxy-')), 'docker.sock');
    dataDirs.push(path.dirname(sock));
    const conns = new Set<net.Socket>();
    const proxy = net.createServer((c) => {
      const up = net.connect('/var/run/docker.sock');
      conns.add(c).add(up);
      c.pipe(up).pipe(c);
      const drop = () => { c.destroy(); up.destroy(); };
      c.on('error', drop);
      up.on('error', drop);
    });
    await new Promise<void>((r) => proxy.listen(sock, r));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-web-'));
    dataDirs.push(dir);
    const second = await startServe(['--interval', '1', '--no-history', '--no-dns', '--docker-host', `unix://${sock}`]);
    extraAgents.push(second);
    await eventually(async () => (await getJson(`${second.base}/readyz`)).status === 200, 30_000, 'second agent ready');
    const p2 = await context.newPage();
    await p2.goto(second.base, { waitUntil: 'domcontentloaded' });
    await eventually(async () => (await shownNow(p2)).nodes.includes(ids.front ?? ''), 15_000, 'map on the second agent');
    proxy.close();
    for (const c of conns) c.destroy();
    await expect.poll(() => p2.locator('#banner').textContent(), { timeout: 15_000 }).toMatch(/^Docker unreachable since \d\d:\d\d:\d\d; showing last known state\.$/);
    // The last known map stays.
    expect((await shownNow(p2)).nodes).toContain(ids.front);
    await p2.screenshot({ path: path.join(SHOTS, 'docker-unreachable-light.png') });
    await second.stop();
    await expect.poll(() => p2.locator('#banner').textContent(), { timeout: 10_000 }).toMatch(/^Agent unreachable — retrying/);
    await p2.screenshot({ path: path.join(SHOTS, 'agent-unreachable-light.png') });
    await p2.close();
  });

  it('the main page\'s console stayed silent', () => {
    expect(noise).toEqual([]);
  });

  it('with a token, the browser asks for it (Basic) and then the map, its files and the stream work', async () => {
    const token = 'web-test-secret-token';
    const guarded = await startServe(['--interval', '1', '--no-history', '--no-dns'], { PORTOLAN_TOKEN: token });
    extraAgents.push(guarded);
    await eventually(async () => (await getJson(`${guarded.base}/readyz`)).status === 200, 30_000, 'guarded agent ready');
    const denied = await fetch(guarded.base, { headers: { accept: 'text/html' } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Basic realm="portolan"/);
    // httpCredentials answers the Basic challenge the way a person answers the browser's prompt.
    const ctx = await browser.newContext({ httpCredentials: { username: 'portolan', password: token } });
    const p3 = await ctx.newPage();
    await p3.goto(guarded.base, { waitUntil: 'domcontentloaded' });
    await eventually(async () => (await shownNow(p3)).edges.includes(`${ids.worker}->${ids.api}/tcp/9000`), 15_000, 'map behind the token');
    await ctx.close();
    // Without credentials the browser is challenged (headless, nobody answers its prompt, so it gives up).
    const noCreds = await browser.newContext();
    const p4 = await noCreds.newPage();
    await expect(p4.goto(guarded.base)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    await noCreds.close();
    await guarded.stop();
  });
});

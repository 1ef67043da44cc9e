// The web map's page: wires the live stream, the map, the table, the side panel, the filters and the time
// slider around one state. Everything shown is computed from `shown` (the live topology, or history's at
// the slider's instant) by the pure modules; this file only fetches and routes events.
import type { Topology, TopologyDiff, TopologyNode } from '../core/model/topology.js';
import { healthRuleText } from '../core/report/edge-health.js';
import { applyTopologyDiff } from '../core/topology/diff-topology.js';
import { aggregateEdges, aggregateView, buildHierarchy, chooseOpen, openingFor, updateHierarchy, type Aggregate } from './aggregate.js';
import { ApiError, fetchContainers, fetchHistory, fetchSockets, fetchTopology, fetchTraffic, openLive } from './api.js';
import { edgeConnections, nodeConnections } from './connections.js';
import { byId, h } from './dom.js';
import { edgesCsv, edgesForExport, edgesJson, sceneToSvg } from './export.js';
import { filterChoices, NO_FILTER, parseQuery, visibleElements, type FilterState, type Visible } from './filter.js';
import { formatTime } from './format.js';
import { budgetLines, LINE_BUDGET, planView, toGraphModel, type GraphModel, type GroupBy, type ViewPlan } from './graph-model.js';
import { METRICS, type Layout } from './layered-layout.js';
import { createGraphView, FIT_MARGIN, LABEL_PX, READABLE_ZOOM, TITLE_PX, type RenderStats, type Selection } from './graph-view.js';
import { renderAggregatePanel, renderEdgeGroupPanel, renderEdgePanel, renderNodePanel, type Loaded, type PanelActions } from './panel.js';
import { mergeRates, samplesToRates, type RatePoint } from './sparkline.js';
import { edgeRows, nextSort, renderTable, type Sort } from './table.js';
import { applyTheme, nextTheme, storedTheme, type ThemeChoice } from './theme.js';
import { createTimeline } from './timeline.js';
import type { ContainerSummary, Freshness, HistoryDoc, SocketRow, TopologyDoc } from './types.js';
import './style.css';

/** How far back the sparkline looks. */
const SPARK_WINDOW_MS = 15 * 60_000;
/** Live rates are polled this often (the sparkline moves, labels for filters stay current). */
const CONTAINERS_POLL_MS = 5000;
/** Sockets behind an open panel are re-read at most this often. */
const SOCKETS_REFRESH_MS = 3000;

interface State {
  live?: TopologyDoc;
  shown?: Topology;
  /** Set while the map shows history. */
  atMs?: number;
  groupBy: GroupBy;
  filter: FilterState;
  visible?: Visible;
  /** What is drawn now: the aggregates open, the view, its layout. */
  plan?: ViewPlan;
  /** What the plan was made for (group-by and filter): another key plans again. */
  planKey?: string;
  /** Aggregates the person opened or closed: kept through new plans. */
  userOpen: Set<string>;
  userClosed: Set<string>;
  view: 'map' | 'table';
  selection: Selection;
  sort: Sort;
  containers: Map<string, ContainerSummary>;
  rates: Map<string, RatePoint[]>;
  history?: HistoryDoc;
  connection: 'connecting' | 'open' | 'retrying';
  freshness: Freshness;
  lastRender?: RenderStats;
  /** The last renders' timings (for the benchmark). */
  recent: RenderStats[];
  renders: number;
  /** JS time of the last live diffs, from the stream's message to the map updated (for the benchmark). */
  diffMs: number[];
  /** JS time of planning the last view (aggregation, layout) and of the first topology's whole handling. */
  planMs?: number;
  firstMs?: number;
  /** When the first topology arrived and the first map frame was drawn (ms since navigation start). */
  firstTopologyAt?: number;
  firstFrameAt?: number;
  /** When the whole topology replaced the stream's cross-host first document (ms since navigation start). */
  wholeAt?: number;
}

const state: State = {
  groupBy: 'compose', filter: NO_FILTER, view: 'map', selection: undefined, sort: { key: 'sent', descending: true },
  containers: new Map(), rates: new Map(), connection: 'connecting', freshness: { stale: false }, renders: 0, recent: [],
  userOpen: new Set(), userClosed: new Set(), diffMs: [],
};

let theme: ThemeChoice = storedTheme();
applyTheme(theme);

const mapEl = byId('map');
const tableEl = byId('table-view');
const panelEl = byId('panel');
const bannerEl = byId('banner');
const emptyEl = byId('empty');
const countsEl = byId('counts');
const focusBar = byId('focus-bar');
const modeBadge = byId('mode-badge');
const searchEl = byId<HTMLInputElement>('search');
const networkEl = byId<HTMLSelectElement>('network');
const projectEl = byId<HTMLSelectElement>('project');
const idleEl = byId<HTMLInputElement>('hide-idle');
const groupEl = byId<HTMLSelectElement>('group-by');
byId('health-rule').title = healthRuleText();

const view = createGraphView(mapEl, {
  select: (sel) => (sel ? open(sel) : closePanel()),
  open: (id) => openAggregate(id),
});

// ---- showing a topology -------------------------------------------------------------------------------

function isFiltered(f: FilterState): boolean {
  return f.query.trim() !== '' || f.network !== '' || f.project !== '' || f.hideIdle || f.focus !== undefined;
}

/** The topology restricted to what the filter shows. */
function restrict(t: Topology, v: Visible): Topology {
  return { ...t, nodes: t.nodes.filter((n) => v.nodes.has(n.id)), edges: t.edges.filter((e) => v.edges.has(e.id)) };
}

const viewport = () => ({ width: mapEl.clientWidth || 800, height: mapEl.clientHeight || 600 });

/**
 * Shows a topology. `replan`: lay the map out again (a view change: group-by, filter, the person's Re-layout or
 * a resize); otherwise, when the plan's key is the same, a live update keeps every node where it is.
 */
function show(t: Topology, replan = false, nodesChanged = true, planned?: { plan: ViewPlan; key: string }): void {
  state.shown = t;
  const f = state.filter;
  const filtered = isFiltered(f);
  if (filtered) {
    const labels = new Map([...state.containers].map(([id, c]) => [id, c.labels]));
    state.visible = visibleElements(t, f, labels);
  } else {
    state.visible = undefined;
  }
  const sub = filtered && state.visible ? restrict(t, state.visible) : t;
  const key = planKey();
  const nowMs = Date.parse(t.takenAt) || Date.now();
  if (replan || !state.plan || state.planKey !== key) {
    const first = !state.plan;
    const p0 = performance.now();
    const plan = planned && planned.key === key ? planned.plan : planView(sub, state.groupBy, { viewport: viewport(), zoom: READABLE_ZOOM, margin: FIT_MARGIN, nowMs, keep: state.userOpen, closed: state.userClosed, all: t.nodes });
    state.plan = plan;
    state.planKey = key;
    if (!planned) state.planMs = performance.now() - p0;
    record(draw(plan.model, plan.layout, { animate: !first }));
    // The layout's bounds are where everything will be (measuring every label again would cost a frame or ten).
    view.whenSettled(() => view.fit(undefined, plan.layout.bounds));
  } else {
    // A diff that changed no node (traffic moved) keeps the hierarchy and what draws each node: only edges are
    // aggregated again.
    const keep = !nodesChanged && !filtered;
    // A container started or gone on one host of a fleet rebuilds that host's part of the hierarchy only.
    const hierarchy = keep ? state.plan.hierarchy : filtered ? buildHierarchy(sub, state.groupBy, t.nodes) : updateHierarchy(state.plan.hierarchy, t, state.groupBy);
    const v = keep ? { ...state.plan.view, ...aggregateEdges(sub.edges, state.plan.view.drawnAs) } : aggregateView(sub, hierarchy, state.plan.open);
    const model = toGraphModel(v, hierarchy, nowMs);
    state.plan = { ...state.plan, hierarchy, view: v, model };
    record(draw(model));
  }
  byId('host').textContent = t.hosts ? `fleet of ${t.hosts.length} hosts` : t.hostname ? `on ${t.hostname}` : '';
  if (nodesChanged || replan) updateChoices(t);
  updateCounts();
  updateEmpty();
  if (state.view === 'table') drawTable();
  refreshPanel();
}

/** Lines between folded aggregates drawn last time, and how many were left out of how many (LINE_BUDGET). */
let drawnLines = new Set<string>();
let lineCounts = { hidden: 0, lines: 0 };

/** Draws a model with at most LINE_BUDGET lines between folded aggregates, all of them around the selection. */
function draw(model: GraphModel, layout?: Layout, opts?: { animate?: boolean; anchor?: { id: string; at: { x: number; y: number } } }): RenderStats {
  const sel = state.selection;
  const budgeted = budgetLines(model, LINE_BUDGET, { keep: new Set(sel ? [sel.id] : []), previous: drawnLines });
  lineCounts = { hidden: budgeted.hidden, lines: budgeted.lines };
  drawnLines = new Set(budgeted.model.edges.filter((e) => e.aggregated).map((e) => e.id));
  return view.render(budgeted.model, layout, opts);
}

/** Draws the plan's lines again for a new selection, when some are left out. */
function redrawLines(): void {
  if (state.plan && lineCounts.hidden > 0) record(draw(state.plan.model));
}

/** What a plan is made for: the grouping and the filter (another key plans again). */
function planKey(): string {
  return JSON.stringify([state.groupBy, isFiltered(state.filter) ? state.filter : null]);
}

function record(stats: RenderStats): void {
  state.lastRender = stats;
  state.renders++;
  state.recent = [...state.recent.slice(-49), stats];
}

/** Draws the map again with these aggregates open (the person's click), keeping `anchor` where it is. */
function replanWith(open: Set<string>, anchor?: string): void {
  const t = state.shown;
  if (!t || !state.plan) return;
  const sub = isFiltered(state.filter) && state.visible ? restrict(t, state.visible) : t;
  const at = anchor ? view.cy.getElementById(anchor) : undefined;
  const where = at && at.nonempty() ? { ...(at as unknown as { position(): { x: number; y: number } }).position() } : undefined;
  const plan = planView(sub, state.groupBy, { viewport: viewport(), zoom: READABLE_ZOOM, margin: FIT_MARGIN, nowMs: Date.parse(t.takenAt) || Date.now(), open, all: t.nodes });
  state.plan = plan;
  record(draw(plan.model, plan.layout, { animate: true, ...(anchor && where ? { anchor: { id: anchor, at: where } } : {}) }));
  updateCounts();
  refreshPanel();
}

/** Opens a closed aggregate (a click on it, Enter, or zooming into it). */
function openAggregate(id: string): void {
  if (!state.plan) return;
  state.userOpen.add(id);
  state.userClosed.delete(id);
  // What is inside opens too, as far as the window shows it readable (a host: its projects; a project: its small services).
  const { width, height } = viewport();
  const budget = Math.floor(((width - 2 * FIT_MARGIN) / (METRICS.colWidth * READABLE_ZOOM)) * ((height - 2 * FIT_MARGIN) / (METRICS.rowHeight * READABLE_ZOOM)) * 0.5);
  const inside = chooseOpen(state.plan.hierarchy, budget, new Set(), state.userClosed, id);
  replanWith(new Set([...state.plan.open, id, ...inside]), id);
  // Bigger than the window once open: show it from its top left, at a readable zoom.
  view.whenSettled(() => view.showWhole(id));
  const a = state.plan.hierarchy.aggregates.get(id);
  if (a) tell(`Opened ${a.label.split('\n')[0]} — click its title to close it again.`);
  state.selection = undefined;
  view.select(undefined);
}

/** Closes an open aggregate and everything opened inside it. */
function closeAggregate(id: string): void {
  if (!state.plan) return;
  const h = state.plan.hierarchy;
  const inside = (x: string): boolean => {
    for (let a = h.aggregates.get(x); a; a = a.parent ? h.aggregates.get(a.parent) : undefined) if (a.id === id) return true;
    return false;
  };
  state.userClosed.add(id);
  for (const x of [...state.userOpen]) if (inside(x)) state.userOpen.delete(x);
  replanWith(new Set([...state.plan.open].filter((x) => !inside(x))), id);
  open({ kind: 'node', id });
}

function updateCounts(): void {
  const t = state.shown;
  if (!t) return;
  const filtered = isFiltered(state.filter);
  const nodes = filtered && state.visible ? state.visible.nodes.size : t.nodes.length;
  const edges = filtered && state.visible ? state.visible.edges.size : t.edges.length;
  // The stream's cross-host first document: the edges within each host are on their way.
  const partial = t === state.live ? state.live.partial : undefined;
  const drawn = state.plan?.view.units.length ?? 0;
  const folded = state.plan ? state.plan.view.units.filter((u) => u.kind === 'aggregate').length : 0;
  countsEl.textContent = `${nodes} node${nodes === 1 ? '' : 's'} · ${edges} edge${edges === 1 ? '' : 's'}${filtered ? ` (of ${t.nodes.length} · ${t.edges.length})` : ''}` +
    (folded > 0 ? ` · ${drawn} drawn, ${folded} folded` : '') +
    (lineCounts.hidden > 0 ? ` · the ${lineCounts.lines - lineCounts.hidden} busiest of ${lineCounts.lines} lines between folded groups drawn (open or select one for all of its)` : '') + (partial ? ` · loading ${partial.omittedEdges} edges within hosts…` : '');
  const f = state.filter;
  if (f.focus !== undefined) {
    byId('focus-name').textContent = t.nodes.find((n) => n.id === f.focus)?.name ?? f.focus;
    focusBar.hidden = false;
  } else {
    focusBar.hidden = true;
  }
}

/** Says what happened when the map is empty: nothing yet, no containers, no match, Docker away, an empty instant. */
function updateEmpty(): void {
  const t = state.shown;
  let text = '';
  if (!t) {
    text = state.connection === 'retrying' ? 'Agent unreachable — retrying…' : 'Connecting to the agent…';
  } else if (t.nodes.length === 0) {
    text = state.atMs !== undefined ? `Nothing was recorded at ${formatTime(state.atMs)}.`
      : state.freshness.stale ? 'Docker unreachable: no containers known yet.' : 'No containers are running on this host.';
  } else if (state.visible && state.visible.nodes.size === 0) {
    const f = state.filter;
    const q = parseQuery(f.query);
    const what = [f.query.trim() ? `“${f.query.trim()}”` : '', f.network ? `network ${f.network}` : '', f.project ? `project ${f.project}` : ''].filter(Boolean).join(', ');
    text = f.hideIdle && !what ? 'No edge moved bytes in the last interval (hide idle is on).' : `No match for ${what || 'this filter'}${f.hideIdle ? ' among edges that moved bytes' : ''}.` +
      (q.labels.length > 0 && state.containers.size === 0 ? ' (Labels are still loading.)' : ' Press Esc to clear the search.');
  }
  emptyEl.textContent = text;
  emptyEl.hidden = text === '';
}

function applyFilter(): void {
  if (state.shown) show(state.shown);
}

function drawTable(): void {
  if (!state.shown) return;
  renderTable(tableEl, edgeRows(state.shown, state.visible?.edges), state.sort, {
    onSort: (key) => {
      state.sort = nextSort(state.sort, key);
      drawTable();
    },
    onOpen: (id) => openEdge(id),
  });
}

function updateChoices(t: Topology): void {
  const { networks, projects } = filterChoices(t);
  const fill = (el: HTMLSelectElement, all: string, values: string[]) => {
    const current = el.value;
    const have = [...el.options].slice(1).map((o) => o.value);
    if (have.join('\n') === values.join('\n')) return;
    el.replaceChildren(h('option', { value: '' }, all), ...values.map((v) => h('option', { value: v }, v)));
    el.value = values.includes(current) ? current : '';
  };
  fill(networkEl, 'all networks', networks);
  fill(projectEl, 'all projects', projects);
}

function setFilter(change: Partial<FilterState>): void {
  state.filter = { ...state.filter, ...change };
  applyFilter();
}

// ---- exports --------------------------------------------------------------------------------------------

function download(name: string, type: string, body: BlobPart): void {
  const url = URL.createObjectURL(new Blob([body], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The topology edges behind what the map shows (an aggregated line stands for its members). */
function visibleEdgeIds(): string[] {
  const t = state.shown;
  if (!t) return [];
  if (isFiltered(state.filter) && state.visible) return [...state.visible.edges];
  return t.edges.map((e) => e.id);
}

function exportName(ext: string): string {
  const t = state.shown;
  const at = t ? t.takenAt.replace(/[:.]/g, '-').replace(/-\d\d\dZ$/, 'Z') : 'now';
  return `portolan-${t?.hostname || 'map'}-${at}.${ext}`;
}

// Choosing an export closes its menu.
const exportMenu = byId<HTMLDetailsElement>('export-menu');
exportMenu.addEventListener('click', (ev) => { if ((ev.target as HTMLElement).closest('button')) exportMenu.open = false; });
byId('export-svg').addEventListener('click', () => download(exportName('svg'), 'image/svg+xml', sceneToSvg(view.scene(), LABEL_PX, TITLE_PX)));
byId('export-png').addEventListener('click', () => download(exportName('png'), 'image/png', view.png()));
byId('export-csv').addEventListener('click', () => {
  if (state.shown) download(exportName('csv'), 'text/csv', edgesCsv(edgesForExport(state.shown, visibleEdgeIds())));
});
byId('export-json').addEventListener('click', () => {
  if (state.shown) download(exportName('json'), 'application/json', edgesJson(state.shown, edgesForExport(state.shown, visibleEdgeIds())));
});

// ---- banner -------------------------------------------------------------------------------------------


function updateBanner(): void {
  let text = '';
  let kind = '';
  if (state.connection === 'retrying') {
    text = 'Agent unreachable — retrying. The map shows the last state received.';
    kind = 'error';
  } else if (state.freshness.stale) {
    const since = state.freshness.staleSince ? formatTime(Date.parse(state.freshness.staleSince)) : 'a moment ago';
    text = `Docker unreachable since ${since}; showing last known state.`;
    kind = 'warn';
  }
  const wasHidden = bannerEl.hidden;
  bannerEl.textContent = text;
  bannerEl.className = kind;
  bannerEl.hidden = text === '';
  // The banner takes height from the map.
  if (wasHidden !== bannerEl.hidden) view.cy.resize();
}

// Passing notes go in a toast over the map's corner: a banner would push the map down (and refit it).
const toastEl = byId('toast');
let toastTimer: ReturnType<typeof setTimeout> | undefined;
function tell(text: string): void {
  toastEl.textContent = text;
  toastEl.hidden = false;
  if (toastTimer) clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toastEl.hidden = true; }, 6000);
}

// ---- live stream --------------------------------------------------------------------------------------

/** Marks the first map drawn from the live stream (for the benchmark): arrived at `t0`, handled until now. */
function markFirst(t0: number): void {
  if (state.firstMs !== undefined) return;
  state.firstTopologyAt = t0;
  state.firstMs = performance.now() - t0;
  requestAnimationFrame(() => { state.firstFrameAt = performance.now(); });
}

// A fleet's first document from the stream has only the edges between hosts (`partial`): what a map with every
// host folded draws. The map draws it at once when its plan keeps every host folded, then fetches the whole
// topology and brings it up to the stream's time with the diffs received meanwhile (they are the whole
// topology's; applied to the partial one they keep it current for what it holds).
/** Diffs received since the partial document, to bring the whole topology fetched meanwhile up to date. */
let diffsSincePartial: TopologyDiff[] = [];
/** The whole topology fetched, still behind the live one's time: the next diffs bring it there. */
let pendingWhole: TopologyDoc | undefined;
let wholeAbort: AbortController | undefined;
/** True when the partial live document is drawn (else the map waits for the whole one, diffs included). */
let partialShown = false;
/** Most diffs kept for that; a whole topology older than they reach is fetched again. */
const DIFFS_KEPT = 100;

/** True when a plan draws everything the partial document holds as it would the whole one: every host folded. */
function foldsEveryHost(plan: ViewPlan): boolean {
  for (const id of plan.open) if (plan.hierarchy.aggregates.get(id)?.kind === 'host') return false;
  return true;
}

function onLiveTopology(doc: TopologyDoc): void {
  const t0 = performance.now();
  wholeAbort?.abort();
  pendingWhole = undefined;
  diffsSincePartial = [];
  partialShown = false;
  state.live = doc;
  state.freshness = { stale: doc.stale === true, ...(doc.staleSince ? { staleSince: doc.staleSince } : {}) };
  updateBanner();
  if (doc.partial) {
    fetchWhole();
    // A map already drawn (the stream reconnected), history or a filter: wait for the whole topology.
    if (state.plan || state.atMs !== undefined || isFiltered(state.filter)) return;
    // Drawn now only when the edges it lacks would not be drawn anyway (inside folded hosts).
    const p0 = performance.now();
    const plan = planView(doc, state.groupBy, { viewport: viewport(), zoom: READABLE_ZOOM, margin: FIT_MARGIN, nowMs: Date.parse(doc.takenAt) || Date.now(), keep: state.userOpen, closed: state.userClosed, all: doc.nodes });
    state.planMs = performance.now() - p0;
    if (!foldsEveryHost(plan)) return;
    partialShown = true;
    show(doc, true, true, { plan, key: planKey() });
    markFirst(t0);
    return;
  }
  state.wholeAt ??= t0;
  if (state.atMs === undefined) {
    show(doc);
    markFirst(t0);
  }
}

/** Fetches the whole topology behind a partial first document, once the map's frame is drawn; retried on failure. */
function fetchWhole(): void {
  const abort = new AbortController();
  wholeAbort = abort;
  const attempt = () => {
    if (abort.signal.aborted) return;
    fetchTopology(undefined, abort.signal).then((whole) => {
      if (!abort.signal.aborted) adoptWhole(whole);
    }, (err: unknown) => {
      if (abort.signal.aborted || (err as Error).name === 'AbortError') return;
      setTimeout(attempt, 2000);
    });
  };
  requestAnimationFrame(() => setTimeout(attempt, 0));
}

/** Takes the whole topology in place of the partial live one, once both are of the same time. */
function adoptWhole(fetched: TopologyDoc): void {
  const live = state.live;
  if (!live?.partial) return;
  let whole = fetched;
  for (const d of diffsSincePartial) if (d.from === whole.takenAt) whole = applyTopologyDiff(whole, d);
  if (whole.takenAt === live.takenAt) {
    takeWhole(whole);
  } else if (Date.parse(whole.takenAt) > Date.parse(live.takenAt)) {
    pendingWhole = whole;
  } else {
    // Older than the diffs kept reach: fetch again.
    fetchWhole();
  }
}

function takeWhole(whole: TopologyDoc): void {
  const t0 = performance.now();
  wholeAbort?.abort();
  pendingWhole = undefined;
  diffsSincePartial = [];
  // Fetched from GET /api/v1/topology: whole, no `partial`.
  state.live = whole;
  state.wholeAt = t0;
  if (state.atMs !== undefined) return;
  // Drawn from the partial document: same nodes, so the plan and every place stay and the edges within hosts
  // join. Else (not drawn, or a map from before the stream reconnected) its nodes are taken in anew.
  show(state.live, false, !partialShown);
  markFirst(t0);
}

let resyncing = false;
openLive({
  onTopology: onLiveTopology,
  onDiff(diff) {
    if (!state.live || diff.from !== state.live.takenAt) {
      // A diff for another topology than ours (one was missed): start again from a full one.
      if (!resyncing) {
        resyncing = true;
        fetchTopology().then(onLiveTopology, () => undefined).finally(() => { resyncing = false; });
      }
      return;
    }
    const t0 = performance.now();
    state.live = applyTopologyDiff(state.live, diff);
    if (state.live.partial) {
      diffsSincePartial = [...diffsSincePartial.slice(-(DIFFS_KEPT - 1)), diff];
      if (pendingWhole && diff.from === pendingWhole.takenAt) pendingWhole = applyTopologyDiff(pendingWhole, diff);
      if (pendingWhole && pendingWhole.takenAt === state.live.takenAt) {
        takeWhole(pendingWhole);
        return;
      }
      // Not drawn (a host would be open, or the map shows what it had): the whole topology is drawn when it comes.
      if (!partialShown) return;
    }
    if (state.atMs === undefined) show(state.live, false, diff.nodes.added.length + diff.nodes.updated.length + diff.nodes.removed.length > 0 || diff.hosts !== undefined);
    state.diffMs = [...state.diffMs.slice(-99), performance.now() - t0];
    if (diff.nodes.added.some((n) => n.kind === 'container')) void pollContainers();
  },
  onStatus(f) {
    state.freshness = f;
    updateBanner();
  },
  onConnection(c) {
    state.connection = c;
    updateBanner();
    if (c === 'open') void refreshHistory();
  },
});

async function pollContainers(): Promise<void> {
  try {
    const doc = await fetchContainers();
    const at = Date.parse(doc.takenAt);
    state.containers = new Map(doc.containers.map((c) => [c.id, c]));
    for (const c of doc.containers) {
      const rx = c.traffic?.rxBytesPerSec;
      const tx = c.traffic?.txBytesPerSec;
      if (rx === undefined || tx === undefined) continue;
      const series = state.rates.get(c.id) ?? [];
      if (series.at(-1)?.atMs !== at) series.push({ atMs: at, rx, tx });
      while (series.length > 0 && (series[0]?.atMs ?? 0) < Date.now() - SPARK_WINDOW_MS) series.shift();
      state.rates.set(c.id, series);
    }
    if (state.filter.query.includes('label:')) applyFilter();
    if (state.selection?.kind === 'node') refreshPanel();
  } catch (err) {
    // The stream's banner already says when the agent is away; nothing else to tell here.
    if (!(err instanceof ApiError)) throw err;
  }
}
setInterval(() => { if (!document.hidden) void pollContainers(); }, CONTAINERS_POLL_MS);
void pollContainers();

// ---- history and the time slider ----------------------------------------------------------------------

const timeline = createTimeline(byId('timeline'), {
  onSeek: (ms) => void seek(ms),
  onLive: () => goLive(),
});

async function refreshHistory(): Promise<void> {
  try {
    state.history = await fetchHistory();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    state.history = undefined;
    if (err.code === 'no_history') byId('timeline').title = err.message;
  }
  timeline.update(state.history, Date.now());
  if (state.atMs !== undefined) timeline.setMode(state.atMs);
}
setInterval(() => { if (!document.hidden && state.atMs === undefined) void refreshHistory(); }, 15_000);

let seekAbort: AbortController | undefined;
async function seek(ms: number): Promise<void> {
  seekAbort?.abort();
  const abort = new AbortController();
  seekAbort = abort;
  // History grows while the page is open: step and slide over what it covers now.
  if (!state.history || ms > state.history.lastMs) await refreshHistory();
  try {
    const t = await fetchTopology(ms, abort.signal);
    if (abort.signal.aborted) return;
    state.atMs = ms;
    timeline.setMode(ms);
    modeBadge.textContent = `History · ${formatTime(ms)}`;
    modeBadge.hidden = false;
    document.body.classList.add('past');
    show(t);
  } catch (err) {
    if ((err as Error).name === 'AbortError') return;
    if (!(err instanceof ApiError)) throw err;
    tell(err.message);
    timeline.setMode(state.atMs);
  }
}

function goLive(): void {
  seekAbort?.abort();
  state.atMs = undefined;
  modeBadge.hidden = true;
  document.body.classList.remove('past');
  timeline.setMode(undefined);
  // A partial live document not drawn yet: the whole topology is drawn when it comes.
  if (state.live && !(state.live.partial && !partialShown)) show(state.live);
  void refreshHistory();
}

// ---- the side panel -----------------------------------------------------------------------------------

interface PanelCache {
  key: string;
  sockets: Loaded<readonly SocketRow[]>;
  listening: Loaded<readonly SocketRow[]>;
  fetchedAt: number;
  stored: RatePoint[];
}
let panelCache: PanelCache | undefined;

const actions: PanelActions = {
  close: () => closePanel(),
  focus: (id) => setFilter({ focus: id }),
  openEdge: (id) => openEdge(id),
  openNode: (id) => openNode(id),
  openAggregate: (id) => openAggregate(id),
  closeAggregate: (id) => closeAggregate(id),
};

/** Shows a node's panel; when it is folded into an aggregate, opens the aggregates around it first. */
function openNode(id: string): void {
  const plan = state.plan;
  if (plan && plan.view.drawnAs.get(id) !== undefined && plan.view.drawnAs.get(id) !== id) {
    const around = openingFor(plan.hierarchy, [id]);
    for (const a of around) { state.userOpen.add(a); state.userClosed.delete(a); }
    replanWith(new Set([...plan.open, ...around]));
  }
  open({ kind: 'node', id });
}

function openEdge(id: string): void {
  open({ kind: 'edge', id });
}

function open(sel: NonNullable<Selection>): void {
  state.selection = sel;
  redrawLines();
  view.select(sel);
  panelCache = undefined;
  refreshPanel();
  // The panel narrows the map (or it was opened from the table): keep what was chosen in sight.
  if (state.view === 'map') view.reveal(sel.id);
}

function closePanel(): void {
  const had = state.selection !== undefined;
  state.selection = undefined;
  if (had) redrawLines();
  view.select(undefined);
  if (!panelEl.hidden) view.keepCentre(() => { panelEl.hidden = true; });
  panelCache = undefined;
}

/** Fetches the sockets behind the panel (and stored traffic for a container) when due. */
function loadPanelData(key: string, containerIds: readonly string[], trafficOf?: string): void {
  const now = Date.now();
  if (panelCache && panelCache.key === key && now - panelCache.fetchedAt < SOCKETS_REFRESH_MS) return;
  const first = !panelCache || panelCache.key !== key;
  const cache: PanelCache = first
    ? { key, sockets: { state: 'loading' }, listening: { state: 'loading' }, fetchedAt: now, stored: [] }
    : { ...(panelCache as PanelCache), fetchedAt: now };
  panelCache = cache;
  const stillOpen = () => panelCache?.key === key;
  if (containerIds.length === 0) {
    cache.sockets = { state: 'ok', value: [] };
    cache.listening = { state: 'ok', value: [] };
    return;
  }
  fetchSockets(containerIds).then((doc) => {
    if (!stillOpen()) return;
    const all = doc.containers.flatMap((c) => c.sockets);
    cache.sockets = { state: 'ok', value: all };
    cache.listening = { state: 'ok', value: all.filter((s) => s.state === 'LISTEN' || (s.protocol === 'udp' && s.state === 'UNCONN')) };
    refreshPanel();
  }, (err: unknown) => {
    if (!stillOpen()) return;
    const message = err instanceof Error ? err.message : String(err);
    if (cache.sockets.state !== 'ok') cache.sockets = { state: 'error', message };
    if (cache.listening.state !== 'ok') cache.listening = { state: 'error', message };
    refreshPanel();
  });
  if (trafficOf && first) {
    fetchTraffic(trafficOf, now - SPARK_WINDOW_MS).then((doc) => {
      if (!stillOpen()) return;
      cache.stored = samplesToRates(doc.samples);
      refreshPanel();
    }, () => undefined);
  }
}

function refreshPanel(): void {
  const sel = state.selection;
  const t = state.shown;
  if (!sel || !t) return;
  const live = state.atMs === undefined;
  const isContainer = (id: string) => t.nodes.some((n) => n.id === id && n.kind === 'container');
  const agg = state.plan?.hierarchy.aggregates.get(sel.id);
  if (agg) {
    renderAggregatePanel(panelEl, { aggregate: agg, members: membersOf(agg), open: state.plan?.open.has(agg.id) === true || agg.size <= 1, inner: state.plan?.view.inner.get(agg.id) ?? 0 }, actions);
    showPanel();
    return;
  }
  if (sel.kind === 'edge' && sel.id.startsWith('agg:')) {
    const ve = state.plan?.view.edges.find((e) => e.id === sel.id);
    if (!ve) {
      renderGone(`This edge is not on the map ${live ? 'any more' : 'at this time'}.`);
      return;
    }
    const label = (id: string) => nameOfDrawn(id);
    renderEdgeGroupPanel(panelEl, { fromName: label(ve.source), toName: label(ve.target), edges: ve.members, names: new Map(t.nodes.map((n) => [n.id, n.name])) }, actions);
    showPanel();
    return;
  }
  if (sel.kind === 'node' || sel.kind === 'box') {
    const node = t.nodes.find((n) => n.id === sel.id);
    if (!node) {
      renderGone(`${state.selection?.id.slice(0, 12)} is not on the map ${live ? 'any more' : 'at this time'}.`);
      return;
    }
    if (live) loadPanelData(`node:${node.id}`, node.kind === 'container' ? [node.id] : [], node.kind === 'container' ? node.id : undefined);
    const sockets = panelCache?.sockets.state === 'ok' ? panelCache.sockets.value : [];
    const sharer = state.plan?.hierarchy.sharesWith.get(node.id);
    renderNodePanel(panelEl, {
      node,
      ...(state.containers.get(node.id) ? { summary: state.containers.get(node.id) } : {}),
      listening: panelCache?.listening ?? { state: 'loading' },
      connections: nodeConnections(t, node.id, sockets),
      rates: mergeRates(Date.now() - SPARK_WINDOW_MS, panelCache?.stored ?? [], state.rates.get(node.id) ?? []),
      windowMs: SPARK_WINDOW_MS,
      ...(live ? {} : { historyAtMs: state.atMs }),
      hasDetails: live,
      nowMs: Date.parse(t.takenAt) || Date.now(),
      ...(sharer ? { sharesWith: { id: sharer, name: t.nodes.find((n) => n.id === sharer)?.name ?? sharer } } : {}),
    }, actions);
  } else {
    const edge = t.edges.find((e) => e.id === sel.id);
    if (!edge) {
      renderGone(`This edge is not on the map ${live ? 'any more' : 'at this time'}.`);
      return;
    }
    const names = new Map(t.nodes.map((n) => [n.id, n.name]));
    if (live) loadPanelData(`edge:${edge.id}`, [edge.from, edge.to].filter((id, i, a) => isContainer(id) && a.indexOf(id) === i));
    const sockets = panelCache?.sockets;
    renderEdgePanel(panelEl, {
      edge,
      fromName: names.get(edge.from) ?? edge.from,
      toName: names.get(edge.to) ?? edge.to,
      connections: !live || !sockets ? { state: 'ok', value: edgeConnections(edge, []) }
        : sockets.state === 'ok' ? { state: 'ok', value: edgeConnections(edge, sockets.value) }
          : sockets.state === 'loading' ? { state: 'ok', value: edgeConnections(edge, []) } : sockets,
      ...(live ? {} : { historyAtMs: state.atMs }),
      nowMs: Date.parse(t.takenAt) || Date.now(),
    }, actions);
  }
  showPanel();
}

/** The nodes of an aggregate, outermost order, for its panel. */
function membersOf(a: Aggregate): TopologyNode[] {
  const h = state.plan?.hierarchy;
  const t = state.shown;
  if (!h || !t) return [];
  const byId = new Map(t.nodes.map((n) => [n.id, n]));
  const out: TopologyNode[] = [];
  const walk = (x: Aggregate) => {
    for (const id of x.nodes) { const n = byId.get(id); if (n) out.push(n); }
    for (const c of x.children) { const child = h.aggregates.get(c); if (child) walk(child); }
  };
  walk(a);
  return out;
}

/** The name of something drawn: a node's, or an aggregate's first label line. */
function nameOfDrawn(id: string): string {
  const a = state.plan?.hierarchy.aggregates.get(id);
  if (a) return a.kind === 'service' ? `${a.label} ×${a.size}` : a.label;
  return state.shown?.nodes.find((n) => n.id === id)?.name ?? id;
}

/** Opens the panel beside the map (the map narrows; nothing hides under the panel). */
function showPanel(): void {
  if (!panelEl.hidden) return;
  view.keepCentre(() => { panelEl.hidden = false; });
}

function renderGone(text: string): void {
  panelEl.replaceChildren(h('header', { class: 'panel-head' }, h('h2', { id: 'panel-title' }, 'Gone'),
    h('button', { type: 'button', class: 'icon', 'aria-label': 'Close panel', onclick: () => closePanel() }, '✕')), h('p', { class: 'muted' }, text));
  showPanel();
}

// ---- controls -----------------------------------------------------------------------------------------

let searchTimer: ReturnType<typeof setTimeout> | undefined;
searchEl.addEventListener('input', () => {
  if (searchTimer) clearTimeout(searchTimer);
  searchTimer = setTimeout(() => setFilter({ query: searchEl.value }), 150);
});
networkEl.addEventListener('change', () => setFilter({ network: networkEl.value }));
projectEl.addEventListener('change', () => setFilter({ project: projectEl.value }));
idleEl.addEventListener('change', () => setFilter({ hideIdle: idleEl.checked }));
groupEl.addEventListener('change', () => {
  state.groupBy = groupEl.value === 'network' ? 'network' : 'compose';
  // Other groups, other aggregates: what the person opened or closed no longer applies.
  state.userOpen.clear();
  state.userClosed.clear();
  if (state.shown) show(state.shown, true);
});
byId('clear-focus').addEventListener('click', () => setFilter({ focus: undefined }));
byId('fit').addEventListener('click', () => view.fit());
byId('relayout').addEventListener('click', () => {
  if (state.shown) show(state.shown, true);
});
byId('theme').addEventListener('click', () => {
  theme = nextTheme(theme);
  applyTheme(theme);
  byId('theme').title = `Theme: ${theme}`;
  view.restyle();
});
byId('theme').title = `Theme: ${theme}`;
window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  applyTheme(theme);
  view.restyle();
});

function setView(v: 'map' | 'table'): void {
  state.view = v;
  byId('view-map').setAttribute('aria-selected', String(v === 'map'));
  byId('view-table').setAttribute('aria-selected', String(v === 'table'));
  tableEl.hidden = v !== 'table';
  document.body.classList.toggle('table-mode', v === 'table');
  if (v === 'table') drawTable();
}
byId('view-map').addEventListener('click', () => setView('map'));
byId('view-table').addEventListener('click', () => setView('table'));

// A window that changes size refits the map; when it changed a lot, the detail is planned again for the new
// size (more or fewer aggregates open), unless the person moved the view since the last fit.
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
let plannedFor = viewport();
new ResizeObserver(() => {
  if (resizeTimer) clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    const now = viewport();
    const changed = Math.abs(now.width - plannedFor.width) / plannedFor.width > 0.15 || Math.abs(now.height - plannedFor.height) / plannedFor.height > 0.15;
    if (changed && state.shown && panelEl.hidden) {
      plannedFor = now;
      view.cy.resize();
      show(state.shown, true);
    } else {
      view.resized();
    }
  }, 150);
}).observe(mapEl);

// The map from the keyboard: arrows move between nodes, Enter opens (a folded aggregate, or the panel),
// Backspace closes the box around the selection, + and - zoom, 0 fits.
mapEl.tabIndex = 0;
mapEl.addEventListener('keydown', (ev) => {
  const dirs: Record<string, 'left' | 'right' | 'up' | 'down'> = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' };
  const sel = state.selection;
  const dir = dirs[ev.key];
  if (dir) {
    const next = view.step(sel?.kind === 'node' ? sel.id : undefined, dir);
    if (next) {
      open({ kind: 'node', id: next });
      view.reveal(next);
    }
  } else if (ev.key === 'Enter' && sel) {
    const a = state.plan?.hierarchy.aggregates.get(sel.id);
    if (a && !(state.plan?.open.has(a.id) ?? false) && a.size > 1) openAggregate(a.id);
  } else if (ev.key === 'Backspace' && sel) {
    const a = state.plan?.hierarchy.aggregates.get(sel.id);
    const box = a && state.plan?.open.has(a.id) ? a.id : (view.cy.getElementById(sel.id).data('parent') as string | undefined);
    if (box) closeAggregate(box);
  } else if (ev.key === '+' || ev.key === '=') {
    view.zoomBy(1.25);
  } else if (ev.key === '-') {
    view.zoomBy(0.8);
  } else if (ev.key === '0') {
    view.fit();
  } else {
    return;
  }
  ev.preventDefault();
});

document.addEventListener('keydown', (ev) => {
  const typing = ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement;
  if (ev.key === 'Escape') {
    if (!panelEl.hidden) closePanel();
    else if (state.filter.focus !== undefined) setFilter({ focus: undefined });
    else if (typing && ev.target === searchEl && searchEl.value !== '') {
      searchEl.value = '';
      setFilter({ query: '' });
    }
  } else if (ev.key === '/' && !typing) {
    searchEl.focus();
    ev.preventDefault();
  }
});

updateBanner();
updateEmpty();

/** What tests and the benchmark read (the map's cytoscape core, render timings, the view); nothing writes through it. */
declare global {
  interface Window {
    portolan?: {
      readonly cy: typeof view.cy;
      readonly stats: () => {
        renders: number; lastRender?: RenderStats; recent: readonly RenderStats[]; atMs?: number; open: readonly string[];
        /** Each node of the topology shown: what draws it (itself, or a folded aggregate). */
        drawnAs: Readonly<Record<string, string>>;
        /** The topology's edges the map shows, as themselves or inside an aggregated line. */
        shownEdges: readonly string[];
        diffMs: readonly number[]; planMs?: number; firstMs?: number; firstTopologyAt?: number; firstFrameAt?: number;
        /** False while the live topology is the stream's cross-host first document; when the whole one came. */
        whole: boolean; wholeAt?: number;
        /** The shown topology's time; lines between folded groups left out of the drawing (LINE_BUDGET), of how many. */
        takenAt?: string; hiddenLines: number; lines: number;
      };
    };
  }
}
window.portolan = {
  cy: view.cy,
  stats: () => ({
    renders: state.renders, recent: state.recent, ...(state.lastRender ? { lastRender: state.lastRender } : {}), ...(state.atMs !== undefined ? { atMs: state.atMs } : {}),
    open: [...(state.plan?.open ?? [])], drawnAs: Object.fromEntries(state.plan?.view.drawnAs ?? []),
    shownEdges: (state.plan?.view.edges ?? []).flatMap((e) => e.members.map((m) => m.id)),
    diffMs: state.diffMs, ...(state.planMs !== undefined ? { planMs: state.planMs } : {}), ...(state.firstMs !== undefined ? { firstMs: state.firstMs } : {}),
    ...(state.firstFrameAt !== undefined ? { firstFrameAt: state.firstFrameAt } : {}),
    ...(state.firstTopologyAt !== undefined ? { firstTopologyAt: state.firstTopologyAt } : {}),
    whole: state.live !== undefined && state.live.partial === undefined, ...(state.wholeAt !== undefined ? { wholeAt: state.wholeAt } : {}),
    ...(state.shown ? { takenAt: state.shown.takenAt } : {}), hiddenLines: lineCounts.hidden, lines: lineCounts.lines,
  }),
};

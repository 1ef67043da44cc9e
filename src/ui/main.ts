// The web map's page: wires the live stream, the map, the table, the side panel, the filters and the time
// slider around one state. Everything shown is computed from `shown` (the live topology, or history's at
// the slider's instant) by the pure modules; this file only fetches and routes events.
import type { Topology } from '../core/model/topology.js';
import { applyTopologyDiff } from '../core/topology/diff-topology.js';
import { ApiError, fetchContainers, fetchHistory, fetchSockets, fetchTopology, fetchTraffic, openLive } from './api.js';
import { edgeConnections, nodeConnections } from './connections.js';
import { byId, h } from './dom.js';
import { filterChoices, NO_FILTER, visibleElements, type FilterState, type Visible } from './filter.js';
import { formatTime } from './format.js';
import { toGraphModel, type GroupBy } from './graph-model.js';
import { createGraphView, type RenderStats, type Selection } from './graph-view.js';
import { renderEdgePanel, renderNodePanel, type Loaded, type PanelActions } from './panel.js';
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
  live?: Topology;
  shown?: Topology;
  /** Set while the map shows history. */
  atMs?: number;
  groupBy: GroupBy;
  filter: FilterState;
  visible?: Visible;
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
}

const state: State = {
  groupBy: 'compose', filter: NO_FILTER, view: 'map', selection: undefined, sort: { key: 'sent', descending: true },
  containers: new Map(), rates: new Map(), connection: 'connecting', freshness: { stale: false }, renders: 0, recent: [],
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

const view = createGraphView(mapEl, (sel) => (sel ? (sel.kind === 'node' ? openNode(sel.id) : openEdge(sel.id)) : closePanel()));

// ---- showing a topology -------------------------------------------------------------------------------

function show(t: Topology): void {
  state.shown = t;
  state.lastRender = view.render(toGraphModel(t, state.groupBy));
  state.renders++;
  state.recent = [...state.recent.slice(-49), state.lastRender];
  byId('host').textContent = t.hostname ? `on ${t.hostname}` : '';
  updateChoices(t);
  applyFilter();
  refreshPanel();
  emptyEl.hidden = t.nodes.length > 0;
}

function applyFilter(): void {
  if (!state.shown) return;
  const f = state.filter;
  const labels = new Map([...state.containers].map(([id, c]) => [id, c.labels]));
  const filtered = f.query !== '' || f.network !== '' || f.project !== '' || f.hideIdle || f.focus !== undefined;
  state.visible = visibleElements(state.shown, f, labels);
  view.setVisible(filtered ? state.visible : undefined);
  const t = state.shown;
  const nodes = filtered ? state.visible.nodes.size : t.nodes.length;
  const edges = filtered ? state.visible.edges.size : t.edges.length;
  countsEl.textContent = `${nodes} node${nodes === 1 ? '' : 's'} · ${edges} edge${edges === 1 ? '' : 's'}${filtered ? ` (of ${t.nodes.length} · ${t.edges.length})` : ''}`;
  if (f.focus !== undefined) {
    const name = t.nodes.find((n) => n.id === f.focus)?.name ?? f.focus;
    byId('focus-name').textContent = name;
    focusBar.hidden = false;
  } else {
    focusBar.hidden = true;
  }
  if (state.view === 'table') drawTable();
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

function setFilter(change: Partial<FilterState>, fit = false): void {
  state.filter = { ...state.filter, ...change };
  applyFilter();
  if (fit) view.fit();
}

// ---- banner -------------------------------------------------------------------------------------------

let notice: { text: string; until: number } | undefined;

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
  } else if (notice && notice.until > Date.now()) {
    text = notice.text;
    kind = 'info';
  }
  const wasHidden = bannerEl.hidden;
  bannerEl.textContent = text;
  bannerEl.className = kind;
  bannerEl.hidden = text === '';
  // The banner takes height from the map.
  if (wasHidden !== bannerEl.hidden) view.cy.resize();
}

function tell(text: string): void {
  notice = { text, until: Date.now() + 6000 };
  updateBanner();
  setTimeout(updateBanner, 6100);
}

// ---- live stream --------------------------------------------------------------------------------------

function onLiveTopology(doc: TopologyDoc): void {
  state.live = doc;
  state.freshness = { stale: doc.stale === true, ...(doc.staleSince ? { staleSince: doc.staleSince } : {}) };
  updateBanner();
  if (state.atMs === undefined) show(doc);
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
    state.live = applyTopologyDiff(state.live, diff);
    if (state.atMs === undefined) show(state.live);
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
  if (state.live) show(state.live);
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
  focus: (id) => {
    setFilter({ focus: id }, true);
  },
  openEdge: (id) => openEdge(id),
  openNode: (id) => openNode(id),
};

function openNode(id: string): void {
  open({ kind: 'node', id });
}

function openEdge(id: string): void {
  open({ kind: 'edge', id });
}

function open(sel: NonNullable<Selection>): void {
  state.selection = sel;
  view.select(sel);
  panelCache = undefined;
  refreshPanel();
  // The panel narrows the map (or it was opened from the table): keep what was chosen in sight.
  if (state.view === 'map') view.reveal(sel.id);
}

function closePanel(): void {
  state.selection = undefined;
  view.select(undefined);
  if (!panelEl.hidden) {
    panelEl.hidden = true;
    view.cy.resize();
  }
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
  if (sel.kind === 'node') {
    const node = t.nodes.find((n) => n.id === sel.id);
    if (!node) {
      renderGone(`${state.selection?.id.slice(0, 12)} is not on the map ${live ? 'any more' : 'at this time'}.`);
      return;
    }
    if (live) loadPanelData(`node:${node.id}`, node.kind === 'container' ? [node.id] : [], node.kind === 'container' ? node.id : undefined);
    const sockets = panelCache?.sockets.state === 'ok' ? panelCache.sockets.value : [];
    renderNodePanel(panelEl, {
      node,
      ...(state.containers.get(node.id) ? { summary: state.containers.get(node.id) } : {}),
      listening: panelCache?.listening ?? { state: 'loading' },
      connections: nodeConnections(t, node.id, sockets),
      rates: mergeRates(Date.now() - SPARK_WINDOW_MS, panelCache?.stored ?? [], state.rates.get(node.id) ?? []),
      windowMs: SPARK_WINDOW_MS,
      ...(live ? {} : { historyAtMs: state.atMs }),
      hasDetails: live,
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
    }, actions);
  }
  showPanel();
}

/** Opens the panel beside the map (the map narrows; nothing hides under the panel). */
function showPanel(): void {
  if (!panelEl.hidden) return;
  panelEl.hidden = false;
  view.cy.resize();
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
networkEl.addEventListener('change', () => setFilter({ network: networkEl.value }, true));
projectEl.addEventListener('change', () => setFilter({ project: projectEl.value }, true));
idleEl.addEventListener('change', () => setFilter({ hideIdle: idleEl.checked }));
groupEl.addEventListener('change', () => {
  state.groupBy = groupEl.value === 'network' ? 'network' : 'compose';
  if (!state.shown) return;
  show(state.shown);
  // Groups changed shape: lay the map out again (the person asked for it).
  view.relayout();
});
byId('clear-focus').addEventListener('click', () => setFilter({ focus: undefined }, true));
byId('fit').addEventListener('click', () => view.fit());
byId('relayout').addEventListener('click', () => {
  view.relayout();
  applyFilter();
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

document.addEventListener('keydown', (ev) => {
  const typing = ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement;
  if (ev.key === 'Escape') {
    if (!panelEl.hidden) closePanel();
    else if (state.filter.focus !== undefined) setFilter({ focus: undefined }, true);
  } else if (ev.key === '/' && !typing) {
    searchEl.focus();
    ev.preventDefault();
  }
});

updateBanner();

/** What tests and the benchmark read (the map's cytoscape core and render timings); nothing writes through it. */
declare global {
  interface Window {
    portolan?: { readonly cy: typeof view.cy; readonly stats: () => { renders: number; lastRender?: RenderStats; recent: readonly RenderStats[]; atMs?: number } };
  }
}
window.portolan = { cy: view.cy, stats: () => ({ renders: state.renders, recent: state.recent, ...(state.lastRender ? { lastRender: state.lastRender } : {}), ...(state.atMs !== undefined ? { atMs: state.atMs } : {}) }) };

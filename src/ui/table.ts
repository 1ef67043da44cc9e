// The table view: the same edges as the map, one row each, sortable by any column and usable from the
// keyboard (Tab to the table, arrows between rows, Enter opens the edge's connections).
import type { Topology } from '../core/model/topology.js';
import { h } from './dom.js';
import { formatMs, formatRate } from './format.js';
import { edgeHealth, type HealthLevel as Health } from '../core/report/edge-health.js';

/** One row of the table. */
export interface EdgeRow {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly connections: number;
  readonly states: string;
  readonly sent?: number;
  readonly received?: number;
  readonly rtt?: number;
  readonly retransmits?: number;
  readonly via: string;
  readonly health: Health;
}

/** Columns: key, heading, and whether bigger sorts first by default. */
export const COLUMNS = [
  { key: 'from', label: 'From', numeric: false },
  { key: 'to', label: 'To', numeric: false },
  { key: 'port', label: 'Port', numeric: true },
  { key: 'connections', label: 'Conns', numeric: true },
  { key: 'sent', label: 'Sent/s', numeric: true },
  { key: 'received', label: 'Recv/s', numeric: true },
  { key: 'rtt', label: 'RTT', numeric: true },
  { key: 'retransmits', label: 'Retrans', numeric: true },
  { key: 'health', label: 'Health', numeric: true },
  { key: 'states', label: 'States', numeric: false },
  { key: 'via', label: 'Via', numeric: false },
] as const;

/** A sortable column. */
export type SortKey = (typeof COLUMNS)[number]['key'];

/** The sort order. */
export interface Sort {
  readonly key: SortKey;
  readonly descending: boolean;
}

/** Rows for the visible edges (pure). */
export function edgeRows(t: Topology, visibleEdges?: ReadonlySet<string>): EdgeRow[] {
  const names = new Map(t.nodes.map((n) => [n.id, n.name]));
  return t.edges.filter((e) => !visibleEdges || visibleEdges.has(e.id)).map((e) => ({
    id: e.id,
    from: names.get(e.from) ?? e.from,
    to: names.get(e.to) ?? e.to,
    protocol: e.protocol,
    port: e.port,
    connections: e.connections,
    states: Object.entries(e.states).map(([s, n]) => `${s}=${n}`).join(' '),
    ...(e.traffic?.bytesSentPerSec !== undefined ? { sent: e.traffic.bytesSentPerSec } : {}),
    ...(e.traffic?.bytesReceivedPerSec !== undefined ? { received: e.traffic.bytesReceivedPerSec } : {}),
    ...(e.traffic?.rttMeanMs !== undefined ? { rtt: e.traffic.rttMeanMs } : {}),
    ...(e.traffic?.retransmits !== undefined ? { retransmits: e.traffic.retransmits } : {}),
    via: e.via.join(', '),
    health: edgeHealth(e).level,
  }));
}

const HEALTH_ORDER: Record<Health, number> = { unknown: 0, ok: 1, slow: 2, bad: 3 };

/** Sorts rows by a column (pure); missing figures sort last either way, ties by from, to, port. */
export function sortRows(rows: readonly EdgeRow[], sort: Sort): EdgeRow[] {
  const value = (r: EdgeRow): string | number | undefined => (sort.key === 'health' ? HEALTH_ORDER[r.health] : r[sort.key]);
  const sign = sort.descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === undefined || vb === undefined) {
      if (va !== vb) return va === undefined ? 1 : -1;
    } else if (va !== vb) {
      return sign * (typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb)));
    }
    return a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || a.port - b.port;
  });
}

/** The sort after clicking a column: the same column flips; another starts descending for numbers. */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (current.key === key) return { key, descending: !current.descending };
  return { key, descending: COLUMNS.find((c) => c.key === key)?.numeric ?? false };
}

/** Renders the table into `root`, keeping keyboard focus on the same edge across updates. */
export function renderTable(root: HTMLElement, rows: readonly EdgeRow[], sort: Sort, handlers: { onSort(key: SortKey): void; onOpen(edgeId: string): void }): void {
  const focusedId = (document.activeElement as HTMLElement | null)?.dataset?.edge;
  const focusedSort = (document.activeElement as HTMLElement | null)?.dataset?.sort;
  const sorted = sortRows(rows, sort);
  const head = h('tr', {}, ...COLUMNS.map((c) => h('th', {
    scope: 'col',
    'aria-sort': c.key === sort.key ? (sort.descending ? 'descending' : 'ascending') : 'none',
    class: c.numeric ? 'num' : undefined,
  }, h('button', { type: 'button', 'data-sort': c.key, onclick: () => handlers.onSort(c.key) },
    c.label, c.key === sort.key ? (sort.descending ? ' ▾' : ' ▴') : ''))));
  const body = h('tbody');
  sorted.forEach((r, i) => {
    const tr = h('tr', {
      tabindex: (focusedId ? r.id === focusedId : i === 0) ? 0 : -1,
      'data-edge': r.id,
      class: `health-${r.health}`,
      onclick: () => handlers.onOpen(r.id),
    },
    h('td', {}, r.from), h('td', {}, r.to), h('td', { class: 'num' }, `${r.protocol}/${r.port}`), h('td', { class: 'num' }, r.connections),
    h('td', { class: 'num' }, formatRate(r.sent)), h('td', { class: 'num' }, formatRate(r.received)), h('td', { class: 'num' }, formatMs(r.rtt)),
    h('td', { class: 'num' }, r.retransmits ?? '–'), h('td', { class: 'num' }, h('span', { class: `dot ${r.health}`, 'aria-hidden': 'true' }), ` ${r.health}`),
    h('td', {}, r.states), h('td', {}, r.via));
    body.append(tr);
  });
  body.addEventListener('keydown', (ev) => {
    const tr = (ev.target as HTMLElement).closest('tr');
    if (!tr) return;
    const move = (to: Element | null) => {
      if (!(to instanceof HTMLTableRowElement)) return;
      tr.tabIndex = -1;
      to.tabIndex = 0;
      to.focus();
      ev.preventDefault();
    };
    if (ev.key === 'ArrowDown') move(tr.nextElementSibling);
    else if (ev.key === 'ArrowUp') move(tr.previousElementSibling);
    else if (ev.key === 'Home') move(body.firstElementChild);
    else if (ev.key === 'End') move(body.lastElementChild);
    else if (ev.key === 'Enter' || ev.key === ' ') {
      const id = tr.dataset.edge;
      if (id) handlers.onOpen(id);
      ev.preventDefault();
    }
  });
  const table = h('table', { class: 'edges', 'aria-label': 'Edges: client → server' },
    h('caption', {}, `${rows.length} edge${rows.length === 1 ? '' : 's'} (client → server). Arrow keys move between rows; Enter shows the connections.`),
    h('thead', {}, head), body);
  root.replaceChildren(table);
  if (rows.length === 0) root.append(h('p', { class: 'empty' }, 'No edges match.'));
  // Keep the keyboard where it was.
  if (focusedId) body.querySelector<HTMLElement>(`tr[data-edge="${CSS.escape(focusedId)}"]`)?.focus();
  else if (focusedSort) head.querySelector<HTMLElement>(`button[data-sort="${CSS.escape(focusedSort)}"]`)?.focus();
}

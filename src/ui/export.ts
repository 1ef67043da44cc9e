// Exports (pure): the current view as an SVG document (from the elements as drawn, graph-view.ts's scene) and
// the visible edges as CSV or JSON — the topology's own edges (an aggregated line on the map stands for its
// members, which are listed one by one), with the figures the table shows.
import type { Topology, TopologyEdge } from '../core/model/topology.js';
import { edgeHealth } from '../core/report/edge-health.js';
import type { Point } from './layered-layout.js';
import type { Scene } from './graph-view.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (n: number) => (Number.isFinite(n) ? Math.round(n * 100) / 100 : 0);

function shapePath(shape: string, x: number, y: number, r: number): string {
  const poly = (pts: [number, number][]) => `<polygon points="${pts.map(([a, b]) => `${num(x + a * r)},${num(y + b * r)}`).join(' ')}"`;
  if (shape === 'ellipse') return `<circle cx="${num(x)}" cy="${num(y)}" r="${num(r)}"`;
  if (shape.includes('diamond')) return poly([[0, -1], [1, 0], [0, 1], [-1, 0]]);
  if (shape.includes('hexagon')) return poly([[-0.5, -1], [0.5, -1], [1, 0], [0.5, 1], [-0.5, 1], [-1, 0]]);
  return `<rect x="${num(x - r)}" y="${num(y - r)}" width="${num(2 * r)}" height="${num(2 * r)}" rx="${num(r / 4)}"`;
}

/** An SVG document of a scene, clipped to what the window showed (its extent). */
export function sceneToSvg(s: Scene, fontPx: number, titlePx: number): string {
  const { x1, y1, x2, y2 } = s.extent;
  const w = num(x2 - x1);
  const h = num(y2 - y1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${num(x1)} ${num(y1)} ${w} ${h}" width="${w}" height="${h}" font-family="system-ui, sans-serif">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>',
    `<rect x="${num(x1)}" y="${num(y1)}" width="${w}" height="${h}" fill="${esc(s.background)}"/>`,
  ];
  for (const b of s.boxes) {
    out.push(`<rect x="${num(b.x1)}" y="${num(b.y1)}" width="${num(b.x2 - b.x1)}" height="${num(b.y2 - b.y1)}" rx="6" fill="${esc(b.fill)}" stroke="${esc(b.stroke)}"${b.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    out.push(`<text x="${num((b.x1 + b.x2) / 2)}" y="${num(b.y1 - 4)}" text-anchor="middle" font-size="${titlePx}" font-weight="600" fill="${esc(b.text)}">${esc(b.label)}</text>`);
  }
  for (const e of s.edges) {
    const [first, ...rest] = e.points as [Point, ...Point[]];
    if (!first || rest.length === 0) continue;
    const d = rest.length === 1 ? `M${num(first.x)},${num(first.y)} L${num(rest[0]?.x ?? 0)},${num(rest[0]?.y ?? 0)}`
      : `M${num(first.x)},${num(first.y)} Q${rest.slice(0, -1).map((p) => `${num(p.x)},${num(p.y)}`).join(' ')} ${num(rest.at(-1)?.x ?? 0)},${num(rest.at(-1)?.y ?? 0)}`;
    out.push(`<path d="${d}" fill="none" stroke="${esc(e.color)}" stroke-width="${num(e.width)}" opacity="${num(e.opacity)}"${e.dashed ? ' stroke-dasharray="6 4"' : ''}${e.arrow ? ' marker-end="url(#arrow)"' : ''}/>`);
    if (e.label) {
      const mid = e.points[Math.floor(e.points.length / 2)] ?? first;
      const a = e.points[0] ?? first;
      const b = e.points.at(-1) ?? first;
      const mx = e.points.length === 2 ? (a.x + b.x) / 2 : mid.x;
      const my = e.points.length === 2 ? (a.y + b.y) / 2 : mid.y;
      out.push(`<text x="${num(mx)}" y="${num(my - 3)}" text-anchor="middle" font-size="${fontPx}" fill="${esc(e.text)}">${esc(e.label)}</text>`);
    }
  }
  for (const n of s.nodes) {
    const r = n.size / 2;
    out.push(`${shapePath(n.shape, n.x, n.y, r)} fill="${esc(n.fill)}" stroke="${esc(n.stroke)}" stroke-width="${num(n.strokeWidth)}" opacity="${num(n.opacity)}"/>`);
    n.label.split('\n').forEach((line, i) => {
      out.push(`<text x="${num(n.x)}" y="${num(n.y + r + fontPx + 2 + i * fontPx * 1.15)}" text-anchor="middle" font-size="${fontPx}" fill="${esc(n.text)}">${esc(line)}</text>`);
    });
  }
  out.push('</svg>');
  return out.join('\n');
}

/** One exported edge. */
export interface EdgeExport {
  readonly id: string;
  readonly from: string;
  readonly fromName: string;
  readonly to: string;
  readonly toName: string;
  readonly protocol: string;
  readonly port: number;
  readonly publishedPorts: readonly number[];
  readonly connections: number;
  readonly states: string;
  readonly sentBytesPerSec?: number;
  readonly receivedBytesPerSec?: number;
  readonly rttP50Ms?: number;
  readonly rttP95Ms?: number;
  readonly retransmitRatio?: number;
  readonly health: string;
  readonly via: string;
  readonly closedAt?: string;
}

/** The visible edges (ids) of a topology, as rows (pure). */
export function edgesForExport(t: Topology, ids: Iterable<string>): EdgeExport[] {
  const names = new Map(t.nodes.map((n) => [n.id, n.name]));
  const byId = new Map(t.edges.map((e) => [e.id, e]));
  const rows: EdgeExport[] = [];
  for (const id of ids) {
    const e: TopologyEdge | undefined = byId.get(id);
    if (!e) continue;
    const tr = e.traffic;
    rows.push({
      id: e.id, from: e.from, fromName: names.get(e.from) ?? e.from, to: e.to, toName: names.get(e.to) ?? e.to, protocol: e.protocol, port: e.port,
      publishedPorts: e.publishedPorts ?? [], connections: e.connections, states: Object.entries(e.states).map(([s, n]) => `${s}=${n}`).join(' '),
      ...(tr?.bytesSentPerSec !== undefined ? { sentBytesPerSec: tr.bytesSentPerSec } : {}),
      ...(tr?.bytesReceivedPerSec !== undefined ? { receivedBytesPerSec: tr.bytesReceivedPerSec } : {}),
      ...(tr?.rttP50Ms !== undefined ? { rttP50Ms: tr.rttP50Ms } : {}),
      ...(tr?.rttP95Ms !== undefined ? { rttP95Ms: tr.rttP95Ms } : {}),
      ...(tr?.recent?.retransmitRatio !== undefined ? { retransmitRatio: tr.recent.retransmitRatio } : {}),
      health: edgeHealth(e).level, via: e.via.join(' '), ...(e.closedAt ? { closedAt: e.closedAt } : {}),
    });
  }
  return rows.sort((a, b) => a.fromName.localeCompare(b.fromName) || a.toName.localeCompare(b.toName) || a.port - b.port);
}

const COLUMNS: readonly (keyof EdgeExport)[] = [
  'fromName', 'toName', 'protocol', 'port', 'publishedPorts', 'connections', 'states', 'sentBytesPerSec', 'receivedBytesPerSec',
  'rttP50Ms', 'rttP95Ms', 'retransmitRatio', 'health', 'via', 'closedAt', 'from', 'to', 'id',
];

/** RFC 4180 CSV with a header row; a cell that a spreadsheet would run as a formula is quoted with a leading `'`. */
export function edgesCsv(rows: readonly EdgeExport[]): string {
  const cell = (v: unknown) => {
    let s = v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v);
    if (/^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s)) s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}

/** The JSON export: when, from which host, and the rows. */
export function edgesJson(t: Topology, rows: readonly EdgeExport[]): string {
  return JSON.stringify({ takenAt: t.takenAt, hostname: t.hostname, edges: rows }, null, 2);
}

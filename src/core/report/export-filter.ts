// Which exported documents a sink receives (`--export-container`, `--export-port`, `--export-direction`,
// `--export-no-loopback`, `--export-type`), so a busy host does not flood its receiver. Pure; container globs go
// through core/glob.ts (no backtracking), never a RegExp.
import { compileGlob, MAX_GLOBS, type Glob } from '../glob.js';
import { isLoopbackIp } from '../parse/ip-text.js';
import type { ConnbeatDirection, ConnbeatDocument } from './connbeat.js';

/** An inclusive port range (a single port has from = to). */
export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** The kinds of event a filter can keep. */
export type ExportEventKind = 'connection' | 'container';

/** A compiled filter; every list given must match (an empty or absent list keeps everything). */
export interface ExportFilter {
  /** Globs matched against the container's name or id; a document without a container never matches. */
  readonly containers: readonly Glob[];
  /** Connections with the local or the remote port in one of these ranges. */
  readonly ports: readonly PortRange[];
  readonly directions: readonly ConnbeatDirection[];
  /** False: drop connections whose two ends are loopback addresses. */
  readonly loopback: boolean;
  readonly kinds: readonly ExportEventKind[];
}

/** What a user writes, before checking. */
export interface ExportFilterSpec {
  readonly containers?: readonly string[];
  readonly ports?: readonly string[];
  readonly directions?: readonly string[];
  readonly loopback?: boolean;
  readonly kinds?: readonly string[];
}

/** Most port ranges one filter takes. */
export const MAX_PORT_RANGES = 64;

/** Parses `8080`, `8000-8999`; throws with the reason on anything else. */
export function parsePortRange(text: string): PortRange {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  const from = Number(m?.[1]);
  const to = m?.[2] !== undefined ? Number(m[2]) : from;
  if (!m || from < 1 || to > 65535 || from > to) throw new Error(`bad port "${text}": use a port (1-65535) or a range like 8000-8999`);
  return { from, to };
}

/** Checks and compiles a filter spec; throws one clear message for the first problem. */
export function compileExportFilter(spec: ExportFilterSpec = {}): ExportFilter {
  const containers = spec.containers ?? [];
  if (containers.length > MAX_GLOBS) throw new Error(`at most ${MAX_GLOBS} container globs`);
  const ports = (spec.ports ?? []).flatMap((p) => p.split(',')).filter((p) => p.trim() !== '').map(parsePortRange);
  if (ports.length > MAX_PORT_RANGES) throw new Error(`at most ${MAX_PORT_RANGES} ports or port ranges`);
  const directions = (spec.directions ?? []).flatMap((d) => d.split(',')).map((d) => d.trim().toLowerCase()).filter((d) => d !== '');
  for (const d of directions) if (d !== 'incoming' && d !== 'outgoing') throw new Error(`bad direction "${d}": use incoming or outgoing`);
  const kinds = (spec.kinds ?? []).flatMap((d) => d.split(',')).map((d) => d.trim().toLowerCase()).filter((d) => d !== '');
  for (const k of kinds) if (k !== 'connection' && k !== 'container') throw new Error(`bad event kind "${k}": use connection or container`);
  return {
    containers: containers.map((g) => compileGlob(g)), ports, directions: directions as ConnbeatDirection[],
    loopback: spec.loopback ?? true, kinds: kinds as ExportEventKind[],
  };
}

/** A filter that keeps everything. */
export const KEEP_ALL: ExportFilter = { containers: [], ports: [], directions: [], loopback: true, kinds: [] };

/**
 * Whether a document passes. Port, direction and loopback rules concern connections only: a container event
 * passes them (it has no port) and is held back by the container globs and the kinds alone.
 */
export function matchesExportFilter(doc: ConnbeatDocument, f: ExportFilter): boolean {
  const kind: ExportEventKind = doc.event.startsWith('container.') ? 'container' : 'connection';
  if (f.kinds.length > 0 && !f.kinds.includes(kind)) return false;
  if (f.containers.length > 0) {
    const c = doc.container;
    if (!c || !f.containers.some((g) => g.test(c.name) || g.test(c.id))) return false;
  }
  if (kind === 'container') return true;
  if (f.directions.length > 0 && (doc.direction === undefined || !f.directions.includes(doc.direction))) return false;
  if (f.ports.length > 0) {
    const inRange = (p: number | undefined) => p !== undefined && f.ports.some((r) => p >= r.from && p <= r.to);
    if (!inRange(doc.local_port) && !inRange(doc.remote_port)) return false;
  }
  if (!f.loopback && doc.local_ip !== undefined && doc.remote_ip !== undefined && isLoopbackIp(doc.local_ip) && isLoopbackIp(doc.remote_ip)) return false;
  return true;
}

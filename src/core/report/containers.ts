// The `/api/v1/containers` document: each container as in `ps --json` without its socket list, with the
// figures `top` shows. `portolan top --server` renders its rows.
import type { PsContainer, PsReport } from './ps.js';
import type { TopContainer } from './top.js';

/** One container of the containers document. */
export type ContainerSummary = Omit<PsContainer, 'sockets'> & {
  /** Number of sockets attributed to it. */
  readonly socketCount: number;
  /** The row `portolan top` shows for it. */
  readonly top: TopContainer;
};

/** The containers document. */
export interface ContainersReport {
  readonly takenAt: string;
  readonly host: { readonly hostname: string };
  readonly warnings: readonly string[];
  readonly containers: readonly ContainerSummary[];
}

/** Joins the ps report with the top rows (pure); containers keep the ps report's order (by name). */
export function toContainersReport(report: PsReport, top: readonly TopContainer[]): ContainersReport {
  const rows = new Map(top.map((t) => [t.id, t]));
  const containers: ContainerSummary[] = [];
  for (const c of report.containers) {
    const row = rows.get(c.id);
    if (!row) continue;
    const { sockets, ...rest } = c;
    containers.push({ ...rest, socketCount: sockets.length, top: row });
  }
  return { takenAt: report.takenAt, host: report.host, warnings: report.warnings, containers };
}

// Column tables for terminals: one renderer for `ps`, `top` and `graph`, escaping every cell.
import { escapeTerminal } from './terminal-text.js';

/**
 * Renders rows as left-aligned columns separated by two spaces (the way `ss` and `docker ps` print). Cells are
 * escaped for the terminal (names and commands come from containers); widths are found in one pass, so a
 * table of any number of rows renders (no argument spreading, which overflows the stack past ~120,000 rows).
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const safe = rows.map((r) => r.map(escapeTerminal));
  const widths = header.map((h) => h.length);
  for (const r of safe) {
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i] ?? 0, (r[i] ?? '').length);
  }
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const out: string[] = [line(header)];
  for (const r of safe) out.push(line(r));
  return out.join('\n') + '\n';
}

/** Renders rows as left-aligned columns separated by two spaces (the way `ss` and `docker ps` print). */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Formats an endpoint as `ss` does: IPv6 in brackets, port 0 as `*`. */
export function formatEndpoint(e: { address: string; port: number }): string {
  const port = e.port === 0 ? '*' : String(e.port);
  return e.address.includes(':') ? `[${e.address}]:${port}` : `${e.address}:${port}`;
}

/** The one table renderer (pure, in core; escapes every cell for the terminal). */
export { renderTable } from '../core/report/text-table.js';

/** Formats an endpoint as `ss` does: IPv6 in brackets, port 0 as `*`. */
export function formatEndpoint(e: { address: string; port: number }): string {
  const port = e.port === 0 ? '*' : String(e.port);
  return e.address.includes(':') ? `[${e.address}]:${port}` : `${e.address}:${port}`;
}

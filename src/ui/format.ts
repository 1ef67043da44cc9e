// How numbers read on the map, in the panels and the table (pure).

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** Bytes in binary multiples, 3 significant digits: `0 B`, `812 B`, `1.21 KB`, `37.5 MB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const text = i === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${text} ${UNITS[i]}`;
}

/** A rate in bytes per second; `–` when unknown. */
export function formatRate(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : `${formatBytes(n)}/s`;
}

/** Milliseconds as RTTs read: `0.06 ms`, `4.2 ms`, `312 ms`; `–` when unknown. */
export function formatMs(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return n < 1 ? `${n.toFixed(2)} ms` : n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`;
}

/** An endpoint as `address:port`, IPv6 in brackets; IPv4-mapped IPv6 shown as IPv4. */
export function formatEndpoint(e: { readonly address: string; readonly port: number }): string {
  const a = plainAddress(e.address);
  return a.includes(':') ? `[${a}]:${e.port}` : `${a}:${e.port}`;
}

/** The address with an IPv4-mapped prefix (`::ffff:`) removed, so both spellings compare equal. */
export function plainAddress(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** A wall-clock time for labels: `14:03:27` today, else `2026-11-20 14:03`. */
export function formatTime(ms: number, nowMs: number = Date.now()): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const now = new Date(nowMs);
  if (d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time.slice(0, 5)}`;
}

/** How long ago, coarse: `12 s ago`, `5 min ago`, `3 h ago`. */
export function formatAgo(ms: number, nowMs: number = Date.now()): string {
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

// Durations and instants as users type them: `7d`, `90m`, `2026-11-21T05:00:00Z`, `1763701200`, `-5m`.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses a duration (`500ms`, `30s`, `15m`, `12h`, `7d`, `2w`, or a sum like `1h30m`) into ms; throws on garbage. */
export function parseDuration(text: string): number {
  const t = text.trim();
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)];
  if (t === '' || parts.map((p) => p[0]).join('') !== t) {
    throw new Error(`bad duration "${text}": use a number and a unit (ms, s, m, h, d, w), e.g. 30s, 15m, 7d`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] ?? ''] ?? 0), 0);
}

/**
 * Parses an instant into ms since the epoch: an ISO 8601 / RFC 3339 date, unix seconds (fractions allowed),
 * or a time relative to `nowMs` (`-5m`, `-2h`); throws on garbage.
 */
export function parseInstant(text: string, nowMs: number): number {
  const t = text.trim();
  if (/^-\S+$/.test(t)) return nowMs - parseDuration(t.slice(1));
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  // Only dates with a year-month-day shape: Date.parse accepts too much otherwise.
  const ms = /^\d{4}-\d{2}-\d{2}/.test(t) ? Date.parse(t) : NaN;
  if (Number.isNaN(ms)) {
    throw new Error(`bad time "${text}": use an ISO 8601 date (2026-11-21T05:00:00Z), unix seconds, or a relative time like -5m`);
  }
  return ms;
}

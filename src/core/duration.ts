// Durations and instants as users type them: `7d`, `90m`, `2026-11-21T05:00:00Z`, `1763701200`, `-5m`.
// Both come from HTTP parameters too: lengths and values are bounded, so garbage is a clear error, never a
// number that a Date cannot hold.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Longest duration or instant text accepted. */
export const MAX_TIME_TEXT = 64;
/** Largest magnitude of ms since the epoch a Date holds (±100,000,000 days); beyond it is an error. */
export const MAX_EPOCH_MS = 8.64e15;

/** Parses a duration (`500ms`, `30s`, `15m`, `12h`, `7d`, `2w`, or a sum like `1h30m`) into ms; throws on garbage. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (t.length > MAX_TIME_TEXT) throw new Error(`bad duration: longer than ${MAX_TIME_TEXT} characters`);
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)];
  if (t === '' || parts.map((p) => p[0]).join('') !== t) {
    throw new Error(`bad duration "${text}": use a number and a unit (ms, s, m, h, d, w), e.g. 30s, 15m, 7d`);
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] ?? ''] ?? 0), 0);
  if (!Number.isFinite(ms) || ms > MAX_EPOCH_MS) throw new Error(`bad duration "${text}": too long (at most ${Math.floor(MAX_EPOCH_MS / 604_800_000)} weeks)`);
  return ms;
}

/**
 * Parses an instant into ms since the epoch: an ISO 8601 / RFC 3339 date, unix seconds (fractions allowed),
 * or a time relative to `nowMs` (`-5m`, `-2h`); throws on garbage and on instants a Date cannot hold.
 */
export function parseInstant(text: string, nowMs: number): number {
  const t = text.trim();
  if (t.length > MAX_TIME_TEXT) throw new Error(`bad time: longer than ${MAX_TIME_TEXT} characters`);
  let ms: number;
  if (/^-\S+$/.test(t)) ms = nowMs - parseDuration(t.slice(1));
  else if (/^\d+(\.\d+)?$/.test(t)) ms = Math.round(Number(t) * 1000);
  else {
    // Only dates with a year-month-day shape: Date.parse accepts too much otherwise.
    ms = /^\d{4}-\d{2}-\d{2}/.test(t) ? Date.parse(t) : NaN;
    if (Number.isNaN(ms)) {
      throw new Error(`bad time "${text}": use an ISO 8601 date (2026-11-21T05:00:00Z), unix seconds, or a relative time like -5m`);
    }
  }
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_EPOCH_MS) throw new Error(`bad time "${text}": out of range`);
  return ms;
}

// Default age of history, apart from the store so the CLI can show it without loading SQLite.

/** Default retention: 7 days. */
export const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000;

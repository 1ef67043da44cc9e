// Sizes as people write them: `64MiB`, `10MB`, `512k`, `1048576` (bytes).

const UNITS: Readonly<Record<string, number>> = {
  '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3,
};

/** Parses a byte size (a whole or decimal number and an optional unit: B, k/KiB, KB, M/MiB, MB, G/GiB, GB); throws with the reason. */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d{1,15}(?:\.\d{1,6})?)\s*([a-z]{0,3})\s*$/i.exec(text);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) throw new Error(`bad size "${text}": use bytes or a unit, e.g. 512KiB, 64MiB, 1GB`);
  const n = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n)) throw new Error(`size "${text}" too large`);
  return n;
}

/** A size for people: `64 MiB`, `10 KiB`, `512 B`. */
export function formatByteSize(n: number): string {
  for (const [u, f] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (n >= f && n % f === 0) return `${n / f} ${u}`;
  return `${n} B`;
}

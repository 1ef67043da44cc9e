// The fuzz harness: every target first replays its saved regression inputs (test/fixtures/fuzz/<target>/),
// then runs a fixed number of generated inputs from a fixed seed, so `npm test` spends a bounded, repeatable
// time here. A failing input is shrunk by fast-check and saved as a new regression case, and the test fails
// naming the file: commit it with the fix. PORTOLAN_FUZZ_SEED and PORTOLAN_FUZZ_SCALE (a multiplier of the
// runs) explore further by hand, e.g. PORTOLAN_FUZZ_SCALE=50 PORTOLAN_FUZZ_SEED=$RANDOM npx vitest run test/fuzz.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Where regression inputs live, one folder per target. */
export const REGRESSION_DIR = path.join(ROOT, 'test/fixtures/fuzz');
/** The seed of generated inputs (fixed: the same inputs on every run unless told otherwise). */
export const FUZZ_SEED = Number(process.env.PORTOLAN_FUZZ_SEED ?? 20261121);
const SCALE = Number(process.env.PORTOLAN_FUZZ_SCALE ?? 1);
/** A fuzz test's timeout: generous for the default budget, growing with PORTOLAN_FUZZ_SCALE. */
export const FUZZ_TIMEOUT_MS = 30_000 * Math.max(1, SCALE);

/** A regression case as saved: the input and what went wrong with it. */
interface SavedCase {
  readonly target: string;
  readonly seed: number;
  readonly error: string;
  readonly input: unknown;
}

// Numbers JSON cannot hold (Infinity, NaN, -0) are saved as {"$number": "<text>"}: JSON.parse gives Infinity for
// 1e400, so they are real inputs and must replay as themselves.
const encode = (_key: string, v: unknown): unknown =>
  typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? { $number: Object.is(v, -0) ? '-0' : String(v) } : v;
const decode = (_key: string, v: unknown): unknown =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { $number?: unknown }).$number === 'string'
    ? Number((v as { $number: string }).$number) : v;

/** The saved inputs of a target, with their file names. */
export function regressionCases(target: string): { file: string; input: unknown }[] {
  const dir = path.join(REGRESSION_DIR, target);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({
    file: path.join(dir, f),
    input: (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'), decode) as SavedCase).input,
  }));
}

function save(target: string, input: unknown, error: string): string {
  const text = JSON.stringify({ target, seed: FUZZ_SEED, error, input } satisfies SavedCase, encode, 2);
  const file = path.join(REGRESSION_DIR, target, `${createHash('sha256').update(JSON.stringify(input, encode)).digest('hex').slice(0, 12)}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${text}\n`);
  return file;
}

/**
 * Replays `target`'s regression inputs, then checks `property` on `runs` generated inputs (× PORTOLAN_FUZZ_SCALE).
 * Inputs must survive JSON (strings, numbers — Infinity and NaN included —, arrays, objects) so a failure can be
 * saved and replayed.
 */
export async function fuzz<T>(target: string, arbitrary: fc.Arbitrary<T>, property: (input: T) => void | Promise<void>, runs: number): Promise<void> {
  for (const { file, input } of regressionCases(target)) {
    try {
      await property(input as T);
    } catch (err) {
      throw new Error(`fuzz ${target}: regression case ${path.relative(ROOT, file)} fails again: ${(err as Error).message}`, { cause: err });
    }
  }
  const result = await fc.check(fc.asyncProperty(arbitrary, async (input) => { await property(input); }), {
    seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(runs * SCALE)),
  });
  if (result.failed && result.counterexample) {
    const input = result.counterexample[0];
    const message = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
    const file = save(target, input, message);
    throw new Error(`fuzz ${target}: ${message}\n  input saved as ${path.relative(ROOT, file)} (replayed by every run from now on)\n${fc.defaultReportMessage(result)}`);
  }
  if (result.failed) throw new Error(`fuzz ${target}: ${fc.defaultReportMessage(result)}`);
}

/** Lines of a real capture with some lines mutated: fields replaced, cut, doubled, or bytes flipped. */
export function mutatedLines(lines: readonly string[]): fc.Arbitrary<string> {
  const token = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.constantFrom('', ' ', ':', '-1', '0', '4294967296', '18446744073709551616', '99999999999999999999', 'FFFFFFFF', 'NaN', '[', ']', '=', '\t', '\u0000', '\u001b[2J'),
    fc.stringMatching(/^[0-9A-F]{1,40}(:[0-9A-F]{1,8})?$/),
  );
  const line = fc.tuple(fc.constantFrom(...lines), fc.array(fc.tuple(fc.nat(), token), { maxLength: 4 }), fc.nat(), fc.boolean()).map(([l, edits, cut, double]) => {
    const fields = l.split(/(\s+)/);
    for (const [at, t] of edits) if (fields.length > 0) fields[at % fields.length] = t;
    let out = fields.join('');
    if (cut % 5 === 0) out = out.slice(0, cut % (out.length + 1));
    return double ? `${out}${out}` : out;
  });
  return fc.array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...lines) }, { weight: 2, arbitrary: line }, { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 80 }) }), { maxLength: 12 })
    .map((ls) => ls.join('\n'));
}

/**
 * A copy of a real JSON document with each edit's value put at its route: at every level the route's number picks
 * one of the keys there (modulo their count); a route that reaches a leaf or an empty object early stops there.
 */
export function withEdits(doc: unknown, edits: readonly (readonly [readonly number[], unknown])[]): unknown {
  const copy = structuredClone(doc);
  for (const [route, value] of edits) {
    let node: unknown = copy;
    for (let k = 0; k < route.length; k++) {
      if (typeof node !== 'object' || node === null) break;
      const keys = Object.keys(node);
      if (keys.length === 0) break;
      const key = keys[route[k]! % keys.length]!;
      if (k === route.length - 1) (node as Record<string, unknown>)[key] = value;
      else node = (node as Record<string, unknown>)[key];
    }
  }
  return copy;
}

// Shell-style globs (`*` any run of characters, `?` one character) matched without backtracking. A glob
// arrives from anyone who can reach the API, so it never becomes a RegExp: `*?*?*?*?*?*?*?!` as a
// backtracking regular expression took 28 s against a 64-character id. Here a glob is a small NFA (state j =
// "the first j characters that are not `*` are matched") simulated over the text with one bit per state:
// each text character costs one pass over ceil((states)/32) machine words, whatever the glob, so a match is
// O(text length × glob length / 32) with no worst case beyond that.

/** Most globs one request may give (`?container=` repeated). */
export const MAX_GLOBS = 16;
/** Longest glob accepted, in characters. */
export const MAX_GLOB_LENGTH = 128;

/** A compiled glob. */
export interface Glob {
  readonly source: string;
  /** True when the whole text matches the glob. */
  test(text: string): boolean;
}

const WORD = 32;

/** The NFA of a glob with wildcards: per-character transition masks, self-loops of `*`, the accepting state. */
interface Nfa {
  readonly words: number;
  readonly byChar: ReadonlyMap<string, Uint32Array>;
  readonly anyChar: Uint32Array;
  readonly selfLoop: Uint32Array;
  readonly accept: number;
}

function setBit(into: Uint32Array, j: number): void {
  into[j >>> 5] = ((into[j >>> 5] ?? 0) | (1 << (j & 31))) >>> 0;
}

/** Builds the NFA, or undefined for a glob without `*` or `?` (then it is a plain comparison). */
function toNfa(chars: readonly string[]): Nfa | undefined {
  if (!chars.includes('*') && !chars.includes('?')) return undefined;
  // Tokens are the characters that are not `*`; a `*` before token j lets state j consume any character and
  // stay (consecutive stars are one).
  const tokens: string[] = [];
  const loops: number[] = [];
  for (const c of chars) {
    if (c === '*') loops.push(tokens.length);
    else tokens.push(c);
  }
  const words = Math.ceil((tokens.length + 1) / WORD);
  const selfLoop = new Uint32Array(words);
  for (const j of loops) setBit(selfLoop, j);
  // anyChar: the `?` tokens, which every character advances; byChar: those plus the literal tokens equal to it.
  const anyChar = new Uint32Array(words);
  tokens.forEach((t, j) => { if (t === '?') setBit(anyChar, j + 1); });
  const byChar = new Map<string, Uint32Array>();
  tokens.forEach((t, j) => {
    if (t === '?') return;
    let m = byChar.get(t);
    if (!m) {
      m = Uint32Array.from(anyChar);
      byChar.set(t, m);
    }
    setBit(m, j + 1);
  });
  return { words, byChar, anyChar, selfLoop, accept: tokens.length };
}

function checkedChars(source: string): string[] {
  const chars = Array.from(source);
  if (chars.length > MAX_GLOB_LENGTH) throw new Error(`glob longer than ${MAX_GLOB_LENGTH} characters`);
  return chars;
}

/**
 * Compiles a glob; `?` matches one character (code point), `*` any run, anything else itself. Throws on a
 * glob longer than MAX_GLOB_LENGTH characters.
 */
export function compileGlob(source: string): Glob {
  const nfa = toNfa(checkedChars(source));
  if (!nfa) return { source, test: (text) => text === source };
  return { source, test: (text) => simulate(nfa, text).matched };
}

/**
 * Matches like compileGlob(source).test(text) and counts the word operations done (for tests and
 * benchmarks: a count, not a clock, shows the cost is bounded by text length × words of the glob's NFA).
 */
export function globWork(source: string, text: string): { readonly matched: boolean; readonly wordSteps: number } {
  const nfa = toNfa(checkedChars(source));
  return nfa ? simulate(nfa, text) : { matched: text === source, wordSteps: 0 };
}

function simulate(nfa: Nfa, text: string): { matched: boolean; wordSteps: number } {
  const { words, byChar, anyChar, selfLoop, accept } = nfa;
  let cur = new Uint32Array(words);
  let next = new Uint32Array(words);
  cur[0] = 1;
  let steps = 0;
  for (const c of text) {
    const m = byChar.get(c) ?? anyChar;
    let carry = 0;
    let alive = 0;
    for (let i = 0; i < words; i++) {
      const d = cur[i] ?? 0;
      // Every active state advances by one token where the token takes c, and stays where a `*` loops.
      const v = ((((d << 1) | carry) & (m[i] ?? 0)) | (d & (selfLoop[i] ?? 0))) >>> 0;
      carry = d >>> 31;
      next[i] = v;
      alive |= v;
    }
    steps += words;
    // No state left: no continuation of the text can match.
    if (alive === 0) return { matched: false, wordSteps: steps };
    [cur, next] = [next, cur];
  }
  return { matched: (((cur[accept >>> 5] ?? 0) >>> (accept & 31)) & 1) === 1, wordSteps: steps };
}

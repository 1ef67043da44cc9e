import { describe, expect, it } from 'vitest';
import { compileGlob, globWork, MAX_GLOB_LENGTH } from './glob.js';

// A reference matcher: plain recursion with memo over (glob index, text index), obviously right.
function reference(glob: string, text: string): boolean {
  const g = Array.from(glob);
  const t = Array.from(text);
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (t.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let r: boolean;
    if (i === g.length) r = j === t.length;
    else if (g[i] === '*') r = go(i + 1, j) || (j < t.length && go(i, j + 1));
    else r = j < t.length && (g[i] === '?' || g[i] === t[j]) && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

const ID = 'f3a9c1d2e4b5a6978f0e1d2c3b4a59687f0e1d2c3b4a5968f3a9c1d2e4b5a697';

describe('compileGlob', () => {
  it.each([
    ['web*', 'web-1', true], ['web*', 'api', false], ['*', '', true], ['*', 'anything', true], ['', '', true], ['', 'x', false],
    ['?', 'a', true], ['?', '', false], ['?', 'ab', false], ['a?c', 'abc', true], ['a?c', 'ac', false],
    ['4f2a?c*', '4f2a9c77', true], ['*db', 'shop-db', true], ['*db', 'shop-db-1', false], ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXcYb', false], ['**a**', 'xay', true], ['web.1', 'web.1', true], ['web.1', 'webx1', false],
    ['[ab]', '[ab]', true], ['[ab]', 'a', false], ['(x|y)+', '(x|y)+', true], ['^$', '^$', true], ['\\d', '\\d', true],
    ['é?', 'éz', true], ['?', '東', true], ['a*', 'a東京', true], ['?b', '😀b', true],
  ])('%j vs %j → %s', (glob, text, expected) => {
    expect(compileGlob(glob).test(text)).toBe(expected);
    expect(reference(glob, text)).toBe(expected);
  });

  it('agrees with the reference matcher on every glob over {a, b, ?, *} up to length 6 and texts over {a, b} up to length 6', () => {
    const words = (alphabet: string[], max: number): string[] => {
      const out = [''];
      for (let len = 1, layer = ['']; len <= max; len++) {
        layer = layer.flatMap((w) => alphabet.map((c) => w + c));
        out.push(...layer);
      }
      return out;
    };
    const texts = words(['a', 'b'], 6);
    let checked = 0;
    for (const g of words(['a', 'b', '?', '*'], 6)) {
      const glob = compileGlob(g);
      for (const t of texts) {
        if (glob.test(t) !== reference(g, t)) throw new Error(`glob ${g} text ${t}: got ${glob.test(t)}`);
        checked++;
      }
    }
    expect(checked).toBe(5461 * 127);
  });

  it('works across machine words (globs longer than 31 tokens)', () => {
    const long = 'a'.repeat(40) + '*' + 'b'.repeat(40);
    expect(compileGlob(long).test('a'.repeat(40) + 'xyz' + 'b'.repeat(40))).toBe(true);
    expect(compileGlob(long).test('a'.repeat(40) + 'xyz' + 'b'.repeat(39))).toBe(false);
    const q = '?'.repeat(70);
    expect(compileGlob(q).test('z'.repeat(70))).toBe(true);
    expect(compileGlob(q).test('z'.repeat(69))).toBe(false);
    expect(compileGlob('*' + '?'.repeat(64)).test(ID)).toBe(true);
    expect(compileGlob('*' + '?'.repeat(65)).test(ID)).toBe(false);
  });

  it(`refuses a glob longer than ${MAX_GLOB_LENGTH} characters`, () => {
    expect(() => compileGlob('*'.repeat(MAX_GLOB_LENGTH + 1))).toThrow(new RegExp(`longer than ${MAX_GLOB_LENGTH}`));
    expect(compileGlob('*'.repeat(MAX_GLOB_LENGTH)).test('x')).toBe(true);
  });
});

describe('the attacks of issue #11 (backtracking RegExp: 5 s to 28 s each)', () => {
  // Work is counted in word operations: one per text character per 32 NFA states, whatever the glob.
  it.each([
    ['*?*?*?*?*?*?*?!', ID],
    ['*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?!', ID],
    ['*a*a*a*a*a*a*a*a*b', 'x' + 'a'.repeat(56)],
    ['*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b', 'x' + 'a'.repeat(56)],
    [`${'*?'.repeat(60)}!`, ID],
  ])('%s against a %s-character text: no match, work ≤ text length × words', (glob, text) => {
    const { matched, wordSteps } = globWork(glob, text);
    expect(matched).toBe(false);
    const tokens = Array.from(glob).filter((c) => c !== '*').length;
    expect(wordSteps).toBeLessThanOrEqual(text.length * Math.ceil((tokens + 1) / 32));
  });

  it('the longest glob against a long name costs at most 3 words per character', () => {
    const glob = '*?'.repeat(MAX_GLOB_LENGTH / 2);
    const text = 'x'.repeat(10_000);
    expect(globWork(glob, text).wordSteps).toBeLessThanOrEqual(10_000 * 3);
  });
});

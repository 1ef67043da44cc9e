import { describe, expect, it } from 'vitest';
import { escapeJsonForTerminal, escapeTerminal } from './terminal-text.js';

// What a terminal would act on, as a hostile process title or container label carries it.
const ESC = '\u001b';
const CSI8 = '\u009b'; // a one-character CSI for terminals that honour C1 controls in UTF-8

describe('escapeTerminal', () => {
  it.each([
    [`${ESC}[41mPWNED${ESC}[0m`, '\\x1b[41mPWNED\\x1b[0m'],
    [`ok${ESC}[8mhidden`, 'ok\\x1b[8mhidden'],
    [`${ESC}]52;c;ZXZpbA==\u0007`, '\\x1b]52;c;ZXZpbA==\\x07'], // OSC 52: write the clipboard
    [`a${CSI8}2Jb`, 'a\\x9b2Jb'],
    ['tab\there\nnewline\r', 'tab\\x09here\\x0anewline\\x0d'],
    ['del\u007f', 'del\\x7f'],
    ['rtl\u202eevil\u2066x\u2069', 'rtl\\u202eevil\\u2066x\\u2069'], // bidi override and isolate
    ['zero\u200bwidth\ufeff', 'zero\\u200bwidth\\ufeff'],
  ])('escapes %j', (input, expected) => {
    const out = escapeTerminal(input);
    expect(out).toBe(expected);
    // Nothing a terminal interprets is left.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  it('keeps printable text as it is, non-ASCII included', () => {
    for (const s of ['api', 'web-1.shop_net', 'nginx: worker process', 'Zürich → 東京 ✓', '[::ffff:172.18.0.3]:8080', 'a\\b']) {
      expect(escapeTerminal(s)).toBe(s);
    }
  });

  it('is linear: a megabyte of escapes is one pass', () => {
    const big = ESC.repeat(1 << 20);
    expect(escapeTerminal(big)).toHaveLength(4 << 20);
  });
});

describe('escapeJsonForTerminal', () => {
  it('leaves JSON meaning the same and no C1, DEL or bidi character raw', () => {
    const value = { name: `x${CSI8}31m`, label: 'a\u202eb', del: '\u007f', esc: `${ESC}[0m` };
    const json = escapeJsonForTerminal(JSON.stringify(value, null, 2));
    expect(JSON.parse(json)).toEqual(value);
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    expect(json).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(json).toContain('\\u009b');
  });

  it('returns plain JSON unchanged', () => {
    const json = JSON.stringify({ a: 'b', n: [1, 2] });
    expect(escapeJsonForTerminal(json)).toBe(json);
  });
});

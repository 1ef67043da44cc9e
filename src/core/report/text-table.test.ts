import { describe, expect, it } from 'vitest';
import { renderTable } from './text-table.js';

describe('renderTable', () => {
  it('aligns columns, two spaces apart, the last column unpadded', () => {
    expect(renderTable(['A', 'LONGER'], [['xyz', '1'], ['q', '22']])).toBe('A    LONGER\nxyz  1\nq    22\n');
  });

  it('escapes cells: a process title with escape sequences prints as visible text', () => {
    const out = renderTable(['CONTAINER', 'PROCESS'], [['api', '\u001b[41mPWNED\u001b[0m/42'], ['db', 'postgres\u001b[8m/7']]);
    expect(out).not.toContain('\u001b');
    expect(out).toContain('\\x1b[41mPWNED\\x1b[0m/42');
    // Widths count the escaped text, so columns stay aligned.
    expect(out.split('\n')[0]?.indexOf('PROCESS')).toBe(out.split('\n')[1]?.indexOf('\\x1b'));
  });

  it('renders 200,000 rows (Math.max over spread rows overflowed the stack at ~130,000)', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => ['c', String(i)]);
    const out = renderTable(['C', 'N'], rows);
    expect(out.split('\n')).toHaveLength(200_002);
    expect(out.endsWith('c  199999\n')).toBe(true);
  });
});

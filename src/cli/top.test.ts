import { describe, expect, it } from 'vitest';
import { fitRows, renderTop, type TopView } from './top.js';

const container = (i: number) => ({
  id: String(i).padStart(64, '0'), name: `c${String(i).padStart(2, '0')}`, rxBytesPerSec: 1000 * i, txBytesPerSec: 10, rxBytes: 1e6, txBytes: 1e3,
  trafficScope: 'container' as const, established: 1, listening: 1, rttMeanMs: 0.05, rttMaxMs: 0.07, retransmits: 0,
});
const edge = (i: number) => ({
  from: `client-with-a-rather-long-name-${i}`, to: `server-${i}`, protocol: 'tcp' as const, port: 7000 + i, connections: 1,
  bytesSentPerSec: 1e6, bytesReceivedPerSec: 10, rttMeanMs: 0.1, retransmits: 0,
});
const view = (containers: number, edges: number, warnings: string[] = []): TopView => ({
  takenAt: '2026-11-29T07:00:00.000Z', intervalMs: 1000, sort: 'rate', warnings,
  containers: Array.from({ length: containers }, (_, i) => container(i)),
  edges: Array.from({ length: edges }, (_, i) => edge(i)) as unknown as TopView['edges'],
});

describe('fitRows', () => {
  it('shows everything that fits', () => {
    expect(fitRows(50, 10, 5, 0)).toEqual({ containers: 10, edges: 5 });
  });
  it('gives edges a third of the room when both overflow, and what containers leave', () => {
    expect(fitRows(24, 30, 30, 0)).toEqual({ containers: 11, edges: 5 });
    expect(fitRows(24, 3, 30, 0)).toEqual({ containers: 3, edges: 13 });
    expect(fitRows(24, 30, 2, 0)).toEqual({ containers: 14, edges: 2 });
  });
  it('never negative on a tiny terminal', () => {
    expect(fitRows(5, 30, 30, 2)).toEqual({ containers: 0, edges: 0 });
  });
});

describe('renderTop', () => {
  it('fits 80×24 with 30 containers: the title first, fewer lines than rows, none wider than the terminal', () => {
    const text = renderTop(view(30, 30, ['conntrack: byte accounting is off', 'two', 'three']), 30, { rows: 24, columns: 80 });
    const lines = text.split('\n');
    // The text ends with a newline: the cursor rests on the last row, nothing scrolls.
    expect(lines.pop()).toBe('');
    expect(lines.length).toBe(23);
    expect(lines[0]).toMatch(/^portolan top — .* — 30 containers \(\d+ shown\) — sorted by rate$/);
    expect(lines[2]).toMatch(/^CONTAINER\s+RX\/s/);
    expect(lines.every((l) => [...l].length <= 80)).toBe(true);
    // Warnings take two lines at most, the second counting the rest.
    expect(lines.filter((l) => l.startsWith('warning:'))).toHaveLength(1);
    expect(text).toMatch(/\(2 more warnings: run portolan top --once\)/);
  });

  it('without a screen (a pipe), every row up to the limit and every warning, nothing cut', () => {
    const text = renderTop(view(30, 3, ['a', 'b', 'c']), 30);
    expect(text).toMatch(/— 30 containers — sorted by rate/);
    expect(text.split('\n').filter((l) => /^c\d\d /.test(l))).toHaveLength(30);
    expect(text.split('\n').filter((l) => l.startsWith('warning:'))).toHaveLength(3);
    expect(text).toMatch(/client-with-a-rather-long-name-0\s+server-0\s+tcp\/7000/);
  });
});

describe('renderTop of a fleet (a hub\'s rows name their hosts)', () => {
  it('adds a HOST column first, so that two containers of one name on two hosts are told apart', () => {
    const v = view(2, 0);
    const fleet: TopView = { ...v, containers: [{ ...v.containers[0]!, name: 'first', host: { id: 'A:1', hostname: 'h1' } }, { ...v.containers[1]!, name: 'first', host: { id: 'B:2', hostname: 'h2' } }] };
    const lines = renderTop(fleet, 30).split('\n');
    expect(lines[2]).toMatch(/^HOST\s+CONTAINER\s+RX\/s/);
    expect(lines.slice(3, 5).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([['h1', 'first'], ['h2', 'first']]);
    // One agent's rows have no HOST column.
    expect(renderTop(v, 30).split('\n')[2]).toMatch(/^CONTAINER\s+RX\/s/);
  });
});

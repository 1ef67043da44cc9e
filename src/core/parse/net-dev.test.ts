import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNetDev } from './net-dev.js';

describe('parseNetDev', () => {
  it('parses a real container table (lo and eth0)', () => {
    const text = readFileSync(new URL('../../../test/fixtures/proc/netdev/dev', import.meta.url), 'utf8');
    const { records, errors } = parseNetDev(text, 'dev');
    expect(errors).toEqual([]);
    expect(records.map((r) => r.name)).toEqual(['lo', 'eth0']);
    expect(records[1]?.rxBytes).toBeGreaterThan(0);
  });

  it('maps the 16 columns to rx/tx bytes, packets, errors, drops', () => {
    const text = 'Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n' +
      '  eth1: 212436    1432    3    4    0     0          0         0 23173354   17000    5    6    0     0       0          0\n';
    expect(parseNetDev(text, 'dev').records).toEqual([{
      name: 'eth1', rxBytes: 212436, rxPackets: 1432, rxErrors: 3, rxDropped: 4, txBytes: 23173354, txPackets: 17000, txErrors: 5, txDropped: 6,
    }]);
  });

  it('reports malformed lines with file and line, keeps the rest', () => {
    const text = 'h1|\nh2|\n  eth0: 1 2 3\nnonsense\n  eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n  eth2: 1 2 3 4 5 6 7 8 -9 10 11 12 13 14 15 16\n';
    const { records, errors } = parseNetDev(text, '/proc/7/net/dev');
    expect(records.map((r) => r.name)).toEqual(['eth1']);
    expect(errors.map((e) => e.message)).toEqual([
      '/proc/7/net/dev:3: expected 16 counters, got "1 2 3"',
      '/proc/7/net/dev:4: no interface name',
      '/proc/7/net/dev:6: expected 16 counters, got "1 2 3 4 5 6 7 8 -9 10 11 12 13 14 15 16"',
    ]);
  });
});

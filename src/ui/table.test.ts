import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import type { Topology } from '../core/model/topology.js';
import { buildTopology } from '../core/topology/build-topology.js';
import { edgeRows, nextSort, sortRows } from './table.js';

const base = buildTopology(syntheticSnapshot());
// Traffic on two edges, to sort by.
const t: Topology = {
  ...base,
  edges: base.edges.map((e) => (e.from === IDS.web && e.to === IDS.db ? { ...e, traffic: { bytesSent: 1, bytesReceived: 1, bytesSentPerSec: 500, bytesReceivedPerSec: 10, rttMeanMs: 3, rttP95Ms: 150, bytesSource: 'tcp_info', retransmits: 2, measuredConnections: 1, conntrackConnections: 0 } }
    : e.from === IDS.side ? { ...e, traffic: { bytesSent: 1, bytesReceived: 1, bytesSentPerSec: 100, bytesReceivedPerSec: 900, rttMeanMs: 1, bytesSource: 'tcp_info', retransmits: 0, measuredConnections: 1, conntrackConnections: 0 } } : e)),
};

describe('edge table', () => {
  it('one row per visible edge with names, figures and health', () => {
    const rows = edgeRows(t);
    expect(rows).toHaveLength(t.edges.length);
    const r = rows.find((x) => x.from === 'web' && x.to === 'db');
    expect(r).toMatchObject({ protocol: 'tcp', port: 5432, connections: 1, states: 'ESTABLISHED=1', sent: 500, received: 10, rtt: 3, retransmits: 2, health: 'slow', via: 'socket' });
    expect(edgeRows(t, new Set([r?.id ?? '']))).toHaveLength(1);
  });

  it('sorts by any column; missing figures last either way; ties by from, to, port', () => {
    const rows = edgeRows(t);
    expect(sortRows(rows, { key: 'sent', descending: true }).slice(0, 3).map((r) => `${r.from}>${r.to}`)).toEqual(['web>db', 'side>db', 'curl>dn']);
    expect(sortRows(rows, { key: 'sent', descending: false }).slice(0, 2).map((r) => r.from)).toEqual(['side', 'web']);
    expect(sortRows(rows, { key: 'received', descending: true })[0]?.from).toBe('side');
    const byFrom = sortRows(rows, { key: 'from', descending: false }).map((r) => r.from);
    expect(byFrom).toEqual([...byFrom].sort((a, b) => a.localeCompare(b)));
    expect(sortRows(rows, { key: 'health', descending: true })[0]?.health).toBe('slow');
  });

  it('clicking the sorted column flips it; another starts descending for numbers, ascending for text', () => {
    expect(nextSort({ key: 'sent', descending: true }, 'sent')).toEqual({ key: 'sent', descending: false });
    expect(nextSort({ key: 'sent', descending: true }, 'rtt')).toEqual({ key: 'rtt', descending: true });
    expect(nextSort({ key: 'sent', descending: true }, 'from')).toEqual({ key: 'from', descending: false });
  });
});

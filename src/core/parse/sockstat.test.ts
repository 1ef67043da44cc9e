import { describe, expect, it } from 'vitest';
import { socketCounts, sockstatActivity } from './sockstat.js';

describe('sockstatActivity', () => {
  it('is the same text when only kernel-wide counters moved, and differs when the namespace\'s did', () => {
    const a = 'sockets: used 29\nTCP: inuse 1 orphan 0 tw 4 alloc 3 mem 200\nUDP: inuse 2 mem 0\nFRAG: inuse 0 memory 0\n';
    const otherNamespaces = a.replace('orphan 0', 'orphan 7').replace('alloc 3', 'alloc 90').replace('mem 200', 'mem 4096').replace('memory 0', 'memory 12');
    expect(sockstatActivity(otherNamespaces)).toBe(sockstatActivity(a));
    expect(sockstatActivity(a)).toBe('sockets: used 29\nTCP: inuse 1 tw 4\nUDP: inuse 2\nFRAG: inuse 0\n');
    for (const change of [['used 29', 'used 30'], ['inuse 1', 'inuse 2'], ['tw 4', 'tw 3'], ['UDP: inuse 2', 'UDP: inuse 1']]) {
      expect(sockstatActivity(a.replace(change[0] ?? '', change[1] ?? ''))).not.toBe(sockstatActivity(a));
    }
  });
});

describe('socketCounts', () => {
  it('reads TCP, TIME_WAIT and UDP from sockstat (raw or as activity), TCP6 and UDP6 from sockstat6', () => {
    const v4 = 'sockets: used 56\nTCP: inuse 2 orphan 0 tw 5 alloc 153 mem 153\nUDP: inuse 1 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n';
    expect(socketCounts(v4)).toEqual({ tcp: 2, tw: 5, udp: 1 });
    expect(socketCounts(sockstatActivity(v4))).toEqual({ tcp: 2, tw: 5, udp: 1 });
    expect(socketCounts('TCP6: inuse 3\nUDP6: inuse 0\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n', true)).toEqual({ tcp: 3, udp: 0 });
  });
  it('a field that is missing is unknown, not zero', () => {
    expect(socketCounts('sockets: used 1\n')).toEqual({});
    expect(socketCounts('UDPLITE: inuse 0\n')).toEqual({});
  });
});

import { describe, expect, it } from 'vitest';
import { sockstatActivity } from './sockstat.js';

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

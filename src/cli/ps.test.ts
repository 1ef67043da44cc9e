import { describe, expect, it } from 'vitest';
import { psDocumentOf, type PsReport } from '../core/report/ps.js';
import { psTableChunks } from './ps.js';

const socket = { protocol: 'tcp', family: 'ipv4', state: 'LISTEN', local: { address: '0.0.0.0', port: 7000 }, remote: { address: '0.0.0.0', port: 0 }, inode: 1, rxQueue: 0, txQueue: 0, processes: [{ pid: 9, command: 'node' }] } as const;
const container = (id: string, host?: { id: string; hostname: string }) => ({
  id: id.repeat(64), name: 'first', image: 'x', networkMode: 'bridge', pid: 9, netns: 1, ownsNetns: true, source: 'netlink' as const, networks: [], ports: [], labels: {},
  tcpInfo: false, ...(host ? { host } : {}), sockets: [socket],
});
const report = (containers: PsReport['containers']): PsReport => ({ takenAt: '2026-12-07T12:00:00.000Z', host: { hostname: 'hub' }, warnings: [], containers });

describe('psTableChunks', () => {
  it('a fleet\'s document (containers naming their hosts) gets a HOST column first', () => {
    const text = [...psTableChunks(psDocumentOf(report([container('a', { id: 'A:1', hostname: 'h1' }), container('b', { id: 'B:2', hostname: 'h2\u001b[2J' })])), { foreign: true })].join('');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^HOST\s+CONTAINER\s+PROTO\s+STATE/);
    expect(lines[1]).toMatch(/^h1\s+first\s+tcp\s+LISTEN/);
    // A host's name from the wire is escaped like every other foreign cell.
    expect(lines[2]).not.toContain('\u001b');
    expect(lines[2]).toMatch(/^h2\S*\s+first\s+tcp/);
  });
  it('one agent\'s document has no HOST column', () => {
    const text = [...psTableChunks(psDocumentOf(report([container('a')])))].join('');
    expect(text.split('\n')[0]).toMatch(/^CONTAINER\s+PROTO/);
  });
});

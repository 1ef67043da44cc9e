import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { syntheticSnapshot } from '../../../test/fixtures/topology/synthetic.js';
import { renderSockets } from '../pipeline.js';
import type { Snapshot } from '../model/snapshot.js';
import type { TcpInfo } from '../model/socket.js';
import { INET_DIAG_INFO_EXT, parseSockDiagDump } from '../parse/sock-diag.js';
import { escapeJsonForTerminal } from './terminal-text.js';
import { psDocumentOf, toPsDocument, toPsReport, type PsSocket } from './ps.js';
import { psJsonChunks, psSocketJson } from './ps-json.js';

const tcp: TcpInfo = {
  bytesSent: 10, bytesRetrans: 0, bytesReceived: 20, bytesAcked: 11, rttMs: 0.125, rttVarMs: 0.05, minRttMs: 0.1, retransmits: 0,
  deliveryRateBps: 1e9, segsOut: 3, segsIn: 4, lastSendMs: 5, lastReceiveMs: 6,
};

describe('psJsonChunks', () => {
  it('parses to exactly what JSON.stringify of the report gives, whatever the chunk size', () => {
    const s = syntheticSnapshot();
    const v = renderSockets(s);
    const report = toPsReport(s, v.attribution, {}, v.traffic);
    for (const size of [1, 100, 1 << 20]) {
      const text = [...psJsonChunks(toPsDocument(s, v.attribution, {}, v.traffic), size)].join('');
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(report)));
    }
    // A report read back (from an agent) renders the same.
    expect([...psJsonChunks(psDocumentOf(report))].join('')).toBe([...psJsonChunks(toPsDocument(s, v.attribution, {}, v.traffic))].join(''));
  });

  it('an empty document, and a container without sockets, are valid JSON', () => {
    expect(JSON.parse([...psJsonChunks({ takenAt: 't', host: { hostname: 'h' }, warnings: [], containers: [] })].join(''))).toEqual({ takenAt: 't', host: { hostname: 'h' }, warnings: [], containers: [] });
    const s = syntheticSnapshot();
    const v = renderSockets(s);
    const report = toPsReport(s, v.attribution, { protocol: 'udp', states: ['LISTEN'] }, v.traffic);
    expect(JSON.parse([...psJsonChunks(psDocumentOf(report))].join(''))).toEqual(JSON.parse(JSON.stringify(report)));
  });
});

describe('psSocketJson', () => {
  const base: PsSocket = {
    protocol: 'tcp', family: 'ipv6', state: 'ESTABLISHED', local: { address: '::ffff:172.18.0.3', port: 8080 }, remote: { address: 'fd00::2', port: 40112 },
    inode: 123456, rxQueue: 0, txQueue: 7, processes: [{ pid: 1, command: 'node' }, { pid: 2, command: 'dockerd', container: null }, { pid: 3, command: 'x', container: 'web' }], tcp,
  };
  it.each([
    ['a socket with tcp_info and owners of every kind', base],
    ['no tcp_info, no owner', { ...base, tcp: undefined, processes: [] }],
    ['hostile command and container names', { ...base, processes: [{ pid: 4, command: '"\\\u001b[41mPWNED\u0085', container: 'a"b\u2028' }] }],
    ['numbers JSON cannot hold', { ...base, inode: Number.NaN, tcp: { ...tcp, rttMs: Number.POSITIVE_INFINITY } }],
  ])('%s: the same text as JSON.stringify', (_what, socket) => {
    const s = JSON.parse(JSON.stringify(socket)) as PsSocket;
    expect(psSocketJson(socket as PsSocket)).toBe(JSON.stringify(socket));
    expect(JSON.parse(psSocketJson(socket as PsSocket))).toEqual(s);
  });
});

describe('the socket JSON template against real tcp_info', () => {
  interface Fixture { dumps: { family: number; protocol: number; ext: number; payloads: string[] }[] }
  const fixture = JSON.parse(readFileSync(new URL('../../../test/fixtures/sock-diag/loopback.json', import.meta.url), 'utf8')) as Fixture;
  const real = fixture.dumps.filter((d) => d.ext === INET_DIAG_INFO_EXT || d.protocol === 17)
    .flatMap((d) => parseSockDiagDump(d.payloads.map((h) => Buffer.from(h, 'hex')), d.protocol === 6 ? 'tcp' : 'udp', true).records);

  it.each([0, 1500])('writes each socket as JSON.stringify writes its PsSocket (table read %s ms before the snapshot)', (ageMs) => {
    const base = syntheticSnapshot();
    const web = base.netns.containers[0];
    if (!web) throw new Error('no container');
    const takenAt = new Date(Date.parse(base.takenAt)).toISOString();
    // The captured sockets as one container's table, held by a process with a hostile name.
    const inodes = real.map((s) => s.inode).filter((i) => i !== 0);
    const s: Snapshot = {
      ...base, takenAt,
      sockets: [{ netns: web.netns, source: 'netlink', tcpInfo: true, readAtMs: Date.parse(takenAt) - ageMs, sockets: real }],
      processes: [{ pid: 7, command: 'evil"\u001b[41m\u009b', netns: web.netns, containerId: web.containerId, socketInodes: inodes }],
    };
    const v = renderSockets(s);
    const doc = toPsDocument(s, v.attribution, {}, v.traffic);
    const entry = doc.containers.find((c) => c.head.id === web.containerId);
    const texts = [...(entry?.socketsJson() ?? [])];
    const objects = [...(entry?.sockets() ?? [])];
    expect(texts.length).toBe(real.length);
    expect(texts.some((t) => t.includes('"tcp":{'))).toBe(true);
    texts.forEach((t, i) => expect(t).toBe(escapeJsonForTerminal(JSON.stringify(objects[i]))));
    // Escaped for a terminal, and still the same value.
    expect(texts.join('')).not.toMatch(/[\u009b]/);
    expect(JSON.parse(texts[0] ?? '{}')).toEqual(JSON.parse(JSON.stringify(objects[0])));
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { syntheticSnapshot } from '../../../test/fixtures/topology/synthetic.js';
import { renderSockets } from '../pipeline.js';
import type { Snapshot } from '../model/snapshot.js';
import { INET_DIAG_INFO_EXT, parseSockDiagDump } from '../parse/sock-diag.js';
import { escapeJsonForTerminal } from './terminal-text.js';
import { psDocumentOf, toPsDocument, toPsReport } from './ps.js';
import { psJsonChunks } from './ps-json.js';


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

  it('a socket with a number JSON cannot hold (whatever made it) is written as JSON.stringify writes it', () => {
    const base = syntheticSnapshot();
    const web = base.netns.containers[0];
    if (!web || !real[0]) throw new Error('no fixture');
    const odd = { ...real[0], inode: Number.NaN, tcp: real.find((s) => s.tcp)?.tcp };
    const s: Snapshot = { ...base, sockets: [{ netns: web.netns, source: 'netlink', tcpInfo: true, sockets: [odd] }], processes: [] };
    const v = renderSockets(s);
    const entry = toPsDocument(s, v.attribution, {}, v.traffic).containers.find((c) => c.head.id === web.containerId);
    const [text] = [...(entry?.socketsJson() ?? [])];
    const [object] = [...(entry?.sockets() ?? [])];
    expect(text).toBe(JSON.stringify(object));
    expect(text).toContain('"inode":null');
  });
});

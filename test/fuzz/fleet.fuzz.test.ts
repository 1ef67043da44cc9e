// Host documents from the wire: real lab documents (test/fixtures/fleet-lab) with values at random paths replaced
// by random JSON, and random JSON. Every input is either refused with a HostDocumentError naming where, or
// accepted — and then merged with the other real hosts without throwing, every edge naming nodes of the fleet.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fleetSockets } from '../../src/core/fleet/fleet-sockets.js';
import type { HostContainer } from '../../src/core/fleet/host-document.js';
import { mergeFleetReport } from '../../src/core/fleet/merge-fleet.js';
import { toPsReport } from '../../src/core/report/ps.js';
import { toTopContainers } from '../../src/core/report/top.js';
import { checkHostDocument, HostDocumentError, parseHostDocument } from '../../src/core/fleet/parse-host-document.js';
import { fuzz, FUZZ_TIMEOUT_MS, withEdits } from './harness.js';

const LAB = path.resolve(import.meta.dirname, '../fixtures/fleet-lab/captured');
const texts = ['fc1', 'fc2', 'fc3'].map((h) => fs.readFileSync(path.join(LAB, `${h}.json`), 'utf8'));
// The lab's documents, and the same with a containers section (sockets, traffic) made from their container nodes.
const withSockets = texts.map((t) => {
  const d = JSON.parse(t) as { topology: { nodes: { kind: string; id: string; name: string; image: string; networkMode: string; pid: number; networks: HostContainer['networks']; ports: HostContainer['ports'] }[] } };
  const containers: HostContainer[] = d.topology.nodes.filter((n) => n.kind === 'container').map((n, i) => ({
    id: n.id, name: n.name, image: n.image, networkMode: n.networkMode, pid: n.pid, netns: 4026532000 + i, ownsNetns: true, source: 'netlink', networks: n.networks, ports: n.ports,
    labels: { 'com.docker.compose.project': 'lab' },
    sockets: [
      { protocol: 'tcp', family: 'ipv4', state: 'LISTEN', local: { address: '0.0.0.0', port: 7000 }, remote: { address: '0.0.0.0', port: 0 }, inode: 10 + i, rxQueue: 0, txQueue: 128, processes: [{ pid: n.pid, command: 'node' }] },
      { protocol: 'udp', family: 'ipv6', state: 'UNCONN', local: { address: '::', port: 53 }, remote: { address: '::', port: 0 }, inode: 0, rxQueue: 0, txQueue: 0, processes: [{ pid: 1, command: 'dockerd', container: null }] },
    ],
  }));
  const traffic = containers.map((c) => ({ id: c.id, rxBytes: 1, txBytes: 2, rxPackets: 1, txPackets: 1, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0, rxBytesPerSec: 0, scope: 'container' }));
  return { ...d, containers, traffic } as unknown;
});
const docs = [...texts.map((t) => JSON.parse(t) as unknown), ...withSockets];
const real = texts.map((t) => parseHostDocument(t));
let accepted = 0;
let withSection = 0;
const NOW = Math.max(...real.map((d) => Date.parse(d.takenAt)));

/** A real document with values at random paths (up to 6 deep) replaced by random JSON. */
const mutated = fc.tuple(fc.nat({ max: docs.length - 1 }), fc.array(fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })), { minLength: 1, maxLength: 4 }))
  .map(([i, edits]) => {
    return withEdits(docs[i], edits);
  });

describe('fuzz: fleet host documents', () => {
  it('refused with a HostDocumentError, or accepted and merged with the real hosts', async () => {
    await fuzz('host-document', fc.oneof(mutated, fc.jsonValue({ maxDepth: 3 })), (value) => {
      let doc;
      try {
        doc = checkHostDocument(value);
      } catch (err) {
        if (!(err instanceof HostDocumentError)) throw err;
        expect(err.path.length).toBeGreaterThan(0);
        return;
      }
      accepted++;
      // In place of the host it claims to be (the hub keeps one document per engine id).
      const r = mergeFleetReport([...real.filter((d) => d.engineId !== doc.engineId), doc].map((document) => ({ document, lastSeenMs: NOW })), NOW);
      const ids = new Set(r.topology.nodes.map((n) => n.id));
      for (const e of r.topology.edges) expect(ids.has(e.from) && ids.has(e.to)).toBe(true);
      expect(new Set(r.topology.nodes.map((n) => n.id)).size).toBe(r.topology.nodes.length);
      // The hub's containers and sockets from the same documents: rendered as ps and top without throwing, each
      // container on a host of the fleet.
      const all = [...real.filter((d) => d.engineId !== doc.engineId), doc];
      const s = fleetSockets(all, r.topology);
      const ps = toPsReport({ takenAt: r.topology.takenAt, hostname: 'hub', issues: s.issues, containers: s.containers, netns: { host: 0, hostPid: 'self', containers: [] }, processes: [], sockets: [], netdev: [], conntrack: { status: 'unavailable', reason: 'hub' } }, s.attribution, {}, s.traffic);
      const hostIds = new Set(r.topology.hosts?.map((h) => h.id));
      for (const c of ps.containers) expect(hostIds.has(c.host?.id ?? '')).toBe(true);
      expect(toTopContainers(s.attribution, s.traffic)).toHaveLength(ps.containers.length);
      if (doc.containers) withSection++;
    }, 300);
    // Not everything refused: the property saw merges (the seed is fixed).
    expect(accepted).toBeGreaterThan(0);
    expect(withSection).toBeGreaterThan(0);
  }, FUZZ_TIMEOUT_MS);
});

import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import type { Snapshot } from './model/snapshot.js';
import type { NetnsCounters } from './model/traffic.js';
import { renderSockets, runPipeline } from './pipeline.js';
import { attributeSockets } from './attribute.js';
import { buildTopology } from './topology/build-topology.js';

/** The synthetic host with interface counters for web's namespace, read at `atMs` with `rx` bytes received. */
function at(base: Snapshot, atMs: number, rx: number): Snapshot {
  const web = base.netns.containers.find((c) => c.containerId === IDS.web);
  if (!web) throw new Error('no web');
  const counters: NetnsCounters = {
    netns: web.netns, readAtMs: atMs,
    interfaces: [{ name: 'eth0', rxBytes: rx, txBytes: 10, rxPackets: rx / 100, txPackets: 1, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0 }],
  };
  return { ...base, takenAt: new Date(atMs).toISOString(), netdev: [counters] };
}

describe('runPipeline', () => {
  it('renders what the steps render one by one', () => {
    const s = syntheticSnapshot();
    const r = runPipeline(s);
    expect(r.attribution).toEqual(attributeSockets(s));
    expect(r.topology.nodes).toEqual(buildTopology(s).nodes);
    expect(r.topology.edges.map((e) => e.id)).toEqual(buildTopology(s).edges.map((e) => e.id));
    expect(renderSockets(s).attribution).toEqual(r.attribution);
  });

  it('over the same parts at rest, keeps the last topology (same nodes and edges), with the new time', () => {
    const base = syntheticSnapshot();
    const first = runPipeline(at(base, 1000, 1000));
    const second = runPipeline(at(base, 2000, 1000), first.memory);
    const third = runPipeline(at(base, 3000, 1000), second.memory);
    expect(third.topology.nodes).toBe(second.topology.nodes);
    expect(third.topology.edges).toBe(second.topology.edges);
    expect(third.attribution).toBe(first.attribution);
    expect(third.topology.takenAt).toBe(new Date(3000).toISOString());
    expect(third.traffic.get(IDS.web)?.rxBytesPerSec).toBe(0);
  });

  it('rates after idle reads are over the last interval, not since the last change', () => {
    const base = syntheticSnapshot();
    let r = runPipeline(at(base, 0, 1000));
    for (let t = 1000; t <= 10_000; t += 1000) r = runPipeline(at(base, t, 1000), r.memory);
    r = runPipeline(at(base, 11_000, 6000), r.memory);
    expect(r.traffic.get(IDS.web)?.rxBytesPerSec).toBe(5000);
    // The parts are the same objects: the topology is kept, the container rate is new.
    r = runPipeline(at(base, 12_000, 6000), r.memory);
    expect(r.traffic.get(IDS.web)?.rxBytesPerSec).toBe(0);
  });

  it('a new part (other sockets) renders the topology again', () => {
    const base = syntheticSnapshot();
    const first = runPipeline(at(base, 1000, 1000));
    const changed = { ...at(base, 2000, 1000), sockets: base.sockets.map((t) => ({ ...t })) };
    const second = runPipeline(changed, first.memory);
    expect(second.topology.edges).not.toBe(first.topology.edges);
    expect(second.topology.edges).toEqual(first.topology.edges);
  });

  it('different options never reuse a run made with others', () => {
    const base = syntheticSnapshot();
    const withLoopback = runPipeline(at(base, 1000, 1000), undefined, { loopback: true });
    const without = runPipeline(at(base, 2000, 1000), withLoopback.memory);
    expect(without.topology.edges).toEqual(buildTopology(base).edges.map((e) => expect.objectContaining({ id: e.id })));
  });
});

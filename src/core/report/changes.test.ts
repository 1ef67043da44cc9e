import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../../test/fixtures/topology/synthetic.js';
import type { Snapshot } from '../model/snapshot.js';
import { buildTopology } from '../topology/build-topology.js';
import { toChangeEvents } from './changes.js';

// A container stopped: it, its namespace and every socket to or from its addresses are gone.
const without = (s: Snapshot, id: string): Snapshot => {
  const ns = s.netns.containers.find((c) => c.containerId === id)?.netns;
  const ips = new Set(s.containers.find((c) => c.id === id)?.networks.flatMap((n) => [n.ipv4, n.ipv6]).filter((a) => a !== undefined));
  const touches = (a: string) => ips.has(a) || ips.has(a.replace(/^::ffff:/, ''));
  return {
    ...s,
    containers: s.containers.filter((c) => c.id !== id),
    netns: { ...s.netns, containers: s.netns.containers.filter((c) => c.containerId !== id) },
    sockets: s.sockets.filter((t) => t.netns !== ns).map((t) => ({ ...t, sockets: t.sockets.filter((x) => !touches(x.local.address) && !touches(x.remote.address)) })),
  };
};

describe('toChangeEvents', () => {
  it('says nothing about the first topology', () => {
    expect(toChangeEvents(undefined, buildTopology(syntheticSnapshot()))).toEqual([]);
  });

  it('nothing changed: no events', () => {
    const t = buildTopology(syntheticSnapshot());
    expect(toChangeEvents(t, t)).toEqual([]);
  });

  it('a container that stops: container.stopped and its connections closed; back: started and opened', () => {
    const full = buildTopology(syntheticSnapshot());
    const less = buildTopology(without(syntheticSnapshot(), IDS.db));
    const down = toChangeEvents(full, less);
    expect(down.filter((e) => e.type === 'container.stopped').map((e) => e.type === 'container.stopped' && e.container.name)).toEqual(['db']);
    const closed = down.filter((e) => e.type === 'connection.closed');
    expect(closed.length).toBeGreaterThan(0);
    expect(closed.every((e) => e.type === 'connection.closed' && 'connection' in e && e.connection.toName === 'db')).toBe(true);
    const up = toChangeEvents(less, full);
    expect(up.filter((e) => e.type === 'container.started')).toHaveLength(1);
    expect(up.filter((e) => e.type === 'connection.opened')).toHaveLength(closed.length);
  });
});

// The export over the real agent loop and core pipeline on the synthetic snapshot: events become connbeat
// documents with the inventory's labels and the sockets' processes, filtered, handed to every sink.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { scriptedCollection, withoutContainers } from '../../test/fixtures/agent/fake-collection.js';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import { createAgent } from '../agent/loop.js';
import type { Snapshot } from '../core/model/snapshot.js';
import type { ConnbeatDocument } from '../core/report/connbeat.js';
import { compileExportFilter, KEEP_ALL } from '../core/report/export-filter.js';
import { createExporter } from './exporter.js';
import type { ExportSink } from './sink.js';
import { newCounters, statusOf } from './sink.js';

function memorySink(name: string): ExportSink & { docs: ConnbeatDocument[] } {
  const docs: ConnbeatDocument[] = [];
  const c = newCounters();
  return { name, kind: 'stdout', docs, push(d) { docs.push(...d); c.sent += d.length; }, status: () => statusOf(name, 'stdout', c, 0), async close() {} };
}

/** The snapshot without a container and its namespace's sockets (as if it stopped: its connections close). */
function stopped(s: Snapshot, id: string): Snapshot {
  const ns = s.netns.containers.find((c) => c.containerId === id)?.netns;
  const w = withoutContainers(s, [id]);
  return { ...w, sockets: w.sockets.filter((t) => t.netns !== ns) };
}

const beat = { hostname: 'h1', name: 'portolan', version: '0.1.0' };
const dockerHost = { hostname: 'h1', ips: ['192.0.2.1'] };

describe('createExporter', () => {
  it('maps the agent\'s events (stopped container, closed connections) with labels and processes, to every sink', async () => {
    const full = syntheticSnapshot();
    const collection = scriptedCollection([full, stopped(full, IDS.hc)]);
    const agent = createAgent({ collection, logger: pino({ level: 'silent' }), intervalMs: 60_000 });
    const a = memorySink('a');
    const b = memorySink('b');
    const exporter = createExporter({ agent, sinks: [a, b], filter: KEEP_ALL, beat, dockerHost });
    await agent.collectNow();
    await agent.collectNow();
    expect(a.docs).toEqual(b.docs);
    const stoppedDoc = a.docs.find((d) => d.event === 'container.stopped');
    const hc = full.containers.find((c) => c.id === IDS.hc);
    expect(stoppedDoc?.container).toMatchObject({ id: IDS.hc, name: hc?.name, image: hc?.image, labels: hc?.labels });
    const closed = a.docs.filter((d) => d.event === 'connection.closed');
    expect(closed.length).toBeGreaterThan(0);
    // hc's own end is named by its container and the process the snapshot saw holding the socket.
    const own = closed.find((d) => d.container?.id === IDS.hc);
    expect(own).toBeDefined();
    expect(own?.docker_host).toEqual(dockerHost);
    expect(own?.beat).toEqual(beat);
    const withProcess = closed.filter((d) => d.local_process !== null);
    expect(withProcess.length).toBeGreaterThan(0);
    for (const d of withProcess) expect(full.processes.map((p) => p.command)).toContain(d.local_process?.binary);
    expect(exporter.status().map((s) => s.sent)).toEqual([a.docs.length, a.docs.length]);
    await exporter.close();
  });

  it('holds back what the filter refuses and counts it', async () => {
    const full = syntheticSnapshot();
    const collection = scriptedCollection([full, stopped(full, IDS.hc)]);
    const agent = createAgent({ collection, logger: pino({ level: 'silent' }), intervalMs: 60_000 });
    const a = memorySink('a');
    const exporter = createExporter({ agent, sinks: [a], filter: compileExportFilter({ kinds: ['container'] }), beat, dockerHost });
    await agent.collectNow();
    await agent.collectNow();
    expect(a.docs.map((d) => d.event)).toEqual(['container.stopped']);
    expect(exporter.filtered()).toBeGreaterThan(0);
    await exporter.close();
  });
});

import { spawnSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { hsflowdCapture } from '../../test/fixtures/sflow/hsflowd.js';
import { syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import { createAgent, type AgentCollection } from '../agent/loop.js';
import type { CollectorRun } from '../collectors/collector.js';
import type { Snapshot } from '../core/model/snapshot.js';
import type { EdgeSflow, Topology } from '../core/model/topology.js';
import { buildApp } from './app.js';

const apps: FastifyInstance[] = [];
afterEach(async () => { for (const a of apps.splice(0)) await a.close(); });

/** An agent whose one collection returns `snapshot` with these collector runs. */
async function appWith(snapshot: Snapshot, runs: CollectorRun[]): Promise<FastifyInstance> {
  const collection: AgentCollection = { collect: async () => ({ snapshot, runs }) };
  const agent = createAgent({ collection, logger: pino({ level: 'silent' }), intervalMs: 2000 });
  await agent.collectNow();
  const app = await buildApp(agent, { metrics: { defaultMetrics: false } });
  apps.push(app);
  return app;
}
const ok = (name: string): CollectorRun => ({ name, durationMs: 1, ok: true });

describe('sFlow in the API and /metrics (hsflowd\'s capture as the collection)', () => {
  const capture = hsflowdCapture();

  it('GET /api/v1/sflow: the agent, the three containers\' counters, the host, the bridge interface', async () => {
    const app = await appWith(capture.snapshot, [ok('docker'), ok('sflow')]);
    const r = await app.inject({ url: '/api/v1/sflow' });
    expect(r.statusCode).toBe(200);
    const body = r.json() as Record<string, { [k: string]: unknown }[]> & { receiver: Record<string, unknown> };
    expect(body.receiver).toMatchObject({ listen: '127.0.0.1:6343', datagrams: 120, rejected: {} });
    expect(body.agents).toMatchObject([{ agent: '10.78.0.1', subAgentId: 100000, datagrams: 120, flowSamples: 690, counterSamples: 30, lostDatagrams: 0, samplingRates: [1] }]);
    expect(body.containers?.map((c) => [c.name, c.source])).toEqual([['shop-api', '3:132530'], ['shop-db', '3:138958'], ['shop-web', '3:144023']]);
    expect(body.hosts).toMatchObject([{ source: '2:1', hostname: 'vm' }]);
    expect(body.interfaces).toMatchObject([{ source: '0:4', ifIndex: 4, operUp: true, adminUp: true, speed: 10_000_000_000 }]);
  });

  it('GET /api/v1/topology carries the two sFlow-only edges with their estimates', async () => {
    const app = await appWith(capture.snapshot, [ok('docker'), ok('sflow')]);
    const t = (await app.inject({ url: '/api/v1/topology' })).json() as Topology;
    const sflowOnly = t.edges.filter((e) => e.connections === 0 && e.sflow);
    expect(sflowOnly.map((e) => e.port)).toEqual([5432, 8080]);
    expect(sflowOnly.every((e) => (e.sflow as EdgeSflow).samples > 0 && e.traffic === undefined)).toBe(true);
  });

  it('/metrics: agent, container and edge-estimate families, clean under promtool', async () => {
    const app = await appWith(capture.snapshot, [ok('docker'), ok('sflow')]);
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text).toContain('portolan_sflow_datagrams_total{agent="10.78.0.1",sub_agent="100000"} 120');
    expect(text).toContain('portolan_sflow_samples_total{agent="10.78.0.1",sub_agent="100000",type="flow"} 690');
    expect(text).toContain('portolan_sflow_lost_datagrams_total{agent="10.78.0.1",sub_agent="100000"} 0');
    expect(text).toContain('portolan_sflow_sampling_rate{agent="10.78.0.1",sub_agent="100000",source="0:4"} 1');
    expect(text).toMatch(/portolan_sflow_container_receive_bytes_total\{container="shop-web",id="e2cbf989d49b",agent="10.78.0.1"\} 10428/);
    const web = capture.part.flows.filter((f) => f.srcIp === '172.18.0.4' && f.dstPort === 8080).reduce((n, f) => n + f.bytes, 0);
    expect(text).toMatch(new RegExp(`^portolan_edge_sflow_sent_bytes_total\\{from="shop-web",from_id="e2cbf989d49b",from_kind="container",to="shop-api",to_id="[0-9a-f]{12}",to_kind="container",protocol="tcp",port="8080"\\} ${web}$`, 'm'));
    expect(text).toContain('portolan_metrics_series_dropped_total{family="sflow_edge"} 0');
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error) throw new Error(`promtool (Debian package prometheus, installed by scripts/ensure-docker.sh) is needed: ${promtool.error.message}`);
    expect(promtool.stdout + promtool.stderr).toBe('');
    expect(promtool.status).toBe(0);
  });

  it('the edge families keep the busiest --metrics-max-edges and count the rest', async () => {
    const collection: AgentCollection = { collect: async () => ({ snapshot: capture.snapshot, runs: [ok('docker'), ok('sflow')] }) };
    const agent = createAgent({ collection, logger: pino({ level: 'silent' }), intervalMs: 2000 });
    await agent.collectNow();
    const app = await buildApp(agent, { metrics: { defaultMetrics: false, maxEdgeSeries: 1 } });
    apps.push(app);
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text.match(/^portolan_edge_sflow_sent_bytes_total\{/gm)).toHaveLength(1);
    expect(text).toContain('portolan_metrics_series_dropped_total{family="sflow_edge"} 1');
  });

  it('without --sflow: 404 sflow_disabled; a failed sFlow collector: 503', async () => {
    const off = await appWith(syntheticSnapshot(), [ok('docker')]);
    expect((await off.inject({ url: '/api/v1/sflow' })).json()).toMatchObject({ statusCode: 404, code: 'sflow_disabled' });
    const { sflow: _s, ...withoutPart } = capture.snapshot;
    const failed = await appWith(withoutPart, [ok('docker'), { name: 'sflow', durationMs: 1, ok: false, error: 'sflow: the receiver is not listening' }]);
    const r = await failed.inject({ url: '/api/v1/sflow' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ code: 'sflow_unavailable', message: /not listening/ });
  });
});

// compose.yaml on the real engine (Debian's docker-compose): the agent, built from the Dockerfile, and a real
// Prometheus (Debian's binary in an image, scripts/prometheus-image.sh; no registry here) scraping it. Then every
// query of the Grafana dashboard (deploy/grafana/dashboards/portolan.json) — each panel's PromQL and each
// template variable — is asked of that Prometheus and must return series; the ones about the test's own traffic
// must return what the kernel says (the pump's rate, its connection's RTT from ss).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, portolanImage, runAsync } from './deploy-helpers.js';
import { cleanup, docker, inspect, name, network, normEndpoint, ROOT, run, RUN_ID, ssSockets, testImage, waitFor } from './harness.js';
import { eventually, getJson } from './serve-agent.js';

interface Panel { title: string; type: string; targets?: { expr: string }[]; panels?: Panel[] }
interface Dashboard { templating: { list: { name: string; type: string; query?: { query: string } | string }[] }; panels: Panel[] }
interface PromResult { metric: Record<string, string>; value: [number, string] }

const PROJECT = `pt-${RUN_ID}`;
const RATE = 500_000;
let dir = '';
let agentBase = '';
let promBase = '';
let env: NodeJS.ProcessEnv = {};

const compose = (...args: string[]) => {
  const r = spawnSync('docker-compose', ['-p', PROJECT, '-f', path.join(ROOT, 'compose.yaml'), ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  if (r.error) throw new Error(`docker-compose (Debian package, installed by scripts/ensure-docker.sh) is needed: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`docker-compose ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** A PromQL instant query; the result vector. */
async function query(expr: string): Promise<PromResult[]> {
  const r = await getJson<{ status: string; data: { resultType: string; result: PromResult[] }; error?: string }>(`${promBase}/api/v1/query?query=${encodeURIComponent(expr)}`);
  if (r.body.status !== 'success') throw new Error(`${expr}: ${r.body.error ?? r.status}`);
  return r.body.data.result;
}

/**
 * A Grafana expression as Prometheus takes it: every agent, every container, a rate window of 20 scrapes (the
 * agent's counters step at each collection, every 2 s; a window of a few scrapes could hold one step or none).
 */
const concrete = (expr: string) => expr.replaceAll('$instance', '.+').replaceAll('$container', '.+').replaceAll('$__rate_interval', '20s');

beforeAll(async () => {
  testImage();
  const image = await portolanImage();
  const prometheusImage = execFileSync('bash', [path.join(ROOT, 'scripts/prometheus-image.sh')], { encoding: 'utf8' }).trim().split('\n').pop() ?? '';
  const [agentPort, promPort] = [await freePort(), await freePort()];
  agentBase = `http://127.0.0.1:${agentPort}`;
  promBase = `http://127.0.0.1:${promPort}`;
  // The shipped Prometheus configuration, scraping the test's agent port, every second (so that rates exist soon).
  dir = mkdtempSync(path.join(os.tmpdir(), 'portolan-compose-'));
  const config = readFileSync(path.join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')
    .replace('127.0.0.1:9057', `127.0.0.1:${agentPort}`).replace(/interval: 15s/g, 'interval: 1s');
  writeFileSync(path.join(dir, 'prometheus.yml'), config);
  env = {
    PORTOLAN_IMAGE: image, PROMETHEUS_IMAGE: prometheusImage, PORTOLAN_LISTEN: `127.0.0.1:${agentPort}`,
    PROMETHEUS_LISTEN: `127.0.0.1:${promPort}`, PROMETHEUS_CONFIG: path.join(dir, 'prometheus.yml'),
  };
  // Traffic of the test's own: a pump at a known rate to a sink, a sidecar sharing the sink's namespace, a user network.
  network('net');
  run('sink', ['--network', name('net')], ['node', '/opt/peer.mjs', 'tcp-sink', '7400']);
  run('side', ['--network', `container:${name('sink')}`], ['sleep', '100000']);
  run('pump', ['--network', name('net')], ['node', '/opt/peer.mjs', 'tcp-pump', name('sink'), '7400', String(RATE), '3600']);
  await waitFor(() => ssSockets(inspect('pump').State.Pid).some((s) => s.state === 'ESTABLISHED' && s.remote.endsWith(':7400')), 30_000, 'the pump connected');
  const up = await runAsync('docker-compose', ['-p', PROJECT, '-f', path.join(ROOT, 'compose.yaml'), 'up', '-d', '--no-build'], { ...process.env, ...env });
  if (up.status !== 0) throw new Error(`docker-compose up: ${up.output}`);
}, 900_000);

afterAll(() => {
  if (Object.keys(env).length > 0) spawnSync('docker-compose', ['-p', PROJECT, '-f', path.join(ROOT, 'compose.yaml'), 'down', '-v', '--timeout', '30'], { env: { ...process.env, ...env } });
  cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('docker compose up (compose.yaml)', () => {
  it('starts the agent as the README runs it (host namespaces, three capabilities, read-only) and it turns healthy', async () => {
    const id = compose('ps', '-q', 'agent').trim();
    const c = JSON.parse(docker('inspect', id))[0] as { HostConfig: { PidMode: string; NetworkMode: string; CapAdd: string[]; CapDrop: string[]; ReadonlyRootfs: boolean; Privileged: boolean; SecurityOpt: string[] }; State: { Health?: { Status: string } } };
    expect(c.HostConfig).toMatchObject({ PidMode: 'host', NetworkMode: 'host', CapDrop: ['ALL'], ReadonlyRootfs: true, Privileged: false });
    expect(c.HostConfig.SecurityOpt).toContain('no-new-privileges:true');
    expect([...c.HostConfig.CapAdd].sort()).toEqual(['DAC_READ_SEARCH', 'SYS_ADMIN', 'SYS_PTRACE']);
    await eventually(() => (JSON.parse(docker('inspect', id))[0].State.Health?.Status === 'healthy' ? true : undefined), 90_000, 'the agent to turn healthy');
    const doc = await eventually(async () => {
      const d = (await getJson<{ containers: { name: string; sockets: { state: string; local: { address: string; port: number }; remote: { address: string; port: number } }[] }[] }>(`${agentBase}/api/v1/sockets?container=${name('pump')}&state=established`)).body;
      return d.containers[0]?.sockets.length ? d : undefined;
    }, 20_000, 'the agent to list the pump\'s connection');
    const ss = ssSockets(inspect('pump').State.Pid).filter((s) => s.state === 'ESTABLISHED').map((s) => `${s.local} ${s.remote}`).sort();
    expect(doc.containers[0]?.sockets.map((s) => `${normEndpoint(s.local.address, s.local.port)} ${normEndpoint(s.remote.address, s.remote.port)}`).sort()).toEqual(ss);
  });

  it('Prometheus scrapes the agent: its target is up', async () => {
    await eventually(async () => {
      const t = (await getJson<{ data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] } }>(`${promBase}/api/v1/targets`)).body;
      const target = t.data.activeTargets.find((x) => x.labels.job === 'portolan');
      return target?.health === 'up' ? true : undefined;
    }, 60_000, 'Prometheus\'s portolan target to be up');
  });
});

describe('the Grafana dashboard against that Prometheus', () => {
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy/grafana/dashboards/portolan.json'), 'utf8')) as Dashboard;
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
  const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));

  it('covers containers\' traffic, top edges, RTT, retransmits and collector health', () => {
    const all = targets.map((t) => t.expr).join('\n');
    for (const metric of ['portolan_container_network_receive_bytes_total', 'portolan_edge_sent_bytes_total', 'portolan_edge_rtt_seconds', 'portolan_edge_retransmits_total', 'portolan_collector_success', 'portolan_collector_duration_seconds_bucket', 'portolan_container_info']) {
      expect(all).toContain(metric);
    }
    expect(targets.length).toBeGreaterThanOrEqual(20);
    // Titles name panels uniquely (this test finds them by title).
    expect(new Set(panels.map((p) => p.title)).size).toBe(panels.length);
  });

  it('every panel\'s query returns series', async () => {
    for (const t of targets) {
      await eventually(async () => ((await query(concrete(t.expr))).length > 0 ? true : undefined), 60_000, `panel "${t.title}": ${t.expr}`);
    }
  }, 300_000);

  it('every template variable has values', async () => {
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      const q = typeof v.query === 'string' ? v.query : v.query?.query ?? '';
      const m = /^label_values\((.+), (\w+)\)$/.exec(q);
      if (!m) throw new Error(`variable ${v.name}: not a label_values query: ${q}`);
      const values = (await getJson<{ data: string[] }>(`${promBase}/api/v1/label/${m[2]}/values?match[]=${encodeURIComponent(concrete(m[1] ?? ''))}`)).body.data;
      expect(values.length, v.name).toBeGreaterThan(0);
      if (v.name === 'container') expect(values).toEqual(expect.arrayContaining([name('pump'), name('sink'), name('side')]));
    }
  });

  it('the panels about the test\'s traffic say what the kernel says', async () => {
    const expr = (title: string) => concrete(targets.find((t) => t.title === title)?.expr ?? '');
    // Rates need their whole window of samples: 20 s of scrapes of the pump's edge.
    await eventually(async () => Number((await query(`count_over_time(portolan_edge_sent_bytes_total{from="${name('pump')}"}[20s])`))[0]?.value[1] ?? 0) >= 18 ? true : undefined, 60_000, '20 s of samples of the pump\'s edge');
    // The pump's rate on its edge (tcp_info payload bytes): the pump's rate, within 25 %.
    const edge = await eventually(async () => (await query(expr('Top edges by traffic (client → server)'))).find((r) => r.metric.from === name('pump') && r.metric.to === name('sink')), 60_000, 'the pump → sink edge in the top edges');
    expect(Number(edge.value[1])).toBeGreaterThan(RATE * 0.75);
    expect(Number(edge.value[1])).toBeLessThan(RATE * 1.25);
    // Traffic by container counts each namespace once: the sidecar shares the sink's, and is left out.
    const received = await query(expr('Received by container'));
    expect(received.map((r) => r.metric.container)).toContain(name('sink'));
    expect(received.map((r) => r.metric.container)).not.toContain(name('side'));
    // RTT of the edge: ss's rtt of the pump's socket, in the same order of magnitude (both are the kernel's srtt).
    const rtt = (await query(concrete('max by (from, to) (portolan_edge_rtt_seconds{stat="p50"})'))).find((r) => r.metric.from === name('pump'));
    const ssRtt = Number(/rtt:([\d.]+)\//.exec(execFileSync('nsenter', ['-t', String(inspect('pump').State.Pid), '-n', 'ss', '-tinH', 'dport', '7400'], { encoding: 'utf8' }))?.[1]) / 1000;
    expect(Number(rtt?.value[1])).toBeGreaterThan(0);
    expect(Number(rtt?.value[1])).toBeLessThan(Math.max(ssRtt * 20, 0.01));
    // The container table names the image.
    const info = (await query(expr('Container inventory'))).find((r) => r.metric.container === name('pump'));
    expect(info?.metric).toMatchObject({ image: testImage(), network_mode: name('net') });
  });
});

// dockerd restarts under a running agent. The daemon restarted is a second, temporary Docker host (its own
// network namespace, data root and containerd; scripts/second-dockerd.sh), so the shared test engine and
// whatever else runs on it are never disturbed. The agent's interval is far longer than the test waits:
// recovery must come from the events stream reconnecting, not from a tick.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS, name, testImage } from './harness.js';
import { dockerAt, loadImage, startSecondHost, stopSecondHost, type SecondHost } from './second-host.js';
import { eventually, getJson, startServe, type ServeProcess } from './serve-agent.js';

const HOST = `ptrst${process.pid % 100000}`;
let host: SecondHost;
let agent: ServeProcess | undefined;

interface Topology { stale: boolean; nodes: { name: string }[] }
interface Status { stale: boolean; dockerEvents: string; dockerReconnects: number }

const ping = (sock: string) => spawnSync('curl', ['-fsS', '--max-time', '2', '--unix-socket', sock, 'http://localhost/_ping']).status === 0;

beforeAll(() => {
  const image = testImage();
  // --live-restore: containers keep running while dockerd is down, so the agent's last state is still true.
  host = startSecondHost(HOST, ['--live-restore']);
  loadImage(HOST, image);
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  // Removes its containers, dockerd (the restarted one too: found by pid file and data root), mounts and namespace.
  stopSecondHost(HOST);
});

describe('portolan serve while dockerd restarts', () => {
  it('serves the last state marked stale while Docker is away, then reconnects and follows events again', async () => {
    const runOn = (n: string) => dockerAt(host, 'run', '-d', '--stop-timeout', '1', '--name', name(n), ...LABELS, testImage(), 'node', '/opt/peer.mjs', 'tcp-server', '8080');
    runOn('before');
    agent = await startServe(['--interval', '60', '--no-history', '--docker-host', host.dockerHost]);
    const base = agent.base;
    await eventually(async () => (await getJson<Topology>(`${base}/api/v1/topology`)).body.nodes?.some((n) => n.name === name('before')), 30_000, 'the first container');

    // Stop the daemon, keeping its command line to start it again the same way.
    const pid = Number(fs.readFileSync(`/run/portolan-${HOST}/docker.pid`, 'utf8'));
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    const sock = host.dockerHost.replace(/^unix:\/\//, '');
    process.kill(pid, 'SIGTERM');
    await eventually(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 60_000, 'dockerd to exit');

    const stale = await eventually(async () => {
      const t = (await getJson<Topology>(`${base}/api/v1/topology`)).body;
      return t.stale ? t : undefined;
    }, 20_000, 'the state to go stale');
    // The last state is still served: the container is listed although Docker cannot say so now.
    expect(stale.nodes.map((n) => n.name)).toContain(name('before'));
    expect((await getJson<Status>(`${base}/api/v1/status`)).body.dockerEvents).toBe('disconnected');
    expect((await getJson<{ status: string }>(`${base}/healthz`)).body.status).toBe('ok');

    const log = fs.openSync(`/run/portolan-${HOST}/dockerd.log`, 'a');
    const daemon = spawn('setsid', ['nsenter', `--net=/var/run/netns/${HOST}`, ...argv], { detached: true, stdio: ['ignore', log, log] });
    daemon.unref();
    fs.closeSync(log);
    await eventually(() => ping(sock), 60_000, 'dockerd to answer again');

    const status = await eventually(async () => {
      const s = (await getJson<Status>(`${base}/api/v1/status`)).body;
      return !s.stale && s.dockerEvents === 'connected' ? s : undefined;
    }, 30_000, 'the agent to reconnect');
    expect(status.dockerReconnects).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^portolan_docker_reconnects_total [1-9]/m);

    // Events flow again: a container started now shows up long before the 60 s tick.
    runOn('after');
    const after = await eventually(async () => {
      const t = (await getJson<Topology>(`${base}/api/v1/topology`)).body;
      return t.nodes.some((n) => n.name === name('after')) ? t : undefined;
    }, 20_000, 'the container started after the restart');
    expect(after.stale).toBe(false);
    // The first container ran on through the restart (live restore): still listed, now fresh.
    expect(after.nodes.map((n) => n.name)).toContain(name('before'));
  });
});

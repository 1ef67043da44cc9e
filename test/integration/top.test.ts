// `portolan top`: rates against a pump of known rate, and the live view driven in tmux.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanup, inspect, name, portolan, run, RUN_ID, testImage, waitFor } from './harness.js';

interface Row { name: string; rxBytesPerSec: number | null; txBytesPerSec: number | null; established: number; trafficScope: string }
const RATE = 1_000_000;
const session = `portolan-top-${RUN_ID}`;
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });

beforeAll(async () => {
  testImage();
  run('sink', [], ['node', '/opt/peer.mjs', 'tcp-sink', '7100']);
  const ip = inspect('sink').NetworkSettings.Networks['bridge']?.IPAddress ?? '';
  run('pump', [], ['node', '/opt/peer.mjs', 'tcp-pump', ip, '7100', String(RATE), '60']);
  await new Promise((r) => setTimeout(r, 3000));
}, 60_000);

afterAll(() => {
  spawnSync('tmux', ['kill-session', '-t', session]);
  cleanup();
});

describe('portolan top --once --json', () => {
  it('a 1 MB/s pump shows a container rate within 10%', () => {
    const r = portolan(['top', '--once', '--json', '--interval', '3']);
    expect(r.status, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as { intervalMs: number; containers: Row[]; edges: { from: string; to: string; port: number; connections: number; bytesSentPerSec: number | null; bytesReceivedPerSec: number | null }[] };
    expect(view.intervalMs).toBeGreaterThanOrEqual(2900);
    const pump = view.containers.find((c) => c.name === name('pump'));
    const sink = view.containers.find((c) => c.name === name('sink'));
    // Interface counters include TCP/IP headers (a few %), so the payload rate is the floor.
    expect(pump?.txBytesPerSec).toBeGreaterThan(RATE * 0.9);
    expect(pump?.txBytesPerSec).toBeLessThan(RATE * 1.1);
    expect(sink?.rxBytesPerSec).toBeGreaterThan(RATE * 0.9);
    expect(sink?.rxBytesPerSec).toBeLessThan(RATE * 1.1);
    expect(pump?.established).toBe(1);
    // The edge carries the payload rate (tcp_info counts payload only, no headers).
    const edge = view.edges.find((e) => e.from === name('pump') && e.to === name('sink'));
    expect(edge).toMatchObject({ port: 7100, connections: 1 });
    expect(edge?.bytesSentPerSec).toBeGreaterThan(RATE * 0.9);
    expect(edge?.bytesSentPerSec).toBeLessThan(RATE * 1.1);
    expect(view.edges[0]?.from).toBe(name('pump'));
    // Busiest first.
    expect(view.containers.slice(0, 2).map((c) => c.name).sort()).toEqual([name('pump'), name('sink')].sort());
  });

  it('--json without --once is refused with one line', () => {
    const r = portolan(['top', '--json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--json needs --once/);
  });

  it('a Docker endpoint that does not answer is one line and exit 2, before any sample', () => {
    const r = portolan(['top', '--once', '--json', '--docker-host', 'unix:///nonexistent/docker.sock']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^portolan: no Docker socket at \/nonexistent\/docker\.sock/)]);
  });
});

describe('portolan top in a terminal (tmux)', () => {
  it('refreshes, sorts on a key and quits on q', async () => {
    tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', `${process.execPath} ${CLI} top; echo EXITED; sleep 60`);
    const screen = () => tmux('capture-pane', '-p', '-t', session);
    await waitFor(() => screen().includes(name('pump')), 15_000, 'top to show the pump');
    expect(screen()).toMatch(/sorted by rate/);
    expect(screen()).toMatch(new RegExp(`${name('pump')}\\s+${name('sink')}\\s+tcp/7100`));
    // The pump row has a rate once two samples exist.
    await waitFor(() => new RegExp(`${name('pump')}\\s+\\S+/s`).test(screen()), 10_000, 'a rate on the pump row');
    tmux('send-keys', '-t', session, 'c');
    await waitFor(() => screen().includes('sorted by connections'), 5_000, 'sort by connections');
    tmux('send-keys', '-t', session, 'q');
    await waitFor(() => screen().includes('EXITED'), 5_000, 'top to quit on q');
  });
});

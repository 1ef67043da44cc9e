// The eBPF feed with a stand-in `bpftrace` on PATH (a script printing what bpftrace 0.17 printed here for a loopback
// connection): the real spawn, parsing, pairing and payload arithmetic; and each way it cannot load, said once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EbpfSocketEvent } from '../core/capture/ebpf-event.js';
import { createEbpfFeed } from './ebpf.js';

// Recorded from bpftrace -f json with the probe (a node client sending 100 bytes to a local echo server, closing).
const RECORDED = [
  '{"type": "attached_probes", "data": {"probes": 2}}',
  '{"type": "printf", "data": "v1 3099304921641 18446612692187204096 4026532409 2 1 4 127.0.0.1 45712 127.0.0.1 19798 1 0 6137 node\\n"}',
  '{"type": "printf", "data": "v1 3099304964883 18446612692187185152 4026532409 3 1 4 127.0.0.1 19798 127.0.0.1 45712 0 0 6137 node\\n"}',
  '{"type": "printf", "data": "v1 3099304970000 18446612692187100000 4026532409 2 1 4 172.17.0.5 50128 172.17.0.4 8080 1 0 11 wget\\n"}',
  'garbage',
  '{"type": "lost_events", "data": {"events": 3}}',
  '{"type": "printf", "data": "v1 3099307393484 18446612692187185152 4026532409 5 7 4 127.0.0.1 19798 127.0.0.1 45712 101 101 6137 node\\n"}',
  '{"type": "printf", "data": "v1 3099307420476 18446612692187204096 4026532409 9 7 4 127.0.0.1 45712 127.0.0.1 19798 102 101 6137 node\\n"}',
];
const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-ebpf-'));
  dirs.push(d);
  return d;
};
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

/** A PATH directory with a `bpftrace` that prints `lines` and then waits (or exits with `exit`), and a tracefs with the tracepoint. */
function standIn(lines: readonly string[], opts: { exit?: number; stderr?: string } = {}) {
  const bin = tmp();
  const data = path.join(bin, 'out.txt');
  fs.writeFileSync(data, lines.map((l) => `${l}\n`).join(''));
  fs.writeFileSync(path.join(bin, 'bpftrace'), `#!/bin/sh\ncat '${data}'\n${opts.stderr ? `echo '${opts.stderr}' >&2\n` : ''}${opts.exit !== undefined ? `exit ${opts.exit}` : 'exec sleep 30'}\n`, { mode: 0o755 });
  const tracefs = tmp();
  fs.mkdirSync(path.join(tracefs, 'events', 'sock', 'inet_sock_set_state'), { recursive: true });
  return { env: { PATH: `${bin}:/usr/bin:/bin` }, tracefsRoots: [tracefs] };
}

describe('createEbpfFeed', () => {
  it('reports loopback connection ends opened and closed, with duration and payload bytes; counts lost events and garbage', async () => {
    const ends: EbpfSocketEvent[] = [];
    const notices: string[] = [];
    const feed = createEbpfFeed({ ...standIn(RECORDED), onConnection: (e) => ends.push(e), onNotice: (m) => notices.push(m) });
    expect((await feed.start()).state).toBe('running');
    for (let i = 0; i < 200 && ends.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    expect(ends.map((e) => [e.kind, e.role, e.local.port])).toEqual([['opened', 'client', 45712], ['opened', 'server', 19798], ['closed', 'server', 19798], ['closed', 'client', 45712]]);
    // 172.17.0.5 → 172.17.0.4 crosses netfilter: conntrack sees it, eBPF leaves it out.
    expect(ends.some((e) => e.local.address === '172.17.0.5')).toBe(false);
    const closed = ends[3];
    expect(closed).toMatchObject({ netns: 4026532409, family: 'ipv4', remote: { address: '127.0.0.1', port: 19798 }, durationMs: 2, bytesSent: 100, bytesReceived: 100 });
    expect(feed.status()).toMatchObject({ state: 'running', lost: 3, parseErrors: 1, connections: 2, transitions: 5 });
    expect(notices).toEqual([]);
    await feed.stop();
    expect(feed.status().state).toBe('stopped');
  });

  it('without bpftrace, without tracefs, or when bpftrace fails: one notice with the reason and the fix', async () => {
    const notices: string[] = [];
    const onConnection = () => undefined;
    const none = await createEbpfFeed({ env: { PATH: tmp() }, onConnection, onNotice: (m) => notices.push(m) }).start();
    expect(none).toMatchObject({ state: 'unavailable', reason: 'bpftrace is not installed (not found on PATH)', fix: 'apt-get install bpftrace' });
    const s = standIn([]);
    const unmounted = await createEbpfFeed({ env: s.env, tracefsRoots: [tmp()], onConnection, onNotice: (m) => notices.push(m) }).start();
    expect(unmounted).toMatchObject({ state: 'unavailable', reason: 'tracefs is not mounted', fix: 'mount -t tracefs tracefs /sys/kernel/tracing' });
    const failing = standIn([], { exit: 1, stderr: 'ERROR: Could not resolve symbol: /proc/self/exe:BEGIN_trigger: Operation not permitted' });
    const failed = await createEbpfFeed({ ...failing, onConnection, onNotice: (m) => notices.push(m) }).start();
    expect(failed.state).toBe('failed');
    expect(failed.reason).toMatch(/could not load the probe: ERROR: .*Operation not permitted/);
    expect(failed.fix).toMatch(/root/);
    expect(notices).toHaveLength(3);
    expect(notices[1]).toBe('eBPF source off: tracefs is not mounted (to enable it: mount -t tracefs tracefs /sys/kernel/tracing); everything else works without it');
  });
});

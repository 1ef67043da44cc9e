import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProcfs, type Procfs } from '../sources/procfs.js';
import { emptyParts, type CollectContext } from './collector.js';
import { createConntrackCollector } from './conntrack.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'portolan-conntrack-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ctx = (hostPid: number | 'self', host = 4026531833): CollectContext => ({
  signal: AbortSignal.timeout(5000),
  parts: { ...emptyParts(), netns: { host, hostPid, containers: [] } },
});

const TCP = 'ipv4     2 tcp      6 431997 ESTABLISHED src=10.77.91.2 dst=10.77.91.2 sport=38524 dport=18082 src=172.31.77.2 dst=172.31.77.1 sport=8080 dport=38524 [ASSURED] mark=0 zone=0 use=2';
const UDP = 'ipv4     2 udp      17 29 src=172.17.0.4 dst=172.17.0.2 sport=37393 dport=5353 [UNREPLIED] src=172.17.0.2 dst=172.17.0.4 sport=5353 dport=37393 mark=0 zone=0 use=2';
const IGMP = 'ipv4     2 unknown  2 531 src=172.20.0.1 dst=224.0.0.22 [UNREPLIED] src=224.0.0.22 dst=172.20.0.1 mark=0 zone=0 use=2';

function failingProcfs(code: string): Procfs {
  const real = createProcfs(root);
  return { ...real, readText: () => { throw Object.assign(new Error(`${code}: nope`), { code }); } };
}

describe('conntrack collector', () => {
  it('reads the host pid\'s table, keeps TCP and UDP, and counts malformed lines as one issue', async () => {
    mkdirSync(path.join(root, '77/net'), { recursive: true });
    writeFileSync(path.join(root, '77/net/nf_conntrack'), [TCP, IGMP, 'garbage', UDP, ''].join('\n'));
    const r = await createConntrackCollector(createProcfs(root)).collect(ctx(77));
    expect(r.conntrack.status).toBe('ok');
    if (r.conntrack.status !== 'ok') return;
    expect(r.conntrack.netns).toBe(4026531833);
    expect(r.conntrack.entries.map((e) => e.protocol)).toEqual(['tcp', 'udp']);
    expect(r.issues).toEqual([{ source: 'conntrack', message: expect.stringMatching(/77\/net\/nf_conntrack:3: expected "ipv4 2"/), count: 1 }]);
  });

  it('a missing table is unavailable with a reason, not a failure', async () => {
    const r = await createConntrackCollector(createProcfs(root)).collect(ctx('self'));
    expect(r.conntrack).toEqual({ status: 'unavailable', reason: expect.stringMatching(/self\/net\/nf_conntrack does not exist/) });
  });

  it('permission denied is unavailable with a reason', async () => {
    const r = await createConntrackCollector(failingProcfs('EACCES')).collect(ctx(1));
    expect(r.conntrack).toEqual({ status: 'unavailable', reason: expect.stringMatching(/cannot read .*1\/net\/nf_conntrack: permission denied/) });
  });

  it('an unknown host namespace is unavailable; other errors fail the collector', async () => {
    const r = await createConntrackCollector(createProcfs(root)).collect(ctx(1, 0));
    expect(r.conntrack.status).toBe('unavailable');
    await expect(createConntrackCollector(failingProcfs('EIO')).collect(ctx(1))).rejects.toThrow(/EIO/);
  });
});

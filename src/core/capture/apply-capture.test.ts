// The capture step inside the one pipeline: short-lived connections count in their edge, a container that exited
// still names its address (never external), recently closed edges stay with closedAt, and then go.
import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../../test/fixtures/topology/synthetic.js';
import type { CapturePart, CaptureStatus, FlowRecord } from '../model/connection.js';
import type { ConntrackEvent } from '../model/conntrack.js';
import type { ContainerInfo } from '../model/container.js';
import type { Snapshot } from '../model/snapshot.js';
import type { Topology } from '../model/topology.js';
import { runPipeline, type PipelineResult } from '../pipeline.js';
import { applyCapture } from './apply-capture.js';

const status: CaptureStatus = {
  state: 'running', namespaces: 1, events: 0, eventsPerSec: 0, dropped: 0, parseErrors: 0, resyncs: 0, mayHaveMissed: 0,
  inFlight: 0, inFlightLimit: 1000, timestamps: 'off', accounting: 'on',
};
const T = Date.parse('2026-12-07T11:00:00.000Z');
const JOB = '9'.repeat(64);

function msg(kind: 'new' | 'destroy', src: string, sport: number, dst: string, dport: number, bytes?: [number, number]): ConntrackEvent {
  return {
    kind, family: 'ipv4', protocol: 'tcp', protocolNumber: 6, status: kind === 'destroy' ? 0xe : 0x8,
    original: { src, dst, sport, dport, ...(bytes ? { packets: 5, bytes: bytes[0] } : {}) },
    reply: { src: dst, dst: src, sport: dport, dport: sport, ...(bytes ? { packets: 5, bytes: bytes[1] } : {}) },
  };
}

function snap(atMs: number, records: FlowRecord[], extra: ContainerInfo[] = []): Snapshot {
  const base = syntheticSnapshot();
  const capture: CapturePart = { status, records };
  return { ...base, containers: [...base.containers, ...extra], takenAt: new Date(atMs).toISOString(), capture };
}

const job: ContainerInfo = {
  id: JOB, name: 'job-1', image: 'alpine', networkMode: { kind: 'bridge', name: 'shop_net' }, pid: 0,
  networks: [{ name: 'shop_net', ipv4: '172.18.0.99', gateway: '172.18.0.1' }], ports: [], labels: {},
};

describe('the capture step of the pipeline', () => {
  const web = syntheticSnapshot().containers.find((c) => c.id === IDS.web);
  const webIp = web?.networks.find((n) => n.ipv4)?.ipv4 ?? '';

  it('a flow with no container at either end (the host\'s own traffic) is an event, not an edge between two externals', () => {
    let r: PipelineResult = runPipeline(snap(T, []));
    const before = r.topology.edges.length;
    r = runPipeline(snap(T + 1000, [{ kind: 'opened', msg: msg('new', '10.79.0.2', 45000, '10.79.0.254', 4222), netns: 1, receivedAtMs: T + 500 }]), r.memory);
    expect(r.captured).toHaveLength(1);
    expect(r.topology.edges).toHaveLength(before);
    expect(r.topology.nodes.some((n) => n.id === 'external:10.79.0.2' || n.id === 'external:10.79.0.254')).toBe(false);
  });

  it('connections that opened and closed between two collections count in their edge, with bytes; the events carry them', () => {
    let r: PipelineResult = runPipeline(snap(T, []));
    const records: FlowRecord[] = [];
    for (let i = 0; i < 100; i++) {
      records.push({ kind: 'opened', msg: msg('new', '172.18.0.99', 40000 + i, webIp, 9999), netns: 1, receivedAtMs: T + 10 + i });
      records.push({ kind: 'closed', msg: msg('destroy', '172.18.0.99', 40000 + i, webIp, 9999, [100, 1000]), netns: 1, receivedAtMs: T + 20 + i, openedAtMs: T + 10 + i });
    }
    // job-1 was listed by one collection, then exited before the next one.
    r = runPipeline(snap(T + 500, [], [job]), r.memory);
    r = runPipeline(snap(T + 2000, records), r.memory);
    const edge = r.topology.edges.find((e) => e.from === JOB && e.port === 9999);
    expect(edge).toMatchObject({ to: IDS.web, connections: 0, captured: { connections: 100, open: 0, bytesSent: 10_000, bytesReceived: 100_000 } });
    expect(edge?.closedAt).toBeDefined();
    expect(r.topology.nodes.find((n) => n.id === JOB)).toMatchObject({ kind: 'container', name: 'job-1', exitedAt: '2026-12-07T11:00:02.000Z' });
    expect(r.topology.nodes.some((n) => n.id === 'external:172.18.0.99')).toBe(false);
    expect(r.captured).toHaveLength(200);
    expect(r.captured[0]).toMatchObject({ type: 'connection.opened', flow: { client: { container: { name: 'job-1' } }, server: { container: { id: IDS.web } } } });
    expect(r.captured[1]).toMatchObject({ type: 'connection.closed', flow: { durationMs: 10, bytes: { sent: 100, received: 1000 } } });
  });

  it('counts accumulate over collections; an edge still open has no closedAt; a closed one fades out after the window', () => {
    let r = runPipeline(snap(T, [], [job]));
    r = runPipeline(snap(T + 1000, [{ kind: 'opened', msg: msg('new', '172.18.0.99', 1, webIp, 9999), netns: 1, receivedAtMs: T + 900 }], [job]), r.memory);
    const open = r.topology.edges.find((e) => e.from === JOB && e.port === 9999);
    expect(open?.captured).toMatchObject({ connections: 1, open: 1 });
    expect(open?.closedAt).toBeUndefined();
    r = runPipeline(snap(T + 2000, [{ kind: 'closed', msg: msg('destroy', '172.18.0.99', 1, webIp, 9999), netns: 1, receivedAtMs: T + 1900, openedAtMs: T + 900 }], [job]), r.memory);
    expect(r.topology.edges.find((e) => e.from === JOB && e.port === 9999)).toMatchObject({ captured: { connections: 1, open: 0 }, closedAt: '2026-12-07T11:00:01.900Z' });
    r = runPipeline(snap(T + 400_000, [], [job]), r.memory);
    expect(r.topology.edges.find((e) => e.from === JOB && e.port === 9999)).toBeUndefined();
  });

  it('a container\'s exit event frees its address at once: the next client Docker gives it to is not named by it', () => {
    let r: PipelineResult = runPipeline(snap(T, []));
    const started = { container: { ...job, startedAt: new Date(T + 100).toISOString() }, atMs: T + 150 };
    const records: FlowRecord[] = [
      { kind: 'opened', msg: msg('new', '172.18.0.99', 40001, webIp, 9999), netns: 1, receivedAtMs: T + 200 },
      // A client no start event named, on the address job-1 had until its exit at T + 300.
      { kind: 'opened', msg: msg('new', '172.18.0.99', 40002, webIp, 9999), netns: 1, receivedAtMs: T + 700 },
    ];
    const s = snap(T + 1000, records);
    r = runPipeline({ ...s, capture: { status, records, started: [started], ended: [{ containerId: JOB, atMs: T + 300 }] } }, r.memory);
    expect(r.captured.map((e) => e.flow.client.container?.name)).toEqual(['job-1', undefined]);
  });

  it('a container still listed when its flow was counted, gone at the next collection: its edge stays, the node marked exited', () => {
    let r: PipelineResult = runPipeline(snap(T, [], [job]));
    r = runPipeline(snap(T + 1000, [{ kind: 'opened', msg: msg('new', '172.18.0.99', 40001, webIp, 9999), netns: 1, receivedAtMs: T + 900 }], [job]), r.memory);
    expect(r.topology.edges.find((e) => e.from === JOB && e.port === 9999)?.captured?.connections).toBe(1);
    r = runPipeline(snap(T + 3000, []), r.memory);
    expect(r.topology.edges.find((e) => e.from === JOB && e.port === 9999)?.captured?.connections).toBe(1);
    expect(r.topology.nodes.find((n) => n.id === JOB)).toMatchObject({ kind: 'container', name: 'job-1', exitedAt: '2026-12-07T11:00:03.000Z' });
  });

  it('an external node whose address an exited container held is that container', () => {
    let r = runPipeline(snap(T, [], [job]));
    const withSocket = snap(T + 1000, []);
    // web's socket still connected to job-1's address after job-1 is gone (TIME_WAIT).
    const ns = withSocket.sockets[0]!;
    const sock = { ...ns.sockets[0]!, protocol: 'tcp' as const, family: 'ipv4' as const, state: 'TIME_WAIT' as const, local: { address: webIp, port: 9999 }, remote: { address: '172.18.0.99', port: 5555 }, inode: 0 };
    const s2 = { ...withSocket, sockets: withSocket.sockets.map((n, i) => (i === 0 ? { ...n, sockets: [...n.sockets, sock] } : n)) };
    r = runPipeline(s2, r.memory);
    expect(r.topology.nodes.some((n) => n.kind === 'external' && n.address === '172.18.0.99')).toBe(false);
  });

  it('past the edge limit the least recently seen edge goes, by its last event in the run, not its first', () => {
    const base = syntheticSnapshot();
    const topology: Topology = { takenAt: base.takenAt, hostname: base.hostname, warnings: [], nodes: [], edges: [] };
    const a = (port: number, at: number): FlowRecord => ({ kind: 'opened', msg: msg('new', '172.18.0.99', port, '172.18.0.2', 7000 + (port % 10)), netns: 1, receivedAtMs: at });
    const run = (records: FlowRecord[], previous?: ReturnType<typeof applyCapture>['memory']) =>
      applyCapture(topology, { ...snap(T + 1000, records, [job]) }, previous, { maxEdges: 2 });
    // Edges to ports 7001, 7002, 7003; 7001 seen first and again last: 7002 is the least recently seen.
    const r = run([a(40001, T + 1), a(40002, T + 2), a(40003, T + 3), a(40011, T + 4)]);
    expect([...r.memory.edges.values()].map((e) => e.port).sort()).toEqual([7001, 7003]);
    // The next run sees 7003 then 7002 (new): 7001, not seen since, goes.
    const r2 = run([a(40013, T + 5), a(40012, T + 6)], r.memory);
    expect([...r2.memory.edges.values()].map((e) => e.port)).toEqual([7003, 7002]);
    expect(r2.memory.edges.get([...r2.memory.edges.keys()][0] ?? '')?.connections).toBe(2);
  });
});


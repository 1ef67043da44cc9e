import { describe, expect, it } from 'vitest';
import type { ConnectionEvent } from '../model/connection.js';
import type { ChangeEvent, ConnectionRef } from './changes.js';
import { connectionDocuments, isContainerNodeId, toConnbeatDocuments, type ConnbeatContext, type ExportContainer } from './connbeat.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const containers = new Map<string, ExportContainer>([
  [A, { id: A, name: 'client', image: 'busybox', labels: { team: 'x' }, ports: [] }],
  [B, { id: B, name: 'server', image: 'nginx:1', labels: {}, ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8080 }] }],
]);
const ctx: ConnbeatContext = {
  beat: { hostname: 'h1', name: 'portolan', version: '0.1.0' },
  dockerHost: { hostname: 'h1', ips: ['192.0.2.10'] },
  containers,
  process: (end) => (end === 'client' ? { binary: 'wget', pid: 7 } : { binary: 'nginx', pid: 9 }),
};
const conn = (over: Partial<ConnectionRef> = {}): ConnectionRef => ({
  edge: `${A}->${B}/tcp/80`, from: A, to: B, fromName: 'client', toName: 'server', protocol: 'tcp',
  client: { address: '172.18.0.2', port: 40000 }, server: { address: '172.18.0.3', port: 80 }, via: 'socket', state: 'ESTABLISHED', ...over,
});

describe('toConnbeatDocuments', () => {
  it('gives one document per end on this host: the client outgoing, the server incoming', () => {
    const docs = toConnbeatDocuments({ type: 'connection.opened', at: '2026-12-07T12:00:00.000Z', connection: conn() }, ctx);
    expect(docs).toHaveLength(2);
    expect(docs[0]).toEqual({
      '@timestamp': '2026-12-07T12:00:00.000Z', type: 'connbeat', event: 'connection.opened',
      beat: { hostname: 'h1', name: 'portolan', version: '0.1.0' },
      local_ip: '172.18.0.2', local_port: 40000, remote_ip: '172.18.0.3', remote_port: 80,
      source: 'collection', protocol: 'tcp', direction: 'outgoing', state: 'ESTABLISHED',
      local_process: { binary: 'wget', pid: 7 },
      container: { id: A, name: 'client', image: 'busybox', labels: { team: 'x' }, ports: [] },
      docker_host: { hostname: 'h1', ips: ['192.0.2.10'] },
    });
    expect(docs[1]).toMatchObject({
      local_ip: '172.18.0.3', local_port: 80, remote_ip: '172.18.0.2', remote_port: 40000, direction: 'incoming',
      local_process: { binary: 'nginx' },
      container: { name: 'server', ports: [{ ip: '0.0.0.0', private_port: 80, public_port: 8080, type: 'tcp' }] },
    });
  });

  it('names the published address as the client\'s remote end', () => {
    const [client] = toConnbeatDocuments({ type: 'connection.opened', at: 't', connection: conn({ published: { address: '192.0.2.10', port: 8080 }, via: 'dnat' }) }, ctx);
    expect(client).toMatchObject({ remote_ip: '192.0.2.10', remote_port: 8080, published: { ip: '192.0.2.10', port: 8080 } });
  });

  it('gives no document for an external end and none without a container for a host process', () => {
    const docs = toConnbeatDocuments({ type: 'connection.closed', at: 't', connection: conn({ from: 'external:203.0.113.5', client: { address: '203.0.113.5', port: 5555 }, state: 'TIME_WAIT' }) }, ctx);
    expect(docs.map((d) => d.direction)).toEqual(['incoming']);
    expect(docs[0]?.state).toBe('TIME_WAIT');
    const host = toConnbeatDocuments({ type: 'connection.opened', at: 't', connection: conn({ from: 'process:curl' }) }, { ...ctx, process: undefined });
    expect(host[0]).toMatchObject({ direction: 'outgoing', container: null, local_process: null });
  });

  it('maps container events, naming a container no longer in the inventory from the event', () => {
    const ev: ChangeEvent = { type: 'container.stopped', at: 't', container: { id: 'c'.repeat(64), name: 'job-1', image: 'alpine' } };
    expect(toConnbeatDocuments(ev, ctx)).toEqual([{
      '@timestamp': 't', type: 'connbeat', event: 'container.stopped', beat: ctx.beat, local_process: null,
      container: { id: 'c'.repeat(64), name: 'job-1', image: 'alpine', labels: {}, ports: [] }, docker_host: ctx.dockerHost,
    }]);
  });

  it('carries duration and bytes from each end\'s point of view', () => {
    const docs = connectionDocuments('connection.closed', 't', {
      source: 'conntrack', protocol: 'udp', client: { address: '172.18.0.2', port: 5000 }, server: { address: '172.18.0.3', port: 53 },
      clientContainerId: A, serverContainerId: B, clientLocal: true, serverLocal: true, state: 'REPLIED', durationMs: 12, bytesToServer: 100, bytesToClient: 300,
    }, ctx);
    expect(docs.map((d) => [d.direction, d.bytes, d.duration_ms])).toEqual([['outgoing', { sent: 100, received: 300 }, 12], ['incoming', { sent: 300, received: 100 }, 12]]);
  });

  it('maps a captured flow: ends as attributed then (an exited client named by its container), its process, duration and bytes', () => {
    const flow: ConnectionEvent = {
      type: 'connection.closed', at: '2026-12-07T12:00:01.000Z',
      flow: {
        source: 'conntrack', netns: 4026531833, protocol: 'tcp', family: 'ipv4',
        client: { address: '172.18.0.9', port: 40001, container: { id: 'c'.repeat(64), name: 'job-1', image: 'alpine', exitedAt: '2026-12-07T12:00:02.000Z' } },
        server: { address: '172.18.0.3', port: 80, container: { id: B, name: 'server', image: 'nginx:1' }, process: { pid: 9, binary: 'nginx', cmdline: 'nginx -g daemon off;' } },
        direction: 'internal', state: 'TIME_WAIT', unreplied: false, timing: 'kernel', durationMs: 11,
        bytes: { sent: 500, packetsSent: 6, received: 900, packetsReceived: 5 }, host: 'h1',
      },
    };
    const [client, server] = toConnbeatDocuments(flow, { ...ctx, process: undefined });
    expect(client).toMatchObject({
      event: 'connection.closed', source: 'conntrack', direction: 'outgoing', local_ip: '172.18.0.9', local_port: 40001, remote_ip: '172.18.0.3', remote_port: 80,
      duration_ms: 11, bytes: { sent: 500, received: 900 }, state: 'TIME_WAIT', local_process: null,
      container: { id: 'c'.repeat(64), name: 'job-1', image: 'alpine', labels: {}, ports: [] },
    });
    expect(server).toMatchObject({
      direction: 'incoming', bytes: { sent: 900, received: 500 }, local_process: { binary: 'nginx', cmdline: 'nginx -g daemon off;', pid: 9 },
      container: { name: 'server', labels: {}, ports: [{ public_port: 8080 }] },
    });
    const udp = toConnbeatDocuments({ ...flow, flow: { ...flow.flow, protocol: 'udp', state: undefined, unreplied: true, server: { address: '203.0.113.7', port: 53 } } }, ctx);
    expect(udp.map((d) => [d.direction, d.state])).toEqual([['outgoing', 'UNREPLIED']]);
  });

  it('tells container node ids from the others', () => {
    expect(isContainerNodeId(A)).toBe(true);
    expect(['host', 'process:sshd', 'external:10.0.0.1', 'A'.repeat(64)].some(isContainerNodeId)).toBe(false);
  });
});

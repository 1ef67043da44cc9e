import { describe, expect, it } from 'vitest';
import { toEbpfConnectionEvent, type EbpfAttribution, type EbpfSocketEvent } from './ebpf-event.js';

const C = 'c'.repeat(64);
const who: EbpfAttribution = { host: 'h1', hostNetns: 4026531833, containerOfNetns: (n) => (n === 4026532409 ? { id: C, name: 'app', image: 'busybox' } : undefined) };
const closed: EbpfSocketEvent = {
  kind: 'closed', at: '2026-12-07T12:00:01.000Z', netns: 4026532409, role: 'client', family: 'ipv4',
  local: { address: '127.0.0.1', port: 45712 }, remote: { address: '127.0.0.1', port: 7000 }, durationMs: 250, bytesSent: 100, bytesReceived: 90,
};

describe('toEbpfConnectionEvent', () => {
  it('makes a captured event of a client socket, both ends in its namespace\'s container', () => {
    expect(toEbpfConnectionEvent(closed, who)).toEqual({
      type: 'connection.closed', at: '2026-12-07T12:00:01.000Z',
      flow: {
        source: 'ebpf', netns: 4026532409, protocol: 'tcp', family: 'ipv4',
        client: { address: '127.0.0.1', port: 45712, container: { id: C, name: 'app', image: 'busybox' } },
        server: { address: '127.0.0.1', port: 7000, container: { id: C, name: 'app', image: 'busybox' } },
        direction: 'internal', state: 'CLOSE', unreplied: false, openedAt: '2026-12-07T12:00:00.750Z', closedAt: '2026-12-07T12:00:01.000Z',
        timing: 'observed', durationMs: 250, bytes: { sent: 100, packetsSent: 0, received: 90, packetsReceived: 0 }, host: 'h1',
      },
    });
  });

  it('names the host for its own namespace; nothing for server sockets or unknown namespaces', () => {
    const opened = { ...closed, kind: 'opened' as const, netns: 4026531833, durationMs: undefined, bytesSent: undefined, bytesReceived: undefined };
    expect(toEbpfConnectionEvent(opened, who)?.flow).toMatchObject({ client: { host: true }, server: { host: true }, state: 'ESTABLISHED', openedAt: closed.at });
    expect(toEbpfConnectionEvent({ ...closed, role: 'server' }, who)).toBeUndefined();
    expect(toEbpfConnectionEvent({ ...closed, netns: 1 }, who)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import type { ConnbeatDocument } from './connbeat.js';
import { compileExportFilter, matchesExportFilter, parsePortRange } from './export-filter.js';

const base = { '@timestamp': 't', type: 'connbeat', beat: { hostname: 'h', name: 'portolan', version: '0' }, local_process: null, docker_host: { hostname: 'h', ips: [] } } as const;
const web = { id: 'f'.repeat(64), name: 'web-1', image: 'nginx', labels: {}, ports: [] };
const conn = (over: Partial<ConnbeatDocument> = {}): ConnbeatDocument => ({
  ...base, event: 'connection.opened', local_ip: '172.18.0.2', local_port: 80, remote_ip: '172.18.0.9', remote_port: 41000,
  protocol: 'tcp', direction: 'incoming', state: 'ESTABLISHED', container: web, ...over,
});
const started: ConnbeatDocument = { ...base, event: 'container.started', container: web };

describe('export filter', () => {
  it('keeps everything by default', () => {
    const f = compileExportFilter();
    expect([conn(), started, conn({ container: null, local_ip: '127.0.0.1', remote_ip: '127.0.0.1' })].every((d) => matchesExportFilter(d, f))).toBe(true);
  });

  it('matches container globs on name or id; a document without a container never matches', () => {
    const f = compileExportFilter({ containers: ['web-*'] });
    expect(matchesExportFilter(conn(), f)).toBe(true);
    expect(matchesExportFilter(started, f)).toBe(true);
    expect(matchesExportFilter(conn({ container: { ...web, name: 'db' } }), f)).toBe(false);
    expect(matchesExportFilter(conn({ container: null }), f)).toBe(false);
    expect(matchesExportFilter(conn({ container: { ...web, name: 'db' } }), compileExportFilter({ containers: ['ffff*'] }))).toBe(true);
  });

  it('matches ports (local or remote, ranges, comma lists), direction and loopback on connections only', () => {
    expect(matchesExportFilter(conn(), compileExportFilter({ ports: ['443,8000-8999'] }))).toBe(false);
    expect(matchesExportFilter(conn(), compileExportFilter({ ports: ['80'] }))).toBe(true);
    expect(matchesExportFilter(conn(), compileExportFilter({ ports: ['40000-42000'] }))).toBe(true);
    expect(matchesExportFilter(started, compileExportFilter({ ports: ['443'], directions: ['outgoing'], loopback: false }))).toBe(true);
    expect(matchesExportFilter(conn(), compileExportFilter({ directions: ['outgoing'] }))).toBe(false);
    const lo = conn({ local_ip: '127.0.0.1', remote_ip: '127.0.0.1' });
    expect(matchesExportFilter(lo, compileExportFilter({ loopback: false }))).toBe(false);
    expect(matchesExportFilter(conn({ local_ip: '::1', remote_ip: '::ffff:127.0.0.1' }), compileExportFilter({ loopback: false }))).toBe(false);
    expect(matchesExportFilter(conn({ remote_ip: '127.0.0.1' }), compileExportFilter({ loopback: false }))).toBe(true);
  });

  it('keeps only the kinds asked for', () => {
    const f = compileExportFilter({ kinds: ['container'] });
    expect([matchesExportFilter(started, f), matchesExportFilter(conn(), f)]).toEqual([true, false]);
  });

  it('refuses bad input with a clear message', () => {
    for (const bad of ['0', '65536', '9-3', 'http', '1-2-3', '']) expect(() => parsePortRange(bad)).toThrow(/bad port/);
    expect(() => compileExportFilter({ directions: ['sideways'] })).toThrow(/bad direction "sideways"/);
    expect(() => compileExportFilter({ kinds: ['socket'] })).toThrow(/bad event kind/);
    expect(() => compileExportFilter({ containers: Array.from({ length: 17 }, () => 'x') })).toThrow(/at most 16/);
    expect(() => compileExportFilter({ containers: ['x'.repeat(200)] })).toThrow();
    expect(parsePortRange(' 8000-8999 ')).toEqual({ from: 8000, to: 8999 });
  });
});

import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../../test/fixtures/topology/synthetic.js';
import { attributeSockets } from '../attribute.js';
import { parseOutpostInterfaces, toOutpost } from './outpost.js';
import { toPsReport } from './ps.js';

const report = () => {
  const s = syntheticSnapshot();
  return toPsReport(s, attributeSockets(s));
};
const byName = (list: ReturnType<typeof toOutpost>, name: string) => list.find((c) => c.name === `/${name}`);

describe('toOutpost', () => {
  it('lists published listeners as host address and host port, remote ends of established TCP connections', () => {
    const out = toOutpost(report());
    const api = byName(out, 'api');
    expect(api?.artefact).toBe('example/api:1');
    // 8080 is published on 0.0.0.0:18081 and [::]:18081: both wildcards fan out to the interfaces, once.
    expect(api?.listening).toEqual([{ address: '0.0.0.0', port: 18081 }]);
    // v4-mapped peers are shown as IPv4, like outpost did.
    expect(api?.established).toEqual(expect.arrayContaining([{ address: '172.18.0.2', port: 50000 }, { address: '172.18.0.2', port: 50001 }]));
    expect(api?.established.every((e) => !e.address.startsWith('::ffff:'))).toBe(true);
  });

  it('fans wildcards out to OUTPOST_INTERFACES', () => {
    const out = toOutpost(report(), parseOutpostInterfaces('10.0.2.101, 192.168.56.101'));
    expect(byName(out, 'api')?.listening).toEqual([{ address: '10.0.2.101', port: 18081 }, { address: '192.168.56.101', port: 18081 }]);
  });

  it('leaves out listeners on unpublished ports (unreachable from the host)', () => {
    expect(byName(toOutpost(report()), 'web')?.listening).toEqual([]);
  });

  it('shows IPv6 peers in text form', () => {
    expect(byName(toOutpost(report()), 'web')?.established).toContainEqual({ address: 'fd00:7e57::4', port: 5432 });
  });

  it('host network: only the container\'s own sockets, not the host\'s', () => {
    const hc = byName(toOutpost(report()), 'hc');
    expect(hc?.established).toEqual([{ address: '127.0.0.1', port: 18081 }]);
    // sshd, the docker-proxy listeners and the host agent are the host's, not hc's.
    expect(hc?.listening).toEqual([]);
  });

  it('shared namespace: the sidecar lists the connections its processes hold, the owner keeps the rest', () => {
    const out = toOutpost(report());
    expect(byName(out, 'side')?.established).toEqual([{ address: '172.18.0.4', port: 5432 }]);
    expect(byName(out, 'api')?.established).not.toContainEqual({ address: '172.18.0.4', port: 5432 });
    expect(IDS.side).toHaveLength(64);
  });

  it('parseOutpostInterfaces defaults to 0.0.0.0', () => {
    expect(parseOutpostInterfaces(undefined)).toEqual(['0.0.0.0']);
    expect(parseOutpostInterfaces(' , ')).toEqual(['0.0.0.0']);
  });
});

import { describe, expect, it } from 'vitest';
import { parseNfConntrack } from './nf-conntrack.js';

const FILE = '/proc/1/net/nf_conntrack';

// Lines captured on the test machine (kernel 6.18): a DNAT'd connection from a second Docker host without the
// userland proxy, a docker-proxy leg, a bridged UDP flow, an IPv6 UDP flow on loopback, IGMP, and accounting on.
const REAL = {
  dnat: 'ipv4     2 tcp      6 431997 ESTABLISHED src=10.77.91.2 dst=10.77.91.2 sport=38524 dport=18082 src=172.31.77.2 dst=172.31.77.1 sport=8080 dport=38524 [ASSURED] mark=0 zone=0 use=2',
  proxyLeg: 'ipv4     2 tcp      6 431993 ESTABLISHED src=172.25.0.1 dst=172.25.0.2 sport=52352 dport=8080 src=172.25.0.2 dst=172.25.0.1 sport=8080 dport=52352 [ASSURED] mark=0 zone=0 use=2',
  udp: 'ipv4     2 udp      17 29 src=172.17.0.4 dst=172.17.0.2 sport=37393 dport=5353 [UNREPLIED] src=172.17.0.2 dst=172.17.0.4 sport=5353 dport=37393 mark=0 zone=0 use=2',
  udp6: 'ipv6     10 udp      17 29 src=0000:0000:0000:0000:0000:0000:0000:0001 dst=fd00:7e57:0000:0000:0000:0000:0000:0002 sport=42339 dport=5555 [UNREPLIED] src=fd00:7e57:0000:0000:0000:0000:0000:0002 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=5555 dport=42339 mark=0 zone=0 use=2',
  igmp: 'ipv4     2 unknown  2 531 src=172.20.0.1 dst=224.0.0.22 [UNREPLIED] src=224.0.0.22 dst=172.20.0.1 mark=0 zone=0 use=2',
  acct: 'ipv4     2 tcp      6 117 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=35386 dport=28080 packets=11 bytes=660 src=127.0.0.1 dst=127.0.0.1 sport=28080 dport=35386 packets=9 bytes=51865 [ASSURED] mark=0 zone=0 delta-time=9 use=1',
};

describe('parseNfConntrack', () => {
  it('parses a DNAT entry: reply.src names the container behind the published port', () => {
    const { records, errors } = parseNfConntrack(REAL.dnat, FILE);
    expect(errors).toEqual([]);
    expect(records).toEqual([{
      family: 'ipv4', protocol: 'tcp', protocolNumber: 6, timeout: 431997, state: 'ESTABLISHED',
      original: { src: '10.77.91.2', dst: '10.77.91.2', sport: 38524, dport: 18082 },
      reply: { src: '172.31.77.2', dst: '172.31.77.1', sport: 8080, dport: 38524 },
      unreplied: false, assured: true, mark: 0, zone: 0,
    }]);
  });

  it('parses UDP (no state), [UNREPLIED], and IPv6 in canonical form', () => {
    const { records, errors } = parseNfConntrack([REAL.udp, REAL.udp6].join('\n'), FILE);
    expect(errors).toEqual([]);
    expect(records[0]).toMatchObject({ protocol: 'udp', timeout: 29, unreplied: true, assured: false, original: { sport: 37393, dport: 5353 } });
    expect(records[0]?.state).toBeUndefined();
    expect(records[1]).toMatchObject({ family: 'ipv6', original: { src: '::1', dst: 'fd00:7e57::2' }, reply: { src: 'fd00:7e57::2', dst: '::1' } });
  });

  it('parses protocols without ports and accounting counters', () => {
    const { records, errors } = parseNfConntrack([REAL.igmp, REAL.acct, REAL.proxyLeg, ''].join('\n'), FILE);
    expect(errors).toEqual([]);
    expect(records[0]).toMatchObject({ protocol: 'unknown', protocolNumber: 2, timeout: 531, original: { src: '172.20.0.1', dst: '224.0.0.22' } });
    expect(records[0]?.original.sport).toBeUndefined();
    expect(records[1]).toMatchObject({ state: 'TIME_WAIT', original: { packets: 11, bytes: 660 }, reply: { packets: 9, bytes: 51865 } });
    expect(records).toHaveLength(3);
  });

  it('parses an offloaded entry without timeout, per-direction zones and ICMP fields', () => {
    const line = 'ipv4     2 tcp      6 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 zone-orig=3 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 zone-reply=4 [OFFLOAD] mark=7 use=2';
    const icmp = 'ipv4     2 icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=4242 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=4242 mark=0 use=1';
    const { records, errors } = parseNfConntrack(`${line}\n${icmp}`, FILE);
    expect(errors).toEqual([]);
    expect(records[0]).toMatchObject({ state: 'ESTABLISHED', mark: 7, assured: false });
    expect(records[0]?.timeout).toBeUndefined();
    expect(records[1]).toMatchObject({ protocol: 'icmp', timeout: 29, original: { src: '10.0.0.1' } });
  });

  it.each([
    ['garbage', 'hello world', /expected "ipv4 2" or "ipv6 10"/],
    ['family mismatch', 'ipv4 10 tcp 6 1 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 use=1', /expected "ipv4 2"/],
    ['one tuple', 'ipv4 2 tcp 6 1 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 use=1', /expected two tuples/],
    ['three tuples', 'ipv4 2 udp 17 1 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2', /more than two tuples/],
    ['bad address', 'ipv4 2 udp 17 1 src=1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1', /bad ipv4 address "1.1.1"/],
    ['IPv4 in an ipv6 line', 'ipv6 10 udp 17 1 src=1.1.1.1 dst=::1 sport=1 dport=2 src=::1 dst=::1 sport=2 dport=1', /bad ipv6 address/],
    ['port out of range', 'ipv4 2 udp 17 1 src=1.1.1.1 dst=2.2.2.2 sport=70000 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1', /bad sport "70000"/],
    ['missing ports', 'ipv4 2 tcp 6 1 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 src=2.2.2.2 dst=1.1.1.1 use=1', /original tcp tuple lacks sport/],
    ['counter beyond 2^53', 'ipv4 2 udp 17 1 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 packets=1 bytes=99999999999999999999 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1', /bad bytes/],
    ['unknown flag', 'ipv4 2 udp 17 1 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 [WEIRD] src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1', /unknown flag \[WEIRD\]/],
    ['dst before src', 'ipv4 2 udp 17 1 dst=2.2.2.2 src=1.1.1.1 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1', /dst= before src=/],
    ['stray word', 'ipv4 2 udp 17 1 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 junk src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1', /unexpected token "junk"/],
  ])('rejects %s with a ParseError naming file and line', (_what, line, reason) => {
    const { records, errors } = parseNfConntrack(`${REAL.udp}\n${line}`, FILE);
    expect(records).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.file).toBe(FILE);
    expect(errors[0]?.line).toBe(2);
    expect(errors[0]?.message).toMatch(reason);
  });
});

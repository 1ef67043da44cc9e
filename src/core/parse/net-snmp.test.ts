import { describe, expect, it } from 'vitest';
import { parseNetSnmp } from './net-snmp.js';

// Captured from a container namespace (kernel 6.18), IP and ICMP rows trimmed.
const REAL = `Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 5102
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 721 672 19 314 4 55171 52898 648 0 347 0
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 2337 34 197 2572 197 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 0 0 0 0 0
`;

describe('parseNetSnmp', () => {
  it('reads the TCP and UDP counters by name', () => {
    expect(parseNetSnmp(REAL, 'snmp')).toEqual({
      tcpActiveOpens: 721, tcpPassiveOpens: 672, tcpInSegs: 55171, tcpOutSegs: 52898, tcpRetransSegs: 648, udpInDatagrams: 2337, udpOutDatagrams: 2572,
    });
  });

  it.each([
    ['no Tcp row', REAL.replace(/^Tcp:.*\n/gm, ''), /no Tcp counters/],
    ['values cut short', REAL.replace('55171 52898 648 0 347 0', '55171'), /names but/],
    ['a value that is not a number', REAL.replace('55171', 'x'), /Tcp InSegs is not a counter/],
    ['empty', '', /no Tcp counters/],
  ])('rejects %s', (_what, text, message) => {
    expect(() => parseNetSnmp(text, 'snmp')).toThrow(message);
  });
});

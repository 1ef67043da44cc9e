// /proc/<pid>/net/snmp (snmp_seq_show in net/ipv4/proc.c): pairs of lines per protocol, a header line of field
// names and a line of values, e.g. `Tcp: RtoAlgorithm … InSegs OutSegs RetransSegs …` then `Tcp: 1 200 …`. The
// counters are the namespace's own (IPv4 and IPv6 TCP share the Tcp MIB; UDP over IPv6 counts in snmp6).
import { ParseError } from '../errors.js';
import type { ProtocolCounters } from '../model/traffic.js';

/**
 * Parses the TCP and UDP counters of a namespace from /proc/<pid>/net/snmp: segments in and out and retransmitted,
 * connections opened each way, datagrams in and out. Throws ParseError when a Tcp or Udp pair is missing or its
 * header and values disagree.
 */
export function parseNetSnmp(text: string, file: string): ProtocolCounters {
  const rows = new Map<string, { names: string[]; values: number[]; line: number }>();
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const head = lines[i] ?? '';
    const colon = head.indexOf(':');
    if (colon <= 0) continue;
    const proto = head.slice(0, colon);
    const next = lines[i + 1] ?? '';
    if (!next.startsWith(`${proto}:`)) continue;
    const names = head.slice(colon + 1).trim().split(/\s+/);
    const values = next.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (names.length !== values.length) throw new ParseError(file, i + 2, `${proto}: ${names.length} names but ${values.length} values`);
    rows.set(proto, { names, values, line: i + 2 });
    i++;
  }
  const field = (proto: string, name: string): number => {
    const row = rows.get(proto);
    if (!row) throw new ParseError(file, 0, `no ${proto} counters`);
    const v = row.values[row.names.indexOf(name)];
    if (v === undefined || !Number.isSafeInteger(v) || v < 0) throw new ParseError(file, row.line, `${proto} ${name} is not a counter`);
    return v;
  };
  return {
    tcpActiveOpens: field('Tcp', 'ActiveOpens'),
    tcpPassiveOpens: field('Tcp', 'PassiveOpens'),
    tcpInSegs: field('Tcp', 'InSegs'),
    tcpOutSegs: field('Tcp', 'OutSegs'),
    tcpRetransSegs: field('Tcp', 'RetransSegs'),
    udpInDatagrams: field('Udp', 'InDatagrams'),
    udpOutDatagrams: field('Udp', 'OutDatagrams'),
  };
}

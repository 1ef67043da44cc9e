// /proc/<pid>/net/sockstat (sockstat_seq_show in net/ipv4/proc.c): lines of `<PROTO>: <key> <value>…`, e.g.
// `sockets: used 29`, `TCP: inuse 1 orphan 0 tw 4 alloc 3 mem 200`, `UDP: inuse 2 mem 0`. `sockets: used`
// counts the namespace's sockets of every family (IPv6 and unix included), `inuse` the hashed sockets of a
// protocol there, `tw` its TIME_WAIT sockets; `orphan`, `alloc`, `mem` and `memory` are kernel-wide.

/**
 * The per-namespace part of a sockstat text as one string, for telling whether anything changed: the text with
 * the kernel-wide fields cut out (they move with other namespaces' traffic). Cheaper than parsing it, which
 * matters at one read per namespace per collection.
 */
export function sockstatActivity(text: string): string {
  return text.replace(GLOBAL_FIELDS, '');
}

const GLOBAL_FIELDS = / (?:orphan|alloc|mem|memory) \d+/g;

/** A namespace's hashed sockets by protocol, from sockstat (`TCP`, `UDP`, `tw`) and sockstat6 (`TCP6`, `UDP6`). */
export interface SocketCounts {
  readonly tcp: number;
  readonly tw: number;
  readonly udp: number;
}

/**
 * The counts a dump can be skipped by: sock_diag lists the hashed sockets of a protocol, and `inuse` counts
 * exactly those (TIME_WAIT apart, counted by `tw`). Works on sockstat, sockstat6 or sockstatActivity's text; a
 * field that is not there counts as unknown (undefined), never as zero.
 */
export function socketCounts(text: string, v6 = false): Partial<SocketCounts> {
  const field = (proto: string, key: string): number | undefined => {
    const m = new RegExp(`^${proto}: .*?\\b${key} (\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const tcp = field(v6 ? 'TCP6' : 'TCP', 'inuse');
  const udp = field(v6 ? 'UDP6' : 'UDP', 'inuse');
  const tw = v6 ? undefined : field('TCP', 'tw');
  return { ...(tcp !== undefined ? { tcp } : {}), ...(udp !== undefined ? { udp } : {}), ...(tw !== undefined ? { tw } : {}) };
}

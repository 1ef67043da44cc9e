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

// Text forms of IP addresses held as bytes in network order (sock_diag messages, decoded /proc/net hex).

/** Formats the 4 bytes at `offset` (network order) as dotted-quad IPv4 text, e.g. `172.18.0.3`. */
export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  if (offset < 0 || bytes.length - offset < 4) {
    throw new RangeError(`IPv4 address needs 4 bytes at offset ${offset}, buffer has ${bytes.length}`);
  }
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * Formats the 16 bytes at `offset` (network order) as IPv6 text per RFC 5952: lower-case hex without leading
 * zeros, the longest run of two or more zero groups (the first one on a tie) shortened to `::`, and IPv4-mapped
 * addresses (`::ffff:0:0/96`) in mixed notation (`::ffff:172.18.0.3`), as dual-stack listeners show them.
 * Deprecated IPv4-compatible addresses (`::a.b.c.d`) stay in hex, unlike glibc's inet_ntop.
 */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  if (offset < 0 || bytes.length - offset < 16) {
    throw new RangeError(`IPv6 address needs 16 bytes at offset ${offset}, buffer has ${bytes.length}`);
  }
  const groups: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = (bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!;

  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${formatIpv4(bytes, offset + 12)}`;
  }

  let bestStart = -1;
  let bestLen = 1; // RFC 5952 4.2.2: a single zero group is never shortened
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }

  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

// Parsing and canonical text of IP addresses written by others: Docker (Go's net.IP.String), the kernel's
// /proc/net/nf_conntrack (`%pI6`: eight uncompressed groups) and users. One spelling per address lets the
// topology match endpoints read from different sources.
import { formatIpv6 } from './address.js';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad IPv4 text into 4 bytes; undefined when it is not one (leading zeros allowed). */
export function parseIpv4Text(text: string): Uint8Array | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const n = Number(m[i + 1]);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

/**
 * Parses IPv6 text (full, `::`-compressed, or with a dotted IPv4 tail such as `::ffff:1.2.3.4`) into 16 bytes;
 * undefined when it is not one. A zone (`%eth0`) is ignored.
 */
export function parseIpv6Text(text: string): Uint8Array | undefined {
  let t = text;
  const zone = t.indexOf('%');
  if (zone >= 0) t = t.slice(0, zone);
  if (t.length < 2 || t.length > 45) return undefined;
  let tail: Uint8Array | undefined;
  const lastColon = t.lastIndexOf(':');
  if (t.includes('.', lastColon)) {
    tail = parseIpv4Text(t.slice(lastColon + 1));
    if (!tail) return undefined;
    // Keep the colon before the IPv4 part so that `::1.2.3.4` still splits into head `:` + empty group.
    t = t.slice(0, lastColon + 1) + '0:0';
  }
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0] ?? '');
  const rest = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (!head || !rest) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => { bytes[2 * i] = g >> 8; bytes[2 * i + 1] = g & 0xff; });
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/**
 * The one spelling of an address used for matching: IPv4 as dotted quad; IPv4-mapped IPv6 (`::ffff:a.b.c.d`,
 * how a dual-stack listener's accepted sockets show IPv4 peers) as the plain IPv4 it carries; other IPv6 in
 * RFC 5952 form. Text that is no IP address is returned unchanged.
 */
export function canonicalIp(text: string): string {
  const v4 = parseIpv4Text(text);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.${v4[3]}`;
  const v6 = parseIpv6Text(text);
  if (!v6) return text;
  const formatted = formatIpv6(v6);
  return formatted.startsWith('::ffff:') && formatted.includes('.') ? formatted.slice('::ffff:'.length) : formatted;
}

/** True for the unspecified address of either family (`0.0.0.0`, `::`), i.e. a wildcard bind. */
export function isUnspecifiedIp(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '*' || address === '';
}

/** True for loopback addresses (127.0.0.0/8, `::1`, and IPv4-mapped loopback), in canonical form or not. */
export function isLoopbackIp(address: string): boolean {
  const a = canonicalIp(address);
  return a.startsWith('127.') || a === '::1';
}

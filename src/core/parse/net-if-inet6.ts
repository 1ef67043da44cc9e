// /proc/<pid>/net/if_inet6: one line per IPv6 address of a network namespace:
// `<32 hex address> <ifindex hex> <prefix len hex> <scope hex> <flags hex> <interface>`.
import { ParseError } from '../errors.js';
import { formatIpv6 } from './address.js';

/** One IPv6 address of `net/if_inet6`. */
export interface Inet6Address {
  readonly address: string;
  readonly prefixLength: number;
  /** The kernel's scope: 0x00 global, 0x10 host (loopback), 0x20 link, 0x40 site. */
  readonly scope: number;
  readonly interface: string;
}

/** Parses `net/if_inet6`; throws ParseError naming the line of the first malformed one. */
export function parseIfInet6(text: string, file = 'net/if_inet6'): Inet6Address[] {
  const out: Inet6Address[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    const f = line.split(/\s+/);
    const [hex, , plen, scope, , name] = f;
    if (f.length !== 6 || !hex || !/^[0-9a-f]{32}$/i.test(hex) || !plen || !/^[0-9a-f]{1,2}$/i.test(plen) || !scope || !/^[0-9a-f]{1,2}$/i.test(scope) || !name) {
      throw new ParseError(file, i + 1, `expected "<32 hex> <ifindex> <plen> <scope> <flags> <name>", got ${JSON.stringify(line.slice(0, 100))}`);
    }
    out.push({ address: formatIpv6(hexBytes(hex)), prefixLength: parseInt(plen, 16), scope: parseInt(scope, 16), interface: name });
  }
  return out;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

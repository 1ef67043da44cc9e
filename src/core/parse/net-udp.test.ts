import { describe, expect, it } from 'vitest';
import { parseUdpDrops } from './net-udp.js';

// Captured on the test machine: a UDP socket on 127.0.0.1:39498 with a 4 KiB receive buffer, sent 200 datagrams
// of 1,000 bytes without reading: the kernel kept 3 and dropped 197.
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            
 7723: 00000000:876C 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 334070 2 0000000080d34264 0        
12553: 0100007F:9A4A 00000000:0000 07 00000000:00001B00 00:00000000 00000000     0        0 334069 2 000000002de3b59d 197      
`;
const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 4148: 00000000000000000000000000000000:B975 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 334073 2 00000000a5cb7f5a 0
`;

describe('parseUdpDrops', () => {
  it('the drops of the socket bound to a port (/proc/net/udp)', () => {
    expect(parseUdpDrops(UDP, 39498)).toBe(197);
    expect(parseUdpDrops(UDP, 0x876c)).toBe(0);
  });
  it('/proc/net/udp6', () => {
    expect(parseUdpDrops(UDP6, 0xb975)).toBe(0);
  });
  it('no socket on the port, or a line cut short: undefined, not 0', () => {
    expect(parseUdpDrops(UDP, 6343)).toBeUndefined();
    expect(parseUdpDrops('12553: 0100007F:9A4A 00000000:0000 07', 39498)).toBeUndefined();
  });
});

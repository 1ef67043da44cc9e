// Runs against the live kernel: makes a throwaway network namespace with loopback-only traffic and compares what
// the sock_diag socket dumps with `ss` run inside the same namespace. Needs root (ip netns, setns) and python3.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSockDiagRequest, encodeTcpDiagCompatRequest, NetlinkUnavailableError, openSockDiag, type SockDiagSocket } from './sock-diag.js';

const canCreateNetns = process.getuid?.() === 0 && (() => {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    execFileSync('python3', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false; // no ip or python3: the live-kernel tests below are skipped, the reason is in describe.skipIf
  }
})();

const SENT = 123_457; // client -> server payload bytes on the measured connection
const RETURNED = 4_321; // server -> client

// Inside the namespace: listeners (IPv4, IPv6, dual-stack), established pairs, UDP; one connection moves exactly
// SENT bytes one way and RETURNED the other; a TCP socket bound but neither listening nor connected (which neither
// `ss -a` nor /proc/net/tcp lists: Linux 6.5+ dumps it only on request, as TCP_BOUND_INACTIVE). Prints its ports as JSON, then holds the sockets until stdin closes.
const HELPER = `
import json, socket, sys
SENT, RETURNED = int(sys.argv[1]), int(sys.argv[2])
def listener(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM); s.bind((addr, 0)); s.listen(16); return s
def drain(s, n):
    got = 0
    while got < n:
        chunk = s.recv(65536)
        if not chunk: raise SystemExit('peer closed early')
        got += len(chunk)
l4 = listener(socket.AF_INET, '127.0.0.1')
l6 = listener(socket.AF_INET6, '::1')
dual = listener(socket.AF_INET6, '::')
c = socket.create_connection(('127.0.0.1', l4.getsockname()[1])); a, _ = l4.accept()
c.sendall(b'x' * SENT); drain(a, SENT)
a.sendall(b'y' * RETURNED); drain(c, RETURNED)
c6 = socket.create_connection(('::1', l6.getsockname()[1])); a6, _ = l6.accept()
cm = socket.create_connection(('127.0.0.1', dual.getsockname()[1])); am, _ = dual.accept()
u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u4.bind(('127.0.0.1', 0))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(('::1', 0)); u6.connect(('::1', 9))
bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM); bound.bind(('127.0.0.1', 0))
print(json.dumps({'client': c.getsockname()[1], 'server': l4.getsockname()[1], 'bound': bound.getsockname()[1]}), flush=True)
sys.stdin.read()
`;

const SS_STATES: Record<string, number> = {
  ESTAB: 1, 'SYN-SENT': 2, 'SYN-RECV': 3, 'FIN-WAIT-1': 4, 'FIN-WAIT-2': 5, 'TIME-WAIT': 6, UNCONN: 7,
  'CLOSE-WAIT': 8, 'LAST-ACK': 9, LISTEN: 10, CLOSING: 11,
};

/** Canonical IPv6 text via the WHATWG URL parser: an oracle independent of the project's formatter. */
function canonicalIpv6(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** Test oracle: the (protocol, local, remote, state) key of one reply payload, decoded here independently. */
function keyOfPayload(p: Buffer, protocol: 'tcp' | 'udp'): string {
  const addr = (o: number): string => {
    if (p[0] === 2) return [...p.subarray(o, o + 4)].join('.');
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(p.readUInt16BE(o + i).toString(16));
    return canonicalIpv6(groups.join(':'));
  };
  return `${protocol} ${addr(8)}:${p.readUInt16BE(4)} ${addr(24)}:${p.readUInt16BE(6)} ${p[1]}`;
}

/** The same key from one `ss -tuanH` line: `tcp ESTAB 0 0 127.0.0.1:41322 127.0.0.1:8080`. */
function keyOfSsLine(line: string): string {
  const [protocol, state, , , local, remote] = line.trim().split(/\s+/);
  const endpoint = (text: string): string => {
    const colon = text.lastIndexOf(':');
    let host = text.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = text.slice(colon + 1);
    if (host === '*') host = '::'; // ss prints the IPv6 wildcard as *
    if (host.includes(':')) host = canonicalIpv6(host);
    return `${host}:${port === '*' ? 0 : Number(port)}`;
  };
  const code = SS_STATES[state ?? ''];
  if (protocol === undefined || local === undefined || remote === undefined || code === undefined) {
    throw new Error(`unexpected ss line: ${line}`);
  }
  return `${protocol} ${endpoint(local)} ${endpoint(remote)} ${code}`;
}

/**
 * Reads `struct tcp_info` u64 counters from a payload's INET_DIAG_INFO attribute, or undefined. `bytesSent` is each
 * byte once: tcpi_bytes_sent less tcpi_bytes_retrans (a loaded machine retransmits on loopback now and then).
 */
function tcpInfoCounters(p: Buffer): { bytesAcked: bigint; bytesReceived: bigint; bytesSent: bigint } | undefined {
  for (let off = 72; off + 4 <= p.length; off += (p.readUInt16LE(off) + 3) & ~3) {
    const len = p.readUInt16LE(off);
    if (len < 4) return undefined;
    if (p.readUInt16LE(off + 2) === 2 && len - 4 >= 216) {
      const info = p.subarray(off + 4, off + len);
      return { bytesAcked: info.readBigUInt64LE(120), bytesReceived: info.readBigUInt64LE(128), bytesSent: info.readBigUInt64LE(200) - info.readBigUInt64LE(208) };
    }
  }
  return undefined;
}

function threadNetns(): string {
  return readlinkSync('/proc/thread-self/ns/net');
}

async function dumpAll(diag: SockDiagSocket, ext = 0): Promise<{ protocol: 'tcp' | 'udp'; payload: Buffer }[]> {
  const out: { protocol: 'tcp' | 'udp'; payload: Buffer }[] = [];
  for (const family of [2, 10] as const) {
    for (const [protocol, number] of [['tcp', 6], ['udp', 17]] as const) {
      for (const payload of await diag.dump(family, number, ext)) out.push({ protocol, payload });
    }
  }
  return out;
}

describe('encodeSockDiagRequest', () => {
  it('builds nlmsghdr + inet_diag_req_v2 in host order with every state but TCP_BOUND_INACTIVE requested', () => {
    const req = encodeSockDiagRequest(7, 10, 6, 2, true);
    expect(req.toString('hex')).toBe(
      '48000000' + '1400' + '0103' + '07000000' + '00000000' + // len 72, type 20, REQUEST|DUMP, seq 7, pid 0
        '0a' + '06' + '02' + '00' + 'ffdfffff' + '00'.repeat(48), // AF_INET6, TCP, ext, pad, states (all but bit 13), sockid
    );
    expect(encodeSockDiagRequest(1, 2, 17, 0, false).subarray(0, 12).toString('hex')).toBe('000000480014030100000001');
  });

  it('builds the legacy TCP request: nlmsghdr + inet_diag_req (v1) with every state but TCP_BOUND_INACTIVE', () => {
    expect(encodeTcpDiagCompatRequest(9, 2, true).toString('hex')).toBe(
      '4c000000' + '1200' + '0103' + '09000000' + '00000000' + // len 76, type 18 (TCPDIAG_GETSOCK), REQUEST|DUMP, seq 9, pid 0
        '02' + '00' + '00' + '02' + '00'.repeat(48) + 'ffdfffff' + '00000000', // family, src/dst len, ext, sockid, states, dbs
    );
  });
});

describe.skipIf(!canCreateNetns)('openSockDiag against a live namespace (root, ip, python3)', () => {
  const name = `portolan-t-${randomBytes(4).toString('hex')}`;
  const nsPath = `/var/run/netns/${name}`;
  let helper: ChildProcessWithoutNullStreams | undefined;
  let ports: { client: number; server: number; bound: number };

  beforeAll(async () => {
    execFileSync('ip', ['netns', 'add', name]);
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    const child = spawn('ip', ['netns', 'exec', name, 'python3', '-c', HELPER, String(SENT), String(RETURNED)]);
    helper = child;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`helper exited with ${code}: ${stderr}`)));
    });
    ports = JSON.parse(first) as { client: number; server: number; bound: number };
  });

  afterAll(() => {
    helper?.stdin.end();
    helper?.kill();
    execFileSync('ip', ['netns', 'del', name]);
  });

  it('dumps the same (protocol, local, remote, state) set as ss inside the namespace', async () => {
    const diag = openSockDiag(nsPath);
    try {
      const fromNetlink = (await dumpAll(diag)).map(({ protocol, payload }) => keyOfPayload(payload, protocol)).sort();
      const ss = execFileSync('ip', ['netns', 'exec', name, 'ss', '-tuanH'], { encoding: 'utf8' });
      const fromSs = ss.split('\n').filter((l) => l.trim() !== '').map(keyOfSsLine).sort();
      expect(fromNetlink).toEqual(fromSs);
      // Sanity: the scenario is really there (listeners, the measured pair, UDP), so the comparison is not vacuous.
      expect(fromNetlink).toContain(`tcp 127.0.0.1:${ports.client} 127.0.0.1:${ports.server} 1`);
      expect(fromNetlink).toContain(`tcp 127.0.0.1:${ports.server} 0.0.0.0:0 10`);
      expect(fromNetlink.filter((k) => k.startsWith('udp '))).toHaveLength(2);
      expect(fromNetlink.some((k) => k.includes('::ffff:7f00:1'))).toBe(true);
      expect(fromNetlink.length).toBe(11);
      expect(fromNetlink.some((k) => k.startsWith(`tcp 127.0.0.1:${ports.bound} `))).toBe(false);
    } finally {
      diag.close();
    }
  });

  it('one legacy TCP dump returns the TCP sockets of both families, the same as the two per-family dumps', async () => {
    const diag = openSockDiag(nsPath);
    try {
      const both = (await diag.dump(0, 6, 2)).map((p) => keyOfPayload(p, 'tcp')).sort();
      const apart = (await dumpAll(diag)).filter((d) => d.protocol === 'tcp').map(({ payload }) => keyOfPayload(payload, 'tcp')).sort();
      expect(both).toEqual(apart);
      expect(both.some((k) => k.startsWith('tcp 127.0.0.1:'))).toBe(true);
      expect(both.some((k) => k.startsWith('tcp ::1:'))).toBe(true);
      await expect(diag.dump(0, 17, 0)).rejects.toThrow(/only possible for TCP/);
    } finally {
      diag.close();
    }
  });

  it('returns tcp_info with the exact byte counts of a connection', async () => {
    const diag = openSockDiag(nsPath);
    try {
      const tcp4 = await diag.dump(2, 6, 2);
      const client = tcp4.find((p) => p.readUInt16BE(4) === ports.client && p.readUInt16BE(6) === ports.server);
      const server = tcp4.find((p) => p.readUInt16BE(4) === ports.server && p.readUInt16BE(6) === ports.client);
      expect(client && tcpInfoCounters(client)).toEqual({ bytesSent: BigInt(SENT), bytesReceived: BigInt(RETURNED), bytesAcked: BigInt(SENT + 1) });
      expect(server && tcpInfoCounters(server)).toMatchObject({ bytesSent: BigInt(RETURNED), bytesReceived: BigInt(SENT) });
      // Without the extension bit the kernel attaches no tcp_info.
      const plain = await diag.dump(2, 6, 0);
      expect(plain.length).toBe(tcp4.length);
      expect(plain.every((p) => tcpInfoCounters(p) === undefined)).toBe(true);
    } finally {
      diag.close();
    }
  });

  it('reads the target namespace, not the caller\'s, and leaves the thread in its own namespace', async () => {
    const before = threadNetns();
    const diag = openSockDiag(nsPath);
    expect(threadNetns()).toBe(before);
    const own = openSockDiag('/proc/thread-self/ns/net');
    try {
      const inside = (await diag.dump(2, 6, 0)).map((p) => p.readUInt16BE(4));
      const outside = (await own.dump(2, 6, 0)).map((p) => p.readUInt16BE(4));
      expect(inside).toContain(ports.client);
      expect(outside).not.toContain(ports.client);
    } finally {
      diag.close();
      own.close();
    }
  });

  it('runs concurrent dumps on one socket one after the other with identical results', async () => {
    const diag = openSockDiag(nsPath);
    try {
      const [a, b, c] = await Promise.all([diag.dump(2, 6, 2), diag.dump(10, 6, 0), diag.dump(2, 6, 2)]);
      expect(a.length).toBeGreaterThan(0);
      expect(b.length).toBeGreaterThan(0);
      expect(c.map((p) => p.subarray(0, 72).toString('hex')).sort()).toEqual(a.map((p) => p.subarray(0, 72).toString('hex')).sort());
    } finally {
      diag.close();
    }
  });

  it('rejects on abort and close, and stays usable after an aborted dump', async () => {
    const diag = openSockDiag(nsPath);
    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    await expect(diag.dump(2, 6, 0, aborted.signal)).rejects.toThrow('stop');
    // Abort after the request went out (a few microtasks, no I/O turn yet): the kernel is still dumping into the
    // socket, and the next request must neither get EBUSY nor see the stale replies.
    const midway = new AbortController();
    const first = diag.dump(2, 6, 2, midway.signal);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    midway.abort(new Error('timeout'));
    await expect(first).rejects.toThrow('timeout');
    const next = await diag.dump(10, 6, 0);
    expect(next.length).toBeGreaterThan(0);
    expect(next.every((p) => p[0] === 10 && p.length < 200)).toBe(true);
    const pending = diag.dump(10, 6, 0);
    diag.close();
    await expect(pending).rejects.toThrow(/closed/);
    await expect(diag.dump(2, 6, 0)).rejects.toThrow(/closed/);
  });

  it('turns a kernel refusal into NetlinkUnavailableError and stays usable', async () => {
    const diag = openSockDiag(nsPath);
    try {
      // No inet_diag handler exists for IP protocol 99: the kernel answers NLMSG_ERROR ENOENT, as it does for UDP
      // on a kernel built without udp_diag.
      await expect(diag.dump(2, 99 as 6, 0)).rejects.toThrow(NetlinkUnavailableError);
      await expect(diag.dump(2, 99 as 6, 0)).rejects.toThrow(/refused: ENOENT/);
      expect((await diag.dump(2, 17, 0)).length).toBe(1);
    } finally {
      diag.close();
    }
  });

  it('opens and closes without leaking file descriptors', async () => {
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const diag = openSockDiag(nsPath); // warm up lazy loading (koffi, libc) before counting
    diag.close();
    const before = fds();
    for (let i = 0; i < 200; i++) openSockDiag(nsPath).close();
    // The netlink addon closes its fd via a libuv handle close, which completes on the next loop turn.
    await new Promise((resolve) => setImmediate(resolve));
    expect(fds()).toBe(before);
  });

  it('throws ENOENT (not NetlinkUnavailableError) for a namespace that is gone', () => {
    let caught: unknown;
    try {
      openSockDiag(`/var/run/netns/${name}-missing`);
    } catch (err) {
      caught = err;
    }
    expect(caught).not.toBeInstanceOf(NetlinkUnavailableError);
    expect((caught as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('throws NetlinkUnavailableError without privileges (run as nobody)', () => {
    // A separate process as uid 65534: vite-node (vitest's runner) loads this TypeScript source directly.
    const dir = mkdtempSync(join(tmpdir(), 'portolan-t-'));
    try {
      chmodSync(dir, 0o755);
      const script = join(dir, 'open.mts');
      writeFileSync(script, [
        `import { openSockDiag } from ${JSON.stringify(fileURLToPath(new URL('./sock-diag.ts', import.meta.url)))};`,
        'for (const path of process.argv.slice(2)) {',
        '  try { openSockDiag(path); console.log("opened"); }',
        '  catch (e) { console.log(JSON.stringify({ name: (e as Error).name, message: (e as Error).message })); }',
        '}',
      ].join('\n'));
      const viteNode = fileURLToPath(new URL('../../node_modules/.bin/vite-node', import.meta.url));
      const out = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', viteNode, script, nsPath, '/proc/1/ns/net'], { encoding: 'utf8' });
      expect(out.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
        { name: 'NetlinkUnavailableError', message: `setns(${nsPath}, CLONE_NEWNET) failed: EPERM (needs CAP_SYS_ADMIN)` },
        { name: 'NetlinkUnavailableError', message: 'cannot open network namespace /proc/1/ns/net: EACCES (needs root / CAP_SYS_PTRACE)' },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails cleanly on a namespace file of another kind and restores the thread', () => {
    const before = threadNetns();
    expect(() => openSockDiag('/proc/self/ns/uts')).toThrow(/setns.*EINVAL/);
    expect(threadNetns()).toBe(before);
  });
});

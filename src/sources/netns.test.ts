// Runs against the live kernel: a sysctl of another network namespace, read and written through setns, compared
// with what `nsenter` shows in that namespace. Needs root and unshare(1); the host's own value is never written.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileInNetns, writeFileInNetns } from './netns.js';

const ACCT = '/proc/sys/net/netfilter/nf_conntrack_acct';
const HOME = readlinkSync('/proc/thread-self/ns/net');
const canRun = process.getuid?.() === 0 && existsSync(ACCT) && (() => {
  try {
    execFileSync('unshare', ['-n', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false; // no unshare or no CAP_SYS_ADMIN: the tests below are skipped, the reason is in describe.skipIf
  }
})();

describe.skipIf(!canRun)('files of another network namespace (root, unshare)', () => {
  let child: ChildProcess;
  let nsPath: string;
  beforeAll(async () => {
    child = spawn('unshare', ['-n', 'sleep', '600'], { stdio: 'ignore' });
    const pid = child.pid ?? 0;
    // unshare execs sleep once the namespace exists: wait until the pid's namespace differs from ours.
    const own = execFileSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).trim();
    for (let i = 0; i < 100; i++) {
      const ns = execFileSync('readlink', [`/proc/${pid}/ns/net`], { encoding: 'utf8' }).trim();
      if (ns !== own) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    nsPath = `/proc/${pid}/ns/net`;
  });
  afterAll(() => { child?.kill(); });

  const inside = () => execFileSync('nsenter', [`--net=${nsPath}`, 'cat', ACCT], { encoding: 'utf8' });

  it('reads the sysctl of the namespace entered, not the thread\'s own', () => {
    expect(readFileInNetns(nsPath, ACCT)).toBe(inside());
    expect(readFileInNetns('/proc/self/ns/net', ACCT)).toBe(readFileSync(ACCT, 'utf8'));
  });

  it('writes there only: the new namespace changes, this one does not', () => {
    const mine = readFileSync(ACCT, 'utf8');
    const next = inside().trim() === '1' ? '0' : '1';
    writeFileInNetns(nsPath, ACCT, `${next}\n`);
    expect(inside().trim()).toBe(next);
    expect(readFileInNetns(nsPath, ACCT).trim()).toBe(next);
    expect(readFileSync(ACCT, 'utf8')).toBe(mine);
    // The thread is back in its own namespace.
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(HOME);
    expect(readlinkSync(nsPath)).not.toBe(HOME);
  });

  it('an error inside the namespace comes out after the thread returned; a vanished namespace is ENOENT', () => {
    expect(() => readFileInNetns(nsPath, '/proc/sys/net/no/such/sysctl')).toThrow(/ENOENT/);
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(HOME);
    expect(() => readFileInNetns('/proc/999999999/ns/net', ACCT)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

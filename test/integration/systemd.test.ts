// The systemd unit (deploy/systemd/portolan.service) checked by systemd's own tools, on a root laid out as the README
// installs portolan (/usr/local/bin/portolan → the package's dist/cli/main.js) with this machine's system units:
// `systemd-analyze verify` must say nothing at all (it exits 0 on settings it ignores, so silence is the check),
// and `systemd-analyze security --offline` must rate its exposure OK or better with the capabilities the README
// names as the only ones. No systemd runs here (pid 1 is not systemd): the unit is verified, not started; what it
// grants — a non-root user with exactly these ambient capabilities in the docker group — is run for real in
// honest-errors.test.ts.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT } from './harness.js';

const UNIT = path.join(ROOT, 'deploy/systemd/portolan.service');
let root = '';

const analyze = (...args: string[]) => {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`systemd-analyze (Debian package systemd) is needed: ${r.error.message}`);
  return { status: r.status, out: (r.stdout + r.stderr).trim() };
};

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'portolan-systemd-'));
  const pkg = path.join(root, 'usr/local/lib/node_modules/portolan/dist/cli');
  mkdirSync(pkg, { recursive: true });
  copyFileSync(CLI, path.join(pkg, 'main.js'));
  chmodSync(path.join(pkg, 'main.js'), 0o755);
  mkdirSync(path.join(root, 'usr/local/bin'), { recursive: true });
  symlinkSync('../lib/node_modules/portolan/dist/cli/main.js', path.join(root, 'usr/local/bin/portolan'));
  mkdirSync(path.join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync('/lib/systemd/system', path.join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
  copyFileSync(UNIT, path.join(root, 'etc/systemd/system/portolan.service'));
});
afterAll(() => { if (root) rmSync(root, { recursive: true, force: true }); });

describe('deploy/systemd/portolan.service', () => {
  it('systemd-analyze verify finds nothing to say', () => {
    expect(analyze('verify', `--root=${root}`, 'portolan.service')).toEqual({ status: 0, out: '' });
  });

  it('a unit with a mistake is not silent (the check above can fail)', () => {
    const broken = readFileSync(UNIT, 'utf8').replace('ProtectSystem=strict', 'ProtectSystem=strictest').replace('ProtectHome=yes', 'ProtectHom=yes');
    writeFileSync(path.join(root, 'etc/systemd/system/broken.service'), broken);
    const r = analyze('verify', `--root=${root}`, 'broken.service');
    expect(r.out).toMatch(/Failed to parse protect system value/);
    expect(r.out).toMatch(/Unknown key 'ProtectHom' in section \[Service\]/);
    rmSync(path.join(root, 'etc/systemd/system/broken.service'));
  });

  it('hardening: only the three capabilities, ambient for a dynamic non-root user in the docker group, exposure OK or better', () => {
    const text = readFileSync(UNIT, 'utf8');
    const setting = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];
    expect(setting('CapabilityBoundingSet')).toBe('CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_DAC_READ_SEARCH');
    expect(setting('AmbientCapabilities')).toBe('CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_DAC_READ_SEARCH');
    expect(setting('DynamicUser')).toBe('yes');
    expect(setting('SupplementaryGroups')).toBe('docker');
    expect(setting('ProtectSystem')).toBe('strict');
    expect(setting('NoNewPrivileges')).toBe('yes');
    expect(setting('RestartPreventExitStatus')).toBe('2');
    const r = analyze('security', '--offline=true', `--root=${root}`, '--threshold=30', 'portolan.service');
    const m = /Overall exposure level for portolan\.service: (\d+\.\d+) (\w+)/.exec(r.out);
    expect(m, r.out.slice(-2000)).not.toBeNull();
    expect(Number(m?.[1])).toBeLessThanOrEqual(3.0);
    expect(['OK', 'SAFE', 'PERFECT']).toContain(m?.[2]);
    expect(r.status).toBe(0);
    // Every capability but the three is out of reach.
    expect(r.out).toMatch(/✓ CapabilityBoundingSet=~CAP_SYS_MODULE/);
    expect(r.out).toMatch(/✓ CapabilityBoundingSet=~CAP_NET_ADMIN/);
  });
});

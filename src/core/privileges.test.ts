import { describe, expect, it } from 'vitest';
import { CAPABILITIES, missingCapabilities, privilegeMessage } from './privileges.js';

const status = (...caps: number[]) => ({ uid: 0, euid: 0, capBnd: 0n, capEff: caps.reduce((m, c) => m | (1n << BigInt(c)), 0n) });
const { CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE } = CAPABILITIES;

describe('missingCapabilities', () => {
  it('root with every capability misses nothing', () => {
    expect(missingCapabilities({ uid: 0, euid: 0, capEff: 0x1ffffffffffn, capBnd: 0x1ffffffffffn }, { setns: true })).toEqual([]);
  });

  it('the three that docker run needs: SYS_ADMIN, SYS_PTRACE and DAC_READ_SEARCH (or DAC_OVERRIDE, in Docker\'s default set)', () => {
    expect(missingCapabilities(status(CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH), { setns: true })).toEqual([]);
    expect(missingCapabilities(status(CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_OVERRIDE), { setns: true })).toEqual([]);
    expect(missingCapabilities(status(CAP_SYS_PTRACE, CAP_DAC_OVERRIDE), { setns: true }).map((m) => m.name)).toEqual(['CAP_SYS_ADMIN']);
    expect(missingCapabilities(status(), { setns: true }).map((m) => m.name)).toEqual(['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH']);
  });

  it('--source proc needs no setns, so no CAP_SYS_ADMIN', () => {
    expect(missingCapabilities(status(CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH), { setns: false })).toEqual([]);
  });
});

describe('privilegeMessage', () => {
  it('is one line naming each missing privilege, what it is for, and how to grant the capabilities', () => {
    const text = privilegeMessage(missingCapabilities(status(CAP_DAC_OVERRIDE), { setns: true }));
    expect(text).not.toMatch(/\n/);
    expect(text).toMatch(/^missing privileges: CAP_SYS_ADMIN \(setns into network namespaces; or --source proc\), CAP_SYS_PTRACE \(/);
    expect(text).toMatch(/docker run --cap-add SYS_ADMIN --cap-add SYS_PTRACE;/);
    expect(text).toMatch(/AmbientCapabilities=CAP_SYS_ADMIN CAP_SYS_PTRACE\)$/);
  });

  it('a Docker socket refusal alone asks for no capability', () => {
    expect(privilegeMessage([{ name: 'access to the Docker socket /var/run/docker.sock', why: 'permission denied' }]))
      .toBe('missing privileges: access to the Docker socket /var/run/docker.sock (permission denied)');
  });
});

import { describe, expect, it } from 'vitest';
import { parseNsPid, parsePidStatus } from './pid-status.js';

// Trimmed from a real /proc/self/status (root in the host's namespaces, kernel 6.18).
const ROOT = `Name:\tcat
Umask:\t0022
State:\tR (running)
Tgid:\t31337
Pid:\t31337
Uid:\t0\t0\t0\t0
Gid:\t0\t0\t0\t0
CapInh:\t0000000000000000
CapPrm:\t000001ffffffffff
CapEff:\t000001ffffffffff
CapBnd:\t000001ffffffffff
CapAmb:\t0000000000000000
NoNewPrivs:\t0
`;

describe('parsePidStatus (/proc/<pid>/status)', () => {
  it('reads the uids and the capability masks', () => {
    expect(parsePidStatus(ROOT)).toEqual({ uid: 0, euid: 0, capEff: 0x1ffffffffffn, capBnd: 0x1ffffffffffn });
    const nobody = ROOT.replace('Uid:\t0\t0\t0\t0', 'Uid:\t65534\t65534\t65534\t65534').replace('CapEff:\t000001ffffffffff', 'CapEff:\t0000000000280004');
    expect(parsePidStatus(nobody)).toMatchObject({ uid: 65534, euid: 65534, capEff: 0x280004n });
  });

  it.each([
    ['no CapEff line', ROOT.replace(/CapEff.*\n/, ''), /no CapEff line/],
    ['a mask that is no hex', ROOT.replace('CapEff:\t000001ffffffffff', 'CapEff:\tzz'), /:10: CapEff is not a hex mask/],
    ['a mask wider than 64 bits', ROOT.replace('CapEff:\t000001ffffffffff', 'CapEff:\t10000000000000000'), /CapEff is not a hex mask/],
    ['a malformed Uid line', ROOT.replace('Uid:\t0\t0\t0\t0', 'Uid:\troot'), /malformed Uid line/],
    ['nothing at all', '', /no Uid line/],
  ])('refuses %s with the line', (_what, text, message) => {
    expect(() => parsePidStatus(text)).toThrow(message);
  });
});

describe('parseNsPid (/proc/<pid>/status NSpid)', () => {
  it.each([
    ['a container init seen from the host', `${ROOT}NSpid:\t11465\t1\n`, [11465, 1]],
    ['a process of the host', `${ROOT}NSpid:\t31337\n`, [31337]],
    ['a nested pid namespace', `${ROOT}NSpid:\t900\t12\t1\n`, [900, 12, 1]],
    ['no NSpid line (kernel < 4.1)', ROOT, undefined],
    ['garbage in the line', `${ROOT}NSpid:\t12\tx\n`, undefined],
    ['a zero pid', `${ROOT}NSpid:\t0\n`, undefined],
    ['an empty line', `${ROOT}NSpid:\n`, undefined],
    ['more than 32 levels', `${ROOT}NSpid:${'\t7'.repeat(33)}\n`, undefined],
    ['NSpid past the first 100 lines', `${'X:\t1\n'.repeat(120)}NSpid:\t5\t1\n`, undefined],
  ])('%s', (_name, text, expected) => {
    expect(parseNsPid(text)).toEqual(expected);
  });
});

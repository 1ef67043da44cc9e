import { ParseError } from '../errors.js';

/** What portolan reads from /proc/<pid>/status: the real and effective uid and the capability sets. */
export interface PidStatus {
  readonly uid: number;
  readonly euid: number;
  /** Effective capabilities (CapEff), one bit per capability number. */
  readonly capEff: bigint;
  /** Bounding set (CapBnd): what the process could ever gain. */
  readonly capBnd: bigint;
}

/**
 * Parses /proc/<pid>/status (`Uid:` and the `CapEff:`/`CapBnd:` hex masks). Throws a ParseError naming the
 * line when a needed field is missing or malformed: a status file without them is not one portolan can judge.
 */
export function parsePidStatus(text: string, file = '/proc/self/status'): PidStatus {
  const fields = new Map<string, { value: string; line: number }>();
  // The fields needed sit in the first 50 lines; a hostile or huge file costs no more than that.
  const lines = text.split('\n', 200);
  lines.forEach((l, i) => {
    const colon = l.indexOf(':');
    if (colon > 0) fields.set(l.slice(0, colon), { value: l.slice(colon + 1).trim(), line: i + 1 });
  });
  const field = (name: string) => {
    const f = fields.get(name);
    if (!f) throw new ParseError(file, lines.length, `no ${name} line`);
    return f;
  };
  const mask = (name: string): bigint => {
    const f = field(name);
    if (!/^[0-9a-f]{1,16}$/i.test(f.value)) throw new ParseError(file, f.line, `${name} is not a hex mask: "${f.value.slice(0, 40)}"`);
    return BigInt(`0x${f.value}`);
  };
  const uidField = field('Uid');
  const uids = uidField.value.split(/\s+/);
  const [uid, euid] = uids.map(Number);
  if (uids.length < 2 || !Number.isSafeInteger(uid) || !Number.isSafeInteger(euid)) {
    throw new ParseError(file, uidField.line, `malformed Uid line: "${uidField.value.slice(0, 40)}"`);
  }
  return { uid: uid ?? -1, euid: euid ?? -1, capEff: mask('CapEff'), capBnd: mask('CapBnd') };
}

/**
 * The `NSpid:` line of /proc/<pid>/status (Linux 4.1+): the process's pid in each pid namespace it is in, from the
 * reader's down to its own, so a container's init reads `NSpid: 12345 1`. Undefined when the line is missing or
 * not a list of pids (a hostile or truncated file); only the first 100 lines are looked at.
 */
export function parseNsPid(text: string): number[] | undefined {
  const lines = text.split('\n', 100);
  for (const l of lines) {
    if (!l.startsWith('NSpid:')) continue;
    const fields = l.slice(6).trim().split(/\s+/, 64);
    if (fields.length === 0 || fields.length > 32) return undefined;
    const pids = fields.map((f) => (/^\d{1,10}$/.test(f) ? Number(f) : NaN));
    return pids.every((p) => p > 0) ? pids : undefined;
  }
  return undefined;
}

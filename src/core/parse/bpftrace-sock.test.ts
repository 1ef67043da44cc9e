import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import { BPFTRACE_SOCK_SCRIPT, parseBpftraceLine } from './bpftrace-sock.js';

// Lines as bpftrace 0.17 -f json prints them for the probe (shape of the working probe in linux-docker-notes §4).
const OPEN4 = '{"type": "printf", "data": "v1 1234567890123 18446623473347200000 4026532409 2 1 4 172.17.0.5 50128 172.17.0.4 8080 0 0 11521 wget\\n"}';
const CLOSE6 = '{"type": "printf", "data": "v1 1234599990123 18446623473347200000 4026532334 9 7 6 ::ffff:127.0.0.1 8080 ::1 50128 102592 80 0 swapper/1\\n"}';

describe('parseBpftraceLine', () => {
  it('reads the probe\'s records', () => {
    expect(parseBpftraceLine(OPEN4)).toEqual({
      kind: 'transition', ns: 1234567890123n, sock: 18446623473347200000n, netns: 4026532409, oldState: 'SYN_SENT', newState: 'ESTABLISHED', family: 'ipv4',
      local: { address: '172.17.0.5', port: 50128 }, remote: { address: '172.17.0.4', port: 8080 }, bytesAcked: 0n, bytesReceived: 0n, pid: 11521, comm: 'wget',
    });
    expect(parseBpftraceLine(CLOSE6)).toMatchObject({ oldState: 'LAST_ACK', newState: 'CLOSE', family: 'ipv6', local: { address: '::ffff:127.0.0.1', port: 8080 }, bytesAcked: 102592n, comm: 'swapper/1' });
    expect(parseBpftraceLine('{"type": "lost_events", "data": {"events": 12}}')).toEqual({ kind: 'lost', events: 12 });
    expect(parseBpftraceLine('{"type": "attached_probes", "data": {"probes": 2}}')).toEqual({ kind: 'attached', probes: 2 });
    expect(parseBpftraceLine('{"type": "time", "data": "x"}')).toEqual({ kind: 'other', type: 'time' });
  });

  it('refuses what is not the probe\'s output with a ParseError naming the reason', () => {
    const bad: [string, RegExp][] = [
      ['Attaching 2 probes...', /not JSON/],
      ['{"data": 1}', /no "type"/],
      ['{"type": "printf", "data": "hello\\n"}', /not a record of portolan/],
      ['{"type": "printf", "data": "v1 1 2 3 2 1 4 10.0.0.1 1 10.0.0.2\\n"}', /fields/],
      [OPEN4.replace('172.17.0.5', '172.17.0.500'), /not an ipv4 address/],
      [OPEN4.replace(' 2 1 4 ', ' 2 99 4 '), /unknown TCP state/],
      [OPEN4.replace('50128', '70000'), /sport 70000 out of range/],
      [OPEN4.replace('4026532409', '-1'), /netns: not a number/],
      [OPEN4.replace('1234567890123', '99999999999999999999'), /beyond 64 bits/],
      ['{"type": "lost_events", "data": {}}', /without a count/],
      [`{"type": "printf", "data": "${'x'.repeat(5000)}"}`, /at most 4096/],
    ];
    for (const [line, reason] of bad) {
      expect(() => parseBpftraceLine(line, 7), line.slice(0, 60)).toThrow(reason);
      expect(() => parseBpftraceLine(line, 7)).toThrow(/:7: /);
    }
  });

  it('never crashes on garbage, truncations or mutated fields (fuzz): a record or a ParseError', () => {
    const outcome = (line: string) => {
      try {
        parseBpftraceLine(line);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
      }
    };
    fc.assert(fc.property(fc.string({ maxLength: 500 }), outcome), { numRuns: 2000 });
    for (const line of [OPEN4, CLOSE6]) for (let i = 0; i <= line.length; i++) outcome(line.slice(0, i));
    const data = 'v1 1234567890123 18446623473347200000 4026532409 2 1 4 172.17.0.5 50128 172.17.0.4 8080 0 0 11521 wget';
    fc.assert(fc.property(fc.integer({ min: 0, max: 14 }), fc.string({ maxLength: 40 }), (i, v) => {
      const f = data.split(' ');
      f[i] = v;
      outcome(JSON.stringify({ type: 'printf', data: f.join(' ') }));
    }), { numRuns: 3000 });
    fc.assert(fc.property(fc.jsonValue(), (v) => outcome(JSON.stringify(v))), { numRuns: 1000 });
  });

  it('probes both families on the one tracepoint, reading the namespace through BTF', () => {
    expect(BPFTRACE_SOCK_SCRIPT.match(/tracepoint:sock:inet_sock_set_state/g)).toHaveLength(2);
    expect(BPFTRACE_SOCK_SCRIPT).toContain('ntop(args->saddr_v6)');
    expect(BPFTRACE_SOCK_SCRIPT).toContain('skc_net.net->ns.inum');
  });
});

// tcpdump as the independent sFlow decoder: runs `tcpdump -r FILE -n -v` (which decodes sFlow on UDP port 6343
// only) and parses what it prints into the fields it shows, for comparison with portolan's decoder.
import { execFileSync } from 'node:child_process';

/** One record as tcpdump -v prints it. */
export interface TcpdumpRecord {
  readonly enterprise: number;
  readonly format: number;
  readonly length: number;
  /** Raw packet header: protocol number, frame length, stripped bytes, header size. */
  readonly raw?: { readonly protocol: number; readonly frameLength: number; readonly stripped: number; readonly headerSize: number };
  /** Extended switch data. */
  readonly vlans?: readonly number[];
  /** Generic interface counters, in the order tcpdump prints them. */
  readonly generic?: readonly number[];
}

/** One sample as tcpdump -v prints it. */
export interface TcpdumpSample {
  readonly kind: 'flow' | 'counters';
  readonly expanded: boolean;
  readonly length: number;
  readonly seqnum: number;
  readonly type: number;
  readonly idx: number;
  readonly rate?: number;
  readonly pool?: number;
  readonly drops?: number;
  /** 0:1 only: the input and output words as tcpdump prints them (format bits included). */
  readonly input?: number;
  readonly output?: number;
  readonly records: TcpdumpRecord[];
}

/** One datagram as tcpdump -v prints it. */
export interface TcpdumpDatagram {
  readonly agent: string;
  readonly agentId: number;
  readonly seqnum: number;
  readonly uptime: number;
  readonly samples: number;
  readonly length: number;
  readonly sampleList: TcpdumpSample[];
}

const nums = (m: RegExpExecArray, from: number) => m.slice(from).map(Number);

/** Parses `tcpdump -n -v` output of sFlow datagrams. */
export function parseTcpdumpSflow(text: string): TcpdumpDatagram[] {
  const out: TcpdumpDatagram[] = [];
  let dg: TcpdumpDatagram | undefined;
  let sample: TcpdumpSample | undefined;
  let record: TcpdumpRecord | undefined;
  let m: RegExpExecArray | null;
  for (const line of text.split('\n')) {
    if ((m = /sFlowv5, IPv[46] agent (\S+), agent-id (\d+), seqnum (\d+), uptime (\d+), samples (\d+), length (\d+)/.exec(line))) {
      dg = { agent: m[1] ?? '', agentId: Number(m[2]), seqnum: Number(m[3]), uptime: Number(m[4]), samples: Number(m[5]), length: Number(m[6]), sampleList: [] };
      out.push(dg);
      sample = undefined;
      record = undefined;
    } else if ((m = /^\s+(expanded )?flow sample \(\d\), length (\d+), seqnum (\d+), type (\d+), idx (\d+), rate (\d+), pool (\d+), drops (\d+),(?: input (\d+) output (\d+))? records (\d+)/.exec(line))) {
      const [len, seq, type, idx, rate, pool, drops] = nums(m, 2).slice(0, 7) as number[];
      sample = {
        kind: 'flow', expanded: m[1] !== undefined, length: len ?? 0, seqnum: seq ?? 0, type: type ?? 0, idx: idx ?? 0, rate, pool, drops,
        ...(m[9] !== undefined ? { input: Number(m[9]), output: Number(m[10]) } : {}), records: [],
      };
      dg?.sampleList.push(sample);
      record = undefined;
    } else if ((m = /^\s+(expanded )?counter sample \(\d\), length (\d+), seqnum (\d+), type (\d+), idx (\d+), records (\d+)/.exec(line))) {
      sample = { kind: 'counters', expanded: m[1] !== undefined, length: Number(m[2]), seqnum: Number(m[3]), type: Number(m[4]), idx: Number(m[5]), records: [] };
      dg?.sampleList.push(sample);
      record = undefined;
    } else if ((m = /^\s+enterprise (\d+),? .*\((\d+)\) length (\d+)/.exec(line))) {
      record = { enterprise: Number(m[1]), format: Number(m[2]), length: Number(m[3]) };
      sample?.records.push(record);
    } else if (record && (m = /protocol .*\((\d+)\), length (\d+), stripped bytes (\d+), header_size (\d+)/.exec(line))) {
      Object.assign(record, { raw: { protocol: Number(m[1]), frameLength: Number(m[2]), stripped: Number(m[3]), headerSize: Number(m[4]) } });
    } else if (record && (m = /src vlan (\d+), src pri (\d+), dst vlan (\d+), dst pri (\d+)/.exec(line))) {
      Object.assign(record, { vlans: nums(m, 1) });
    } else if (record && record.format === 1 && sample?.kind === 'counters') {
      // Generic counters span six lines; every number on them, in order.
      const values = [...line.matchAll(/(?<![\w-])(\d+)(?![\w-])/g)].map((x) => Number(x[1]));
      if (/ifindex|ifstatus|In octets|In errors|Out octets|Out errors/.test(line)) Object.assign(record, { generic: [...(record.generic ?? []), ...values] });
    }
  }
  return out;
}

/** tcpdump's decode of the sFlow datagrams in a pcap file. */
export function tcpdumpSflow(pcapFile: string): TcpdumpDatagram[] {
  return parseTcpdumpSflow(execFileSync('tcpdump', ['-r', pcapFile, '-n', '-v'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] }));
}

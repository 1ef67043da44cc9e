// Decoder for sFlow version 5 datagrams (sflow.org sflow_version_5.txt, sflow_host.txt; XDR, big-endian):
// flow samples (0:1, expanded 0:3) with raw packet headers decoded down to TCP/UDP ports, counter samples
// (0:2, expanded 0:4) with interface, host and virtual-node records. Unknown sample and record formats are
// skipped by their lengths. Every length and count is checked against the bytes that are really there before
// anything is read or allocated: a datagram that lies about a length is rejected whole with a ParseError.
import { ParseError } from '../errors.js';
import { formatIpv4, formatIpv6 } from './address.js';

/** The `file` ParseErrors from this decoder name; their `line` is the byte offset where decoding failed. */
export const SFLOW_FILE = 'sflow:datagram';

/** Where a sample comes from: `type` 0 ifIndex, 1 smonVlanDataSource, 2 entPhysicalEntry (a host), 3 a virtual entity (hsflowd: a container). */
export interface SflowDataSource {
  readonly type: number;
  readonly index: number;
}

/** An input or output interface of a flow sample: format 0 one ifIndex (0x3FFFFFFF: internal), 1 discarded (value: reason), 2 several (value: count). */
export interface SflowInterface {
  readonly format: number;
  readonly value: number;
}

/** What a raw packet header record's header decodes to, as far as the sampled bytes go. */
export interface SflowSampledPacket {
  readonly srcMac?: string;
  readonly dstMac?: string;
  /** 802.1Q VLAN id of the outer tag. */
  readonly vlan?: number;
  /** EtherType after any VLAN tags. */
  readonly etherType?: number;
  readonly ipVersion?: 4 | 6;
  readonly srcIp?: string;
  readonly dstIp?: string;
  /** IP protocol (IPv6: the upper-layer header after extension headers). */
  readonly ipProtocol?: number;
  /** IPv4 total length, or IPv6 payload length + 40: the IP packet's length as its header says. */
  readonly ipLength?: number;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly tcpFlags?: number;
  /** A non-first IP fragment: no transport header. */
  readonly fragment?: boolean;
  /** The sampled bytes ended before a header they announce. */
  readonly truncated?: boolean;
}

/** A flow record of a flow sample. */
export type SflowFlowRecord =
  | {
    readonly kind: 'raw-header';
    /** header_protocol: 1 Ethernet, 11 IPv4, 12 IPv6 (others are kept undecoded). */
    readonly protocol: number;
    /** Length of the packet on the wire, FCS included for layer-2 protocols. */
    readonly frameLength: number;
    /** Bytes removed before the header was taken (e.g. the 4-byte FCS). */
    readonly stripped: number;
    /** Bytes of header sampled. */
    readonly headerLength: number;
    readonly packet: SflowSampledPacket;
  }
  | { readonly kind: 'ethernet'; readonly length: number; readonly srcMac: string; readonly dstMac: string; readonly etherType: number }
  | {
    readonly kind: 'ipv4' | 'ipv6'; readonly length: number; readonly protocol: number; readonly srcIp: string; readonly dstIp: string;
    readonly srcPort: number; readonly dstPort: number; readonly tcpFlags: number; readonly tos: number;
  }
  | { readonly kind: 'extended-switch'; readonly srcVlan: number; readonly srcPriority: number; readonly dstVlan: number; readonly dstPriority: number }
  | { readonly kind: 'entities'; readonly source: SflowDataSource; readonly destination: SflowDataSource }
  /** 0:1043: when the packet was sampled, in ms since the epoch (from nanoseconds; sub-ms digits kept as a fraction). */
  | { readonly kind: 'timestamp'; readonly ms: number }
  | SflowUnknownRecord;

/** A record (or sample) of a format this decoder does not know: skipped by its length. */
export interface SflowUnknownRecord {
  readonly kind: 'unknown';
  readonly enterprise: number;
  readonly format: number;
  readonly length: number;
}

/** A flow sample (0:1) or expanded flow sample (0:3). */
export interface SflowFlowSample {
  readonly kind: 'flow';
  readonly expanded: boolean;
  readonly sequence: number;
  readonly source: SflowDataSource;
  /** 1 in `samplingRate` packets is sampled. */
  readonly samplingRate: number;
  /** Packets that could have been sampled (seen by the sampler) so far. */
  readonly samplePool: number;
  /** Samples the agent dropped for lack of resources, so far. */
  readonly drops: number;
  readonly input: SflowInterface;
  readonly output: SflowInterface;
  readonly records: readonly SflowFlowRecord[];
}

/** A counter sample (0:2) or expanded counter sample (0:4). */
export interface SflowCounterSample {
  readonly kind: 'counters';
  readonly expanded: boolean;
  readonly sequence: number;
  readonly source: SflowDataSource;
  readonly records: readonly SflowCounterRecord[];
}

/** A sample of a format this decoder does not know. */
export type SflowUnknownSample = SflowUnknownRecord;

/** One sample of a datagram. */
export type SflowSample = SflowFlowSample | SflowCounterSample | SflowUnknownSample;

/** A decoded sFlow v5 datagram. */
export interface SflowDatagram {
  readonly version: 5;
  /** The agent's address (IPv4 or IPv6 text). */
  readonly agent: string;
  readonly subAgentId: number;
  readonly sequence: number;
  readonly uptimeMs: number;
  readonly samples: readonly SflowSample[];
}

// Counter records whose fields are all numbers are decoded from a table: [name, type] in XDR order.
type FieldType = 'u32' | 'u64' | 'f32';
type FieldSpec = readonly (readonly [string, FieldType])[];
type NumbersOf<S extends FieldSpec> = { readonly [F in S[number] as F[0]]: number };

const GENERIC_INTERFACE = [
  ['ifIndex', 'u32'], ['ifType', 'u32'], ['ifSpeed', 'u64'], ['ifDirection', 'u32'], ['ifStatus', 'u32'],
  ['inOctets', 'u64'], ['inUcastPkts', 'u32'], ['inMulticastPkts', 'u32'], ['inBroadcastPkts', 'u32'], ['inDiscards', 'u32'],
  ['inErrors', 'u32'], ['inUnknownProtos', 'u32'], ['outOctets', 'u64'], ['outUcastPkts', 'u32'], ['outMulticastPkts', 'u32'],
  ['outBroadcastPkts', 'u32'], ['outDiscards', 'u32'], ['outErrors', 'u32'], ['promiscuousMode', 'u32'],
] as const satisfies FieldSpec;
const ETHERNET_INTERFACE = [
  ['alignmentErrors', 'u32'], ['fcsErrors', 'u32'], ['singleCollisionFrames', 'u32'], ['multipleCollisionFrames', 'u32'],
  ['sqeTestErrors', 'u32'], ['deferredTransmissions', 'u32'], ['lateCollisions', 'u32'], ['excessiveCollisions', 'u32'],
  ['internalMacTransmitErrors', 'u32'], ['carrierSenseErrors', 'u32'], ['frameTooLongs', 'u32'], ['internalMacReceiveErrors', 'u32'],
  ['symbolErrors', 'u32'],
] as const satisfies FieldSpec;
const HOST_PARENT = [['containerType', 'u32'], ['containerIndex', 'u32']] as const satisfies FieldSpec;
const HOST_CPU = [
  ['loadOne', 'f32'], ['loadFive', 'f32'], ['loadFifteen', 'f32'], ['procRun', 'u32'], ['procTotal', 'u32'], ['cpuNum', 'u32'],
  ['cpuSpeed', 'u32'], ['uptime', 'u32'], ['cpuUser', 'u32'], ['cpuNice', 'u32'], ['cpuSystem', 'u32'], ['cpuIdle', 'u32'],
  ['cpuWio', 'u32'], ['cpuIntr', 'u32'], ['cpuSintr', 'u32'], ['interrupts', 'u32'], ['contexts', 'u32'],
  ['cpuSteal', 'u32'], ['cpuGuest', 'u32'], ['cpuGuestNice', 'u32'],
] as const satisfies FieldSpec;
const HOST_MEMORY = [
  ['memTotal', 'u64'], ['memFree', 'u64'], ['memShared', 'u64'], ['memBuffers', 'u64'], ['memCached', 'u64'],
  ['swapTotal', 'u64'], ['swapFree', 'u64'], ['pageIn', 'u32'], ['pageOut', 'u32'], ['swapIn', 'u32'], ['swapOut', 'u32'],
] as const satisfies FieldSpec;
const HOST_DISK_IO = [
  ['diskTotal', 'u64'], ['diskFree', 'u64'], ['partMaxUsed', 'u32'], ['reads', 'u32'], ['bytesRead', 'u64'], ['readTime', 'u32'],
  ['writes', 'u32'], ['bytesWritten', 'u64'], ['writeTime', 'u32'],
] as const satisfies FieldSpec;
// host_net_io (0:2006) and virt_net_io (0:2104) share one layout: counters of the host's or the entity's adapters.
const NET_IO = [
  ['bytesIn', 'u64'], ['pktsIn', 'u32'], ['errsIn', 'u32'], ['dropsIn', 'u32'],
  ['bytesOut', 'u64'], ['pktsOut', 'u32'], ['errsOut', 'u32'], ['dropsOut', 'u32'],
] as const satisfies FieldSpec;
const MIB2_IP = [
  ['ipForwarding', 'u32'], ['ipDefaultTTL', 'u32'], ['ipInReceives', 'u32'], ['ipInHdrErrors', 'u32'], ['ipInAddrErrors', 'u32'],
  ['ipForwDatagrams', 'u32'], ['ipInUnknownProtos', 'u32'], ['ipInDiscards', 'u32'], ['ipInDelivers', 'u32'], ['ipOutRequests', 'u32'],
  ['ipOutDiscards', 'u32'], ['ipOutNoRoutes', 'u32'], ['ipReasmTimeout', 'u32'], ['ipReasmReqds', 'u32'], ['ipReasmOKs', 'u32'],
  ['ipReasmFails', 'u32'], ['ipFragOKs', 'u32'], ['ipFragFails', 'u32'], ['ipFragCreates', 'u32'],
] as const satisfies FieldSpec;
const MIB2_ICMP = [
  ['icmpInMsgs', 'u32'], ['icmpInErrors', 'u32'], ['icmpInDestUnreachs', 'u32'], ['icmpInTimeExcds', 'u32'], ['icmpInParamProbs', 'u32'],
  ['icmpInSrcQuenchs', 'u32'], ['icmpInRedirects', 'u32'], ['icmpInEchos', 'u32'], ['icmpInEchoReps', 'u32'], ['icmpInTimestamps', 'u32'],
  ['icmpInAddrMasks', 'u32'], ['icmpInAddrMaskReps', 'u32'], ['icmpOutMsgs', 'u32'], ['icmpOutErrors', 'u32'], ['icmpOutDestUnreachs', 'u32'],
  ['icmpOutTimeExcds', 'u32'], ['icmpOutParamProbs', 'u32'], ['icmpOutSrcQuenchs', 'u32'], ['icmpOutRedirects', 'u32'], ['icmpOutEchos', 'u32'],
  ['icmpOutEchoReps', 'u32'], ['icmpOutTimestamps', 'u32'], ['icmpOutTimestampReps', 'u32'], ['icmpOutAddrMasks', 'u32'], ['icmpOutAddrMaskReps', 'u32'],
] as const satisfies FieldSpec;
const MIB2_TCP = [
  ['tcpRtoAlgorithm', 'u32'], ['tcpRtoMin', 'u32'], ['tcpRtoMax', 'u32'], ['tcpMaxConn', 'u32'], ['tcpActiveOpens', 'u32'],
  ['tcpPassiveOpens', 'u32'], ['tcpAttemptFails', 'u32'], ['tcpEstabResets', 'u32'], ['tcpCurrEstab', 'u32'], ['tcpInSegs', 'u32'],
  ['tcpOutSegs', 'u32'], ['tcpRetransSegs', 'u32'], ['tcpInErrs', 'u32'], ['tcpOutRsts', 'u32'], ['tcpInCsumErrors', 'u32'],
] as const satisfies FieldSpec;
const MIB2_UDP = [
  ['udpInDatagrams', 'u32'], ['udpNoPorts', 'u32'], ['udpInErrors', 'u32'], ['udpOutDatagrams', 'u32'], ['udpRcvbufErrors', 'u32'],
  ['udpSndbufErrors', 'u32'], ['udpInCsumErrors', 'u32'],
] as const satisfies FieldSpec;
const VIRT_NODE = [['mhz', 'u32'], ['cpus', 'u32'], ['memory', 'u64'], ['memoryFree', 'u64'], ['numDomains', 'u32']] as const satisfies FieldSpec;
const VIRT_CPU = [['state', 'u32'], ['cpuTimeMs', 'u32'], ['nrVirtCpu', 'u32']] as const satisfies FieldSpec;
const VIRT_MEMORY = [['memory', 'u64'], ['maxMemory', 'u64']] as const satisfies FieldSpec;
const VIRT_DISK_IO = [
  ['capacity', 'u64'], ['allocation', 'u64'], ['available', 'u64'], ['rdReq', 'u32'], ['rdBytes', 'u64'],
  ['wrReq', 'u32'], ['wrBytes', 'u64'], ['errs', 'u32'],
] as const satisfies FieldSpec;

/** A counter record of a counter sample (u64 counters are numbers: exact below 2^53). */
export type SflowCounterRecord =
  | ({ readonly kind: 'generic-interface' } & NumbersOf<typeof GENERIC_INTERFACE>)
  | ({ readonly kind: 'ethernet-interface' } & NumbersOf<typeof ETHERNET_INTERFACE>)
  | { readonly kind: 'port-name'; readonly name: string }
  | {
    readonly kind: 'host-descr';
    /** hsflowd's Docker module: the container's name. */
    readonly hostname: string;
    /** hsflowd's Docker module: the first 32 hex digits of the container id, as a UUID. */
    readonly uuid: string;
    readonly machineType: number;
    readonly osName: number;
    readonly osRelease: string;
  }
  | { readonly kind: 'host-adapters'; readonly adapters: readonly { readonly ifIndex: number; readonly macs: readonly string[] }[] }
  | ({ readonly kind: 'host-parent' } & NumbersOf<typeof HOST_PARENT>)
  | ({ readonly kind: 'host-cpu' } & NumbersOf<typeof HOST_CPU>)
  | ({ readonly kind: 'host-memory' } & NumbersOf<typeof HOST_MEMORY>)
  | ({ readonly kind: 'host-disk-io' } & NumbersOf<typeof HOST_DISK_IO>)
  | ({ readonly kind: 'host-net-io' } & NumbersOf<typeof NET_IO>)
  | ({ readonly kind: 'mib2-ip' } & NumbersOf<typeof MIB2_IP>)
  | ({ readonly kind: 'mib2-icmp' } & NumbersOf<typeof MIB2_ICMP>)
  | ({ readonly kind: 'mib2-tcp' } & NumbersOf<typeof MIB2_TCP>)
  | ({ readonly kind: 'mib2-udp' } & NumbersOf<typeof MIB2_UDP>)
  | ({ readonly kind: 'virt-node' } & NumbersOf<typeof VIRT_NODE>)
  | ({ readonly kind: 'virt-cpu' } & NumbersOf<typeof VIRT_CPU>)
  | ({ readonly kind: 'virt-memory' } & NumbersOf<typeof VIRT_MEMORY>)
  | ({ readonly kind: 'virt-disk-io' } & NumbersOf<typeof VIRT_DISK_IO>)
  | ({ readonly kind: 'virt-net-io' } & NumbersOf<typeof NET_IO>)
  | SflowUnknownRecord;

/** Counter record formats (enterprise 0) decoded from a field table, with their kind. */
const COUNTER_TABLES: ReadonlyMap<number, { readonly kind: string; readonly fields: FieldSpec; readonly size: number }> = new Map(
  ([
    [1, 'generic-interface', GENERIC_INTERFACE], [2, 'ethernet-interface', ETHERNET_INTERFACE], [2002, 'host-parent', HOST_PARENT],
    [2003, 'host-cpu', HOST_CPU], [2004, 'host-memory', HOST_MEMORY], [2005, 'host-disk-io', HOST_DISK_IO], [2006, 'host-net-io', NET_IO],
    [2007, 'mib2-ip', MIB2_IP], [2008, 'mib2-icmp', MIB2_ICMP], [2009, 'mib2-tcp', MIB2_TCP], [2010, 'mib2-udp', MIB2_UDP],
    [2100, 'virt-node', VIRT_NODE], [2101, 'virt-cpu', VIRT_CPU], [2102, 'virt-memory', VIRT_MEMORY], [2103, 'virt-disk-io', VIRT_DISK_IO],
    [2104, 'virt-net-io', NET_IO],
  ] as const).map(([format, kind, fields]) => [format, { kind, fields, size: fields.reduce((n, [, t]) => n + (t === 'u64' ? 8 : 4), 0) }]),
);

/** Longest strings the spec allows (port name, hostname, os_release); longer ones are a malformed record. */
const MAX_STRING = 255;

// The decoder state: one datagram, read through a DataView; `fail` names the offset.
interface Input {
  readonly b: Uint8Array;
  readonly v: DataView;
}

/** Why a datagram could not be decoded, as a bounded set (metric labels). */
export type SflowDecodeFailure = 'not_sflow_v5' | 'bad_agent_address' | 'bad_length' | 'trailing_bytes';

/** A datagram that is not sFlow v5 or lies about a length: a ParseError whose `line` is the byte offset. */
export class SflowParseError extends ParseError {
  constructor(at: number, reason: string, readonly failure: SflowDecodeFailure) {
    super(SFLOW_FILE, at, reason);
  }
}

function fail(at: number, reason: string, failure: SflowDecodeFailure = 'bad_length'): never {
  throw new SflowParseError(at, reason, failure);
}

function need(end: number, o: number, n: number, what: string): void {
  if (n > end - o) fail(o, `${what} needs ${n} bytes, ${Math.max(0, end - o)} left`);
}

// XDR pads opaque data to a multiple of 4 bytes. Arithmetic, not bit operations: a length near 2^31 must stay
// a large positive number (`(n + 3) & ~3` turns it negative and it would pass every bounds check).
const pad4 = (n: number) => n + ((4 - (n % 4)) % 4);

function u64(v: DataView, o: number): number {
  return v.getUint32(o) * 0x100000000 + v.getUint32(o + 4);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Formats 6 bytes at `o` as a MAC address (`02:42:ac:12:00:04`). */
export function formatMac(b: Uint8Array, o: number): string {
  return `${HEX[b[o]!]}:${HEX[b[o + 1]!]}:${HEX[b[o + 2]!]}:${HEX[b[o + 3]!]}:${HEX[b[o + 4]!]}:${HEX[b[o + 5]!]}`;
}

function formatUuid(b: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + HEX[b[o + i]!];
  return s;
}

const utf8 = new TextDecoder('utf-8');

function readString(inp: Input, o: number, end: number, what: string): { text: string; next: number } {
  need(end, o, 4, what);
  const len = inp.v.getUint32(o);
  if (len > MAX_STRING) fail(o, `${what} length ${len} exceeds ${MAX_STRING}`);
  need(end, o + 4, pad4(len), what);
  return { text: utf8.decode(inp.b.subarray(o + 4, o + 4 + len)), next: o + 4 + pad4(len) };
}

/**
 * Decodes one sFlow v5 datagram (the payload of a UDP datagram sent to a collector, port 6343 by default).
 * Throws a ParseError naming the byte offset when the datagram is not sFlow v5 or any length in it lies.
 */
export function parseSflowDatagram(bytes: Uint8Array): SflowDatagram {
  const inp: Input = { b: bytes, v: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  const end = bytes.length;
  need(end, 0, 8, 'datagram header');
  const version = inp.v.getUint32(0);
  if (version !== 5) fail(0, `sFlow version ${version}, only 5 is decoded`, 'not_sflow_v5');
  const addressType = inp.v.getUint32(4);
  let o = 8;
  let agent: string;
  if (addressType === 1) {
    need(end, o, 4, 'agent address');
    agent = formatIpv4(bytes, o);
    o += 4;
  } else if (addressType === 2) {
    need(end, o, 16, 'agent address');
    agent = formatIpv6(bytes, o);
    o += 16;
  } else {
    fail(4, `agent address type ${addressType} (1 IPv4 and 2 IPv6 are defined)`, 'bad_agent_address');
  }
  need(end, o, 16, 'datagram header');
  const subAgentId = inp.v.getUint32(o);
  const sequence = inp.v.getUint32(o + 4);
  const uptimeMs = inp.v.getUint32(o + 8);
  const count = inp.v.getUint32(o + 12);
  o += 16;
  // Every sample takes at least its 8-byte format and length: a count beyond that is a lie, not a loop bound.
  if (count > (end - o) / 8) fail(o - 4, `${count} samples cannot fit in ${end - o} bytes`);
  const samples: SflowSample[] = [];
  for (let i = 0; i < count; i++) {
    need(end, o, 8, `sample ${i} header`);
    const dataFormat = inp.v.getUint32(o);
    const length = inp.v.getUint32(o + 4);
    const start = o + 8;
    need(end, start, pad4(length), `sample ${i} (${dataFormat >>> 12}:${dataFormat & 0xfff}) of length ${length}`);
    const sampleEnd = start + length;
    samples.push(parseSample(inp, dataFormat, start, sampleEnd));
    o = start + pad4(length);
  }
  if (o !== end) fail(o, `${end - o} bytes after the last of ${count} samples`, 'trailing_bytes');
  return { version: 5, agent, subAgentId, sequence, uptimeMs, samples };
}

function parseSample(inp: Input, dataFormat: number, o: number, end: number): SflowSample {
  const enterprise = dataFormat >>> 12;
  const format = dataFormat & 0xfff;
  if (enterprise !== 0 || format < 1 || format > 4) return { kind: 'unknown', enterprise, format, length: end - o };
  const v = inp.v;
  const expanded = format === 3 || format === 4;
  if (format === 1 || format === 3) {
    const fixed = expanded ? 44 : 32;
    need(end, o, fixed, expanded ? 'expanded flow sample' : 'flow sample');
    const sourceWord = v.getUint32(o + 4);
    const source = expanded ? { type: sourceWord, index: v.getUint32(o + 8) } : { type: sourceWord >>> 24, index: sourceWord & 0xffffff };
    const p = expanded ? o + 12 : o + 8;
    const samplingRate = v.getUint32(p);
    const samplePool = v.getUint32(p + 4);
    const drops = v.getUint32(p + 8);
    let input: SflowInterface;
    let output: SflowInterface;
    if (expanded) {
      input = { format: v.getUint32(p + 12), value: v.getUint32(p + 16) };
      output = { format: v.getUint32(p + 20), value: v.getUint32(p + 24) };
    } else {
      const i = v.getUint32(p + 12);
      const out = v.getUint32(p + 16);
      input = { format: i >>> 30, value: i & 0x3fffffff };
      output = { format: out >>> 30, value: out & 0x3fffffff };
    }
    const records = parseRecords(inp, o + fixed, end, parseFlowRecord, 'flow');
    return { kind: 'flow', expanded, sequence: v.getUint32(o), source, samplingRate, samplePool, drops, input, output, records };
  }
  const fixed = expanded ? 16 : 12;
  need(end, o, fixed, expanded ? 'expanded counter sample' : 'counter sample');
  const sourceWord = v.getUint32(o + 4);
  const source = expanded ? { type: sourceWord, index: v.getUint32(o + 8) } : { type: sourceWord >>> 24, index: sourceWord & 0xffffff };
  const records = parseRecords(inp, o + fixed, end, parseCounterRecord, 'counter');
  return { kind: 'counters', expanded, sequence: v.getUint32(o), source, records };
}

// Records are `u32 data_format, u32 length, opaque data`, preceded by their count (at o - 4).
function parseRecords<R>(
  inp: Input, o: number, end: number, parse: (inp: Input, enterprise: number, format: number, o: number, end: number) => R, what: string,
): R[] {
  const count = inp.v.getUint32(o - 4);
  if (count > (end - o) / 8) fail(o - 4, `${count} ${what} records cannot fit in ${end - o} bytes`);
  const records: R[] = [];
  for (let i = 0; i < count; i++) {
    need(end, o, 8, `${what} record ${i} header`);
    const dataFormat = inp.v.getUint32(o);
    const length = inp.v.getUint32(o + 4);
    need(end, o + 8, pad4(length), `${what} record ${i} (${dataFormat >>> 12}:${dataFormat & 0xfff}) of length ${length}`);
    records.push(parse(inp, dataFormat >>> 12, dataFormat & 0xfff, o + 8, o + 8 + length));
    o += 8 + pad4(length);
  }
  if (o !== end) fail(o, `${end - o} bytes after the last of ${count} ${what} records`, 'trailing_bytes');
  return records;
}

function parseFlowRecord(inp: Input, enterprise: number, format: number, o: number, end: number): SflowFlowRecord {
  const { b, v } = inp;
  if (enterprise !== 0) return { kind: 'unknown', enterprise, format, length: end - o };
  switch (format) {
    case 1: {
      need(end, o, 16, 'raw packet header');
      const protocol = v.getUint32(o);
      const headerLength = v.getUint32(o + 12);
      need(end, o + 16, headerLength, 'raw packet header bytes');
      const h = o + 16;
      const packet = protocol === 1 ? decodeEthernet(b, h, h + headerLength)
        : protocol === 11 ? decodeIp(b, h, h + headerLength, 4, {})
          : protocol === 12 ? decodeIp(b, h, h + headerLength, 6, {})
            : {};
      return { kind: 'raw-header', protocol, frameLength: v.getUint32(o + 4), stripped: v.getUint32(o + 8), headerLength, packet };
    }
    case 2:
      need(end, o, 24, 'ethernet frame data');
      return { kind: 'ethernet', length: v.getUint32(o), srcMac: formatMac(b, o + 4), dstMac: formatMac(b, o + 12), etherType: v.getUint32(o + 20) };
    case 3:
      need(end, o, 32, 'IPv4 data');
      return {
        kind: 'ipv4', length: v.getUint32(o), protocol: v.getUint32(o + 4), srcIp: formatIpv4(b, o + 8), dstIp: formatIpv4(b, o + 12),
        srcPort: v.getUint32(o + 16), dstPort: v.getUint32(o + 20), tcpFlags: v.getUint32(o + 24), tos: v.getUint32(o + 28),
      };
    case 4:
      need(end, o, 56, 'IPv6 data');
      return {
        kind: 'ipv6', length: v.getUint32(o), protocol: v.getUint32(o + 4), srcIp: formatIpv6(b, o + 8), dstIp: formatIpv6(b, o + 24),
        srcPort: v.getUint32(o + 40), dstPort: v.getUint32(o + 44), tcpFlags: v.getUint32(o + 48), tos: v.getUint32(o + 52),
      };
    case 1001:
      need(end, o, 16, 'extended switch data');
      return { kind: 'extended-switch', srcVlan: v.getUint32(o), srcPriority: v.getUint32(o + 4), dstVlan: v.getUint32(o + 8), dstPriority: v.getUint32(o + 12) };
    case 1043:
      need(end, o, 8, 'timestamp');
      return { kind: 'timestamp', ms: v.getUint32(o) * 4294.967296 + v.getUint32(o + 4) / 1e6 };
    case 2210:
      need(end, o, 16, 'entities');
      return { kind: 'entities', source: { type: v.getUint32(o), index: v.getUint32(o + 4) }, destination: { type: v.getUint32(o + 8), index: v.getUint32(o + 12) } };
    default:
      return { kind: 'unknown', enterprise, format, length: end - o };
  }
}

function parseCounterRecord(inp: Input, enterprise: number, format: number, o: number, end: number): SflowCounterRecord {
  const { b, v } = inp;
  if (enterprise !== 0) return { kind: 'unknown', enterprise, format, length: end - o };
  const table = COUNTER_TABLES.get(format);
  if (table) {
    need(end, o, table.size, `${table.kind} counters`);
    const record: Record<string, string | number> = { kind: table.kind };
    let p = o;
    for (const [name, type] of table.fields) {
      if (type === 'u64') {
        record[name] = u64(v, p);
        p += 8;
      } else {
        record[name] = type === 'f32' ? v.getFloat32(p) : v.getUint32(p);
        p += 4;
      }
    }
    return record as SflowCounterRecord;
  }
  switch (format) {
    case 1005:
      return { kind: 'port-name', name: readString(inp, o, end, 'port name').text };
    case 2000: {
      const host = readString(inp, o, end, 'hostname');
      need(end, host.next, 24, 'host description');
      const machineType = v.getUint32(host.next + 16);
      const osName = v.getUint32(host.next + 20);
      const release = readString(inp, host.next + 24, end, 'os release');
      return { kind: 'host-descr', hostname: host.text, uuid: formatUuid(b, host.next), machineType, osName, osRelease: release.text };
    }
    case 2001: {
      need(end, o, 4, 'host adapters');
      const count = v.getUint32(o);
      if (count > (end - o - 4) / 8) fail(o, `${count} adapters cannot fit in ${end - o - 4} bytes`);
      const adapters: { ifIndex: number; macs: string[] }[] = [];
      let p = o + 4;
      for (let i = 0; i < count; i++) {
        need(end, p, 8, `adapter ${i}`);
        const ifIndex = v.getUint32(p);
        const macCount = v.getUint32(p + 4);
        p += 8;
        if (macCount > (end - p) / 8) fail(p - 4, `${macCount} MAC addresses cannot fit in ${end - p} bytes`);
        const macs: string[] = [];
        for (let j = 0; j < macCount; j++, p += 8) macs.push(formatMac(b, p));
        adapters.push({ ifIndex, macs });
      }
      return { kind: 'host-adapters', adapters };
    }
    default:
      return { kind: 'unknown', enterprise, format, length: end - o };
  }
}

const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

/** Decodes an Ethernet frame's headers (with up to two VLAN tags) as far as the sampled bytes go. */
function decodeEthernet(b: Uint8Array, o: number, end: number): SflowSampledPacket {
  if (end - o < 14) return { truncated: true };
  const out: Mutable<SflowSampledPacket> = { dstMac: formatMac(b, o), srcMac: formatMac(b, o + 6) };
  let type = (b[o + 12]! << 8) | b[o + 13]!;
  let p = o + 14;
  for (let tags = 0; (type === ETH_VLAN || type === ETH_QINQ) && tags < 2; tags++) {
    if (end - p < 4) return { ...out, truncated: true };
    if (out.vlan === undefined) out.vlan = ((b[p]! << 8) | b[p + 1]!) & 0xfff;
    type = (b[p + 2]! << 8) | b[p + 3]!;
    p += 4;
  }
  out.etherType = type;
  if (type === ETH_IPV4) return decodeIp(b, p, end, 4, out);
  if (type === ETH_IPV6) return decodeIp(b, p, end, 6, out);
  return out;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// IPv6 extension headers that may stand between the fixed header and TCP/UDP.
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AUTH = 51;
const DEST_OPTIONS = 60;

/** Decodes an IP header and the TCP/UDP ports behind it, adding to what the link layer gave. */
function decodeIp(b: Uint8Array, o: number, end: number, version: 4 | 6, link: Mutable<SflowSampledPacket>): SflowSampledPacket {
  const out = link;
  let p: number;
  let protocol: number;
  if (version === 4) {
    if (end - o < 20) return { ...out, truncated: true };
    if (b[o]! >> 4 !== 4) return out;
    const ihl = (b[o]! & 0x0f) * 4;
    out.ipVersion = 4;
    out.ipLength = (b[o + 2]! << 8) | b[o + 3]!;
    protocol = b[o + 9]!;
    out.ipProtocol = protocol;
    out.srcIp = formatIpv4(b, o + 12);
    out.dstIp = formatIpv4(b, o + 16);
    if ((((b[o + 6]! << 8) | b[o + 7]!) & 0x1fff) !== 0) {
      out.fragment = true;
      return out;
    }
    if (ihl < 20) return out;
    p = o + ihl;
  } else {
    if (end - o < 40) return { ...out, truncated: true };
    if (b[o]! >> 4 !== 6) return out;
    out.ipVersion = 6;
    out.ipLength = ((b[o + 4]! << 8) | b[o + 5]!) + 40;
    out.srcIp = formatIpv6(b, o + 8);
    out.dstIp = formatIpv6(b, o + 24);
    protocol = b[o + 6]!;
    p = o + 40;
    // At most 8 extension headers: enough for any real packet, and a bound for a crafted chain.
    for (let i = 0; i < 8 && (protocol === HOP_BY_HOP || protocol === ROUTING || protocol === DEST_OPTIONS || protocol === FRAGMENT || protocol === AUTH); i++) {
      if (end - p < 8) {
        out.ipProtocol = protocol;
        out.truncated = true;
        return out;
      }
      const next = b[p]!;
      if (protocol === FRAGMENT) {
        if ((((b[p + 2]! << 8) | b[p + 3]!) & 0xfff8) !== 0) {
          out.ipProtocol = next;
          out.fragment = true;
          return out;
        }
        p += 8;
      } else {
        p += protocol === AUTH ? (b[p + 1]! + 2) * 4 : (b[p + 1]! + 1) * 8;
      }
      protocol = next;
    }
    out.ipProtocol = protocol;
  }
  if (protocol === 6) {
    if (end - p < 14) {
      if (end - p >= 4) { out.srcPort = (b[p]! << 8) | b[p + 1]!; out.dstPort = (b[p + 2]! << 8) | b[p + 3]!; }
      out.truncated = true;
      return out;
    }
    out.srcPort = (b[p]! << 8) | b[p + 1]!;
    out.dstPort = (b[p + 2]! << 8) | b[p + 3]!;
    out.tcpFlags = b[p + 13]!;
  } else if (protocol === 17) {
    if (end - p < 4) {
      out.truncated = true;
      return out;
    }
    out.srcPort = (b[p]! << 8) | b[p + 1]!;
    out.dstPort = (b[p + 2]! << 8) | b[p + 3]!;
  }
  return out;
}

// The receiving end of sFlow, pure: datagrams are decoded as they arrive and folded into bounded tables — flows
// by flow key (one interval's worth, drained at each collection), the latest counters of each data source, and
// per-agent status with sequence-gap loss — so memory follows the number of distinct flows and agents, not the
// datagram rate. The collector feeds it from the UDP source and drains it into the snapshot.
import {
  dataSourceKey,
  type SflowAgentStatus, type SflowCounterSource, type SflowFlow, type SflowPart, type SflowReceiverStatus, type SflowRejectReason,
  type SflowSourceStatus,
} from '../model/sflow.js';
import { parseSflowDatagram, SflowParseError, type SflowDatagram, type SflowFlowSample } from '../parse/sflow.js';

/** Bounds of the accumulator's tables. */
export interface SflowLimits {
  /** Distinct agents (address + sub-agent) tracked; datagrams of further agents are rejected (default 1,024). */
  readonly maxAgents?: number;
  /** Distinct flows per interval; further samples are counted in flowTableOverflow (default 100,000). */
  readonly maxFlows?: number;
  /** Flow-sampling data sources tracked per agent (default 1,024). */
  readonly maxSourcesPerAgent?: number;
  /** Counter-sample data sources tracked (default 8,192); further ones are counted in counterTableOverflow. */
  readonly maxCounterSources?: number;
  /** Counter sources not heard from for this long are forgotten (default 5 min). */
  readonly counterTtlMs?: number;
  /** Agents not heard from for this long are forgotten (default 1 h). */
  readonly agentTtlMs?: number;
}

/** Decodes datagrams as they arrive and hands over what arrived since the previous drain. */
export interface SflowAccumulator {
  /** Decodes one datagram from `from` received at `atMs` and folds it in; a bad one is counted and dropped. */
  add(bytes: Uint8Array, from: string, atMs: number): void;
  /**
   * The flows sampled since the previous drain (then forgotten), the latest counters and the status so far.
   * `queueDropped`: datagrams the source could not hand over, as it counts them.
   */
  drain(atMs: number, queueDropped?: number): SflowPart;
}

/** Largest forward jump of a sequence number still counted as loss; beyond it the agent is taken to have restarted. */
const MAX_GAP = 1_000_000;
/** Most distinct sampling rates remembered per flow or agent. */
const MAX_RATES = 8;

interface AgentState {
  agent: string;
  subAgentId: number;
  from: string;
  datagrams: number;
  flowSamples: number;
  counterSamples: number;
  unknownSamples: number;
  otherSamples: number;
  lostDatagrams: number;
  reorderedDatagrams: number;
  restarts: number;
  lastSequence: number;
  uptimeMs: number;
  firstSeenMs: number;
  lastSeenMs: number;
  samplingRates: number[];
  sources: Map<string, SourceState>;
  /** The source of the previous flow sample: consecutive samples mostly share it (no key to build). */
  lastSource: SourceState | undefined;
  lastSourceType: number;
  lastSourceIndex: number;
  /** This interval's flows: source IP → destination IP → protocol and ports (one number) → flow. */
  flows: Map<string, Map<string, Map<number, FlowState>>>;
}

interface SourceState {
  source: string;
  samplingRate: number;
  samplePool: number;
  drops: number;
  flowSamples: number;
  lostSamples: number;
  lastSequence: number;
}

interface FlowState {
  agent: string;
  subAgentId: number;
  protocol: 'tcp' | 'udp';
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  srcMac: string | undefined;
  dstMac: string | undefined;
  srcEntity: string | undefined;
  dstEntity: string | undefined;
  samples: number;
  sampledBytes: number;
  bytes: number;
  packets: number;
  syn: boolean;
  samplingRates: number[];
  /** The same addresses and ports seen with other MACs (another L2 path): rare, so a chain. */
  other: FlowState | undefined;
}

function addRate(rates: number[], rate: number): void {
  if (rates.includes(rate) || rates.length >= MAX_RATES) return;
  rates.push(rate);
  rates.sort((a, b) => a - b);
}

/** Creates an accumulator for a receiver listening at `listen` (reported in its status). */
export function createSflowAccumulator(listen: string, limits: SflowLimits = {}): SflowAccumulator {
  const maxAgents = limits.maxAgents ?? 1024;
  const maxFlows = limits.maxFlows ?? 100_000;
  const maxSources = limits.maxSourcesPerAgent ?? 1024;
  const maxCounters = limits.maxCounterSources ?? 8192;
  const counterTtlMs = limits.counterTtlMs ?? 300_000;
  const agentTtlMs = limits.agentTtlMs ?? 3_600_000;

  const agents = new Map<string, AgentState>();
  let flowCount = 0;
  const counters = new Map<string, SflowCounterSource>();
  let fromMs: number | undefined;
  let datagrams = 0;
  let bytes = 0;
  const rejected: Partial<Record<SflowRejectReason, number>> = {};
  let lastRejected: SflowReceiverStatus['lastRejected'];
  let flowTableOverflow = 0;
  let counterTableOverflow = 0;

  const reject = (reason: SflowRejectReason, from: string, atMs: number, message: string) => {
    rejected[reason] = (rejected[reason] ?? 0) + 1;
    lastRejected = { from, atMs, reason: message };
  };

  /** Sequence bookkeeping of one agent: loss from forward gaps, restarts when numbers and uptime go back. */
  const sequence = (a: AgentState, d: SflowDatagram) => {
    const step = (d.sequence - a.lastSequence) >>> 0;
    if (step === 0) {
      a.reorderedDatagrams++;
    } else if (step < 0x80000000) {
      if (step - 1 > MAX_GAP) a.restarts++;
      else a.lostDatagrams += step - 1;
      a.lastSequence = d.sequence;
      a.uptimeMs = d.uptimeMs;
    } else if (d.uptimeMs + 10_000 < a.uptimeMs) {
      // Numbers and uptime both went back: a restarted agent counts from 1 again.
      a.restarts++;
      a.lastSequence = d.sequence;
      a.uptimeMs = d.uptimeMs;
    } else {
      // A late datagram fills a gap that was counted as loss when a later one arrived first.
      a.reorderedDatagrams++;
      if (a.lostDatagrams > 0) a.lostDatagrams--;
    }
  };

  const flowSample = (a: AgentState, s: SflowFlowSample) => {
    a.flowSamples++;
    let src = a.lastSource !== undefined && a.lastSourceType === s.source.type && a.lastSourceIndex === s.source.index ? a.lastSource : undefined;
    if (!src) {
      const sourceKey = dataSourceKey(s.source);
      src = a.sources.get(sourceKey);
      if (!src && a.sources.size < maxSources) {
        src = { source: sourceKey, samplingRate: s.samplingRate, samplePool: s.samplePool, drops: s.drops, flowSamples: 0, lostSamples: 0, lastSequence: s.sequence - 1 };
        a.sources.set(sourceKey, src);
      }
      a.lastSource = src;
      a.lastSourceType = s.source.type;
      a.lastSourceIndex = s.source.index;
    }
    if (src) {
      const step = (s.sequence - src.lastSequence) >>> 0;
      if (step > 1 && step - 1 <= MAX_GAP && step < 0x80000000) src.lostSamples += step - 1;
      if (step !== 0 && step < 0x80000000) src.lastSequence = s.sequence;
      else if (step >= 0x80000000 && s.sequence <= 1) src.lastSequence = s.sequence;
      src.samplingRate = s.samplingRate;
      src.samplePool = s.samplePool;
      src.drops = s.drops;
      src.flowSamples++;
    }
    if (s.samplingRate === 0) {
      // A rate of 0 says nothing about how many packets the sample stands for.
      a.otherSamples++;
      return;
    }
    addRate(a.samplingRates, s.samplingRate);

    let protocol = 0;
    let srcIp: string | undefined;
    let dstIp: string | undefined;
    let srcPort: number | undefined;
    let dstPort: number | undefined;
    let srcMac: string | undefined;
    let dstMac: string | undefined;
    let frameBytes = 0;
    let syn = false;
    let fragment = false;
    let srcEntity: string | undefined;
    let dstEntity: string | undefined;
    let haveHeader = false;
    for (const r of s.records) {
      if (r.kind === 'raw-header' && !haveHeader) {
        const p = r.packet;
        haveHeader = true;
        protocol = p.ipProtocol ?? 0;
        srcIp = p.srcIp;
        dstIp = p.dstIp;
        srcPort = p.srcPort;
        dstPort = p.dstPort;
        srcMac = p.srcMac;
        dstMac = p.dstMac;
        fragment = p.fragment === true;
        frameBytes = Math.max(0, r.frameLength - r.stripped);
        const flags = p.tcpFlags ?? 0;
        syn = (flags & 0x02) !== 0 && (flags & 0x10) === 0;
      } else if ((r.kind === 'ipv4' || r.kind === 'ipv6') && !haveHeader) {
        // Sampled IP data (0:3/0:4) stands in for a header: its length is the IP packet's.
        haveHeader = true;
        protocol = r.protocol;
        srcIp = r.srcIp;
        dstIp = r.dstIp;
        srcPort = r.srcPort;
        dstPort = r.dstPort;
        frameBytes = r.length;
        syn = (r.tcpFlags & 0x02) !== 0 && (r.tcpFlags & 0x10) === 0;
      } else if (r.kind === 'entities') {
        srcEntity = r.source.type === 0 && r.source.index === 0 ? undefined : dataSourceKey(r.source);
        dstEntity = r.destination.type === 0 && r.destination.index === 0 ? undefined : dataSourceKey(r.destination);
      }
    }
    if ((protocol !== 6 && protocol !== 17) || fragment || srcIp === undefined || dstIp === undefined || srcPort === undefined || dstPort === undefined) {
      a.otherSamples++;
      return;
    }
    // Nested maps with a numeric last level: a long string key per sample would cost more than the decoding.
    let byDst = a.flows.get(srcIp);
    if (!byDst) a.flows.set(srcIp, (byDst = new Map()));
    let byPorts = byDst.get(dstIp);
    if (!byPorts) byDst.set(dstIp, (byPorts = new Map()));
    const portsKey = (protocol === 6 ? 0 : 0x100000000) + srcPort * 0x10000 + dstPort;
    const first = byPorts.get(portsKey);
    let f = first;
    while (f !== undefined && (f.srcMac !== srcMac || f.dstMac !== dstMac)) f = f.other;
    if (!f) {
      if (flowCount >= maxFlows) {
        flowTableOverflow++;
        return;
      }
      flowCount++;
      f = {
        agent: a.agent, subAgentId: a.subAgentId, protocol: protocol === 6 ? 'tcp' : 'udp', srcIp, dstIp, srcPort, dstPort, srcMac, dstMac, srcEntity, dstEntity,
        samples: 0, sampledBytes: 0, bytes: 0, packets: 0, syn: false, samplingRates: [], other: first,
      };
      byPorts.set(portsKey, f);
    }
    f.samples++;
    f.sampledBytes += frameBytes;
    f.bytes += frameBytes * s.samplingRate;
    f.packets += s.samplingRate;
    if (syn) f.syn = true;
    f.srcEntity ??= srcEntity;
    f.dstEntity ??= dstEntity;
    addRate(f.samplingRates, s.samplingRate);
  };

  /** Decodes one datagram and folds it in; a decoding failure is counted by reason. */
  const fold = (input: Uint8Array, from: string, atMs: number): void => {
    let d: SflowDatagram;
    try {
      d = parseSflowDatagram(input);
    } catch (err) {
      if (!(err instanceof SflowParseError)) throw err;
      reject(err.failure, from, atMs, err.message);
      return;
    }
    const agentKey = `${d.agent}|${d.subAgentId}`;
    let a = agents.get(agentKey);
    if (!a) {
      if (agents.size >= maxAgents) {
        reject('too_many_agents', from, atMs, `agent ${d.agent} sub-agent ${d.subAgentId}: already ${maxAgents} agents`);
        return;
      }
      a = {
        agent: d.agent, subAgentId: d.subAgentId, from, datagrams: 0, flowSamples: 0, counterSamples: 0, unknownSamples: 0, otherSamples: 0,
        lostDatagrams: 0, reorderedDatagrams: 0, restarts: 0, lastSequence: (d.sequence - 1) >>> 0, uptimeMs: d.uptimeMs,
        firstSeenMs: atMs, lastSeenMs: atMs, samplingRates: [], sources: new Map(), lastSource: undefined, lastSourceType: 0, lastSourceIndex: 0,
        flows: new Map(),
      };
      agents.set(agentKey, a);
    }
    a.datagrams++;
    a.from = from;
    a.lastSeenMs = atMs;
    sequence(a, d);
    for (const s of d.samples) {
      if (s.kind === 'flow') {
        flowSample(a, s);
      } else if (s.kind === 'counters') {
        a.counterSamples++;
        const source = dataSourceKey(s.source);
        const key = `${agentKey}|${source}`;
        if (!counters.has(key) && counters.size >= maxCounters) {
          counterTableOverflow++;
          continue;
        }
        counters.set(key, { agent: d.agent, subAgentId: d.subAgentId, source, dataSource: s.source, sequence: s.sequence, atMs, records: s.records });
      } else {
        a.unknownSamples++;
      }
    }
  };

  return {
    add(input, from, atMs) {
      fromMs ??= atMs;
      datagrams++;
      bytes += input.length;
      try {
        fold(input, from, atMs);
      } catch (err) {
        // Hostile input must never take the receiver down: a failure that is no decoding error is a bug, counted.
        reject('internal_error', from, atMs, `internal error on a datagram: ${err instanceof Error ? err.message : String(err)}`);
      }
    },

    drain(atMs, queueDropped = 0) {
      for (const [k, c] of counters) if (atMs - c.atMs > counterTtlMs) counters.delete(k);
      for (const [k, a] of agents) if (atMs - a.lastSeenMs > agentTtlMs) agents.delete(k);
      const flows: SflowFlow[] = [];
      for (const a of agents.values()) {
        for (const byDst of a.flows.values()) {
          for (const byPorts of byDst.values()) {
            for (const head of byPorts.values()) for (let f: FlowState | undefined = head; f; f = f.other) flows.push(toFlow(f));
          }
        }
        a.flows = new Map();
      }
      const part: SflowPart = {
        fromMs: fromMs ?? atMs,
        toMs: atMs,
        flows,
        counters: [...counters.values()],
        agents: [...agents.values()].map(toAgentStatus),
        receiver: {
          listen, datagrams, bytes, rejected: { ...rejected }, ...(lastRejected ? { lastRejected } : {}),
          flowTableOverflow, counterTableOverflow, queueDropped,
        },
      };
      flowCount = 0;
      fromMs = atMs;
      return part;
    },
  };
}

function toFlow(f: FlowState): SflowFlow {
  return {
    agent: f.agent, subAgentId: f.subAgentId, protocol: f.protocol, srcIp: f.srcIp, dstIp: f.dstIp, srcPort: f.srcPort, dstPort: f.dstPort,
    ...(f.srcMac !== undefined ? { srcMac: f.srcMac } : {}), ...(f.dstMac !== undefined ? { dstMac: f.dstMac } : {}),
    ...(f.srcEntity !== undefined ? { srcEntity: f.srcEntity } : {}), ...(f.dstEntity !== undefined ? { dstEntity: f.dstEntity } : {}),
    samples: f.samples, sampledBytes: f.sampledBytes, bytes: f.bytes, packets: f.packets, syn: f.syn, samplingRates: [...f.samplingRates],
  };
}

function toAgentStatus(a: AgentState): SflowAgentStatus {
  const sources: SflowSourceStatus[] = [...a.sources.values()].map((s) => ({
    source: s.source, samplingRate: s.samplingRate, samplePool: s.samplePool, drops: s.drops, flowSamples: s.flowSamples, lostSamples: s.lostSamples,
  }));
  return {
    agent: a.agent, subAgentId: a.subAgentId, from: a.from, datagrams: a.datagrams, flowSamples: a.flowSamples, counterSamples: a.counterSamples,
    unknownSamples: a.unknownSamples, otherSamples: a.otherSamples, lostDatagrams: a.lostDatagrams, reorderedDatagrams: a.reorderedDatagrams,
    restarts: a.restarts, lastSequence: a.lastSequence, uptimeMs: a.uptimeMs, firstSeenMs: a.firstSeenMs, lastSeenMs: a.lastSeenMs,
    samplingRates: [...a.samplingRates], sources,
  };
}

import { Command, InvalidArgumentError, Option } from 'commander';
import { createCollection } from '../collectors/index.js';
import type { Snapshot } from '../core/model/snapshot.js';
import { runPipeline, type PipelineMemory } from '../core/pipeline.js';
import type { ContainersReport } from '../core/report/containers.js';
import { TOP_SORT_KEYS, formatBytes, formatRate, sortTopContainers, toTopContainers, toTopEdges, type TopContainer, type TopEdge, type TopSortKey } from '../core/report/top.js';
import { escapeTerminal } from '../core/report/terminal-text.js';
import { CliError, jsonText, prepareCollection, printWarnings, toCollectionConfig, withCollectionOptions, withConntrackAcctOption, type CollectionFlags } from './common.js';
import { fetchFromAgent, fetchTopology, staleWarning } from './remote.js';
import { renderTable } from './table.js';

interface TopFlags extends CollectionFlags {
  interval: number;
  sort: TopSortKey;
  once?: boolean;
  json?: boolean;
  limit: number;
  server?: string;
}

/** Something that produces a view of `top` on each call. */
interface Sampler {
  start(): Promise<void>;
  view(sort: TopSortKey): Promise<TopView>;
  /** True when the first view already has rates (an agent keeps samples; a local sampler needs two). */
  readonly hasRates: boolean;
}

/** What one refresh of `top` shows. */
export interface TopView {
  readonly takenAt: string;
  readonly intervalMs: number | null;
  readonly sort: TopSortKey;
  readonly warnings: readonly string[];
  readonly containers: readonly TopContainer[];
  /** Busiest edges (client → server) by bytes/s over their TCP connections. */
  readonly edges: readonly TopEdge[];
}

const KEYS: Record<string, TopSortKey> = { b: 'rate', r: 'rx', t: 'tx', c: 'connections', l: 'rtt', e: 'retransmits', n: 'name' };

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/** Reads the rows from a running agent (`/api/v1/containers`): its rates come from its own successive samples. */
function createRemoteSampler(server: string): Sampler {
  let last: string | undefined;
  return {
    hasRates: true,
    async start() { await fetchFromAgent(server, 'readyz'); },
    async view(sort: TopSortKey): Promise<TopView> {
      const doc = await fetchFromAgent<ContainersReport & { stale?: boolean; staleSince?: string }>(server, 'api/v1/containers');
      const topology = await fetchTopology(server);
      const intervalMs = last ? Date.parse(doc.takenAt) - Date.parse(last) : null;
      last = doc.takenAt;
      const containers = sortTopContainers(doc.containers.map((c) => c.top), sort);
      return { takenAt: doc.takenAt, intervalMs, sort, warnings: [...staleWarning(doc), ...doc.warnings], containers, edges: toTopEdges(topology, sort) };
    },
  };
}

/** Samples repeatedly, keeping the previous counters so every view after the first has rates. */
function createSampler(flags: TopFlags): Sampler {
  const collection = createCollection({ ...toCollectionConfig(flags), ...(flags.once ? {} : { repeat: {} }) });
  let memory: PipelineMemory | undefined;
  let last: Snapshot | undefined;
  return {
    hasRates: false,
    async start() {
      await prepareCollection(collection, flags);
    },
    async view(sort: TopSortKey): Promise<TopView> {
      const { snapshot } = await collection.collect();
      const intervalMs = last ? Date.parse(snapshot.takenAt) - Date.parse(last.takenAt) : null;
      last = snapshot;
      const r = runPipeline(snapshot, memory);
      memory = r.memory;
      return {
        // The topology's warnings: collection issues, plus what conntrack (or its accounting) cannot tell.
        takenAt: snapshot.takenAt, intervalMs, sort, warnings: r.topology.warnings,
        containers: toTopContainers(r.attribution, r.traffic, sort),
        edges: toTopEdges(r.topology, sort),
      };
    },
  };
}

/** Renders one screen of `top` (header, container table, key help). */
export function renderTop(view: TopView, limit: number): string {
  const scopeMark = (c: TopContainer) => (c.trafficScope === 'host' ? ' (host)' : c.trafficScope === 'shared' ? ' (shared)' : '');
  const rows = view.containers.slice(0, limit).map((c) => [
    c.name, formatRate(c.rxBytesPerSec) + scopeMark(c), formatRate(c.txBytesPerSec), formatBytes(c.rxBytes), formatBytes(c.txBytes),
    String(c.established), String(c.listening), c.rttMeanMs === null ? '-' : c.rttMeanMs.toFixed(2), String(c.retransmits),
  ]);
  const head = `portolan top — ${escapeTerminal(view.takenAt)} — ${view.containers.length} containers — sorted by ${view.sort}\n`;
  const table = renderTable(['CONTAINER', 'RX/s', 'TX/s', 'RX', 'TX', 'CONNS', 'LISTEN', 'RTT ms', 'RETRANS'], rows);
  const edgeRows = view.edges.slice(0, limit).map((e) => [
    e.from, e.to, `${e.protocol}/${e.port}`, String(e.connections), formatRate(e.bytesSentPerSec), formatRate(e.bytesReceivedPerSec),
    e.rttMeanMs === null ? '-' : e.rttMeanMs.toFixed(2), e.retransmits === null ? '-' : String(e.retransmits),
  ]);
  const edges = renderTable(['FROM', 'TO', 'PORT', 'CONNS', '→/s', '←/s', 'RTT ms', 'RETRANS'], edgeRows);
  const help = 'keys: b bytes/s  r rx  t tx  c connections  l rtt  e retransmits  n name  q quit\n';
  return head + '\n' + table + '\n' + edges + '\n' + help;
}

/** Adds `portolan top` to the program. */
export function registerTop(program: Command): void {
  withConntrackAcctOption(withCollectionOptions(program.command('top')))
    .description('live view of the busiest containers by bytes/s, connections and RTT (q quits)')
    .option('--interval <seconds>', 'refresh interval', positive, 1)
    .addOption(new Option('--sort <key>', 'sort by').choices([...TOP_SORT_KEYS]).default('rate'))
    .option('-n, --limit <rows>', 'rows to show', positive, 30)
    .option('--once', 'take two samples one interval apart, print once and exit')
    .option('--json', 'with --once: print JSON')
    .option('--server <url>', 'read from a running agent (portolan serve) instead of collecting, e.g. http://127.0.0.1:9057')
    .action(async (flags: TopFlags) => {
      if (flags.json && !flags.once) throw new CliError('--json needs --once (the live view is for terminals)');
      const sampler = flags.server ? createRemoteSampler(flags.server) : createSampler(flags);
      await sampler.start();
      const intervalMs = flags.interval * 1000;
      if (flags.once) {
        if (!sampler.hasRates) {
          await sampler.view(flags.sort);
          await new Promise((r) => setTimeout(r, intervalMs));
        }
        const view = await sampler.view(flags.sort);
        printWarnings(view.warnings);
        process.stdout.write(flags.json ? jsonText(view) : renderTop(view, flags.limit));
        return;
      }
      await live(sampler, flags, intervalMs);
    });
}

async function live(sampler: Sampler, flags: TopFlags, intervalMs: number): Promise<void> {
  let sort = flags.sort;
  let stopped = false;
  let wake: (() => void) | undefined;
  const stdin = process.stdin;
  const onKey = (buf: Buffer) => {
    const k = buf.toString();
    if (k === 'q' || k === '\u0003') stopped = true;
    const next = KEYS[k];
    if (next) sort = next;
    wake?.();
  };
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onKey);
  stdin.resume();
  process.stdout.write('\u001b[?25l');
  try {
    while (!stopped) {
      const view = await sampler.view(sort);
      process.stdout.write('\u001b[H\u001b[2J' + renderTop(view, flags.limit));
      for (const w of view.warnings) process.stdout.write(`warning: ${escapeTerminal(w)}\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => { clearTimeout(timer); resolve(); };
      });
    }
  } finally {
    stdin.off('data', onKey);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    process.stdout.write('\u001b[?25h\n');
  }
}

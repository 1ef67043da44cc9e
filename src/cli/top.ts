import { Command, Option } from 'commander';
import { createCollection } from '../collectors/index.js';
import type { Snapshot } from '../core/model/snapshot.js';
import { runPipeline, type PipelineMemory } from '../core/pipeline.js';
import type { ContainersReport } from '../core/report/containers.js';
import { TOP_SORT_KEYS, formatBytes, formatRate, sortTopContainers, toTopContainers, toTopEdges, type TopContainer, type TopEdge, type TopSortKey } from '../core/report/top.js';
import { escapeTerminal } from '../core/report/terminal-text.js';
import { intervalSeconds, jsonText, positiveInteger, prepareCollection, printWarnings, toCollectionConfig, UsageError, withCollectionOptions, withConntrackAcctOption, type CollectionFlags } from './common.js';
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

/** A terminal's size, for a view that must fit it. */
export interface ScreenSize {
  readonly rows: number;
  readonly columns: number;
}

/** Most warning lines a fitted screen gives up for warnings (the rest are counted on the last one). */
const MAX_WARNING_LINES = 2;

/**
 * How many container and edge rows fit `rows` terminal lines beside the title, the two table headers, the
 * blank lines, the key help, `warnings` lines and one line left free (a full last line would scroll the title
 * away): edges get at least a third of what is left, or all the containers leave (pure).
 */
export function fitRows(rows: number, containers: number, edges: number, warnings: number): { containers: number; edges: number } {
  const room = Math.max(0, rows - 8 - warnings);
  if (containers + edges <= room) return { containers, edges };
  const e = Math.min(edges, Math.max(Math.floor(room / 3), room - containers));
  return { containers: Math.min(containers, room - e), edges: e };
}

/** Cuts a line to `columns` characters (code points), so that no line wraps onto the next. */
function cut(line: string, columns: number): string {
  const chars = [...line];
  return chars.length <= columns ? line : chars.slice(0, Math.max(0, columns - 1)).join('') + '…';
}

/**
 * Renders one screen of `top` (title, container table, edge table, key help). With `screen`, it fits the
 * terminal: as many rows as its height allows (the title says how many are shown), every line cut to its width,
 * and the warnings on at most two lines; without, every row up to `limit` and every warning.
 */
export function renderTop(view: TopView, limit: number, screen?: ScreenSize): string {
  const scopeMark = (c: TopContainer) => (c.trafficScope === 'host' ? ' (host)' : c.trafficScope === 'shared' ? ' (shared)' : '');
  const allWarnings = view.warnings.map((w) => `warning: ${escapeTerminal(w)}`);
  const warnings = !screen || allWarnings.length <= MAX_WARNING_LINES ? allWarnings
    : [...allWarnings.slice(0, MAX_WARNING_LINES - 1), `(${allWarnings.length - MAX_WARNING_LINES + 1} more warnings: run portolan top --once)`];
  let nContainers = Math.min(limit, view.containers.length);
  let nEdges = Math.min(limit, view.edges.length);
  if (screen) ({ containers: nContainers, edges: nEdges } = fitRows(screen.rows, nContainers, nEdges, warnings.length));
  // A fleet's rows (a hub's answer) name their hosts: a HOST column first.
  const fleet = view.containers.some((c) => c.host !== undefined);
  const rows = view.containers.slice(0, nContainers).map((c) => [
    ...(fleet ? [c.host?.hostname ?? '-'] : []), c.name, formatRate(c.rxBytesPerSec) + scopeMark(c), formatRate(c.txBytesPerSec), formatBytes(c.rxBytes), formatBytes(c.txBytes),
    String(c.established), String(c.listening), c.rttMeanMs === null ? '-' : c.rttMeanMs.toFixed(2), String(c.retransmits),
  ]);
  const shown = (n: number, of: number, what: string) => (n < of ? `${of} ${what} (${n} shown)` : `${of} ${what}`);
  // The time of day (UTC, as taken) is what a live view needs; the date would crowd an 80-column title.
  const at = /T(\d\d:\d\d:\d\d)/.exec(view.takenAt)?.[1];
  const head = `portolan top — ${at !== undefined ? `${at}Z` : escapeTerminal(view.takenAt)} — ${shown(nContainers, view.containers.length, 'containers')} — sorted by ${view.sort}\n`;
  const table = renderTable([...(fleet ? ['HOST'] : []), 'CONTAINER', 'RX/s', 'TX/s', 'RX', 'TX', 'CONNS', 'LISTEN', 'RTT ms', 'RETRANS'], rows);
  const edgeRows = view.edges.slice(0, nEdges).map((e) => [
    e.from, e.to, `${e.protocol}/${e.port}`, String(e.connections), formatRate(e.bytesSentPerSec), formatRate(e.bytesReceivedPerSec),
    e.rttMeanMs === null ? '-' : e.rttMeanMs.toFixed(2), e.retransmits === null ? '-' : String(e.retransmits),
  ]);
  const edges = renderTable(['FROM', 'TO', 'PORT', 'CONNS', '→/s', '←/s', 'RTT ms', 'RETRANS'], edgeRows);
  const help = 'keys: b bytes/s  r rx  t tx  c connections  l rtt  e retransmits  n name  q quit\n';
  const text = head + '\n' + table + '\n' + edges + '\n' + help + warnings.map((w) => `${w}\n`).join('');
  if (!screen) return text;
  return text.split('\n').map((l) => cut(l, screen.columns)).join('\n');
}

/** Adds `portolan top` to the program. */
export function registerTop(program: Command): void {
  withConntrackAcctOption(withCollectionOptions(program.command('top')))
    .description('live view of the busiest containers by bytes/s, connections and RTT (q quits)')
    .addOption(new Option('--interval <seconds>', 'refresh interval in seconds or as a duration, at least 0.5s').argParser(intervalSeconds()).default(1, '1s'))
    .addOption(new Option('--sort <key>', 'sort by').choices([...TOP_SORT_KEYS]).default('rate'))
    .option('-n, --limit <rows>', 'most rows in each table (a terminal shows what fits its height)', positiveInteger, 30)
    .option('--once', 'take two samples one interval apart, print once and exit')
    .option('--json', 'with --once: print JSON')
    .option('--server <url>', 'read from a running agent (portolan serve) instead of collecting, e.g. http://127.0.0.1:9057')
    .action(async (flags: TopFlags) => {
      if (flags.json && !flags.once) throw new UsageError('--json needs --once (the live view is for terminals)', 'portolan top');
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

// Terminal control: the alternate screen (the shell's screen comes back on exit), cursor hidden, home, clear
// to the end of each line and of the screen (no flicker from a full clear).
const ENTER = '\u001b[?1049h\u001b[?25l';
const LEAVE = '\u001b[?25h\u001b[?1049l';
const HOME = '\u001b[H';
const CLEAR_LINE = '\u001b[K';
const CLEAR_BELOW = '\u001b[J';

/** The live view: a fitted screen in a terminal, or frame after frame of plain text into a pipe or file. */
async function live(sampler: Sampler, flags: TopFlags, intervalMs: number): Promise<void> {
  const out = process.stdout;
  const terminal = out.isTTY === true;
  let sort = flags.sort;
  let stopped = false;
  let wake: (() => void) | undefined;
  let last: TopView | undefined;
  const stdin = process.stdin;
  const keys = stdin.isTTY === true;
  const draw = (view: TopView) => {
    if (!terminal) {
      out.write(renderTop(view, flags.limit) + '\n');
      return;
    }
    const text = renderTop(view, flags.limit, { rows: out.rows || 24, columns: out.columns || 80 });
    out.write(HOME + text.split('\n').join(CLEAR_LINE + '\n') + CLEAR_BELOW);
  };
  const onKey = (buf: Buffer) => {
    const k = buf.toString();
    if (k === 'q' || k === '\u0003') stopped = true;
    const next = KEYS[k];
    if (next) sort = next;
    wake?.();
  };
  const onResize = () => { if (last) draw(last); };
  let restored = !terminal;
  const restore = () => {
    if (restored) return;
    restored = true;
    if (keys) stdin.setRawMode(false);
    out.write(LEAVE);
  };
  // A signal restores the terminal at once, then takes its default course (the shell sees 130/143), without
  // waiting for a collection in flight; an exit by any other path (a fatal error) restores it too.
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    removeHandlers();
    process.kill(process.pid, signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const removeHandlers = () => {
    for (const s of signals) process.off(s, onSignal);
    process.off('exit', restore);
    out.off('resize', onResize);
  };
  for (const s of signals) process.on(s, onSignal);
  process.on('exit', restore);
  if (keys) {
    stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
  }
  if (terminal) {
    out.on('resize', onResize);
    out.write(ENTER);
  }
  try {
    while (!stopped) {
      const view = await sampler.view(sort);
      last = view;
      draw(view);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => { clearTimeout(timer); resolve(); };
      });
    }
  } finally {
    if (keys) {
      stdin.off('data', onKey);
      stdin.pause();
    }
    restore();
    removeHandlers();
  }
}

import { Command, InvalidArgumentError, Option } from 'commander';
import type { SocketState } from '../core/model/socket.js';
import { renderSockets } from '../core/pipeline.js';
import { compileGlob } from '../core/glob.js';
import { parseStateFilter, psDocumentOf, toPsDocument, type PsDocument, type PsFilter, type PsReport, type PsSocket } from '../core/report/ps.js';
import { psJsonChunks } from '../core/report/ps-json.js';
import { escapeTerminal } from '../core/report/terminal-text.js';
import { utf8Chunks } from '../core/report/utf8-chunks.js';
import { collectOnce, printWarnings, withCollectionOptions, type CollectionFlags } from './common.js';
import { fetchFromAgent, staleWarning } from './remote.js';
import { formatEndpoint } from './table.js';

const PS_HEADER = ['CONTAINER', 'PROTO', 'STATE', 'RECV-Q', 'SEND-Q', 'LOCAL', 'REMOTE', 'PROCESS'] as const;
const FLEET_PS_HEADER = ['HOST', ...PS_HEADER] as const;

/**
 * The ps document as an `ss`-like table, one row per socket, in pieces (columns aligned over every row: the rows
 * are made once, measured, then written a piece at a time). Cells from containers are escaped for the terminal.
 * A fleet's document (a hub's: its containers name their hosts) gets a HOST column first.
 */
export function psTableChunks(doc: PsDocument, options: { foreign?: boolean; chunkBytes?: number } = {}): Generator<Buffer> {
  return utf8Chunks(psTableLines(doc, options), options.chunkBytes);
}

/** The table's lines, header first (see psTableChunks). */
function* psTableLines(doc: PsDocument, options: { foreign?: boolean }): Generator<string> {
  // Locally every cell but the name and the processes is portolan's own text; a document read from an agent is all foreign.
  const own = options.foreign ? escapeTerminal : (t: string) => t;
  const rows: string[][] = [];
  // An owner's cell text, made once per process (a process holds many sockets).
  const owners = new Map<PsSocket['processes'][number], string>();
  const ownerText = (p: PsSocket['processes'][number]) => {
    let t = owners.get(p);
    if (t === undefined) {
      const owner = p.container === undefined ? '' : p.container === null ? '@host' : `@${p.container}`;
      t = `${p.command}/${p.pid}${owner}`;
      owners.set(p, t);
    }
    return t;
  };
  const fleet = doc.containers.some((c) => c.head.host !== undefined);
  const header: readonly string[] = fleet ? FLEET_PS_HEADER : PS_HEADER;
  for (const c of doc.containers) {
    const name = escapeTerminal(c.head.name);
    const host = fleet ? [escapeTerminal(c.head.host?.hostname ?? '-')] : [];
    for (const s of c.sockets()) {
      const procs = s.processes.length === 1 && s.processes[0] ? ownerText(s.processes[0]) : s.processes.map(ownerText).join(',');
      rows.push([...host, name, own(s.protocol), own(s.state), own(String(s.rxQueue)), own(String(s.txQueue)), own(formatEndpoint(s.local)), own(formatEndpoint(s.remote)), escapeTerminal(procs)]);
    }
  }
  const widths = header.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < widths.length - 1; i++) if ((r[i] as string).length > (widths[i] as number)) widths[i] = (r[i] as string).length;
  const line = (cells: readonly string[]) => {
    let text = '';
    for (let i = 0; i < cells.length - 1; i++) text += (cells[i] as string).padEnd(widths[i] as number) + '  ';
    return (text + (cells[cells.length - 1] ?? '')).trimEnd() + '\n';
  };
  yield line(header);
  for (const r of rows) yield line(r);
}


function collectGlob(value: string, previous: string[] = []): string[] {
  try {
    compileGlob(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return [...previous, value];
}

function parseState(value: string, previous: SocketState[] = []): SocketState[] {
  try {
    return [...previous, ...value.split(',').map(parseStateFilter)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

interface PsFlags extends CollectionFlags {
  container?: string[];
  state?: SocketState[];
  protocol?: 'tcp' | 'udp';
  listening?: boolean;
  json?: boolean;
  server?: string;
}

/** The same report from a running agent: `/api/v1/sockets` with the same filters. */
async function fetchPsReport(server: string, filter: PsFilter): Promise<PsReport> {
  const q = new URLSearchParams();
  for (const c of filter.containers ?? []) q.append('container', c);
  for (const s of filter.states ?? []) q.append('state', s.toLowerCase());
  if (filter.protocol) q.set('protocol', filter.protocol);
  if (filter.listening) q.set('listening', 'true');
  const doc = await fetchFromAgent<PsReport & { stale?: boolean; staleSince?: string }>(server, 'api/v1/sockets', q);
  const { stale: _s, staleSince: _t, ...report } = doc;
  return { ...report, warnings: [...staleWarning(doc), ...report.warnings] };
}

/** Adds `portolan ps` to the program. */
export function registerPs(program: Command): void {
  withCollectionOptions(program.command('ps'))
    .description('list the sockets of every running container, like ss for each container')
    .option('-c, --container <glob>', 'only containers whose name or id matches (repeatable)', collectGlob)
    .option('--state <state>', 'only sockets in this state (repeatable, comma-separated: listen, established, time-wait, unconn…)', parseState)
    .addOption(new Option('-p, --protocol <protocol>', 'only this protocol').choices(['tcp', 'udp']))
    .option('-l, --listening', 'only listening TCP and unconnected UDP sockets')
    .option('--json', 'print the JSON document instead of a table')
    .option('--server <url>', 'read from a running agent (portolan serve) instead of collecting, e.g. http://127.0.0.1:9057')
    .action(async (opts: PsFlags) => {
      const filter: PsFilter = {
        ...(opts.container ? { containers: opts.container } : {}),
        ...(opts.state ? { states: opts.state } : {}),
        ...(opts.protocol ? { protocol: opts.protocol } : {}),
        ...(opts.listening ? { listening: true } : {}),
      };
      let doc: PsDocument;
      if (opts.server) {
        doc = psDocumentOf(await fetchPsReport(opts.server, filter));
      } else {
        // The table shows no tcp_info: the dump leaves it out (the cheaper dump, 40 MB less from the kernel at 100,000 sockets).
        const snapshot = await collectOnce(opts.json ? opts : { ...opts, tcpInfo: false }, { purpose: 'sockets', ...(opts.container ? { containers: opts.container } : {}) });
        const view = renderSockets(snapshot);
        doc = toPsDocument(snapshot, view.attribution, filter, view.traffic);
      }
      printWarnings(doc.warnings);
      // Written a piece at a time (stdout is synchronous for files and, on Linux, pipes): no 45 MB string.
      if (opts.json) for (const chunk of psJsonChunks(doc)) process.stdout.write(chunk);
      else for (const chunk of psTableChunks(doc, { foreign: opts.server !== undefined })) process.stdout.write(chunk);
    });
}

// Docker Engine API client over node:http: GET only (it must work through a read-only socket proxy),
// API version negotiated with /_ping, raw JSON out. Mapping that JSON to the model is core/docker's job.
// Nothing Docker (or whatever answers on its socket) sends is trusted to be small: every body has a byte cap
// checked while it arrives, every events line too, and lines are split in time linear in what arrived.
import http from 'node:http';
import { StringDecoder } from 'node:string_decoder';

/** The newest Engine API version this client was written against; negotiation asks for no more than this. */
export const MAX_API_VERSION = '1.47';

/** Where Docker listens when neither the `host` option nor DOCKER_HOST says otherwise. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

const DEFAULT_TIMEOUT_MS = 10_000;
/** Default cap on a response body: /containers/json of a few thousand containers is a few MB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** Default cap on one /events line: an event is about a kilobyte, labels included. */
export const DEFAULT_MAX_EVENT_LINE_BYTES = 1024 * 1024;
// Error bodies and /_ping are a line of text.
const SMALL_BODY_BYTES = 64 * 1024;
// Docker's own default for tcp:// without a port (plain http).
const DEFAULT_TCP_PORT = 2375;

/** Where the engine listens, parsed from a DOCKER_HOST-style address. */
export type DockerEndpoint =
  | { readonly kind: 'unix'; readonly socketPath: string; readonly display: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly display: string };

/** Options of createDockerClient. */
export interface DockerClientOptions {
  /** `unix:///path/to/docker.sock` or `tcp://host:port` (plain http); default DOCKER_HOST, then the local socket. */
  readonly host?: string;
  /** Per-request timeout in ms (default 10 000); for the events stream it bounds the wait for the response headers. */
  readonly timeoutMs?: number;
  /** Largest response body accepted (default 32 MiB); a larger one is refused with code ETOOBIG. */
  readonly maxResponseBytes?: number;
  /** Longest /events line accepted (default 1 MiB); a longer one ends the stream with code ETOOBIG. */
  readonly maxEventLineBytes?: number;
}

/** Per-call options: a signal that aborts the request (the promise rejects with the signal's reason). */
export interface DockerCallOptions {
  readonly signal?: AbortSignal;
}

/** What /_ping tells about the engine, and the API version this client now uses with it. */
export interface DockerPing {
  /** The engine's newest API version (header `Api-Version`). */
  readonly apiVersion: string;
  /** The version this client sends in paths: min(apiVersion, MAX_API_VERSION). */
  readonly clientVersion: string;
  /** Header `Server`, e.g. `Docker/20.10.24+dfsg1 (linux)`. */
  readonly server?: string;
  /** Header `Ostype`: `linux` or `windows`. */
  readonly osType?: string;
}

/** One entry of GET /containers/json, as the API promises it (not validated here). */
export interface DockerContainerSummary {
  readonly Id: string;
  readonly Names?: readonly string[];
  readonly Image?: string;
  readonly State?: string;
  readonly [key: string]: unknown;
}

/** GET /containers/{id}/json, as the API promises it (not validated here: core/docker validates). */
export interface DockerContainerInspect {
  readonly Id: string;
  readonly Name?: string;
  readonly [key: string]: unknown;
}

/** One line of GET /events, as the API promises it (not validated here). */
export interface DockerEvent {
  readonly Type?: string;
  readonly Action?: string;
  readonly Actor?: { readonly ID?: string; readonly Attributes?: Readonly<Record<string, string>> };
  readonly time?: number;
  readonly timeNano?: number;
  readonly [key: string]: unknown;
}

/** Options of DockerClient.events. */
export interface DockerEventsOptions extends DockerCallOptions {
  /** Replay events since this time: unix seconds (fractions allowed) or an RFC 3339 date. Use it on reconnect. */
  readonly since?: string | number;
  /** Stop the stream at this time (the engine then ends it). */
  readonly until?: string | number;
  /** Docker's event filters, e.g. `{ type: ['container'], event: ['start', 'die'] }`. */
  readonly filters?: Readonly<Record<string, readonly string[]>>;
  /** Called once the engine accepted the stream (a 2xx response), before any event. */
  readonly onOpen?: () => void;
}

/** A read-only Docker Engine API client: every method is one GET (or a GET stream) and returns raw JSON. */
export interface DockerClient {
  /** The endpoint as shown in messages: a socket path or `tcp://host:port`. */
  readonly endpoint: string;
  /** GET /_ping; (re)negotiates the API version used by every other call. */
  ping(options?: DockerCallOptions): Promise<DockerPing>;
  /** GET /containers/json: running containers only. */
  listContainers(options?: DockerCallOptions): Promise<DockerContainerSummary[]>;
  /** GET /info: the engine's description (its `ID`, `Name`…), raw. */
  info(options?: DockerCallOptions): Promise<Record<string, unknown>>;
  /** GET /containers/{id}/json; a container that vanished rejects with a DockerApiError of status 404. */
  inspectContainer(id: string, options?: DockerCallOptions): Promise<DockerContainerInspect>;
  /**
   * GET /events as parsed NDJSON events. The iterable ends when the engine ends the stream or the signal
   * aborts (quietly, no error); a broken connection or a malformed line raises DockerUnavailableError.
   */
  events(options?: DockerEventsOptions): AsyncIterable<DockerEvent>;
  /** Closes pooled keep-alive connections; the client stays usable. */
  close(): void;
}

/** The engine cannot be reached or does not speak the Engine API; `message` is one line that says what to do. */
export class DockerUnavailableError extends Error {
  override readonly name = 'DockerUnavailableError';
  constructor(
    /** The socket path or `tcp://host:port`. */
    readonly endpoint: string,
    /** The errno code (ENOENT, EACCES, ECONNREFUSED, ETIMEDOUT, ...), ENOTDOCKER, EUNSUPPORTED or ETOOBIG (over a size cap). */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The engine answered with an error status; `dockerMessage` is Docker's own `message` field. */
export class DockerApiError extends Error {
  override readonly name = 'DockerApiError';
  constructor(
    readonly status: number,
    /** The request path, version prefix included, e.g. `/v1.41/containers/abc/json`. */
    readonly path: string,
    readonly dockerMessage: string,
  ) {
    super(`Docker API GET ${path} failed with HTTP ${status}: ${dockerMessage}`);
  }
}

/** True for the 404 of a container that vanished between list and inspect: skip it quietly. */
export function isDockerNotFound(err: unknown): boolean {
  return err instanceof DockerApiError && err.status === 404;
}

/** Parses a DOCKER_HOST-style address (`unix:///path`, `tcp://host[:port]`); throws EUNSUPPORTED otherwise. */
export function parseDockerHost(address: string): DockerEndpoint {
  if (address.startsWith('unix://')) {
    const socketPath = address.slice('unix://'.length);
    if (socketPath !== '') return { kind: 'unix', socketPath, display: socketPath };
  } else if (address.startsWith('tcp://') || address.startsWith('http://')) {
    let url: URL | undefined;
    try {
      url = new URL(address);
    } catch {
      url = undefined; // reported below with the accepted forms
    }
    const host = url?.hostname.replace(/^\[(.*)\]$/, '$1') ?? '';
    const port = url?.port ? Number(url.port) : DEFAULT_TCP_PORT;
    if (host !== '') {
      const shown = host.includes(':') ? `[${host}]` : host;
      return { kind: 'tcp', host, port, display: `tcp://${shown}:${port}` };
    }
  }
  throw new DockerUnavailableError(address, 'EUNSUPPORTED',
    `unsupported Docker address ${JSON.stringify(address)}: use unix:///path/to/docker.sock or tcp://host:port ` +
    '(plain http; put a socket proxy in front of TLS or ssh engines)');
}

/** Maps a connection-level error (errno or HTTP parse error) to a DockerUnavailableError that says what to do. */
export function toDockerUnavailableError(err: unknown, endpoint: DockerEndpoint): DockerUnavailableError {
  if (err instanceof DockerUnavailableError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'EUNKNOWN';
  const detail = typeof e?.message === 'string' ? e.message : String(err);
  const at = endpoint.display;
  const make = (message: string): DockerUnavailableError =>
    new DockerUnavailableError(at, code, message, { cause: err });
  if (endpoint.kind === 'unix') {
    switch (code) {
      case 'ENOENT':
        return make(`no Docker socket at ${at}: is Docker running? mount it with ` +
          `-v /var/run/docker.sock:${at}, or set DOCKER_HOST`);
      case 'EACCES':
      case 'EPERM':
        return make(`permission denied on ${at}: run as root or add the user to the docker group`);
      case 'ECONNREFUSED':
        return make(`connection refused on ${at}: the socket exists but nothing listens; is the Docker daemon ` +
          'running? start it, or set DOCKER_HOST to a running engine');
      case 'ENOTSOCK':
        return make(`${at} is not a socket: mount the host's Docker socket there, or set DOCKER_HOST`);
    }
  } else {
    switch (code) {
      case 'ECONNREFUSED':
        return make(`connection refused on ${at}: is the Docker engine (or socket proxy) listening there? ` +
          'check DOCKER_HOST');
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return make(`cannot resolve the host of ${at} (${code}): check DOCKER_HOST`);
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return make(`no route to ${at} (${code}): check DOCKER_HOST and the network`);
    }
  }
  if (code.startsWith('HPE_')) {
    return make(`${at} does not answer like a Docker engine (not HTTP: ${oneLine(detail)})`);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return make(`${at} closed the connection (${code}): is it a Docker engine, and is it still running?`);
  }
  return make(`cannot talk to Docker at ${at} (${code}: ${oneLine(detail)})`);
}

/** Creates a Docker client for `options.host`, else DOCKER_HOST, else the local socket; connects lazily. */
export function createDockerClient(options: DockerClientOptions = {}): DockerClient {
  const endpoint = parseDockerHost(options.host || process.env.DOCKER_HOST || DEFAULT_DOCKER_HOST);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const maxLineBytes = options.maxEventLineBytes ?? DEFAULT_MAX_EVENT_LINE_BYTES;
  // Keep-alive so "inspect every container in parallel" reuses connections; idle sockets are unref'd by Node.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let version: Promise<string> | undefined;

  /** Opens GET `path` and resolves with the response once its headers are in. Only GET exists here. */
  function open(path: string, signal: AbortSignal | undefined): Promise<Opened> {
    return new Promise<Opened>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      let timedOut = false;
      const target = endpoint.kind === 'unix'
        ? { socketPath: endpoint.socketPath }
        : { host: endpoint.host, port: endpoint.port };
      const req = http.request({
        ...target,
        method: 'GET',
        path,
        agent,
        headers: { Accept: 'application/json', 'User-Agent': 'portolan' },
      });
      const fail = (err: unknown): Error => {
        if (signal?.aborted) return signal.reason as Error;
        if (timedOut) {
          return new DockerUnavailableError(endpoint.display, 'ETIMEDOUT',
            `Docker at ${endpoint.display} did not answer GET ${path} within ${timeoutMs} ms: ` +
            'is the engine hung or overloaded?', { cause: err });
        }
        return toDockerUnavailableError(err, endpoint);
      };
      const onAbort = (): void => {
        req.destroy(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(new Error('timeout'));
      }, timeoutMs);
      const release = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        release();
        reject(fail(err));
      });
      req.on('response', (res) => {
        resolve({ res, path, stopTimer: () => clearTimeout(timer), release, fail });
      });
      req.end();
    });
  }

  function tooBig(what: string): DockerUnavailableError {
    return new DockerUnavailableError(endpoint.display, 'ETOOBIG', `${endpoint.display} ${what}: refused (a Docker engine or socket proxy that misbehaves?)`);
  }

  /**
   * Reads a body of at most `limit` bytes; a larger one (by Content-Length or as it arrives) is cut off and
   * refused, or — for error bodies, whose start is the message — cut off and kept (`truncate`).
   */
  async function readText(o: Opened, limit: number, overflow: 'refuse' | 'truncate' = 'refuse'): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      const declared = Number(o.res.headers['content-length']);
      if (overflow === 'refuse' && Number.isFinite(declared) && declared > limit) {
        throw tooBig(`answered GET ${o.path} with ${formatBytes(declared)} (Content-Length), more than the ${formatBytes(limit)} accepted`);
      }
      for await (const chunk of o.res) {
        if (size + (chunk as Buffer).length > limit) {
          if (overflow === 'refuse') throw tooBig(`answered GET ${o.path} with more than the ${formatBytes(limit)} accepted`);
          chunks.push((chunk as Buffer).subarray(0, limit - size));
          size = limit;
          o.res.destroy();
          break;
        }
        size += (chunk as Buffer).length;
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      // Stop receiving: the rest of an oversized body is not read.
      o.res.destroy();
      if (err instanceof DockerUnavailableError) throw err;
      throw o.fail(err);
    } finally {
      o.release();
    }
    return Buffer.concat(chunks, size).toString('utf8');
  }

  async function doPing(signal: AbortSignal | undefined): Promise<DockerPing> {
    const o = await open('/_ping', signal);
    // Only the headers matter; a web server's page in place of Docker's "OK" is cut, not refused.
    const body = await readText(o, SMALL_BODY_BYTES, 'truncate');
    const header = o.res.headers['api-version'];
    const apiVersion = typeof header === 'string' && /^\d+\.\d+$/.test(header) ? header : undefined;
    if (apiVersion === undefined) {
      const type = o.res.headers['content-type'] ?? 'no content type';
      throw new DockerUnavailableError(endpoint.display, 'ENOTDOCKER',
        `${endpoint.display} does not answer like a Docker engine (GET /_ping gave HTTP ${o.res.statusCode} ` +
        `${type} without an Api-Version header)`);
    }
    if (o.res.statusCode !== 200) {
      throw new DockerApiError(o.res.statusCode ?? 0, '/_ping', errorMessage(body));
    }
    const clientVersion = compareVersions(apiVersion, MAX_API_VERSION) < 0 ? apiVersion : MAX_API_VERSION;
    version = Promise.resolve(clientVersion);
    const server = o.res.headers.server;
    const osType = o.res.headers.ostype;
    return {
      apiVersion,
      clientVersion,
      ...(typeof server === 'string' ? { server } : {}),
      ...(typeof osType === 'string' ? { osType } : {}),
    };
  }

  function negotiated(signal: AbortSignal | undefined): Promise<string> {
    if (version === undefined) {
      // Shared by concurrent callers, so it does not follow any one caller's signal; the timeout bounds it.
      const pending = doPing(undefined).then((p) => p.clientVersion);
      version = pending;
      // A failed negotiation is retried by the next call (the engine may come up later).
      pending.catch(() => {
        if (version === pending) version = undefined;
      });
    }
    return abortable(version, signal);
  }

  /** After a 400 "too old/too new": the version the engine's message names, else what a fresh /_ping says. */
  async function renegotiate(message: string, signal: AbortSignal | undefined): Promise<string> {
    const named = /(?:minimum|maximum) supported api version is (\d+\.\d+)/i.exec(message)?.[1];
    if (named !== undefined) {
      // "too new" names the engine's max (below ours); "too old" names its min, which wins even above ours
      // because the engine accepts nothing lower.
      version = Promise.resolve(named);
      return named;
    }
    return (await abortable(doPing(undefined), signal)).clientVersion;
  }

  /** GET `/v<version>${path}` with one renegotiation on a version error; resolves once a 2xx response is open. */
  async function openApi(path: string, signal: AbortSignal | undefined): Promise<Opened> {
    let v = await negotiated(signal);
    for (let attempt = 0; ; attempt++) {
      const o = await open(`/v${v}${path}`, signal);
      const status = o.res.statusCode ?? 0;
      if (status >= 200 && status < 300) return o;
      const message = errorMessage(await readText(o, SMALL_BODY_BYTES, 'truncate'));
      if (status === 400 && attempt === 0 && /too (old|new)/i.test(message)) {
        v = await renegotiate(message, signal);
        continue;
      }
      throw new DockerApiError(status, o.path, message);
    }
  }

  async function getJson(path: string, signal: AbortSignal | undefined, shape: 'array' | 'object'): Promise<unknown> {
    const o = await openApi(path, signal);
    const text = await readText(o, maxResponseBytes);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined; // reported below, with the body's start
    }
    const ok = shape === 'array' ? Array.isArray(value) : isObject(value);
    if (!ok) {
      throw new DockerUnavailableError(endpoint.display, 'ENOTDOCKER',
        `${endpoint.display} does not answer like a Docker engine (GET ${o.path} gave no JSON ${shape}: ` +
        `${JSON.stringify(text.slice(0, 80))})`);
    }
    return value;
  }

  async function* streamEvents(opts: DockerEventsOptions): AsyncGenerator<DockerEvent> {
    const { signal } = opts;
    const query = new URLSearchParams();
    if (opts.since !== undefined) query.set('since', String(opts.since));
    if (opts.until !== undefined) query.set('until', String(opts.until));
    if (opts.filters !== undefined) query.set('filters', JSON.stringify(opts.filters));
    const qs = query.toString();
    let o: Opened;
    try {
      o = await openApi(`/events${qs ? `?${qs}` : ''}`, signal);
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
    // The stream is long-lived: the timeout covered the wait for headers only.
    o.stopTimer();
    opts.onOpen?.();
    const decoder = new StringDecoder('utf8');
    const lines = createLineSplitter(maxLineBytes);
    const parseLine = (line: string): DockerEvent => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = undefined; // reported below
      }
      if (!isObject(value)) {
        throw new DockerUnavailableError(endpoint.display, 'ENOTDOCKER',
          `${endpoint.display} sent a malformed event line on GET ${o.path}: ${JSON.stringify(line.slice(0, 80))}`);
      }
      return value as DockerEvent;
    };
    try {
      const feed = function* (text: string): Generator<DockerEvent> {
        const complete = lines.push(text);
        if (complete === undefined) throw tooBig(`sent an events line longer than the ${formatBytes(maxLineBytes)} accepted on GET ${o.path}`);
        for (const raw of complete) {
          const line = raw.trim();
          if (line !== '') yield parseLine(line);
        }
      };
      for await (const chunk of o.res) {
        // StringDecoder keeps a multi-byte character split across chunks whole; lines may span chunks too.
        yield* feed(decoder.write(chunk as Buffer));
      }
      yield* feed(decoder.end());
      const rest = lines.end().trim();
      if (rest !== '') yield parseLine(rest);
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof DockerUnavailableError) throw err;
      const mapped = o.fail(err);
      throw mapped instanceof DockerUnavailableError
        ? new DockerUnavailableError(mapped.endpoint, mapped.code,
          `the Docker events stream from ${endpoint.display} broke: ${mapped.message}`, { cause: err })
        : mapped;
    } finally {
      o.release();
      o.res.destroy();
    }
  }

  return {
    endpoint: endpoint.display,
    ping: (opts = {}) => doPing(opts.signal),
    listContainers: async (opts = {}) =>
      (await getJson('/containers/json', opts.signal, 'array')) as DockerContainerSummary[],
    info: async (opts = {}) => (await getJson('/info', opts.signal, 'object')) as Record<string, unknown>,
    inspectContainer: async (id, opts = {}) =>
      (await getJson(`/containers/${encodeURIComponent(id)}/json`, opts.signal, 'object')) as DockerContainerInspect,
    events: (opts = {}) => streamEvents(opts),
    close: () => agent.destroy(),
  };
}

/** Splits streamed text into lines (without their `\n`). */
export interface LineSplitter {
  /** Adds text; returns the lines it completed, or undefined once the line being assembled is over the cap. */
  push(text: string): string[] | undefined;
  /** The unterminated rest. */
  end(): string;
}

/**
 * Creates a line splitter for NDJSON streams: each piece of text is searched for newlines once and a line's
 * pieces are joined once, when it completes, so the work is linear in the text however it is chunked (a
 * stream without newlines no longer rescans what it buffered). `maxLineLength` is in characters — for UTF-8
 * bytes within a factor of 3, and an O(1) check.
 */
export function createLineSplitter(maxLineLength: number): LineSplitter {
  let pieces: string[] = [];
  let pending = 0;
  return {
    push(text) {
      const out: string[] = [];
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        if (pending + nl - start > maxLineLength) return undefined;
        pieces.push(text.slice(start, nl));
        out.push(pieces.length === 1 ? (pieces[0] ?? '') : pieces.join(''));
        pieces = [];
        pending = 0;
        start = nl + 1;
      }
      if (start < text.length) {
        pieces.push(text.slice(start));
        pending += text.length - start;
        if (pending > maxLineLength) return undefined;
      }
      return out;
    },
    end() {
      const rest = pieces.join('');
      pieces = [];
      pending = 0;
      return rest;
    },
  };
}

interface Opened {
  readonly res: http.IncomingMessage;
  /** The request path, version prefix included. */
  readonly path: string;
  /** Stops the request timeout (for streams, once headers are in). */
  stopTimer(): void;
  /** Stops the timeout and detaches the abort listener. */
  release(): void;
  /** Maps an error seen while reading this response to the error to throw. */
  fail(err: unknown): Error;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Docker's `{"message": …}` error body, else the body's text on one line. */
function errorMessage(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isObject(parsed) && typeof parsed.message === 'string') return oneLine(parsed.message);
  } catch {
    // not JSON (a proxy's HTML or text page): fall through to the text itself
  }
  const text = oneLine(body);
  return text === '' ? '(empty body)' : text.slice(0, 200);
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} bytes`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Compares dotted API versions numerically (1.9 < 1.41). */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Lets one caller stop waiting on a shared promise without cancelling it for the others. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDockerClient,
  DEFAULT_DOCKER_HOST,
  DockerApiError,
  type DockerClient,
  type DockerEvent,
  DockerUnavailableError,
  isDockerNotFound,
  parseDockerHost,
  toDockerUnavailableError,
} from './docker-api.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'portolan-docker-api-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fake engine on a temp unix socket; records every request's method and url. */
async function fakeServer(handler: Handler): Promise<{ host: string; socketPath: string; requests: string[] }> {
  const socketPath = join(tempDir(), 'docker.sock');
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { host: `unix://${socketPath}`, socketPath, requests };
}

function client(host: string, timeoutMs?: number): DockerClient {
  const c = createDockerClient({ host, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  cleanups.push(() => c.close());
  return c;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Api-Version': '1.41' });
  res.end(JSON.stringify(body));
}

/** Answers /_ping like Docker with `version`, and versioned paths through `routes` (path without /vX.Y). */
function engine(version: string | (() => string), routes: (path: string, res: http.ServerResponse, apiVersion: string) => void): Handler {
  return (req, res) => {
    if (req.url === '/_ping') {
      res.writeHead(200, {
        'Api-Version': typeof version === 'string' ? version : version(),
        'Content-Type': 'text/plain; charset=utf-8',
        Server: 'Docker/fake',
        Ostype: 'linux',
      });
      res.end('OK');
      return;
    }
    const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(req.url ?? '');
    if (!m) {
      json(res, 404, { message: 'page not found' });
      return;
    }
    routes(m[2] ?? '', res, m[1] ?? '');
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function collect(events: AsyncIterable<DockerEvent>): Promise<DockerEvent[]> {
  const out: DockerEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe('parseDockerHost', () => {
  it.each([
    ['unix:///var/run/docker.sock', { kind: 'unix', socketPath: '/var/run/docker.sock', display: '/var/run/docker.sock' }],
    ['tcp://proxy:2375', { kind: 'tcp', host: 'proxy', port: 2375, display: 'tcp://proxy:2375' }],
    ['tcp://10.0.0.5', { kind: 'tcp', host: '10.0.0.5', port: 2375, display: 'tcp://10.0.0.5:2375' }],
    ['tcp://[::1]:2376', { kind: 'tcp', host: '::1', port: 2376, display: 'tcp://[::1]:2376' }],
    ['http://localhost:8080', { kind: 'tcp', host: 'localhost', port: 8080, display: 'tcp://localhost:8080' }],
  ])('%s', (address, expected) => {
    expect(parseDockerHost(address)).toEqual(expected);
  });

  it.each(['ssh://me@host', 'npipe:////./pipe/docker_engine', 'https://host:2376', 'unix://', '/var/run/docker.sock', 'tcp://'])(
    'rejects %s with a message naming the accepted forms',
    (address) => {
      const err = (() => {
        try {
          return parseDockerHost(address);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(DockerUnavailableError);
      expect((err as DockerUnavailableError).code).toBe('EUNSUPPORTED');
      expect((err as Error).message).toMatch(/use unix:\/\/\/path\/to\/docker\.sock or tcp:\/\/host:port/);
    },
  );
});

describe('API version negotiation', () => {
  it('uses the engine version when older than ours (1.41 → /v1.41/…), pinging once', async () => {
    const fake = await fakeServer(engine('1.41', (path, res) => {
      if (path === '/containers/json') json(res, 200, [{ Id: 'a' }]);
      else if (path === '/containers/a/json') json(res, 200, { Id: 'a' });
      else json(res, 404, { message: 'no' });
    }));
    const docker = client(fake.host);
    await expect(docker.listContainers()).resolves.toEqual([{ Id: 'a' }]);
    await expect(docker.inspectContainer('a')).resolves.toEqual({ Id: 'a' });
    expect(fake.requests).toEqual(['GET /_ping', 'GET /v1.41/containers/json', 'GET /v1.41/containers/a/json']);
  });

  it('caps at the newest version we know (1.51 → /v1.47/…)', async () => {
    const fake = await fakeServer(engine('1.51', (_path, res) => json(res, 200, [])));
    const docker = client(fake.host);
    await docker.listContainers();
    expect(fake.requests).toEqual(['GET /_ping', 'GET /v1.47/containers/json']);
    await expect(docker.ping()).resolves.toEqual({
      apiVersion: '1.51', clientVersion: '1.47', server: 'Docker/fake', osType: 'linux',
    });
  });

  it('compares versions as numbers (1.9 is older than 1.47)', async () => {
    const fake = await fakeServer(engine('1.9', (_path, res) => json(res, 200, [])));
    await client(fake.host).listContainers();
    expect(fake.requests).toEqual(['GET /_ping', 'GET /v1.9/containers/json']);
  });

  it('negotiates once for concurrent first calls', async () => {
    const fake = await fakeServer(engine('1.41', (_path, res) => json(res, 200, { Id: 'x' })));
    const docker = client(fake.host);
    await Promise.all(['a', 'b', 'c'].map((id) => docker.inspectContainer(id)));
    expect(fake.requests.filter((r) => r === 'GET /_ping')).toHaveLength(1);
  });

  it('re-negotiates once on "too old", using the minimum the engine names, and keeps it', async () => {
    // An engine newer than us whose minimum is above our newest version (like Docker 29 vs a 1.41 client).
    const fake = await fakeServer(engine('1.52', (path, res, v) => {
      if (Number(v.split('.')[1]) < 48) {
        json(res, 400, { message: `client version ${v} is too old. Minimum supported API version is 1.48, please upgrade your client to a newer version` });
      } else {
        json(res, 200, path === '/containers/a/json' ? { Id: 'a' } : [{ Id: 'a' }]);
      }
    }));
    const docker = client(fake.host);
    await expect(docker.listContainers()).resolves.toEqual([{ Id: 'a' }]);
    await docker.inspectContainer('a');
    expect(fake.requests).toEqual([
      'GET /_ping', 'GET /v1.47/containers/json', 'GET /v1.48/containers/json', 'GET /v1.48/containers/a/json',
    ]);
  });

  it('re-pings on a "too new" that names no version (engine downgraded under us)', async () => {
    let engineVersion = '1.45';
    const fake = await fakeServer(engine(() => engineVersion, (_path, res, v) => {
      if (v === engineVersion) json(res, 200, []);
      else json(res, 400, { message: `client version ${v} is too new` });
    }));
    const docker = client(fake.host);
    await docker.listContainers();
    engineVersion = '1.41';
    await docker.listContainers();
    expect(fake.requests).toEqual([
      'GET /_ping', 'GET /v1.45/containers/json', 'GET /v1.45/containers/json', 'GET /_ping', 'GET /v1.41/containers/json',
    ]);
  });

  it('gives up after one re-negotiation with the engine\'s message', async () => {
    const fake = await fakeServer(engine('1.41', (_p, res, v) => json(res, 400, { message: `client version ${v} is too old` })));
    const err = await rejection(client(fake.host).listContainers());
    expect(err).toBeInstanceOf(DockerApiError);
    expect(err).toMatchObject({ status: 400, dockerMessage: 'client version 1.41 is too old' });
    expect(fake.requests.filter((r) => r.includes('/containers/json'))).toHaveLength(2);
  });

  it('retries negotiation on the next call after a failed one (the engine may come up later)', async () => {
    let up = false;
    const fake = await fakeServer((req, res) => {
      if (!up) {
        res.writeHead(404, { 'Content-Type': 'text/html' });
        res.end('<html>starting</html>');
        return;
      }
      engine('1.41', (_p, r) => json(r, 200, []))(req, res);
    });
    const docker = client(fake.host);
    expect(await rejection(docker.listContainers())).toBeInstanceOf(DockerUnavailableError);
    up = true;
    await expect(docker.listContainers()).resolves.toEqual([]);
  });
});

describe('requests', () => {
  it('sends only GETs, to the documented paths, with ids escaped', async () => {
    const fake = await fakeServer(engine('1.41', (path, res) => {
      if (path.startsWith('/containers/json')) json(res, 200, []);
      else json(res, 200, { path });
    }));
    const docker = client(fake.host);
    await docker.ping();
    await docker.listContainers();
    await expect(docker.inspectContainer('web/../x')).resolves.toEqual({ path: '/containers/web%2F..%2Fx/json' });
    expect(fake.requests.every((r) => r.startsWith('GET '))).toBe(true);
    expect(fake.requests).toHaveLength(3);
  });

  it('maps a 500 to DockerApiError with Docker\'s message', async () => {
    const fake = await fakeServer(engine('1.41', (_p, res) => json(res, 500, { message: 'Error response from daemon: boom' })));
    const err = await rejection(client(fake.host).listContainers());
    expect(err).toBeInstanceOf(DockerApiError);
    expect(err).toMatchObject({ status: 500, path: '/v1.41/containers/json', dockerMessage: 'Error response from daemon: boom' });
    expect((err as Error).message).toBe('Docker API GET /v1.41/containers/json failed with HTTP 500: Error response from daemon: boom');
  });

  it('reports a vanished container as a 404 callers can skip', async () => {
    const fake = await fakeServer(engine('1.41', (_p, res) => json(res, 404, { message: 'No such container: gone' })));
    const err = await rejection(client(fake.host).inspectContainer('gone'));
    expect(err).toMatchObject({ status: 404, dockerMessage: 'No such container: gone' });
    expect(isDockerNotFound(err)).toBe(true);
    expect(isDockerNotFound(new Error('x'))).toBe(false);
  });

  it('keeps a socket proxy\'s non-JSON 403 readable', async () => {
    const fake = await fakeServer(engine('1.41', (_p, res) => {
      res.writeHead(403, { 'Content-Type': 'text/html' });
      res.end('<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n');
    }));
    const err = await rejection(client(fake.host).listContainers());
    expect(err).toMatchObject({ status: 403 });
    expect((err as Error).message).not.toContain('\n');
    expect((err as DockerApiError).dockerMessage).toContain('403 Forbidden');
  });

  it('times out a request that gets no answer', async () => {
    const fake = await fakeServer(engine('1.41', () => undefined));
    const err = await rejection(client(fake.host, 100).listContainers());
    expect(err).toBeInstanceOf(DockerUnavailableError);
    expect(err).toMatchObject({ code: 'ETIMEDOUT' });
    expect((err as Error).message).toMatch(/did not answer GET \/v1\.41\/containers\/json within 100 ms/);
  });

  it('times out a response whose body never ends', async () => {
    const fake = await fakeServer(engine('1.41', (_p, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('[');
    }));
    expect(await rejection(client(fake.host, 100).listContainers())).toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('rejects with the signal\'s reason when aborted', async () => {
    const fake = await fakeServer(engine('1.41', () => undefined));
    const docker = client(fake.host);
    await docker.ping();
    const controller = new AbortController();
    const pending = docker.listContainers({ signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const err = await rejection(pending);
    expect((err as Error).name).toBe('AbortError');
  });
});

describe('unreachable or non-Docker endpoints', () => {
  it('ENOENT: names the socket and says how to mount it', async () => {
    const path = join(tempDir(), 'missing.sock');
    const err = await rejection(client(`unix://${path}`).listContainers());
    expect(err).toBeInstanceOf(DockerUnavailableError);
    expect(err).toMatchObject({ code: 'ENOENT', endpoint: path });
    expect((err as Error).message).toBe(
      `no Docker socket at ${path}: is Docker running? mount it with -v /var/run/docker.sock:${path}, or set DOCKER_HOST`,
    );
  });

  it('ENOENT on the default socket gives the documented message', () => {
    const err = toDockerUnavailableError(Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' }), parseDockerHost(DEFAULT_DOCKER_HOST));
    expect(err.message).toBe(
      'no Docker socket at /var/run/docker.sock: is Docker running? mount it with ' +
      '-v /var/run/docker.sock:/var/run/docker.sock, or set DOCKER_HOST',
    );
  });

  it('EACCES (mapping): permission denied, with the remedy', () => {
    const err = toDockerUnavailableError(
      Object.assign(new Error('connect EACCES /var/run/docker.sock'), { code: 'EACCES' }),
      parseDockerHost(DEFAULT_DOCKER_HOST),
    );
    expect(err).toMatchObject({ code: 'EACCES', endpoint: '/var/run/docker.sock' });
    expect(err.message).toBe('permission denied on /var/run/docker.sock: run as root or add the user to the docker group');
  });

  // Root ignores a socket's mode, so as root the client runs in a child process as `nobody`.
  it('EACCES (real): a chmod 000 socket', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const socketPath = join(dir, 'docker.sock');
    const server = net.createServer((c) => c.destroy());
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    chmodSync(socketPath, 0o000);
    let result: { name: string; code: string; message: string };
    if (process.getuid?.() === 0) {
      const source = readFileSync(new URL('./docker-api.ts', import.meta.url), 'utf8');
      const js = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      }).outputText;
      writeFileSync(join(dir, 'docker-api.mjs'), js);
      writeFileSync(join(dir, 'main.mjs'), [
        "import { createDockerClient } from './docker-api.mjs';",
        `createDockerClient({ host: ${JSON.stringify(`unix://${socketPath}`)} }).listContainers()`,
        '  .then(() => console.log("{}"), (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })));',
      ].join('\n'));
      const child = spawnSync(process.execPath, [join(dir, 'main.mjs')], { uid: 65534, gid: 65534, cwd: dir, encoding: 'utf8', timeout: 10_000 });
      expect(child.stderr).toBe('');
      result = JSON.parse(child.stdout) as typeof result;
    } else {
      const err = await rejection(client(`unix://${socketPath}`).listContainers());
      result = err as typeof result;
    }
    expect(result).toMatchObject({
      name: 'DockerUnavailableError',
      code: 'EACCES',
      message: `permission denied on ${socketPath}: run as root or add the user to the docker group`,
    });
  });

  it('ECONNREFUSED: a socket path nothing listens on', async () => {
    // Connecting to a path that is not a listening socket is refused (what a stale docker.sock does).
    const path = join(tempDir(), 'stale.sock');
    writeFileSync(path, '');
    const err = await rejection(client(`unix://${path}`).listContainers());
    expect(err).toMatchObject({ code: 'ECONNREFUSED' });
    expect((err as Error).message).toMatch(new RegExp(`^connection refused on ${path}: .*is the Docker daemon running\\?`));
  });

  it('ECONNREFUSED over tcp names the address and DOCKER_HOST', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const err = await rejection(client(`tcp://127.0.0.1:${port}`).ping());
    expect(err).toMatchObject({ code: 'ECONNREFUSED', endpoint: `tcp://127.0.0.1:${port}` });
    expect((err as Error).message).toMatch(/check DOCKER_HOST/);
  });

  it('a web server: "does not answer like a Docker engine"', async () => {
    const fake = await fakeServer((_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><h1>Not Found</h1>');
    });
    const err = await rejection(client(fake.host).listContainers());
    expect(err).toBeInstanceOf(DockerUnavailableError);
    expect(err).toMatchObject({ code: 'ENOTDOCKER' });
    expect((err as Error).message).toBe(
      `${fake.socketPath} does not answer like a Docker engine (GET /_ping gave HTTP 404 text/html without an Api-Version header)`,
    );
  });

  it('a 200 "OK" without Api-Version is not Docker either', async () => {
    const fake = await fakeServer((_req, res) => res.end('OK'));
    expect(await rejection(client(fake.host).ping())).toMatchObject({ code: 'ENOTDOCKER' });
  });

  it('a server that does not speak HTTP', async () => {
    const socketPath = join(tempDir(), 'smtp.sock');
    // resume(): read what the client sends, so its close reaches us and server.close() can finish.
    const server = net.createServer((c) => c.resume().end('220 mail.example ESMTP ready\r\n'));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const err = await rejection(client(`unix://${socketPath}`).ping());
    expect(err).toBeInstanceOf(DockerUnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`^${socketPath} does not answer like a Docker engine \\(not HTTP: `));
  });

  it('a Docker-looking engine that sends non-JSON bodies', async () => {
    const fake = await fakeServer(engine('1.41', (_p, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('hello');
    }));
    const err = await rejection(client(fake.host).listContainers());
    expect(err).toMatchObject({ code: 'ENOTDOCKER' });
    expect((err as Error).message).toMatch(/GET \/v1\.41\/containers\/json gave no JSON array: "hello"/);
  });
});

describe('events', () => {
  const started: DockerEvent = {
    Type: 'container', Action: 'start', Actor: { ID: 'a'.repeat(64), Attributes: { name: 'café' } }, time: 1, timeNano: 1_000_000_001,
  };
  const connected: DockerEvent = {
    Type: 'network', Action: 'connect', Actor: { ID: 'n', Attributes: { container: 'a'.repeat(64) } }, time: 2, timeNano: 2_000_000_002,
  };

  it('parses NDJSON split anywhere across chunks (mid-line, mid-character) and ends with the stream', async () => {
    const bytes = Buffer.from(`${JSON.stringify(started)}\n\n${JSON.stringify(connected)}\n${JSON.stringify(started)}`);
    const cafe = bytes.indexOf(Buffer.from('é')) + 1; // inside the two-byte é
    const cuts = [...new Set([5, 60, cafe, bytes.indexOf(10) + 1, bytes.length - 3])].sort((a, b) => a - b);
    const fake = await fakeServer(engine('1.41', (_p, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      let from = 0;
      const send = (i: number): void => {
        const to = cuts[i];
        if (to === undefined) {
          res.end(bytes.subarray(from));
          return;
        }
        res.write(bytes.subarray(from, to));
        from = to;
        setTimeout(() => send(i + 1), 5);
      };
      send(0);
    }));
    const events = await collect(client(fake.host).events({
      since: 1700000000.5,
      filters: { type: ['container', 'network'], event: ['start', 'connect'] },
    }));
    expect(events).toEqual([started, connected, started]);
    const url = new URL(`http://x${fake.requests[1]?.slice(4)}`);
    expect(url.pathname).toBe('/v1.41/events');
    expect(url.searchParams.get('since')).toBe('1700000000.5');
    expect(JSON.parse(url.searchParams.get('filters') ?? '')).toEqual({ type: ['container', 'network'], event: ['start', 'connect'] });
  });

  it('raises when the stream breaks, after the events that came through', async () => {
    const fake = await fakeServer(engine('1.41', (_p, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(`${JSON.stringify(started)}\n{"Type":"contai`);
      setTimeout(() => res.socket?.destroy(), 20);
    }));
    const got: DockerEvent[] = [];
    const err = await rejection((async () => {
      for await (const e of client(fake.host).events()) got.push(e);
    })());
    expect(got).toEqual([started]);
    expect(err).toBeInstanceOf(DockerUnavailableError);
    expect((err as Error).message).toMatch(/^the Docker events stream from .* broke: /);
  });

  it('raises on a malformed line', async () => {
    const fake = await fakeServer(engine('1.41', (_p, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('not json\n');
    }));
    const err = await rejection(collect(client(fake.host).events()));
    expect(err).toMatchObject({ code: 'ENOTDOCKER' });
    expect((err as Error).message).toMatch(/malformed event line on GET \/v1\.41\/events: "not json"/);
  });

  it('ends quietly when the signal aborts, and is not cut by the request timeout', async () => {
    const fake = await fakeServer(engine('1.41', (_p, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(`${JSON.stringify(started)}\n`);
    }));
    const controller = new AbortController();
    const got: DockerEvent[] = [];
    const done = (async () => {
      for await (const e of client(fake.host, 50).events({ signal: controller.signal })) got.push(e);
    })();
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    await done;
    expect(got).toEqual([started]);
  });

  it('raises an API error status before any event', async () => {
    const fake = await fakeServer(engine('1.41', (_p, res) => json(res, 400, { message: 'invalid filter \'bogus\'' })));
    expect(await rejection(collect(client(fake.host).events({ filters: { bogus: ['x'] } }))))
      .toMatchObject({ status: 400, dockerMessage: 'invalid filter \'bogus\'' });
  });
});

describe('bounded answers (issue #11: a 400 MB /containers/json killed the agent; a stream without newlines cost a core)', () => {
  /** Streams `total` bytes of a JSON array in 1 MiB chunks, honouring backpressure; resolves with the bytes written when the client went away. */
  function hugeArray(res: http.ServerResponse, total: number, headers: Record<string, string> = {}): Promise<number> {
    res.writeHead(200, { 'Content-Type': 'application/json', ...headers });
    const chunk = Buffer.from(`${'{"Id":"x"},'.repeat(95_325)}{"Id":"x"},`.slice(0, 1024 * 1024));
    let sent = 0;
    return new Promise((resolve) => {
      const more = (): void => {
        while (sent < total && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(sent === chunk.length ? Buffer.concat([Buffer.from('['), chunk.subarray(1)]) : chunk)) {
            res.once('drain', more);
            return;
          }
        }
        if (!res.destroyed) res.end(']');
      };
      res.on('close', () => resolve(sent));
      more();
    });
  }

  it('refuses a 400 MB /containers/json after reading at most the cap, with a clear error', async () => {
    let written: Promise<number> = Promise.resolve(0);
    const fake = await fakeServer(engine('1.41', (path, res) => {
      if (path === '/containers/json') written = hugeArray(res, 400 * 1024 * 1024);
    }));
    const err = await rejection(client(fake.host).listContainers());
    expect(err).toBeInstanceOf(DockerUnavailableError);
    expect(err).toMatchObject({ code: 'ETOOBIG' });
    expect((err as Error).message).toMatch(/answered GET \/v1\.41\/containers\/json with more than the 32 MiB accepted: refused/);
    // The engine was cut off soon after the cap, not read to the end.
    expect(await written).toBeLessThan(100 * 1024 * 1024);
  });

  it('refuses a body whose Content-Length is over the cap without reading it', async () => {
    let written: Promise<number> = Promise.resolve(0);
    const fake = await fakeServer(engine('1.41', (path, res) => {
      if (path === '/containers/json') written = hugeArray(res, 400 * 1024 * 1024, { 'Content-Length': String(400 * 1024 * 1024 + 2) });
    }));
    const docker = createDockerClient({ host: fake.host, maxResponseBytes: 1024 * 1024 });
    cleanups.push(() => docker.close());
    const err = await rejection(docker.listContainers());
    expect((err as Error).message).toMatch(/with 400\.0 MiB \(Content-Length\), more than the 1 MiB accepted/);
    expect(await written).toBeLessThan(50 * 1024 * 1024);
  });

  it('reads a large error body only up to 64 KiB and keeps its start as the message', async () => {
    const fake = await fakeServer(engine('1.41', (_p, res) => {
      res.writeHead(403, { 'Content-Type': 'text/plain' });
      res.end(`forbidden by policy ${'x'.repeat(10 * 1024 * 1024)}`);
    }));
    const err = await rejection(client(fake.host).listContainers());
    expect(err).toBeInstanceOf(DockerApiError);
    expect(err).toMatchObject({ status: 403 });
    expect((err as DockerApiError).dockerMessage).toMatch(/^forbidden by policy x{100}/);
    expect((err as DockerApiError).dockerMessage.length).toBeLessThanOrEqual(200);
  });

  it('ends an events stream whose line grows past the cap, with a clear error', async () => {
    let written: Promise<number> = Promise.resolve(0);
    const fake = await fakeServer(engine('1.41', (path, res) => {
      // 64 MiB without a newline.
      if (path.startsWith('/events')) written = hugeArray(res, 64 * 1024 * 1024);
    }));
    const err = await rejection(collect(client(fake.host).events()));
    expect(err).toMatchObject({ code: 'ETOOBIG' });
    expect((err as Error).message).toMatch(/sent an events line longer than the 1 MiB accepted on GET \/v1\.41\/events/);
    expect(await written).toBeLessThan(32 * 1024 * 1024);
  });

  it('splits a 24 MB line that arrives in 6,000 small chunks in linear time (rescanning each chunk took minutes)', async () => {
    const pad = 'p'.repeat(4096);
    const fake = await fakeServer(engine('1.41', (_p, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      let i = 0;
      const more = (): void => {
        while (i < 6000) {
          i++;
          const piece = i === 1 ? `{"Type":"container","Action":"start","pad":"${pad}` : i === 6000 ? `${pad}"}\n` : pad;
          if (!res.write(piece)) {
            res.once('drain', more);
            return;
          }
        }
        res.end();
      };
      more();
    }));
    const docker = createDockerClient({ host: fake.host, maxEventLineBytes: 64 * 1024 * 1024 });
    cleanups.push(() => docker.close());
    const events = await collect(docker.events());
    expect(events).toHaveLength(1);
    expect((events[0]?.pad as string).length).toBe(4096 * 6000);
  });

  it('tells when the stream opened (onOpen), before any event', async () => {
    const fake = await fakeServer(engine('1.41', (_p, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end();
    }));
    let opened = 0;
    await collect(client(fake.host).events({ onOpen: () => opened++ }));
    expect(opened).toBe(1);
    const refused = await fakeServer(engine('1.41', (_p, res) => json(res, 403, { message: 'events are not allowed' })));
    await rejection(collect(client(refused.host).events({ onOpen: () => opened++ })));
    expect(opened).toBe(1);
  });
});

const realSocket = '/var/run/docker.sock';
describe.skipIf(!existsSync(realSocket))('against the real engine at /var/run/docker.sock', () => {
  it('pings, lists containers, and replays a closed window of events', async () => {
    const docker = client(`unix://${realSocket}`);
    const ping = await docker.ping();
    expect(ping.apiVersion).toMatch(/^1\.\d+$/);
    expect(Number(ping.clientVersion.split('.')[1])).toBeLessThanOrEqual(47);
    const containers = await docker.listContainers();
    expect(Array.isArray(containers)).toBe(true);
    for (const c of containers) expect(c.Id).toMatch(/^[0-9a-f]{64}$/);
    // With `until` in the past the engine sends what it has and ends the stream.
    const now = Math.floor(Date.now() / 1000);
    const events = await collect(docker.events({ since: now - 60, until: now, filters: { type: ['container'] } }));
    for (const e of events) expect(e.Type).toBe('container');
    const missing = await rejection(docker.inspectContainer('portolan-no-such-container-ever'));
    expect(isDockerNotFound(missing)).toBe(true);
  });
});

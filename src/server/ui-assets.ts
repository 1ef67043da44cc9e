// The web map's built files (Vite's output, dist/ui), read into memory once and served under /ui/. A handful
// of files known at start, so a map lookup replaces a static-file server: no filesystem access or path
// resolution per request (nothing to traverse), and Vite's content-hashed names get immutable caching.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.js';

/** URL prefix of the UI's files (Vite's `base`). */
export const UI_PREFIX = '/ui/';

/** One file of the built UI. */
export interface UiFile {
  readonly body: Buffer;
  readonly type: string;
  /** Content-hashed name (under assets/): cacheable forever. */
  readonly immutable: boolean;
}

/** The built UI: the page browsers get at GET /, and its files by URL path. */
export interface UiAssets {
  readonly index: string;
  readonly files: ReadonlyMap<string, UiFile>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Reads the built UI from `dir` (index.html and every file below it); undefined when it was not built. */
export function loadUiAssets(dir: string): UiAssets | undefined {
  let index: string;
  try {
    index = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
  } catch (err) {
    // Not built (a checkout without `npm run build`): the agent serves its fallback page.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const files = new Map<string, UiFile>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, full).split(path.sep).join('/');
    if (rel === 'index.html') continue;
    files.set(UI_PREFIX + rel, {
      body: fs.readFileSync(full),
      type: TYPES[path.extname(rel)] ?? 'application/octet-stream',
      immutable: rel.startsWith('assets/'),
    });
  }
  return { index, files };
}

/** The directory Vite builds the UI into, next to the compiled server (dist/ui beside dist/server). */
export function defaultUiDir(moduleDir: string): string {
  return path.resolve(moduleDir, '..', 'ui');
}

/** Registers GET /ui/* answering from the loaded files (404 for anything else). */
export function registerUiRoutes(app: FastifyInstance, assets: UiAssets): void {
  app.get<{ Params: { '*': string } }>(`${UI_PREFIX}*`, { schema: { hide: true } }, async (req, reply) => {
    const file = assets.files.get(UI_PREFIX + req.params['*']);
    if (!file) throw new HttpError(404, 'not_found', `no file ${req.url.split('?')[0]}`);
    return reply
      .type(file.type)
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(file.body);
  });
}

// The architecture is held by lint, not memory: each folder's forbidden imports (DESIGN.md) fail eslint.config.js,
// and what each folder may import passes. Each case lints a small file as if it lived at that path.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const eslint = new ESLint({ cwd: root });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId !== '@typescript-eslint/no-unused-vars').map((m) => `${m.ruleId}: ${m.message}`);
}

const refused: readonly [string, string, string, RegExp][] = [
  ['core: Node fs', 'src/core/x.ts', "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;", /pure/],
  ['core: fs/promises without prefix', 'src/core/x.ts', "import { readFile } from 'fs/promises';\nexport const a = readFile;", /pure/],
  ['core: node:dns', 'src/core/report/x.ts', "import dns from 'node:dns';\nexport const a = dns;", /pure/],
  ['core: worker_threads', 'src/core/x.ts', "import { Worker } from 'node:worker_threads';\nexport const a = Worker;", /pure/],
  ['core: an I/O package', 'src/core/x.ts', "import Database from 'better-sqlite3';\nexport const a = Database;", /pure/],
  ['core: process.env', 'src/core/x.ts', 'export const a = process.env.HOME;', /process/],
  ['core: dynamic import of a source', 'src/core/x.ts', "export const a = () => import('../sources/procfs.js');", /dynamic/],
  ['core: a collector', 'src/core/x.ts', "import { createCollection } from '../collectors/index.js';\nexport const a = createCollection;", /only core/],
  ['core/fleet: the transport', 'src/core/fleet/x.ts', "import { createHub } from '../../fleet/hub.js';\nexport const a = createHub;", /only core/],
  ['core/fleet: node:net', 'src/core/fleet/x.ts', "import net from 'node:net';\nexport const a = net;", /pure/],
  ['core/fleet: the agent', 'src/core/fleet/x.ts', "import { createAgent } from '../../agent/loop.js';\nexport const a = createAgent;", /only core/],
  ['sources: core', 'src/sources/x.ts', "import { parseNetDev } from '../core/parse/net-dev.js';\nexport const a = parseNetDev;", /never import core/],
  ['collectors: the agent', 'src/collectors/x.ts', "import { createAgent } from '../agent/loop.js';\nexport const a = createAgent;", /glue/],
  ['agent: a source', 'src/agent/x.ts', "import { createProcfs } from '../sources/procfs.js';\nexport const a = createProcfs;", /only collectors/],
  ['server: a source', 'src/server/x.ts', "import { createDockerClient } from '../sources/docker-api.js';\nexport const a = createDockerClient;", /only collectors/],
  ['server: a collector', 'src/server/routes/x.ts', "import { createCollection } from '../../collectors/index.js';\nexport const a = createCollection;", /not collectors/],
  ['fleet: a source', 'src/fleet/x.ts', "import { createProcfs } from '../sources/procfs.js';\nexport const a = createProcfs;", /only collectors/],
  ['cli: a source', 'src/cli/x.ts', "import { createDockerClient } from '../sources/docker-api.js';\nexport const a = createDockerClient;", /only collectors/],
  ['cli: a collector file other than the registry', 'src/cli/x.ts', "import { CONNTRACK_ACCT_NAME } from '../collectors/conntrack.js';\nexport const a = CONNTRACK_ACCT_NAME;", /registry/],
  ['cli: dynamic import of a source', 'src/cli/x.ts', "export const a = () => import('../sources/procfs.js');", /dynamic/],
];

const allowed: readonly [string, string, string][] = [
  ['core: core', 'src/core/x.ts', "import { parseNetDev } from './parse/net-dev.js';\nexport const a = parseNetDev;"],
  ['core/fleet: core', 'src/core/fleet/x.ts', "import { diffTopology } from '../topology/diff-topology.js';\nexport const a = diffTopology;"],
  ['collectors: sources and core', 'src/collectors/x.ts', "import { createProcfs } from '../sources/procfs.js';\nimport { parseNetDev } from '../core/parse/net-dev.js';\nexport const a = [createProcfs, parseNetDev];"],
  ['cli: the registry', 'src/cli/x.ts', "import { createCollection } from '../collectors/index.js';\nexport const a = createCollection;"],
  ['agent: core', 'src/agent/x.ts', "import { runPipeline } from '../core/pipeline.js';\nexport const a = runPipeline;"],
];

describe('lint holds the architecture', () => {
  it.each(refused)('refuses %s', async (_what, file, code, message) => {
    const found = await problems(file, code);
    expect(found.length, `no lint error for ${file}`).toBeGreaterThan(0);
    expect(found.join('\n')).toMatch(message);
  }, 30_000);

  it.each(allowed)('allows %s', async (_what, file, code) => {
    expect(await problems(file, code)).toEqual([]);
  }, 30_000);
});

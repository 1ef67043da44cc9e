// The web map's import boundary is held by lint (eslint.config.js), not by memory: browser code may import
// core (pure) but not the agent's I/O layers, its outputs or Node modules. Each case lints a file as if it
// sat in src/ui and checks the rule fires exactly when it should.
import { ESLint } from 'eslint';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const eslint = new ESLint({ cwd: ROOT });

/** The no-restricted-imports messages lint gives for this source as src/ui/probe.ts. */
async function restricted(source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport const probe = 1;\n`, { filePath: path.join(ROOT, 'src/ui/probe.ts') });
  return (result?.messages ?? []).filter((m) => m.ruleId?.endsWith('no-restricted-imports')).map((m) => m.message);
}

describe('src/ui import boundary (lint)', () => {
  it.each([
    ['core model values', "import { edgeId } from '../core/model/topology.js';"],
    ['core pure modules', "import { applyTopologyDiff } from '../core/topology/diff-topology.js';"],
    ['core report modules', "import { connectionTcp } from '../core/report/edge-bytes.js';"],
    ['its own modules', "import { formatBytes } from './format.js';"],
    ['browser libraries', "import cytoscape from 'cytoscape';"],
  ])('allows %s', async (_what, source) => {
    expect(await restricted(source)).toEqual([]);
  }, 30_000);

  it.each([
    ['sources', "import { readProcfs } from '../sources/procfs.js';"],
    ['collectors', "import { collectors } from '../collectors/index.js';"],
    ['the agent', "import { createLoop } from '../agent/loop.js';"],
    ['the server', "import { buildApp } from '../server/app.js';"],
    ['the CLI', "import { main } from '../cli/main.js';"],
    ['node: modules', "import fs from 'node:fs';"],
    ['bare Node modules', "import path from 'path';"],
  ])('refuses %s', async (_what, source) => {
    const messages = await restricted(source);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/src\/ui/);
  }, 30_000);

  it('does not apply to other folders: the same import of sources is fine in collectors', async () => {
    const [result] = await eslint.lintText("import { readProcfs } from '../sources/procfs.js';\nexport const probe = readProcfs;\n", { filePath: path.join(ROOT, 'src/collectors/probe.ts') });
    expect((result?.messages ?? []).filter((m) => m.ruleId?.endsWith('no-restricted-imports'))).toEqual([]);
  }, 30_000);
});

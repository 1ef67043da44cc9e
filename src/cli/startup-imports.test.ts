// Every command starts by loading the command tree: what it imports statically, every `ps`, `graph` or `--version`
// pays for at start. The NATS client alone was ~60 files and ~80 ms of CPU before any work. Packages that only
// `serve` and `hub` need (the NATS client, fastify, SQLite, pino, netlink) are imported by serve-run.ts and hub-run.ts,
// which the commands load when they run.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Bare specifiers reached by the static (non-type) imports from `entry`, following relative ones. */
function staticPackages(entry: string): { packages: Set<string>; files: number } {
  const seen = new Set([entry]);
  const queue = [entry];
  const packages = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift() as string;
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
      if (/^\s*(?:import|export)\s+type\s/.test(m[0])) continue;
      const spec = m[1] as string;
      if (!spec.startsWith('.')) {
        packages.add(spec);
        continue;
      }
      const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return { packages, files: seen.size };
}

describe('what every command loads at start', () => {
  it('main.ts reaches no package but commander and Node built-ins through static imports', () => {
    const { packages, files } = staticPackages(path.join(here, 'main.ts'));
    expect(files).toBeGreaterThan(20);
    expect(packages.has('commander')).toBe(true);
    expect([...packages].filter((p) => p !== 'commander' && !p.startsWith('node:')).sort()).toEqual([]);
  });

  it('serve-run.ts, which serve loads when it runs, does reach the NATS client (the walk sees packages)', () => {
    expect(staticPackages(path.join(here, 'serve-run.ts')).packages.has('nats')).toBe(true);
  });
});

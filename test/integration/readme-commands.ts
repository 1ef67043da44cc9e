// Commands the README shows, read from it, so that tests run what users copy: a code block right after a
// `<!-- readme-test: NAME -->` marker, its continuation lines joined and split into words.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './harness.js';

/** The words of the command in the code block marked `NAME` in README.md (no shell quoting is used there). */
export function readmeCommand(marker: string): string[] {
  const text = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- readme-test: ${marker} -->\\n+\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(text);
  if (!m) throw new Error(`README.md has no code block marked readme-test: ${marker}`);
  return (m[1] ?? '').replace(/\\\n/g, ' ').trim().split(/\s+/);
}

/**
 * A README `docker run` line made the test's own: labelled (so cleanup finds it), its container, volume and image
 * names replaced by the test's, and `extra` options (an environment) added after `docker run`. Nothing else
 * changes: every flag the README gives is run.
 */
export function asTestRun(words: readonly string[], names: { image: string; container?: string; volume?: string; labels: readonly string[]; extra?: readonly string[] }): string[] {
  if (words[0] !== 'docker' || words[1] !== 'run') throw new Error(`not a docker run line: ${words.join(' ')}`);
  const out: string[] = [...names.labels, ...(names.extra ?? [])];
  let imageSeen = false;
  for (let i = 2; i < words.length; i++) {
    const w = words[i] ?? '';
    const prev = words[i - 1];
    if (prev === '--name') out.push(names.container ?? w);
    else if (prev === '-v' && w.startsWith('portolan-data:')) out.push(w.replace('portolan-data:', `${names.volume ?? 'portolan-data'}:`));
    else if (!imageSeen && w === 'portolan') {
      out.push(names.image);
      imageSeen = true;
    } else out.push(w);
  }
  if (!imageSeen) throw new Error(`no image "portolan" in: ${words.join(' ')}`);
  return out;
}

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { completionScript, completionSpec } from './completion.js';
import { buildProgram } from './program.js';

const program = buildProgram();

/** Completes `line` (words; the last is the word being typed) with the bash script, as bash's programmable completion would. */
function bashComplete(words: string[]): string[] {
  const script = `${completionScript(program, 'bash')}
docker() { printf 'web\\nweb-2\\ndb\\n'; }
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_portolan
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '-c', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean).sort();
}

describe('shell completion', () => {
  it('the spec lists every command and each command\'s options, with choices', () => {
    const spec = completionSpec(program);
    expect(spec.commands.map((c) => c.name)).toEqual(['ps', 'top', 'graph', 'serve', 'hub', 'events', 'completion']);
    const serve = spec.commands.find((c) => c.name === 'serve');
    expect(serve?.options.find((o) => o.long === '--log-level')?.value).toEqual({ kind: 'words', words: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] });
    expect(serve?.options.find((o) => o.long === '--data')?.value).toEqual({ kind: 'dir' });
    expect(serve?.options.find((o) => o.long === '--no-history')?.value).toBeUndefined();
    expect(spec.commands.find((c) => c.name === 'completion')?.argumentWords).toEqual(['bash', 'zsh', 'fish']);
  });

  it('bash: commands, options of the command typed, choices, and running containers for --container', () => {
    expect(bashComplete(['portolan', ''])).toEqual(['--help', '--version', 'completion', 'events', 'graph', 'help', 'hub', 'ps', 'serve', 'top']);
    expect(bashComplete(['portolan', 'ps', '--so'])).toEqual(['--source']);
    expect(bashComplete(['portolan', 'ps', '--source', ''])).toEqual(['auto', 'netlink', 'proc']);
    expect(bashComplete(['portolan', 'serve', '--log-level', 'w'])).toEqual(['warn']);
    expect(bashComplete(['portolan', 'ps', '-c', 'we'])).toEqual(['web', 'web-2']);
    expect(bashComplete(['portolan', 'completion', ''])).toEqual(['bash', 'fish', 'zsh']);
    expect(bashComplete(['portolan', 'top', '--interval', ''])).toEqual([]);
    // Options of another command are not offered.
    expect(bashComplete(['portolan', 'ps', '--ret'])).toEqual([]);
    expect(bashComplete(['portolan', 'serve', '--ret'])).toEqual(['--retention']);
  });

  it('every script names every long option of every command', () => {
    for (const shell of ['bash', 'zsh', 'fish'] as const) {
      const text = completionScript(program, shell);
      for (const c of completionSpec(program).commands) {
        for (const o of c.options) if (o.long) expect(text, `${shell} ${c.name} ${o.long}`).toContain(shell === 'fish' ? `-l ${o.long.slice(2)}` : o.long);
      }
    }
  });
});

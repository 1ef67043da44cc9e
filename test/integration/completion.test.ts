// Shell completion in the real shells (bash, zsh and fish from Debian, installed by scripts/ensure-docker.sh):
// each loads the script `portolan completion SHELL` prints and completes commands, options and their values.
// No Docker needed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portolan } from './harness.js';

let dir = '';
const script = (shell: string) => {
  const r = portolan(['completion', shell]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
};
const sh = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });
  if (r.error) throw new Error(`${cmd} (installed by scripts/ensure-docker.sh) is needed: ${r.error.message}`);
  return r;
};

// Drives an interactive zsh in a pseudo-terminal: types the line and a Tab, records every match the completion
// system adds (compadd wrapped) until the first, then runs a marker command and reads until it answers (bounded
// at 20 s in all; every line tested has a match).
const ZSH_CAPTURE = String.raw`zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd () { if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi; typeset -a __hits; builtin compadd -A __hits "$@"; local h; for h in $__hits; do print -r -- "H""IT:$h"; done; }'
zpty -w z "bindkey '^I' complete-word"
zpty -n -w z "$2"$'\t'
local out="" line
integer end=$(( SECONDS + 20 ))
# Completion runs once the line is typed; while input is pending it waits, so the marker goes after the first match.
while (( SECONDS < end )) && [[ $out != *HIT:* ]]; do zpty -r -t z line && out+=$line; done
zpty -n -w z $'\x15'"print -r -- DO""NE"$'\n'
while (( SECONDS < end )) && [[ $out != *DONE* ]]; do zpty -r -t z line && out+=$line; done
[[ $out == *DONE* ]] || { print -u2 "zsh did not answer: $out"; exit 1; }
print -r -- "$out" | tr '\r' '\n' | grep -o 'HIT:[^[:cntrl:]]*' | sed 's/^HIT://' | sort -u
zpty -d z
`;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'portolan-completion-'));
  mkdirSync(path.join(dir, 'zfunc'));
  writeFileSync(path.join(dir, 'zfunc', '_portolan'), script('zsh'));
  writeFileSync(path.join(dir, 'capture.zsh'), ZSH_CAPTURE.replace(/\\\$\{@/g, '${@'));
  writeFileSync(path.join(dir, 'portolan.bash'), script('bash'));
  writeFileSync(path.join(dir, 'portolan.fish'), script('fish'));
  // A stand-in `docker` for the container-name completion (the scripts ask `docker ps` for names).
  mkdirSync(path.join(dir, 'bin'));
  writeFileSync(path.join(dir, 'bin', 'docker'), '#!/bin/sh\nprintf "web\\nweb-2\\ndb\\n"\n', { mode: 0o755 });
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const withFakeDocker = () => ({ PATH: `${path.join(dir, 'bin')}:${process.env.PATH ?? ''}` });

describe('bash', () => {
  const complete = (line: string): string[] => {
    const words = line.split(' ');
    const r = sh('bash', ['--norc', '-c', `source ${path.join(dir, 'portolan.bash')}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_portolan; printf '%s\\n' "\${COMPREPLY[@]}"`], withFakeDocker());
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter(Boolean).sort();
  };
  it('completes commands, options, their choices and container names', () => {
    expect(complete('portolan ')).toEqual(['--help', '--version', 'completion', 'events', 'graph', 'help', 'hub', 'ps', 'serve', 'top']);
    expect(complete('portolan serve --log-l')).toEqual(['--log-level']);
    expect(complete('portolan graph --source n')).toEqual(['netlink']);
    expect(complete('portolan ps -c we')).toEqual(['web', 'web-2']);
  });
});

describe('zsh', () => {
  const complete = (line: string): string[] => {
    const r = sh('zsh', ['-f', path.join(dir, 'capture.zsh'), path.join(dir, 'zfunc'), line], withFakeDocker());
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split('\n').filter(Boolean);
  };
  it('the script parses, and the completion system offers commands, options and choices', () => {
    expect(sh('zsh', ['-n', path.join(dir, 'zfunc', '_portolan')]).status).toBe(0);
    expect(complete('portolan com')).toEqual(['completion']);
    expect(complete('portolan ps --so')).toEqual(['--source']);
    expect(complete('portolan serve --log-level ')).toEqual(['debug', 'error', 'fatal', 'info', 'silent', 'trace', 'warn']);
    expect(complete('portolan completion ')).toEqual(['bash', 'fish', 'zsh']);
  });
});

describe('fish', () => {
  const complete = (line: string): string[] => {
    const r = sh('fish', ['--no-config', '-c', `source ${path.join(dir, 'portolan.fish')}; complete -C '${line}'`], withFakeDocker());
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0] ?? '').sort();
  };
  it('completes commands, options, their choices and container names', () => {
    expect(complete('portolan ')).toEqual(['completion', 'events', 'graph', 'hub', 'ps', 'serve', 'top']);
    expect(complete('portolan ps --so')).toEqual(['--source']);
    expect(complete('portolan serve --log-level ')).toEqual(['debug', 'error', 'fatal', 'info', 'silent', 'trace', 'warn']);
    expect(complete('portolan ps --container ')).toEqual(['db', 'web', 'web-2']);
  });
});

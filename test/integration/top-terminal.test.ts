// `portolan top` in a real terminal (tmux) at 80×24 with 30 containers of the test's own: the title and the table
// header stay on screen at every refresh, no line wraps, and the terminal is given back (cursor shown, the
// shell's screen restored) on q, SIGINT and SIGTERM; into a pipe it writes plain frames, no escape code.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanup, inspect, name, run, RUN_ID, ssSockets, testImage, waitFor } from './harness.js';

const session = `portolan-top80-${RUN_ID}`;
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', session).replace(/\n+$/, '').split('\n');
const flags = () => {
  const [cursor, alternate] = tmux('display', '-p', '-t', session, '#{cursor_flag} #{alternate_on}').trim().split(' ');
  return { cursorShown: cursor === '1', alternateScreen: alternate === '1' };
};
const PAIRS = 10;

/** Starts top in a fresh 80×24 tmux session; the pane prints EXITED <status> when it ends. */
function startTop(): void {
  spawnSync('tmux', ['kill-session', '-t', session]);
  tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', `${process.execPath} ${CLI} top --interval 1; echo EXITED $?; sleep 600`);
}

/** The pid of the top process in the pane (a child of the pane's shell). */
function topPid(): number {
  const shell = tmux('display', '-p', '-t', session, '#{pane_pid}').trim();
  const pid = Number(execFileSync('pgrep', ['-P', shell, '-f', 'cli/main.js top'], { encoding: 'utf8' }).trim().split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error('top is not running in the pane');
  return pid;
}

beforeAll(async () => {
  testImage();
  // 30 containers: 10 servers, 10 clients each holding a connection to one, 10 idle.
  for (let i = 0; i < PAIRS; i++) run(`srv${i}`, [], ['nc', '-ll', '-p', '7000', '-e', 'cat']);
  for (let i = 0; i < PAIRS; i++) {
    const ip = inspect(`srv${i}`).NetworkSettings.Networks['bridge']?.IPAddress ?? '';
    run(`cli${i}`, [], ['sh', '-c', `sleep 100000 | nc ${ip} 7000`]);
  }
  for (let i = 0; i < PAIRS; i++) run(`idle${i}`, [], ['sleep', '100000']);
  for (let i = 0; i < PAIRS; i++) {
    await waitFor(() => ssSockets(inspect(`cli${i}`).State.Pid).some((s) => s.state === 'ESTABLISHED'), 20_000, `cli${i} connected`);
  }
}, 180_000);

afterAll(() => {
  spawnSync('tmux', ['kill-session', '-t', session]);
  cleanup();
});

describe('portolan top at 80×24 with 30 containers', () => {
  it('keeps its title and header on screen at every refresh, fits the height and the width', async () => {
    startTop();
    const titles = new Set<string>();
    await waitFor(() => {
      const lines = screen();
      const title = lines[0] ?? '';
      if (!/^portolan top — \d\d:\d\d:\d\dZ — \d+ containers \(\d+ shown\) — sorted by rate$/.test(title)) return false;
      // Every screen seen: the header under the title, at most 24 rows, none wider than 80 columns.
      expect(lines[2]).toMatch(/^CONTAINER\s+RX\/s\s+TX\/s/);
      expect(lines.length).toBeLessThanOrEqual(24);
      for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
      expect(lines.some((l) => /^FROM\s+TO\s+PORT/.test(l))).toBe(true);
      expect(lines.some((l) => l.startsWith('keys: b bytes/s'))).toBe(true);
      titles.add(title);
      return titles.size >= 4;
    }, 30_000, 'four refreshes of top');
    const shown = Number(/\((\d+) shown\)/.exec([...titles][0] ?? '')?.[1]);
    const total = Number(/— (\d+) containers/.exec([...titles][0] ?? '')?.[1]);
    expect(total).toBeGreaterThanOrEqual(3 * PAIRS);
    expect(shown).toBeLessThan(total);
    expect(flags()).toEqual({ cursorShown: false, alternateScreen: true });
    tmux('send-keys', '-t', session, 'q');
    await waitFor(() => screen().some((l) => l === 'EXITED 0'), 10_000, 'top to quit on q');
    expect(flags()).toEqual({ cursorShown: true, alternateScreen: false });
  });

  it.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('%s gives the terminal back at once (cursor shown, screen restored), exit %i', async (signal, status) => {
    startTop();
    await waitFor(() => /^portolan top — /.test(screen()[0] ?? ''), 20_000, 'top to draw');
    expect(flags().cursorShown).toBe(false);
    process.kill(topPid(), signal);
    await waitFor(() => screen().some((l) => l === `EXITED ${status}`), 10_000, `top to end on ${signal}`);
    expect(flags()).toEqual({ cursorShown: true, alternateScreen: false });
  });
});

describe('portolan top into a pipe', () => {
  it('writes whole plain frames, one after another, without a single escape code', async () => {
    const p = spawn(process.execPath, [CLI, 'top', '--interval', '1', '-n', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => p.on('exit', (code, sig) => r(code ?? (sig === 'SIGTERM' ? 143 : null))));
    try {
      await waitFor(() => (out.match(/^portolan top — /gm) ?? []).length >= 2, 30_000, 'two frames');
    } finally {
      p.kill('SIGTERM');
    }
    await exited;
    expect(out.includes('\u001b')).toBe(false);
    // Plain frames are whole: every running container of ours is listed (nothing cut to a screen).
    const frame = out.split(/^portolan top — /m)[1] ?? '';
    expect(frame).toMatch(/— \d+ containers — sorted by rate\n/);
    for (let i = 0; i < PAIRS; i++) expect(frame).toContain(name(`cli${i}`));
  });
});

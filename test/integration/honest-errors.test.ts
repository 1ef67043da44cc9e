// Honest errors on the real engine: run as `nobody` in the docker group (setpriv), every collecting command and
// `serve` refuse with one line naming the missing capabilities, exit 2; granted exactly those capabilities (as
// ambient ones, still as nobody) the same commands work and see the test's container; usage errors are one line
// with a pointer to --help and exit 2, commander's own included; `graph --at 10m` reaches the agent's history.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanup, docker, inspect, name, portolan, run, ssSockets, testImage, waitFor } from './harness.js';
import { eventually, getJson, startServe, type ServeProcess } from './serve-agent.js';

const CAPS = '+sys_admin,+sys_ptrace,+dac_read_search';
const dockerGid = () => docker('run', '--rm', '--label', 'org.portolan.test=1', '-v', '/var/run/docker.sock:/s', '--entrypoint', 'stat', testImage(), '-c', '%g', '/s');

/** Runs the CLI as nobody (uid/gid 65534) with `groups` and, when given, `caps` as inheritable and ambient capabilities. */
function asNobody(args: string[], groups: string | undefined, caps?: string): { status: number | null; stdout: string; stderr: string } {
  const priv = ['--reuid', '65534', '--regid', '65534', ...(groups ? ['--groups', groups] : ['--clear-groups']),
    // As the systemd unit grants them: ambient, bounded to exactly these, no new privileges.
    ...(caps ? ['--inh-caps', caps, '--ambient-caps', caps, '--bounding-set', `-all,${caps}`, '--no-new-privs'] : [])];
  const r = spawnSync('setpriv', [...priv, process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: '/nonexistent' } });
  if (r.error) throw new Error(`setpriv (util-linux) is needed: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const MISSING_ALL = /^portolan: missing privileges: CAP_SYS_ADMIN \(setns into network namespaces; or --source proc\), CAP_SYS_PTRACE \(read other processes' ns\/net and fd links\), CAP_DAC_READ_SEARCH \(list fds of other users' processes\); run as root or grant them \(docker run --cap-add SYS_ADMIN --cap-add SYS_PTRACE --cap-add DAC_READ_SEARCH; systemd AmbientCapabilities=CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_DAC_READ_SEARCH\)$/;
let gid = '';
let agent: ServeProcess | undefined;
let dataDir = '';

beforeAll(async () => {
  testImage();
  gid = dockerGid();
  run('srv', [], ['node', '/opt/peer.mjs', 'tcp-server', '7000']);
  await waitFor(() => ssSockets(inspect('srv').State.Pid).some((s) => s.state === 'LISTEN'), 20_000, 'srv listening');
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  cleanup();
});

describe('without privileges (nobody in the docker group)', () => {
  it.each([['ps'], ['graph', '--no-dns'], ['top', '--once'], ['serve', '--no-history', '--listen', '127.0.0.1:0']])('%s: one line naming the missing capabilities, exit 2, nothing on stdout', (...args) => {
    const r = asNobody(args, gid);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(MISSING_ALL)]);
  });

  it('with the capabilities but outside the docker group: the Docker socket is named', () => {
    const r = asNobody(['ps'], undefined, CAPS);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['portolan: missing privileges: access to the Docker socket /var/run/docker.sock (permission denied: run as root or in the docker group)']);
  });

  it('--source proc needs no CAP_SYS_ADMIN: only what it lacks is named', () => {
    const r = asNobody(['ps', '--source', 'proc'], gid, '+sys_ptrace');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^portolan: missing privileges: CAP_DAC_READ_SEARCH \(list fds of other users' processes\); run as root or grant it/);
  });

  it('granted exactly the three capabilities, nobody sees the container\'s sockets as ss does', () => {
    const r = asNobody(['ps', '--json', '-c', name('srv')], gid, CAPS);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { containers: { name: string; sockets: { state: string; local: { port: number }; processes: { pid: number }[] }[] }[] };
    const srv = report.containers.find((c) => c.name === name('srv'));
    const listen = ssSockets(inspect('srv').State.Pid).find((s) => s.state === 'LISTEN');
    expect(srv?.sockets.find((s) => s.state === 'LISTEN')).toMatchObject({ local: { port: 7000 }, processes: [{ pid: listen?.pids[0] }] });
  });
});

describe('usage errors: one line, a pointer to --help, exit 2', () => {
  it.each([
    [['ps', '--docker-host', 'foo'], /^portolan: option '--docker-host <url>' argument 'foo' is invalid\. unsupported Docker address "foo".* \(see 'portolan ps --help'\)$/],
    [['serve', '--log-level', 'loud'], /^portolan: option '--log-level <level>' argument 'loud' is invalid\. Allowed choices are trace, debug, info, warn, error, fatal, silent\. \(see 'portolan serve --help'\)$/],
    [['serve', '--interval', '0.001'], /must be at least 0\.5 s \(see 'portolan serve --help'\)$/],
    [['top', '--interval', '0'], /must be at least 0\.5 s \(see 'portolan top --help'\)$/],
    [['ps', '--bogus'], /^portolan: unknown option '--bogus' \(see 'portolan ps --help'\)$/],
    [['graph', '--at', 'yesterday', '--server', 'http://127.0.0.1:9'], /^portolan: option '--at <time>' argument 'yesterday' is invalid\..* \(see 'portolan graph --help'\)$/],
    [['serve', '--retention', '5'], /bad duration "5": use a number and a unit.* \(see 'portolan serve --help'\)$/],
    [['nonsense'], /^portolan: unknown command 'nonsense' \(see 'portolan --help'\)$/],
    [['ps', 'extra'], /^portolan: too many arguments for 'ps'\. Expected 0 arguments but got 1\. \(see 'portolan ps --help'\)$/],
  ])('%j', (args, message) => {
    const r = portolan(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
  });

  it('a bad DOCKER_HOST is one line too (it was an uncaught DockerUnavailableError)', () => {
    const r = portolan(['ps'], { DOCKER_HOST: 'foo' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^portolan: unsupported Docker address "foo"/)]);
  });

  it('--help and --version succeed; help shows durations as people type them', () => {
    const help = portolan(['serve', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--retention <duration>[\s\S]*\(default: 7d\)/);
    expect(help.stdout).toMatch(/--collect-timeout <duration>[\s\S]*\(default: 10s\)/);
    expect(help.stdout).toMatch(/--interval <seconds>[\s\S]*\(default: 2s\)/);
    expect(help.stdout).not.toMatch(/604800000|10000\)/);
    expect(portolan(['--version'])).toMatchObject({ status: 0, stdout: '0.1.0\n' });
  });
});

describe('graph --at as its help says', () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'portolan-at-'));
    agent = await startServe(['--interval', '1', '--data', dataDir, '--no-dns']);
    await eventually(async () => ((await getJson<{ runs: unknown[]; changes: number[] }>(`${agent?.base ?? ''}/api/v1/history`)).body.changes.length > 0 ? true : undefined), 20_000, 'history to record a change');
  }, 60_000);

  it('--at 2s (a duration ago) answers from history; --at 10m, before the agent started, says so — never a 400', async () => {
    await eventually(() => {
      const r = portolan(['graph', '--json', '--no-dns', '--server', agent?.base ?? '', '--at', '2s']);
      return r.status === 0 && (JSON.parse(r.stdout) as { nodes: { name: string }[] }).nodes.some((n) => n.name === name('srv')) ? true : undefined;
    }, 20_000, 'graph --at 2s to show the container');
    const before = portolan(['graph', '--server', agent?.base ?? '', '--at', '10m']);
    expect(before.status).toBe(2);
    expect(before.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^portolan: the agent at .* answered HTTP 404 no_history: /)]);
  });
});

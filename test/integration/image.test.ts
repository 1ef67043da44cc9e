// The image: built by the real `docker build` from the real Dockerfile (cached by a hash of the build context, on
// a local stand-in for its default base, scripts/image-base.sh: no registry here), then run with the README's own
// `docker run` lines against the real engine. Its `ps` is compared with the kernel's answer (`ss` in each
// namespace) like the native one's; the agent must turn healthy, serve the same sockets, keep history on its
// volume, hold exactly the three capabilities and nothing more, and stop on SIGTERM. Without the capabilities the
// same image refuses with one line.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, containerPids, docker, inspect, LABELS, name, network, normEndpoint, run, ssSockets, testImage, unexpectedWarnings, waitFor, type SsSocket } from './harness.js';
import { freePort, portolanImage } from './deploy-helpers.js';
import { asTestRun, readmeCommand } from './readme-commands.js';
import { eventually, getJson } from './serve-agent.js';

interface PsSocket { protocol: string; state: string; local: { address: string; port: number }; remote: { address: string; port: number }; inode: number; processes: { pid: number; command: string; container?: string | null }[] }
interface PsContainer { name: string; image: string; sockets: PsSocket[] }
interface PsReport { warnings: string[]; containers: PsContainer[] }

let IMAGE = '';
const AGENT = name('agent');
const VOLUME = name('data');
const P = '/opt/peer.mjs';
const STABLE = new Set(['LISTEN', 'ESTABLISHED', 'UNCONN']);
const key = (protocol: string, state: string, local: string, remote: string, inode: number) => `${protocol} ${state} ${local} ${remote} ino=${inode}`;
const stablePs = (list: PsSocket[]) => list.filter((s) => STABLE.has(s.state)).map((s) => key(s.protocol, s.state, normEndpoint(s.local.address, s.local.port), normEndpoint(s.remote.address, s.remote.port), s.inode)).sort();
const stableSs = (list: SsSocket[]) => list.filter((s) => STABLE.has(s.state)).map((s) => key(s.protocol, s.state, s.local, s.remote, s.inode)).sort();
const hostPort = 20000 + Math.floor(Math.random() * 20000);

function dockerRun(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('docker', ['run', ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The README's one-shot line made the test's own, with more words for portolan (`--json`). */
const psLine = (...more: string[]) => [...asTestRun(readmeCommand('image-ps'), { image: IMAGE, labels: LABELS, extra: ['--name', name('ps')] }), ...more];

beforeAll(async () => {
  testImage();
  IMAGE = await portolanImage();
  network('user');
  run('bsrv', ['-p', '127.0.0.1::8080'], ['node', P, 'tcp-server', '8080']);
  run('usrv', ['--network', name('user')], ['node', P, 'tcp-server', '9000']);
  run('hostc', ['--network', 'host'], ['sh', '-c', `node ${P} tcp-server ${hostPort} 127.0.0.1 & exec sleep 100000`]);
  const bsrvIp = inspect('bsrv').NetworkSettings.Networks['bridge']?.IPAddress ?? '';
  run('bcli', [], ['node', P, 'tcp-client', bsrvIp, '8080', '100', '2']);
  run('ucli', ['--network', name('user')], ['node', P, 'tcp-client', name('usrv'), '9000', '10']);
  run('side', ['--network', `container:${name('usrv')}`], ['sh', '-c', `node ${P} tcp-server 15000 & node ${P} tcp-client 127.0.0.1 9000 5 & wait`]);
  const established = (n: string, count: number) => () => ssSockets(inspect(n).State.Pid).filter((s) => s.state === 'ESTABLISHED').length >= count;
  await waitFor(established('bcli', 2), 20_000, 'bcli connections');
  await waitFor(established('ucli', 1), 20_000, 'ucli connection');
  await waitFor(established('usrv', 3), 20_000, 'usrv namespace connections (ucli + side loopback pair)');
  await waitFor(() => ssSockets(inspect('hostc').State.Pid).some((s) => s.local.endsWith(`:${hostPort}`)), 20_000, 'host listener');
}, 900_000);

afterAll(() => {
  spawnSync('docker', ['rm', '-f', AGENT]);
  cleanup();
  spawnSync('docker', ['volume', 'rm', VOLUME]);
});

describe('the image built from the Dockerfile', () => {
  it('runs serve by default, has a healthcheck and a data volume, and carries neither sources nor build tools', () => {
    const config = JSON.parse(docker('image', 'inspect', IMAGE))[0].Config as { Entrypoint: string[]; Cmd: string[]; Volumes: Record<string, unknown>; Healthcheck?: { Test: string[] }; ExposedPorts: Record<string, unknown> };
    expect(config.Entrypoint).toEqual(['node', '/app/dist/cli/main.js']);
    expect(config.Cmd).toEqual(['serve']);
    expect(Object.keys(config.Volumes)).toEqual(['/var/lib/portolan']);
    expect(config.Healthcheck?.Test).toEqual(['CMD', 'node', '/app/dist/cli/healthcheck.js']);
    expect(Object.keys(config.ExposedPorts)).toEqual(['9057/tcp']);
    const ls = dockerRun(['--rm', ...LABELS, '--entrypoint', 'sh', IMAGE, '-c', 'ls /app; ls /app/node_modules | tr "\\n" " "']);
    expect(ls.status, ls.stderr).toBe(0);
    expect(ls.stdout.split('\n').slice(0, 5)).toEqual(['LICENSE', 'README.md', 'dist', 'node_modules', 'package.json']);
    for (const dev of ['typescript', 'vite', 'vitest', 'eslint', 'cytoscape']) expect(ls.stdout).not.toMatch(new RegExp(`(^| )${dev} `));
    for (const dep of ['better-sqlite3', 'fastify', 'netlink', 'koffi']) expect(ls.stdout).toMatch(new RegExp(`(^| )${dep} `));
  });

  it('the README\'s one-shot line: its ps equals ss in every namespace, like the native ps', () => {
    const r = dockerRun(psLine('--json'));
    expect(r.status, r.stderr).toBe(0);
    expect(unexpectedWarnings(r.stderr)).toEqual([]);
    const report = JSON.parse(r.stdout) as PsReport;
    const byName = (n: string): PsContainer => {
      const c = report.containers.find((x) => x.name === name(n));
      if (!c) throw new Error(`${name(n)} missing from the image's ps`);
      return c;
    };
    for (const n of ['bsrv', 'bcli', 'ucli']) {
      const ss = ssSockets(inspect(n).State.Pid);
      expect(stablePs(byName(n).sockets), n).toEqual(stableSs(ss));
      for (const s of ss.filter((x) => STABLE.has(x.state) && x.inode !== 0)) {
        expect(byName(n).sockets.find((p) => p.inode === s.inode)?.processes.map((p) => p.pid).sort(), `${n} owners of ${s.inode}`).toEqual([...s.pids].sort());
      }
    }
    // A container: sidecar lists its own processes' sockets, the owner the rest.
    const ss = ssSockets(inspect('usrv').State.Pid);
    const sidePids = new Set(containerPids('side'));
    expect(stablePs(byName('side').sockets)).toEqual(stableSs(ss.filter((s) => s.pids.some((p) => sidePids.has(p)))));
    expect(stablePs(byName('usrv').sockets)).toEqual(stableSs(ss.filter((s) => !s.pids.some((p) => sidePids.has(p)))));
    // Host network: exactly the sockets of the container's processes (the image's portolan has --network host).
    const hostPids = new Set(containerPids('hostc'));
    expect(stablePs(byName('hostc').sockets)).toEqual(stableSs(ssSockets(process.pid).filter((s) => s.pids.some((p) => hostPids.has(p)))));
    // Docker's embedded DNS in ucli's namespace: dockerd's, a host process.
    for (const s of byName('ucli').sockets.filter((x) => x.local.address === '127.0.0.11')) expect(s.processes).toMatchObject([{ command: 'dockerd', container: null }]);
  });

  it('without its capabilities, or as a user the Docker socket refuses, the same line is refused in one line, exit 2', () => {
    const line = psLine();
    const noCaps = dockerRun(line.filter((w, i) => !(w === '--cap-add' || line[i - 1] === '--cap-add')));
    expect(noCaps.status).toBe(2);
    expect(noCaps.stdout).toBe('');
    expect(noCaps.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^portolan: missing privileges: CAP_SYS_ADMIN \(.*\), CAP_SYS_PTRACE \(.*\), CAP_DAC_READ_SEARCH \(.*\); run as root or grant them \(docker run --cap-add SYS_ADMIN --cap-add SYS_PTRACE --cap-add DAC_READ_SEARCH;/),
    ]);
    const i = line.indexOf(IMAGE);
    const asNobody = dockerRun([...line.slice(0, i), '--user', '65534:65534', ...line.slice(i)]);
    expect(asNobody.status).toBe(2);
    expect(asNobody.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^portolan: missing privileges: CAP_SYS_ADMIN .*access to the Docker socket \/var\/run\/docker\.sock \(permission denied/),
    ]);
  });
});

describe('the README\'s agent line', () => {
  let base = '';
  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // The README's agent listens on 9057; the test gives it a free port (other agents may hold 9057 here).
    const line = asTestRun(readmeCommand('image-serve'), { image: IMAGE, container: AGENT, volume: VOLUME, labels: LABELS, extra: ['-e', `PORTOLAN_LISTEN=127.0.0.1:${port}`] });
    const r = dockerRun(line);
    expect(r.status, r.stderr).toBe(0);
  }, 60_000);

  it('turns healthy (its HEALTHCHECK) and ready, and serves every socket of a container as ss sees it', async () => {
    await eventually(() => {
      const state = JSON.parse(docker('inspect', AGENT))[0].State as { Status: string; Health?: { Status: string } };
      if (state.Status !== 'running') throw new Error(`agent ${state.Status}: ${docker('logs', '--tail', '20', AGENT)}`);
      return state.Health?.Status === 'healthy' ? true : undefined;
    }, 90_000, 'the agent container to turn healthy');
    expect((await getJson(`${base}/readyz`)).body).toMatchObject({ status: 'ready' });
    const doc = await eventually(async () => {
      const d = (await getJson<PsReport>(`${base}/api/v1/sockets?container=${name('bcli')}&container=${name('ucli')}`)).body;
      return d.containers.length === 2 ? d : undefined;
    }, 15_000, 'the agent to list bcli and ucli');
    for (const n of ['bcli', 'ucli']) {
      expect(stablePs(doc.containers.find((c) => c.name === name(n))?.sockets ?? []), n).toEqual(stableSs(ssSockets(inspect(n).State.Pid)));
    }
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(`portolan_container_info{container="${name('bsrv')}",id="${inspect('bsrv').Id.slice(0, 12)}",image="${testImage()}"`);
  });

  it('holds exactly SYS_ADMIN, SYS_PTRACE and DAC_READ_SEARCH, writes only its volume, and stops cleanly on SIGTERM', async () => {
    const pid = JSON.parse(docker('inspect', AGENT))[0].State.Pid as number;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    // CAP_DAC_READ_SEARCH (2), CAP_SYS_PTRACE (19), CAP_SYS_ADMIN (21): 0x280004, and nothing else, ever.
    expect(/^CapEff:\s+(\S+)$/m.exec(status)?.[1]).toBe('0000000000280004');
    expect(/^CapBnd:\s+(\S+)$/m.exec(status)?.[1]).toBe('0000000000280004');
    expect(/^NoNewPrivs:\s+(\S+)$/m.exec(status)?.[1]).toBe('1');
    expect(JSON.parse(docker('inspect', AGENT))[0].HostConfig.ReadonlyRootfs).toBe(true);
    const write = spawnSync('docker', ['exec', AGENT, 'node', '-e', 'require("fs").writeFileSync("/app/x", "")'], { encoding: 'utf8' });
    expect(write.status).not.toBe(0);
    expect(write.stderr).toMatch(/EROFS/);
    await eventually(() => (docker('exec', AGENT, 'ls', '/var/lib/portolan').split('\n').includes('history.sqlite') ? true : undefined), 15_000, 'history on the volume');
    const mount = (JSON.parse(docker('inspect', AGENT))[0].Mounts as { Type: string; Name?: string; Destination: string }[]).find((m) => m.Destination === '/var/lib/portolan');
    expect(mount).toMatchObject({ Type: 'volume', Name: VOLUME });
    docker('stop', '-t', '30', AGENT);
    const state = JSON.parse(docker('inspect', AGENT))[0].State as { ExitCode: number; OOMKilled: boolean };
    expect(state.ExitCode).toBe(0);
    expect(docker('logs', '--tail', '5', AGENT)).toMatch(/"signal":"SIGTERM","msg":"stopping"/);
  });
});

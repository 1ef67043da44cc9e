// `portolan ps --json` compared with the kernel's own answer (`nsenter -t PID -n ss -tuanpeH`) for every
// Docker network mode, with both socket sources.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup, containerPids, docker, dockerAsync, LABELS, inspect, name, network, normEndpoint, portolan, portolanAsync, run, ssSockets,
  testImage, unexpectedWarnings, waitFor, type SsSocket,
} from './harness.js';

interface PsSocket { protocol: string; family: string; state: string; local: { address: string; port: number }; remote: { address: string; port: number }; inode: number; processes: { pid: number; command: string; container?: string | null }[]; tcp?: Record<string, number> }
interface PsContainer { id: string; name: string; image: string; networkMode: string; pid: number; netns: number; networks: { name: string; ipv4?: string; ipv6?: string }[]; ports: { containerPort: number; protocol: string; hostIp: string; hostPort: number }[]; sockets: PsSocket[] }
interface PsReport { takenAt: string; host: { hostname: string }; warnings: string[]; containers: PsContainer[] }

const STABLE = new Set(['LISTEN', 'ESTABLISHED', 'UNCONN']);
const key = (protocol: string, state: string, local: string, remote: string, inode: number) => `${protocol} ${state} ${local} ${remote} ino=${inode}`;
const fromPs = (s: PsSocket) => key(s.protocol, s.state, normEndpoint(s.local.address, s.local.port), normEndpoint(s.remote.address, s.remote.port), s.inode);
const fromSs = (s: SsSocket) => key(s.protocol, s.state, s.local, s.remote, s.inode);
const stablePs = (list: PsSocket[]) => list.filter((s) => STABLE.has(s.state)).map(fromPs).sort();
const stableSs = (list: SsSocket[]) => list.filter((s) => STABLE.has(s.state)).map(fromSs).sort();
const P = '/opt/peer.mjs';
const hostPort = 20000 + Math.floor(Math.random() * 20000);
const v6prefix = `fd00:7e57:${Math.floor(Math.random() * 0xffff).toString(16)}`;

beforeAll(async () => {
  testImage();
  network('user');
  network('v6', '--ipv6', '--subnet', `${v6prefix}::/64`);
  run('bsrv', ['-p', '127.0.0.1::8080'], ['node', P, 'tcp-server', '8080']);
  run('usrv', ['--network', name('user')], ['node', P, 'tcp-server', '9000']);
  run('v6srv', ['--network', name('v6')], ['node', P, 'tcp-server', '9100']);
  run('udp', [], ['node', P, 'udp-server', '5353']);
  run('idle', ['--network', 'none'], ['sleep', '100000']);
  run('hostc', ['--network', 'host'], ['sh', '-c', `node ${P} tcp-server ${hostPort} 127.0.0.1 & exec sleep 100000`]);
  // No pid namespace of their own: `ps` cannot tell their init from /proc and asks Docker (inspect), as for any other.
  run('pidhost', ['--pid', 'host', '--network', 'none'], ['sleep', '100000']);
  run('pidshare', ['--pid', `container:${name('bsrv')}`, '--network', 'none'], ['sleep', '100000']);
  // An exec'd process beside the init: the init is still the one ps names.
  run('execd', ['--network', 'none'], ['sleep', '100000']);
  docker('exec', '-d', name('execd'), 'sleep', '100001');
  const bsrvIp = inspect('bsrv').NetworkSettings.Networks['bridge']?.IPAddress ?? '';
  const v6ip = inspect('v6srv').NetworkSettings.Networks[name('v6')]?.GlobalIPv6Address ?? '';
  run('bcli', [], ['node', P, 'tcp-client', bsrvIp, '8080', '100', '2']);
  // By name: resolved by Docker's embedded DNS, whose sockets in this namespace belong to dockerd.
  run('ucli', ['--network', name('user')], ['node', P, 'tcp-client', name('usrv'), '9000', '10']);
  run('side', ['--network', `container:${name('usrv')}`], ['sh', '-c', `node ${P} tcp-server 15000 & node ${P} tcp-client 127.0.0.1 9000 5 & wait`]);
  run('v6cli', ['--network', name('v6')], ['node', P, 'tcp-client', v6ip, '9100', '10']);
  const established = (n: string, count: number) => () => ssSockets(inspect(n).State.Pid).filter((s) => s.state === 'ESTABLISHED').length >= count;
  await waitFor(established('bcli', 2), 20_000, 'bcli connections');
  await waitFor(established('ucli', 1), 20_000, 'ucli connection');
  await waitFor(established('usrv', 3), 20_000, 'usrv namespace connections (ucli + side loopback pair)');
  await waitFor(established('v6cli', 1), 20_000, 'v6cli connection');
  await waitFor(() => ssSockets(inspect('hostc').State.Pid).some((s) => s.local.endsWith(`:${hostPort}`)), 20_000, 'host listener');
  await waitFor(() => ssSockets(inspect('udp').State.Pid).some((s) => s.protocol === 'udp'), 20_000, 'udp socket');
}, 180_000);

afterAll(() => cleanup());

describe.each(['netlink', 'proc'] as const)('portolan ps --source %s', (source) => {
  let report: PsReport;
  let byName: (n: string) => PsContainer;
  beforeAll(() => {
    const r = portolan(['ps', '--json', '--source', source]);
    expect(unexpectedWarnings(r.stderr)).toEqual([]);
    expect(r.status).toBe(0);
    report = JSON.parse(r.stdout) as PsReport;
    byName = (n) => {
      const c = report.containers.find((x) => x.name === name(n));
      if (!c) throw new Error(`${name(n)} missing from ps output`);
      return c;
    };
  });

  it('prints the contract: time, host, container facts', () => {
    expect(new Date(report.takenAt).toString()).not.toBe('Invalid Date');
    expect(report.host.hostname).toBeTruthy();
    const b = byName('bsrv');
    const info = inspect('bsrv');
    expect(b.id).toBe(info.Id);
    expect(b.id).toMatch(/^[0-9a-f]{64}$/);
    expect(b.image).toBe(testImage());
    expect(b.pid).toBe(info.State.Pid);
    expect(b.networkMode).toBe('bridge');
    expect(b.networks).toEqual([{ name: 'bridge', ipv4: info.NetworkSettings.Networks['bridge']?.IPAddress }]);
    const published = Number(docker('port', name('bsrv'), '8080/tcp').split(':').pop());
    expect(b.ports).toEqual([{ containerPort: 8080, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: published }]);
    expect(byName('usrv').networkMode).toBe(name('user'));
    expect(byName('hostc').networkMode).toBe('host');
    expect(byName('idle').networkMode).toBe('none');
    expect(byName('side').networkMode).toBe(`container:${inspect('usrv').Id}`);
  });

  it('names every container as Docker\'s inspect does: id, name, image, pid (its init), network mode', () => {
    // The one-shot ps reads these from the container list and finds pids in /proc; inspect is the reference.
    for (const n of ['bsrv', 'usrv', 'v6srv', 'udp', 'idle', 'hostc', 'bcli', 'ucli', 'side', 'v6cli', 'pidhost', 'pidshare', 'execd']) {
      const c = byName(n);
      const info = JSON.parse(docker('inspect', name(n)))[0] as { Id: string; Name: string; Config: { Image: string; Labels: Record<string, string> }; State: { Pid: number }; HostConfig: { NetworkMode: string } };
      expect({ id: c.id, name: c.name, image: c.image, pid: c.pid, networkMode: c.networkMode }, n).toEqual({
        id: info.Id, name: info.Name.slice(1), image: info.Config.Image, pid: info.State.Pid,
        networkMode: info.HostConfig.NetworkMode === 'default' ? 'bridge' : info.HostConfig.NetworkMode,
      });
      expect((c as unknown as { labels: Record<string, string> }).labels, n).toEqual(info.Config.Labels);
    }
  });

  it.each(['bsrv', 'bcli', 'ucli', 'v6srv', 'v6cli', 'udp', 'idle'])('%s: own namespace, every socket equals ss', (n) => {
    const c = byName(n);
    const ss = ssSockets(inspect(n).State.Pid);
    expect(stablePs(c.sockets)).toEqual(stableSs(ss));
    // The owning processes are the ones ss -p names.
    for (const s of ss.filter((x) => STABLE.has(x.state) && x.inode !== 0)) {
      const mine = c.sockets.find((p) => p.inode === s.inode);
      expect(mine?.processes.map((p) => p.pid).sort(), `owners of inode ${s.inode}`).toEqual([...s.pids].sort());
    }
  });

  it('default bridge client: two established connections to the server, addresses in text form', () => {
    const ip = inspect('bsrv').NetworkSettings.Networks['bridge']?.IPAddress;
    const est = byName('bcli').sockets.filter((s) => s.state === 'ESTABLISHED');
    expect(est).toHaveLength(2);
    for (const s of est) expect(s.remote).toEqual({ address: ip, port: 8080 });
  });

  it('IPv6 network: the connection shows IPv6 addresses in text form', () => {
    const ip = inspect('v6srv').NetworkSettings.Networks[name('v6')]?.GlobalIPv6Address ?? '';
    expect(ip).toMatch(/^fd00:7e57:/);
    const est = byName('v6cli').sockets.find((s) => s.state === 'ESTABLISHED');
    expect(est).toMatchObject({ family: 'ipv6', remote: { address: ip, port: 9100 } });
    expect(byName('v6cli').networks[0]?.ipv6).toMatch(/^fd00:7e57:/);
  });

  it('UDP: an unbound-peer socket is UNCONN', () => {
    expect(byName('udp').sockets).toMatchObject([{ protocol: 'udp', state: 'UNCONN', local: { port: 5353 } }]);
  });

  it('no sockets: a container without any lists none', () => {
    expect(byName('idle').sockets).toEqual([]);
  });

  it('embedded DNS (rule 4): 127.0.0.11 sockets stay listed, owned by dockerd, a host process', () => {
    const dns = byName('ucli').sockets.filter((s) => s.local.address === '127.0.0.11');
    expect(dns.map((s) => s.protocol).sort()).toEqual(['tcp', 'udp']);
    for (const s of dns) expect(s.processes).toMatchObject([{ command: 'dockerd', container: null }]);
  });

  it('container: mode (rule 2): the sidecar lists its own sockets, the rest stay with the namespace owner, none twice', () => {
    const usrv = byName('usrv');
    const side = byName('side');
    expect(side.netns).toBe(usrv.netns);
    const ss = ssSockets(inspect('usrv').State.Pid);
    const sidePids = new Set(containerPids('side'));
    const sideSs = ss.filter((s) => s.pids.some((p) => sidePids.has(p)));
    const restSs = ss.filter((s) => !s.pids.some((p) => sidePids.has(p)));
    expect(stablePs(side.sockets)).toEqual(stableSs(sideSs));
    expect(stablePs(usrv.sockets)).toEqual(stableSs(restSs));
    expect(side.sockets.some((s) => s.state === 'LISTEN' && s.local.port === 15000)).toBe(true);
    const ids = [...usrv.sockets, ...side.sockets].filter((s) => s.inode !== 0).map((s) => s.inode);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('host mode (rule 3): exactly the sockets of the container\'s processes, including a child\'s listener', () => {
    const hostc = byName('hostc');
    const pids = new Set(containerPids('hostc'));
    const ss = ssSockets(process.pid).filter((s) => s.pids.some((p) => pids.has(p)));
    expect(stablePs(hostc.sockets)).toEqual(stableSs(ss));
    const listener = hostc.sockets.find((s) => s.state === 'LISTEN' && s.local.port === hostPort);
    expect(listener?.processes.map((p) => p.command)).toEqual(['node']);
    expect(listener?.processes[0]?.pid).not.toBe(inspect('hostc').State.Pid);
  });

  it('text table: one row per socket with container, protocol, state, endpoints, process', () => {
    const r = portolan(['ps', '--source', source, '--container', name('bsrv')]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^CONTAINER\s+PROTO\s+STATE\s+RECV-Q\s+SEND-Q\s+LOCAL\s+REMOTE\s+PROCESS$/);
    expect(lines.slice(1).some((l) => new RegExp(`^${name('bsrv')}\\s+tcp\\s+LISTEN\\s+.*:8080\\s+.*node/\\d+$`).test(l))).toBe(true);
  });
});

describe('portolan ps filters', () => {
  const ps = (...args: string[]) => {
    const r = portolan(['ps', '--json', ...args]);
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as PsReport;
  };
  it('--container globs, repeatable', () => {
    expect(ps('--container', name('*cli')).containers.map((c) => c.name).sort()).toEqual([name('bcli'), name('ucli'), name('v6cli')]);
    expect(ps('-c', name('idle'), '-c', name('udp')).containers.map((c) => c.name).sort()).toEqual([name('idle'), name('udp')]);
  });
  it('--listening, --protocol and --state', () => {
    const l = ps('--container', name('bsrv'), '--listening').containers[0]?.sockets ?? [];
    expect(l.length).toBeGreaterThan(0);
    expect(l.every((s) => s.state === 'LISTEN' || s.state === 'UNCONN')).toBe(true);
    const u = ps('--container', name('u*'), '--protocol', 'udp').containers.flatMap((c) => c.sockets);
    expect(u.length).toBeGreaterThan(0);
    expect(u.every((s) => s.protocol === 'udp')).toBe(true);
    const e = ps('--container', name('bcli'), '--state', 'established').containers[0]?.sockets ?? [];
    expect(e.map((s) => s.state)).toEqual(['ESTABLISHED', 'ESTABLISHED']);
  });
  it('a bad filter is one clear line and exit code 2', () => {
    const r = portolan(['ps', '--state', 'bogus']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown state "bogus"/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('bad environments', () => {
  it('a missing Docker socket gives one line naming it, exit 2, no stack trace', () => {
    const r = portolan(['ps'], { DOCKER_HOST: 'unix:///tmp/portolan-no-such.sock' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/\/tmp\/portolan-no-such\.sock/);
    expect(r.stderr).toMatch(/DOCKER_HOST/);
  });

  it('containers exiting during collection are skipped without an error', async () => {
    // Short-lived containers start and die while portolan collects, over and over.
    let stop = false;
    const churn = (async () => {
      let i = 0;
      while (!stop) {
        await dockerAsync('run', '-d', '--rm', '--name', name(`churn${i++}`), ...LABELS, testImage(), 'sh', '-c', 'sleep 0.2');
      }
    })();
    try {
      for (let k = 0; k < 5; k++) {
        const r = await portolanAsync(['ps', '--json']);
        expect(r.status, r.stderr).toBe(0);
        expect(unexpectedWarnings(r.stderr)).toEqual([]);
        const rep = JSON.parse(r.stdout) as PsReport;
        expect(rep.containers.length).toBeGreaterThan(0);
      }
    } finally {
      stop = true;
      await churn;
    }
  });
});

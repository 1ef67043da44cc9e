// A second, temporary Docker host for integration tests (scripts/second-dockerd.sh): a dockerd in its own
// network namespace. Everything it runs is removed by stop(), also after a failed start.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './harness.js';

const SCRIPT = path.join(ROOT, 'scripts/second-dockerd.sh');

/** What `second-dockerd.sh start` reports. */
export interface SecondHost {
  readonly name: string;
  /** `unix:///run/portolan-NAME/docker.sock`. */
  readonly dockerHost: string;
  /** dockerd's pid: any pid in the second host's network namespace. */
  readonly pid: number;
  /** The second host's address on the veth pair, and this host's. */
  readonly hostIp: string;
  readonly peerIp: string;
  /** nsenter arguments entering its network namespace. */
  readonly nsenter: readonly string[];
}

/**
 * Starts a second dockerd named `name` (≤ 11 chars) with extra dockerd flags, on a veth subnet 10.77.X.0/24
 * not routed yet (X picked at random, retried when another run holds it).
 */
export function startSecondHost(name: string, dockerdFlags: readonly string[]): SecondHost {
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const octet = 100 + Math.floor(Math.random() * 150);
    const r = spawnSync('bash', [SCRIPT, 'start', name, String(octet), '--', ...dockerdFlags], { encoding: 'utf8' });
    if (r.status === 0) {
      const env = Object.fromEntries(r.stdout.trim().split('\n').map((l) => { const i = l.indexOf('='); return [l.slice(0, i), l.slice(i + 1)]; }));
      return {
        name,
        dockerHost: env.DOCKER_HOST ?? '',
        pid: Number(env.PID),
        hostIp: env.HOST_IP ?? '',
        peerIp: env.PEER_IP ?? '',
        nsenter: [`--net=/var/run/netns/${name}`],
      };
    }
    lastError = r.stderr;
    if (!/already routed/.test(r.stderr)) break;
  }
  throw new Error(`second-dockerd.sh start ${name} failed: ${lastError}`);
}

/** Copies an image from the first engine into the second host. */
export function loadImage(name: string, image: string): void {
  execFileSync('bash', [SCRIPT, 'load', name, image], { stdio: 'ignore' });
}

/** Removes the second host: its containers, dockerd, containerd, mounts, data, namespace and veth pair. */
export function stopSecondHost(name: string): void {
  spawnSync('bash', [SCRIPT, 'stop', name], { stdio: 'ignore' });
}

/** Runs the docker CLI against the second host; returns stdout. */
export function dockerAt(host: SecondHost, ...args: string[]): string {
  const r = spawnSync('docker', ['-H', host.dockerHost, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker -H ${host.dockerHost} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

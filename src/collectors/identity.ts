import type { HostIdentity } from '../core/model/host-identity.js';
import { toEngineIdentity } from '../core/docker/info.js';
import { parseFibTrieLocal } from '../core/parse/net-fib-trie.js';
import { parseIfInet6 } from '../core/parse/net-if-inet6.js';
import type { DockerClient } from '../sources/docker-api.js';
import { isVanished, type Procfs } from '../sources/procfs.js';
import type { Collector } from './collector.js';

/** Options of the identity collector. */
export interface IdentityCollectorOptions {
  /** The kernel's hostname, when Docker names no host. */
  readonly hostname: string;
  /** For collections that repeat: the engine's id and the addresses are read again at most every `reuseForMs`. */
  readonly repeat?: { readonly reuseForMs: number; readonly now?: () => number };
}

/**
 * Who this Docker host is, for a fleet: the engine's id and name (`GET /info`) and the host network namespace's
 * own addresses (`net/fib_trie` local IPv4 leaves, `net/if_inet6` of global scope), read through the host pid the
 * netns collector found — so a dockerd in another namespace gets that namespace's addresses.
 */
export function createIdentityCollector(docker: Pick<DockerClient, 'info'>, procfs: Procfs, options: IdentityCollectorOptions): Collector<'identity'> {
  const now = options.repeat?.now ?? Date.now;
  let last: { identity: HostIdentity; atMs: number; hostPid: number | 'self' } | undefined;
  return {
    name: 'identity',
    provides: ['identity'],
    needs: ['netns'],
    collect: async ({ parts, signal }) => {
      const hostPid = parts.netns?.hostPid ?? 1;
      const t = now();
      if (options.repeat && last && last.hostPid === hostPid && t - last.atMs < options.repeat.reuseForMs) return { identity: last.identity };
      const engine = toEngineIdentity(await docker.info({ signal }));
      const addresses = [...parseFibTrieLocal(readOptional(procfs, hostPid, 'net/fib_trie')),
        ...parseIfInet6(readOptional(procfs, hostPid, 'net/if_inet6')).filter((a) => a.scope === 0).map((a) => a.address)];
      const found: HostIdentity = { engineId: engine.engineId, hostname: engine.name ?? options.hostname, addresses };
      // Read again and found the same: the same part.
      const identity = last && JSON.stringify(last.identity) === JSON.stringify(found) ? last.identity : found;
      last = { identity, atMs: t, hostPid };
      return { identity };
    },
  };
}

/** A file of the host namespace; a kernel without IPv6 has no if_inet6 (an empty list, not an error). */
function readOptional(procfs: Procfs, pid: number | 'self', rel: string): string {
  try {
    return procfs.readText(pid, rel);
  } catch (err) {
    if (isVanished(err)) return '';
    throw err;
  }
}

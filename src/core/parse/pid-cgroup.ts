const ID_RE = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?(?=\/|$)/g;

/**
 * Finds the container id in /proc/<pid>/cgroup text. Handles the cgroupfs driver (`/docker/<id>`), the
 * systemd driver (`/system.slice/docker-<id>.scope`), containerd/CRI (`cri-containerd-<id>.scope`) and
 * Docker-in-Docker (the innermost id wins). Returns undefined for a process of no container.
 */
export function parsePidCgroup(text: string): string | undefined {
  let found: string | undefined;
  for (const line of text.split('\n')) {
    // hierarchy-id:controllers:path — the path may itself contain ':'.
    const second = line.indexOf(':', line.indexOf(':') + 1);
    if (second < 0) continue;
    const path = line.slice(second + 1);
    let last: string | undefined;
    for (const m of path.matchAll(ID_RE)) last = m[1];
    if (last !== undefined) {
      found = last;
      // The unified hierarchy (0::) is authoritative when present.
      if (line.startsWith('0::')) return found;
    }
  }
  return found;
}

/** Parses the target of a /proc/<pid>/ns/<type> link (`net:[4026531833]`) into its nsfs inode. */
export function parseNsLink(link: string, type = 'net'): number {
  const m = /^([a-z_]+):\[(\d+)\]$/.exec(link.trim());
  if (!m || m[1] !== type) throw new Error(`not a ${type} namespace link: "${link}"`);
  return Number(m[2]);
}

/** Parses an fd link target (`socket:[123]`) into the socket inode, or undefined when it is no socket. */
export function parseSocketLink(link: string): number | undefined {
  if (!link.startsWith('socket:[') || !link.endsWith(']')) return undefined;
  const n = Number(link.slice(8, -1));
  return Number.isSafeInteger(n) ? n : undefined;
}

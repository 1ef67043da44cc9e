/** A host process relevant to socket attribution: its namespace, its container (by cgroup) and its sockets. */
export interface ProcessInfo {
  readonly pid: number;
  /** Short command name (`/proc/<pid>/comm`). */
  readonly command: string;
  /** Network namespace inode (`/proc/<pid>/ns/net`). */
  readonly netns: number;
  /** Container id from the process's cgroup, when it belongs to one. */
  readonly containerId?: string;
  /** Inodes of the sockets this process holds open. */
  readonly socketInodes: readonly number[];
}

/** A process named as a socket's owner in output. */
export interface ProcessRef {
  readonly pid: number;
  readonly command: string;
  /** Set when the owner is a process of another container, or of none (`null` = host process). */
  readonly containerId?: string | null;
}

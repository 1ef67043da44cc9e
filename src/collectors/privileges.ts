// Up-front privilege check of a collection: the process's own capabilities (from /proc/self/status under the
// proc root) and its access to the Docker socket. Missing ones make one line that names them.
import { parsePidStatus } from '../core/parse/pid-status.js';
import { missingCapabilities, privilegeMessage, type MissingPrivilege, type PrivilegeNeeds } from '../core/privileges.js';
import { DockerUnavailableError, type DockerClient } from '../sources/docker-api.js';
import type { Procfs } from '../sources/procfs.js';

/** What is missing, and what could not be checked (a proc root without `self`, e.g. a fixture tree). */
export interface PrivilegeReport {
  readonly missing: readonly MissingPrivilege[];
  /** The one line naming what is missing; undefined when nothing is. */
  readonly message?: string;
  /** Why the capabilities could not be judged, when they could not. */
  readonly unchecked?: string;
  /** Docker's answer when it was asked and failed for another reason than permission (down, unreachable). */
  readonly dockerError?: Error;
}

/**
 * Checks the capabilities the collection needs and, when `docker` is given, that its socket lets this process
 * in (a permission refusal is a missing privilege; an engine that is down is not, and is left to the caller).
 */
export async function checkPrivileges(procfs: Procfs, needs: PrivilegeNeeds, docker?: Pick<DockerClient, 'ping'>): Promise<PrivilegeReport> {
  const missing: MissingPrivilege[] = [];
  let unchecked: string | undefined;
  let dockerError: Error | undefined;
  try {
    missing.push(...missingCapabilities(parsePidStatus(procfs.readText('self', 'status'), procfs.pathOf('self', 'status')), needs));
  } catch (err) {
    unchecked = `cannot read ${procfs.pathOf('self', 'status')}: ${(err as Error).message}`;
  }
  if (docker) {
    try {
      await docker.ping();
    } catch (err) {
      if (err instanceof DockerUnavailableError && (err.code === 'EACCES' || err.code === 'EPERM')) {
        missing.push({ name: `access to the Docker socket ${err.endpoint}`, why: 'permission denied: run as root or in the docker group' });
      } else {
        dockerError = err instanceof Error ? err : new Error(String(err));
      }
    }
  }
  return { missing, ...(missing.length > 0 ? { message: privilegeMessage(missing) } : {}), ...(unchecked !== undefined ? { unchecked } : {}),
    ...(dockerError ? { dockerError } : {}) };
}

/** The collection lacks privileges it needs; `message` is the one line naming them. */
export class PrivilegeError extends Error {
  override readonly name = 'PrivilegeError';
  constructor(readonly missing: readonly MissingPrivilege[], message: string) {
    super(message);
  }
}

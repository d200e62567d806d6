/**
 * Adds or removes grants in a plugin's lockfile entry. `plugrun grant`,
 * `plugrun revoke` and the dashboard's `g` and `r` keys all change the
 * lockfile through this one function, so the checks and the audit event are
 * the same whichever of them made the change. A running host applies the
 * change when its lockfile watcher detects it.
 */

import type { AuditInput } from '../runtime/audit.js';
import type { ProjectPaths } from '../runtime/project.js';
import { CommandError, ExitCode } from './output.js';

/** Whether grants are added or removed. */
export type GrantOperation = 'grant' | 'revoke';

/** Destination of the change's audit event. */
export interface AuditWriter {
  write(input: AuditInput): unknown;
}

/** One change to make. */
export interface GrantChangeRequest {
  readonly project: ProjectPaths;
  readonly plugin: string;
  readonly op: GrantOperation;
  /** Normalised capability strings. */
  readonly capabilities: readonly string[];
  /**
   * The audit log of the running host, when the change comes from inside
   * it. Without one, the project's audit log is opened for the one event.
   */
  readonly audit?: AuditWriter;
}

/** Outcome of a change. */
export interface GrantChange {
  /** Capabilities added (grant) or removed (revoke). */
  readonly changed: readonly string[];
  /** Capabilities already granted (grant) or not granted (revoke). */
  readonly unchanged: readonly string[];
  /** The plugin's grants after the change. */
  readonly grants: readonly string[];
}

// A `plugrun grant` run beside a running `plugrun start` appends under the
// log's inter-process append lock, so the chain stays whole; the dashboard
// writes through the host's own log.
const writeEvent = async (request: GrantChangeRequest, changed: readonly string[]) => {
  if (changed.length === 0) return;
  const event: AuditInput = {
    plugin: request.plugin,
    cap: 'runtime',
    op: request.op,
    target: changed.join(' '),
    outcome: 'allowed',
    capabilities: changed,
  };
  if (request.audit !== undefined) {
    request.audit.write(event);
    return;
  }
  const { openAuditLog } = await import('./commands/common.js');
  const audit = await openAuditLog(request.project);
  try {
    audit.write(event);
  } finally {
    audit.close();
  }
};

/**
 * Adds or removes `capabilities` in the plugin's lockfile entry, atomically
 * and under the lockfile's lock. Fails with exit status 3 when the plugin is
 * not in the lockfile.
 */
export const changeGrants = async (request: GrantChangeRequest): Promise<GrantChange> => {
  const { project, plugin: name, op, capabilities } = request;
  const { updateLockfile } = await import('../runtime/lockfile.js');

  const changed: string[] = [];
  const unchanged: string[] = [];
  const { lockfile } = await updateLockfile(project.lockfile, (current) => {
    const entry = Object.hasOwn(current.plugins, name) ? current.plugins[name] : undefined;
    if (entry === undefined) {
      throw new CommandError(ExitCode.lock, `plugin "${name}" is not in ${project.lockfile}; pin it first with: plugrun lock ${name}`);
    }
    const grants = new Set(entry.grants);
    for (const capability of capabilities) {
      const present = grants.has(capability);
      if (op === 'grant' ? present : !present) {
        unchanged.push(capability);
        continue;
      }
      if (op === 'grant') grants.add(capability);
      else grants.delete(capability);
      changed.push(capability);
    }
    entry.grants = [...grants];
  });
  await writeEvent(request, changed);

  return { changed, unchanged, grants: lockfile.plugins[name]?.grants ?? [] };
};

/**
 * Builds the dashboard's source from a running host: figures from
 * `Host.stats()`, events from its audit log, and grant changes written to
 * the lockfile by `changeGrants`, the function behind `plugrun grant` and
 * `plugrun revoke`, then applied to the host at once.
 */

import type { AuditLog } from '../../runtime/audit.js';
import type { Host } from '../../runtime/host.js';
import type { ProjectPaths } from '../../runtime/project.js';
import { changeGrants, type GrantOperation } from '../grant-change.js';
import { AuditFeed } from './audit-feed.js';
import { NoticeBoard } from './notice-board.js';
import type { DashboardSource } from './source.js';

/** A source and the function that stops feeding it. */
export interface HostSource {
  readonly source: DashboardSource;
  readonly detach: () => void;
}

/** Returns the notice line for a finished change. */
const describeChange = (op: GrantOperation, plugin: string, changed: readonly string[], unchanged: readonly string[]): string => {
  const parts: string[] = [];
  if (changed.length > 0) {
    parts.push(op === 'grant' ? `granted ${changed.join(' ')} to ${plugin}` : `revoked ${changed.join(' ')} from ${plugin}`);
  }
  if (unchanged.length > 0) {
    parts.push(op === 'grant' ? `${plugin} already has ${unchanged.join(' ')}` : `${plugin} has no grant ${unchanged.join(' ')}`);
  }
  return `${parts.join('; ')}; in force from the next call`;
};

/** Subscribes a new feed to the host's audit log and wraps the host as a dashboard source. */
export const sourceFromHost = (host: Host, audit: AuditLog, project: ProjectPaths): HostSource => {
  const feed = new AuditFeed();
  const notices = new NoticeBoard();
  const detach = audit.subscribe((event) => feed.push(event));

  const change = async (op: GrantOperation, plugin: string, capabilities: readonly string[]) => {
    const { changed, unchanged } = await changeGrants({ project, plugin, op, capabilities, audit });
    // The lockfile watcher would apply it within its polling interval; this applies it now.
    await host.applyLockfileGrants();
    return describeChange(op, plugin, changed, unchanged);
  };

  const source: DashboardSource = {
    projectDir: project.root,
    startedAt: Date.now(),
    feed,
    notices,
    stats: () => host.stats(),
    grant: (plugin, capabilities) => change('grant', plugin, capabilities),
    revoke: (plugin, capability) => change('revoke', plugin, [capability]),
  };
  return { source, detach };
};

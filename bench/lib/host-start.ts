/**
 * One load and start of every plugin of a project with the real host and
 * real workers, in this process, timed and with the growth of RSS, which
 * includes every worker thread. Run node with --expose-gc so that garbage
 * from earlier runs is collected before RSS is read.
 */

import { AuditLog } from '../../runtime/audit.js';
import { Host } from '../../runtime/host.js';
import { resolveProject } from '../../runtime/project.js';

/** Loads and starts the project's plugins once, then stops them; throws unless `expected` plugins were running. */
export const measureHostStart = async (dir: string, expected: number): Promise<{ ms: number; rssBytes: number }> => {
  const project = resolveProject({ dir });
  const audit = new AuditLog(project.auditLog);
  const host = new Host({ project, audit, report: () => undefined });
  (globalThis as { gc?: () => void }).gc?.();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  await host.load();
  await host.startAll();
  const ms = performance.now() - started;
  const rssBytes = process.memoryUsage().rss - rssBefore;
  const running = host.plugins.filter((plugin) => plugin.state === 'running').length;
  await host.stopAll();
  audit.close();
  if (running !== expected) throw new Error(`only ${running} of ${expected} plugins in ${dir} started`);
  return { ms, rssBytes };
};

/**
 * `plugrun start --frozen`: the check that nothing about the plugins needs a
 * person's decision before they start, for CI. Like `npm ci`, it starts
 * nothing rather than only some plugins. The reasons are a plugin that is
 * not locked, changed since it was locked, cannot be built, has an invalid
 * manifest or requests capabilities that are not granted. A lockfile that
 * is missing, invalid, or pins a plugin that is gone is a reason too.
 */

import { discoverPlugins } from './discovery.js';
import { formatProblem } from './json-file.js';
import { readLockfile } from './lockfile.js';
import { computeLockStatuses, type LockStatus } from './lock-status.js';
import type { ProjectPaths } from './project.js';

/** Describes one plugin that is not in order, with the command that fixes it. */
const describeStatus = (status: LockStatus): string | undefined => {
  const { name } = status;
  switch (status.state) {
    case 'unlocked':
      return `plugin "${name}" is not locked; review it, then run: plugrun lock ${name}`;
    case 'changed':
      return `plugin "${name}": ${status.problem}; review the change, then run: plugrun lock ${name}`;
    case 'invalid':
      return `plugin "${name}" ${status.problem?.startsWith('invalid manifest') ? 'has an ' : ''}${status.problem}; fix it, then run: plugrun lock ${name}`;
    case 'missing':
      return `plugin "${name}" is ${status.problem}; run: plugrun lock`;
    case 'locked':
      return undefined;
  }
};

/**
 * Lists every reason not to start, one message per problem, each naming the
 * command that fixes it. An empty list means every plugin is locked,
 * unchanged and granted all it requests.
 */
export const findFrozenProblems = async (project: ProjectPaths): Promise<string[]> => {
  const discovery = await discoverPlugins(project.pluginsDir);
  const lock = await readLockfile(project.lockfile);
  const problems: string[] = [];

  if (lock.state === 'missing') problems.push(`${project.lockfile} does not exist, so no plugin is locked; review the plugins, then run: plugrun lock`);
  if (lock.state === 'invalid') {
    problems.push(`${project.lockfile} is invalid, so nothing is granted: ${lock.problems.map(formatProblem).join('; ')}`);
    return problems;
  }

  for (const status of await computeLockStatuses(project, discovery, lock)) {
    // With no lockfile, the message above already covers every unlocked plugin.
    const message = lock.state === 'missing' && status.state === 'unlocked' ? undefined : describeStatus(status);
    if (message !== undefined) problems.push(message);
    if (status.pending.length > 0 && status.state !== 'invalid') {
      problems.push(
        `plugin "${status.name}" requests ${status.pending.join(', ')}, not granted; grant them with: plugrun grant ${status.name} ${status.pending.join(' ')} (or remove them from its plugin.json and re-lock)`,
      );
    }
  }
  return problems;
};

/**
 * Compares each plugin on disk with its lockfile entry, as `plugrun start`
 * will before it loads the plugin: not locked, changed since it was locked,
 * unable to be built, or locked with requested capabilities not granted.
 * `plugrun check` reports these states, and `plugrun start --frozen`
 * refuses to start when any plugin is not in order.
 */

import { compareText } from '../capabilities/compare.js';
import { messageOf } from '../capabilities/errors.js';
import type { Discovery } from './discovery.js';
import { formatProblem } from './json-file.js';
import type { LockedPlugin, LockfileState } from './lockfile.js';
import { computePluginIntegrity, type LockState } from './pinning.js';
import type { ProjectPaths } from './project.js';

/** One plugin's lock state and capabilities. */
export interface LockStatus {
  readonly name: string;
  readonly state: LockState;
  /** True when the lockfile has an entry for the plugin, whatever its state. */
  readonly pinned: boolean;
  readonly requested: readonly string[];
  readonly granted: readonly string[];
  /** Requested in the manifest but not granted. */
  readonly pending: readonly string[];
  /** For every state but `locked`: what is wrong, without the fix, which depends on the command. */
  readonly problem?: string;
}

/**
 * Computes the lock state of every plugin found and of every lockfile entry
 * without a plugin folder. Every valid plugin's archive is built (or taken
 * from the archive cache), so code that cannot be loaded shows as `invalid`
 * even before it is locked. Plugins named in `only` are the only ones
 * returned when it is given.
 */
export const computeLockStatuses = async (
  project: ProjectPaths,
  discovery: Discovery,
  lock: LockfileState,
  only?: ReadonlySet<string>,
): Promise<LockStatus[]> => {
  const entries: Readonly<Record<string, LockedPlugin>> = lock.state === 'ok' ? lock.lockfile.plugins : {};
  const entryOf = (name: string) => (Object.hasOwn(entries, name) ? entries[name] : undefined);
  const wanted = (name: string) => only === undefined || only.has(name);
  const statuses: LockStatus[] = [];

  for (const plugin of discovery.valid.filter((found) => wanted(found.name))) {
    const entry = entryOf(plugin.name);
    const requested = [...plugin.manifest.capabilities].sort();
    const granted = entry?.grants ?? [];
    const pending = requested.filter((text) => !granted.includes(text));
    const base = { name: plugin.name, pinned: entry !== undefined, requested, granted, pending };

    let integrity: string;
    try {
      integrity = await computePluginIntegrity(project, plugin, false);
    } catch (error) {
      statuses.push({ ...base, state: 'invalid', problem: `cannot be built into an archive: ${messageOf(error)}` });
      continue;
    }

    if (entry === undefined) {
      statuses.push({ ...base, state: 'unlocked', problem: 'not locked' });
    } else if (entry.integrity !== integrity || entry.version !== plugin.manifest.version) {
      const what = entry.version === plugin.manifest.version ? 'its code' : `its version (${entry.version} locked, ${plugin.manifest.version} now)`;
      statuses.push({ ...base, state: 'changed', problem: `${what} changed since it was locked` });
    } else {
      statuses.push({ ...base, state: 'locked' });
    }
  }

  for (const plugin of discovery.invalid.filter((found) => wanted(found.name))) {
    statuses.push({
      name: plugin.name,
      state: 'invalid',
      pinned: entryOf(plugin.name) !== undefined,
      requested: [],
      granted: entryOf(plugin.name)?.grants ?? [],
      pending: [],
      problem: `invalid manifest: ${plugin.problems.map(formatProblem).join('; ')}`,
    });
  }

  if (only === undefined) {
    const onDisk = new Set([...discovery.valid, ...discovery.invalid].map((plugin) => plugin.name));
    for (const [name, entry] of Object.entries(entries)) {
      if (onDisk.has(name)) continue;
      statuses.push({ name, state: 'missing', pinned: true, requested: [], granted: entry.grants, pending: [], problem: `pinned in the lockfile, but ${project.pluginsDir} has no folder of that name` });
    }
  }

  return statuses.sort((a, b) => compareText(a.name, b.name));
};

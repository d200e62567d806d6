/**
 * Pinning plugins in the lockfile (`plugrun lock`) and comparing what is on
 * disk with what is pinned (`plugrun ls`). Both compute the integrity the
 * same way the host does before it loads a plugin. `plugrun ls` also reads
 * each plugin's database, without locking or changing it.
 */

import type { DatabaseSummary } from '../capabilities/db/inspect.js';
import { messageOf } from '../capabilities/errors.js';
import fs from 'node:fs';
import path from 'node:path';

import { compareText } from '../capabilities/compare.js';
import { loadPluginArchive } from './archive-cache.js';
import { discoverPlugins, type DiscoveredPlugin, type Discovery } from './discovery.js';
import { computeIntegrity } from './integrity.js';
import { formatProblem } from './json-file.js';
import { readLockfile, updateLockfile, type LockedPlugin, type LockfileState } from './lockfile.js';
import { PLUGIN_NAME_PATTERN } from './manifest.js';
import { pluginStatePaths, type ProjectPaths } from './project.js';

const byName = (a: { readonly name: string }, b: { readonly name: string }): number => compareText(a.name, b.name);

/** A plugin's integrity, and whether its archive uses the browser builds of its dependencies. */
export interface PluginPin {
  readonly integrity: string;
  readonly browserBuilds: boolean;
}

/**
 * Computes the integrity of a plugin as it is on disk now. `fresh` skips the
 * archive cache, as pinning should rest on a build of its own.
 */
export const computePluginPin = async (project: ProjectPaths, plugin: DiscoveredPlugin, fresh: boolean): Promise<PluginPin> => {
  const { name, manifest } = plugin;
  const cacheDir = path.join(project.stateDir, 'archives');
  const archive = await loadPluginArchive(plugin.dir, { name, version: manifest.version, main: manifest.main }, cacheDir, { fresh });
  const integrity = computeIntegrity({
    manifestBytes: plugin.manifestBytes,
    packageJsonBytes: archive.packageJsonBytes,
    mapSha512: archive.mapSha512,
  });
  return { integrity, browserBuilds: archive.browserBuilds };
};

/** Computes the integrity of a plugin as it is on disk now; see `computePluginPin`. */
export const computePluginIntegrity = async (project: ProjectPaths, plugin: DiscoveredPlugin, fresh: boolean): Promise<string> =>
  (await computePluginPin(project, plugin, fresh)).integrity;

/** The state of a plugin on disk compared with its lockfile entry. */
export type LockState = 'locked' | 'unlocked' | 'changed' | 'invalid' | 'missing';

/** One plugin as `plugrun ls` shows it. */
export interface PluginListing {
  readonly name: string;
  readonly version: string | null;
  readonly lock: LockState;
  readonly requested: readonly string[];
  readonly granted: readonly string[];
  /** Requested in the manifest but not granted. */
  readonly pending: readonly string[];
  /** Granted but not requested. */
  readonly unrequested: readonly string[];
  /** The problem, for `invalid`, `changed` and `missing`. */
  readonly problem?: string;
  /** The plugin's database: its tables, row counts and size on disk; null when it has none. */
  readonly database: DatabaseSummary | null;
}

/**
 * Reads a plugin's database for the listing. Safe while `plugrun start`
 * has it open, because `inspectDatabase` takes no lock and writes nothing.
 */
const readDatabase = async (project: ProjectPaths, name: string): Promise<DatabaseSummary | null> => {
  // State paths are built only from valid plugin names, and a plugin whose name is invalid never runs, so it has no database.
  if (!PLUGIN_NAME_PATTERN.test(name)) return null;

  // Most plugins have no database, and for them `ls` loads neither the database code nor sql.js.
  const folder = pluginStatePaths(project, name).db;
  if (!fs.existsSync(folder)) return null;

  const { inspectDatabase } = await import('../capabilities/db/inspect.js');
  return (await inspectDatabase(folder)) ?? null;
};

/** Lists every plugin in the plugins folder and in the lockfile, with its lock state, capabilities and database. */
export const listPlugins = async (project: ProjectPaths): Promise<{ plugins: PluginListing[]; lock: LockfileState; discovery: Discovery }> => {
  const discovery = await discoverPlugins(project.pluginsDir);
  const lock = await readLockfile(project.lockfile);
  const entries: Readonly<Record<string, LockedPlugin>> = lock.state === 'ok' ? lock.lockfile.plugins : {};
  const entryOf = (name: string) => (Object.hasOwn(entries, name) ? entries[name] : undefined);
  const listings: Array<Omit<PluginListing, 'database'>> = [];

  for (const plugin of discovery.valid) {
    const entry = entryOf(plugin.name);
    const requested = [...(plugin.manifest.capabilities ?? [])].sort();
    const granted = entry?.grants ?? [];
    let state: LockState = entry === undefined ? 'unlocked' : 'locked';
    let problem: string | undefined;
    if (entry !== undefined) {
      try {
        const integrity = await computePluginIntegrity(project, plugin, false);
        if (integrity !== entry.integrity || entry.version !== plugin.manifest.version) {
          state = 'changed';
          problem = `changed since it was locked; review it, then run: plugrun lock ${plugin.name}`;
        }
      } catch (error) {
        state = 'invalid';
        problem = messageOf(error);
      }
    }
    listings.push({
      name: plugin.name,
      version: plugin.manifest.version,
      lock: state,
      requested,
      granted,
      pending: requested.filter((text) => !granted.includes(text)),
      unrequested: granted.filter((text) => !requested.includes(text)),
      ...(problem === undefined ? {} : { problem }),
    });
  }

  for (const plugin of discovery.invalid) {
    const granted = entryOf(plugin.name)?.grants ?? [];
    listings.push({
      name: plugin.name,
      version: null,
      lock: 'invalid',
      requested: [],
      granted,
      pending: [],
      unrequested: [],
      problem: plugin.problems.map(formatProblem).join('; '),
    });
  }

  const onDisk = new Set(listings.map((listing) => listing.name));
  for (const [name, entry] of Object.entries(entries)) {
    if (onDisk.has(name)) continue;
    listings.push({
      name,
      version: entry.version,
      lock: 'missing',
      requested: [],
      granted: entry.grants,
      pending: [],
      unrequested: entry.grants,
      problem: `in the lockfile but not in ${project.pluginsDir}; run plugrun lock to remove it`,
    });
  }

  listings.sort(byName);

  // One database at a time, because each is held in memory while it is read.
  const plugins: PluginListing[] = [];
  for (const listing of listings) plugins.push({ ...listing, database: await readDatabase(project, listing.name) });
  return { plugins, lock, discovery };
};

/** The change `plugrun lock` made to one plugin. */
export interface PinResult {
  readonly name: string;
  readonly change: 'added' | 'updated' | 'unchanged' | 'removed' | 'failed';
  readonly version?: string;
  readonly integrity?: string;
  readonly previous?: { readonly version: string; readonly integrity: string };
  /** Requested capabilities that are not granted. */
  readonly pending: readonly string[];
  /** True when the archive uses the browser builds of the plugin's dependencies, because the Node builds need a Node built-in. */
  readonly browserBuilds?: boolean;
  readonly error?: string;
}

/**
 * Pins the named plugins (all plugins when `names` is empty) at their
 * current version and integrity, keeping their grants and limits. With no
 * names, entries whose plugin folder is gone are removed, as `npm install`
 * prunes a lockfile.
 */
export const lockPlugins = async (project: ProjectPaths, names: readonly string[]): Promise<PinResult[]> => {
  const discovery = await discoverPlugins(project.pluginsDir);
  const results: PinResult[] = [];
  const wanted = names.length === 0 ? undefined : new Set(names);

  for (const name of names) {
    const known = discovery.valid.some((plugin) => plugin.name === name) || discovery.invalid.some((plugin) => plugin.name === name);
    if (!known) results.push({ name, change: 'failed', pending: [], error: `plugin "${name}" not found in ${project.pluginsDir}` });
  }
  for (const plugin of discovery.invalid) {
    if (wanted && !wanted.has(plugin.name)) continue;
    results.push({ name: plugin.name, change: 'failed', pending: [], error: plugin.problems.map(formatProblem).join('\n') });
  }

  // Hash outside the lockfile lock, since building archives is the slow part.
  const pins = new Map<string, { version: string; integrity: string; browserBuilds: boolean; requested: readonly string[] }>();
  for (const plugin of discovery.valid) {
    if (wanted && !wanted.has(plugin.name)) continue;
    try {
      pins.set(plugin.name, {
        version: plugin.manifest.version,
        ...(await computePluginPin(project, plugin, true)),
        requested: [...(plugin.manifest.capabilities ?? [])].sort(),
      });
    } catch (error) {
      results.push({ name: plugin.name, change: 'failed', pending: [], error: messageOf(error) });
    }
  }

  const present = new Set([...discovery.valid, ...discovery.invalid].map((plugin) => plugin.name));
  await updateLockfile(project.lockfile, (lockfile) => {
    for (const [name, pin] of pins) {
      const previous = Object.hasOwn(lockfile.plugins, name) ? lockfile.plugins[name] : undefined;
      const grants = previous?.grants ?? [];
      const pending = pin.requested.filter((text) => !grants.includes(text));
      let change: PinResult['change'] = 'updated';
      if (previous === undefined) change = 'added';
      else if (previous.version === pin.version && previous.integrity === pin.integrity) change = 'unchanged';
      lockfile.plugins[name] = { ...previous, version: pin.version, integrity: pin.integrity, grants };
      results.push({
        name,
        change,
        version: pin.version,
        integrity: pin.integrity,
        ...(previous && change === 'updated' ? { previous: { version: previous.version, integrity: previous.integrity } } : {}),
        pending,
        ...(pin.browserBuilds ? { browserBuilds: true } : {}),
      });
    }
    if (wanted === undefined) {
      for (const name of Object.keys(lockfile.plugins)) {
        if (present.has(name)) continue;
        delete lockfile.plugins[name];
        results.push({ name, change: 'removed', pending: [] });
      }
    }
  });

  results.sort(byName);
  return results;
};

/**
 * `plugrun check`: validates plugins without running any of their code.
 *
 * For each plugin it reports, in order: manifest problems, then the code
 * rules over its own modules, then capabilities the code evidently uses but
 * the manifest does not request, then its lock state. Parsing is the only
 * thing done with the code; nothing of it is evaluated. Computing the lock
 * state builds the plugin's archive as `plugrun lock` does, which may write
 * it to the archive cache.
 */

import path from 'node:path';

import { discoverPlugins } from '../discovery.js';
import { readLockfile } from '../lockfile.js';
import { computeLockStatuses, type LockStatus } from '../lock-status.js';
import type { LockState } from '../pinning.js';
import type { ProjectPaths } from '../project.js';
import { inferCapabilities, type CapabilityUse } from './capability-use.js';
import { sortDiagnostics, type Diagnostic } from './diagnostic.js';
import { loadModuleGraph } from './modules.js';
import { checkModule } from './rules.js';
import { makeParentMap } from './syntax.js';

/** The facts check gathers about one plugin, besides its diagnostics. */
export interface PluginCheck {
  readonly name: string;
  /** Absolute path of the plugin folder. */
  readonly dir: string;
  readonly lock: LockState;
  /** The plugin's own modules that were parsed, as absolute paths. */
  readonly modules: readonly string[];
  /** Packages of its node_modules that its modules import; their code is not analysed. */
  readonly dependencies: readonly string[];
  readonly requested: readonly string[];
  readonly granted: readonly string[];
  readonly pending: readonly string[];
  /** Capabilities its calls evidently need. */
  readonly uses: readonly CapabilityUse[];
}

/** Result of checking a project. */
export interface CheckResult {
  readonly plugins: readonly PluginCheck[];
  readonly diagnostics: readonly Diagnostic[];
  readonly errors: number;
  readonly warnings: number;
}

/** Error for names given to check that are not plugins of the project. */
export class UnknownPluginsError extends Error {
  readonly names: readonly string[];

  constructor(names: readonly string[], pluginsDir: string) {
    super(`${names.map((name) => `"${name}"`).join(', ')} not found in ${pluginsDir}; run plugrun ls to see the plugins`);
    this.name = 'UnknownPluginsError';
    this.names = names;
  }
}

/**
 * Turns a lock state into diagnostics on the plugin's manifest, or on the
 * lockfile for an entry without a folder. When the code rules already found
 * errors, a failed archive build is most likely their echo (SES rejects the
 * same text), so it is not repeated, and only whether the plugin is pinned
 * is reported.
 */
const lockDiagnostics = (project: ProjectPaths, dir: string, status: LockStatus, codeHasErrors: boolean): Diagnostic[] => {
  const manifest = path.join(dir, 'plugin.json');
  const diagnostics: Diagnostic[] = [];
  const base = { plugin: status.name };
  switch (status.state) {
    case 'invalid':
      if (codeHasErrors && !status.pinned) {
        diagnostics.push({ ...base, file: manifest, severity: 'warning', rule: 'lock-state', message: 'the plugin is not locked, and it cannot be until the errors above are fixed', fix: `fix them, then run: plugrun lock ${status.name}` });
        break;
      }
      if (codeHasErrors) {
        diagnostics.push({ ...base, file: manifest, severity: 'warning', rule: 'lock-state', message: 'the code cannot be built, so plugrun start does not load it, and it cannot be compared with its pin until the errors above are fixed', fix: `fix them, then run: plugrun lock ${status.name}` });
        break;
      }
      diagnostics.push({ ...base, file: manifest, severity: 'error', rule: 'archive-build', message: status.problem ?? 'cannot be built into an archive', fix: 'fix the problem named, then run plugrun check again' });
      break;
    case 'unlocked':
      diagnostics.push({ ...base, file: manifest, severity: 'warning', rule: 'lock-state', message: 'the plugin is not locked, so plugrun start does not load it', fix: `review the code, then run: plugrun lock ${status.name}` });
      break;
    case 'changed':
      diagnostics.push({ ...base, file: manifest, severity: 'warning', rule: 'lock-state', message: `${status.problem ?? 'it changed since it was locked'}, so plugrun start does not load it`, fix: `review the change, then run: plugrun lock ${status.name}` });
      break;
    case 'missing':
      diagnostics.push({ ...base, file: project.lockfile, severity: 'warning', rule: 'lock-state', message: `the lockfile pins plugin "${status.name}", which has no folder in ${project.pluginsDir}`, fix: 'run plugrun lock to remove the entry' });
      break;
    case 'locked':
      break;
  }

  if (status.pending.length > 0 && status.state !== 'missing' && (status.state !== 'invalid' || codeHasErrors)) {
    const command = `plugrun grant ${status.name} ${status.pending.join(' ')}`;
    diagnostics.push({
      ...base,
      file: manifest,
      severity: 'warning',
      rule: 'pending-grant',
      message: `requests ${status.pending.join(', ')}, not granted in the lockfile, so those calls are denied`,
      fix: status.state === 'locked' ? `after review, run: ${command}` : `after plugrun lock ${status.name}, run: ${command}`,
    });
  }
  return diagnostics;
};

/** Checks the named plugins, or every plugin and lockfile entry when `names` is empty. */
export const checkPlugins = async (project: ProjectPaths, names: readonly string[]): Promise<CheckResult> => {
  const discovery = await discoverPlugins(project.pluginsDir);
  const known = new Set([...discovery.valid, ...discovery.invalid].map((plugin) => plugin.name));
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length > 0) throw new UnknownPluginsError(unknown, project.pluginsDir);

  const only = names.length === 0 ? undefined : new Set(names);
  const wanted = (name: string) => only === undefined || only.has(name);
  const diagnostics: Diagnostic[] = [];

  // 1. The project: notes about the plugins folder, and the lockfile.
  if (only === undefined) {
    for (const note of discovery.notes) {
      diagnostics.push({ plugin: null, file: note.file, severity: 'warning', rule: 'plugins-folder', message: note.message, fix: note.fix });
    }
  }
  const lock = await readLockfile(project.lockfile);
  if (lock.state === 'invalid') {
    for (const problem of lock.problems) {
      const where = problem.field === '' ? '' : `${problem.field}: `;
      diagnostics.push({ plugin: null, file: project.lockfile, severity: 'error', rule: 'lockfile', message: `${where}${problem.message}; nothing is granted and no plugin starts`, fix: problem.fix });
    }
  }

  // 2. Manifests that fail validation; their code is not checked, because its entry is not known.
  for (const plugin of discovery.invalid.filter((found) => wanted(found.name))) {
    for (const problem of plugin.problems) {
      const where = problem.field === '' ? '' : `${problem.field}: `;
      diagnostics.push({ plugin: plugin.name, file: problem.file, severity: 'error', rule: 'manifest', message: `${where}${problem.message}`, fix: problem.fix });
    }
  }

  // 3. The code of each valid plugin, and the capabilities it uses.
  const statuses = new Map((await computeLockStatuses(project, discovery, lock, only)).map((status) => [status.name, status]));
  const plugins: PluginCheck[] = [];
  for (const plugin of discovery.valid.filter((found) => wanted(found.name))) {
    const graph = loadModuleGraph(plugin.name, plugin.dir, plugin.manifest.main);
    const firstOfPlugin = diagnostics.length;
    diagnostics.push(...graph.diagnostics);

    const uses: CapabilityUse[] = [];
    for (const module of graph.modules) {
      diagnostics.push(...checkModule(plugin.name, module));
      const inferred = inferCapabilities(plugin.name, plugin.manifest.capabilities, module, makeParentMap(module.program));
      uses.push(...inferred.uses);
      diagnostics.push(...inferred.diagnostics);
    }

    // 4. The lock state.
    const status = statuses.get(plugin.name)!;
    const codeHasErrors = diagnostics.slice(firstOfPlugin).some((diagnostic) => diagnostic.severity === 'error');
    diagnostics.push(...lockDiagnostics(project, plugin.dir, status, codeHasErrors));
    plugins.push({
      name: plugin.name,
      dir: plugin.dir,
      lock: status.state,
      modules: graph.modules.map((module) => module.file),
      dependencies: graph.dependencies,
      requested: status.requested,
      granted: status.granted,
      pending: status.pending,
      uses,
    });
  }
  for (const status of statuses.values()) {
    if (status.state === 'missing') diagnostics.push(...lockDiagnostics(project, project.pluginsDir, status, false));
  }

  const sorted = sortDiagnostics(diagnostics);
  return {
    plugins,
    diagnostics: sorted,
    errors: sorted.filter((diagnostic) => diagnostic.severity === 'error').length,
    warnings: sorted.filter((diagnostic) => diagnostic.severity === 'warning').length,
  };
};

/**
 * The locations of a project's parts: the plugins folder, the lockfile and
 * the runtime state, each movable by a command-line option.
 */

import path from 'node:path';

/** Options that locate a project, as given on the command line. */
export interface ProjectOptions {
  /** Project root; default: the current directory. */
  readonly dir?: string;
  /** Plugins folder; default: `<dir>/plugins`. */
  readonly pluginsDir?: string;
  /** Lockfile; default: `<dir>/plugin.lock.json`. */
  readonly lockfile?: string;
  /** Runtime state folder; default: `<dir>/.plugrun`. */
  readonly stateDir?: string;
}

/** Absolute paths of one project's parts. */
export interface ProjectPaths {
  readonly root: string;
  readonly pluginsDir: string;
  readonly lockfile: string;
  readonly stateDir: string;
  readonly auditLog: string;
}

/** The state folders of one plugin. */
export interface PluginStatePaths {
  /** Root of the fs capability. */
  readonly data: string;
  /** Folder of the plugin's SQLite data. */
  readonly db: string;
  /** File of the plugin's config values. */
  readonly config: string;
}

/** Resolves the project's paths; relative options are taken from the current directory, as shells do. */
export const resolveProject = (options: ProjectOptions, cwd: string = process.cwd()): ProjectPaths => {
  const root = path.resolve(cwd, options.dir ?? '.');
  const stateDir = path.resolve(cwd, options.stateDir ?? path.join(root, '.plugrun'));
  return {
    root,
    pluginsDir: path.resolve(cwd, options.pluginsDir ?? path.join(root, 'plugins')),
    lockfile: path.resolve(cwd, options.lockfile ?? path.join(root, 'plugin.lock.json')),
    stateDir,
    auditLog: path.join(stateDir, 'audit.ndjson'),
  };
};

/** The state paths of one plugin; `name` has passed the plugin-name rule, so it cannot climb out. */
export const pluginStatePaths = (project: ProjectPaths, name: string): PluginStatePaths => ({
  data: path.join(project.stateDir, 'data', name),
  db: path.join(project.stateDir, 'db', name),
  config: path.join(project.stateDir, 'config', `${name}.json`),
});

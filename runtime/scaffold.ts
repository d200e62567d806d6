/**
 * `plugrun new <name>`: writes a new plugin folder. It never overwrites: the
 * folder is created with an exclusive mkdir, and a folder or file of that
 * name that already exists is an error. A write that fails half-way removes
 * the folder it created, so a retry starts clean.
 */

import fs from 'node:fs';
import path from 'node:path';

import { PlugrunError } from '../capabilities/errors.js';
import { PLUGIN_NAME_PATTERN } from './manifest.js';
import type { ProjectPaths } from './project.js';
import { entryFile, manifestFile, readmeFile, testFile, type ScaffoldOptions } from './scaffold-files.js';

/** The folder and files `plugrun new` wrote. */
export interface ScaffoldResult {
  readonly plugin: string;
  /** Absolute path of the new plugin folder. */
  readonly dir: string;
  /** The files written, relative to the plugin folder, with `/` separators. */
  readonly files: readonly string[];
}

/** Error for a plugin folder that already exists; the command exits with a usage error. */
export class PluginExistsError extends PlugrunError {
  constructor(dir: string) {
    super('PLUGRUN_INVALID', `${dir} already exists, and plugrun new never overwrites; choose another name, or move that folder away first`);
    this.name = 'PluginExistsError';
  }
}

/** Writes plugins/<name>/ with a manifest, an entry, a README and a uvu test. */
export const scaffoldPlugin = (project: ProjectPaths, options: ScaffoldOptions): ScaffoldResult => {
  if (!PLUGIN_NAME_PATTERN.test(options.name)) {
    throw new PlugrunError('PLUGRUN_INVALID', `invalid plugin name ${JSON.stringify(options.name)}: use 1 to 64 lowercase letters, digits, "-" or "_", starting with a letter or digit`);
  }
  const dir = path.join(project.pluginsDir, options.name);

  // 1. Claim the folder. mkdir without `recursive` fails when anything has the name, so nothing is overwritten.
  fs.mkdirSync(project.pluginsDir, { recursive: true });
  try {
    fs.mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new PluginExistsError(dir);
    throw error;
  }

  // 2. Write the files; on failure, remove the half-written folder.
  const files: Array<[string, string]> = [
    ['plugin.json', manifestFile(options)],
    ['index.js', entryFile(options)],
    ['README.md', readmeFile(options)],
    [`test/${options.name}.test.mjs`, testFile(options)],
  ];
  try {
    for (const [relative, content] of files) {
      const file = path.join(dir, relative);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content, { flag: 'wx' });
    }
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new PlugrunError('PLUGRUN_FAILED', `failed to write ${dir} (${(error as Error).message}); check that the plugins folder is writable`, { cause: error });
  }

  return { plugin: options.name, dir, files: files.map(([relative]) => relative) };
};

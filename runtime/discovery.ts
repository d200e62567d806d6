/**
 * Finds the plugins in the plugins folder: every sub-folder that contains a
 * plugin.json. One bad plugin never hides the others, so each folder is
 * loaded on its own and its problems are returned next to the valid plugins.
 */

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import type { Problem } from './json-file.js';
import { loadManifest, MANIFEST_FILE, type Manifest } from './manifest.js';

/** A plugin folder with a valid manifest. */
export interface DiscoveredPlugin {
  /** Plugin name, equal to the folder name. */
  readonly name: string;
  /** Absolute path of the plugin folder. */
  readonly dir: string;
  readonly manifest: Manifest;
  /** Exact bytes of plugin.json, for the integrity hash. */
  readonly manifestBytes: Uint8Array;
}

/** A plugin folder whose manifest is invalid; it is not loaded. */
export interface InvalidPlugin {
  /** Folder name, used as the plugin's name because the manifest is invalid. */
  readonly name: string;
  /** Absolute path of the plugin folder. */
  readonly dir: string;
  readonly problems: readonly Problem[];
}

/** Everything found in the plugins folder, sorted by name. */
export interface Discovery {
  readonly valid: readonly DiscoveredPlugin[];
  readonly invalid: readonly InvalidPlugin[];
  /** Notices that exclude no plugin, such as a missing plugins folder or a folder without plugin.json. */
  readonly notes: readonly Problem[];
}

/** Lists and loads every plugin under `pluginsDir`. A missing or unreadable folder gives no plugins and a note. */
export async function discoverPlugins(pluginsDir: string): Promise<Discovery> {
  const root = path.resolve(pluginsDir);
  const notes: Problem[] = [];

  // 1. List the folder. Any failure here is a note, because a project may have no plugins yet.
  let names: string[];
  try {
    names = await readdir(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      notes.push({ file: root, field: '', message: 'plugins folder not found', fix: 'create it, or point --plugins-dir at the folder of your plugins' });
    } else if (code === 'ENOTDIR') {
      notes.push({ file: root, field: '', message: 'plugins folder is a file, not a folder', fix: 'point --plugins-dir at the folder of your plugins' });
    } else {
      notes.push({ file: root, field: '', message: `plugins folder cannot be read (${code ?? String(error)})`, fix: 'check its permissions' });
    }
    return { valid: [], invalid: [], notes };
  }

  // 2. Keep folders, following symbolic links, and skip dot-folders such as .git.
  // A folder without plugin.json is not a plugin, but it is reported, because
  // the manifest may be misnamed or the folder may belong elsewhere.
  const folders: string[] = [];
  for (const name of [...names].sort()) {
    if (name.startsWith('.')) continue;
    const dir = path.join(root, name);
    const stats = await stat(dir).catch(() => undefined);
    if (!stats?.isDirectory()) continue;

    if (!(await hasManifest(dir))) {
      notes.push({
        file: dir,
        field: '',
        message: `folder has no ${MANIFEST_FILE}, so it is not a plugin`,
        fix: `add a ${MANIFEST_FILE} or move the folder out of the plugins folder`,
      });
      continue;
    }
    folders.push(name);
  }

  // 3. Load each manifest on its own, so one bad manifest excludes one plugin only.
  const loaded = await Promise.all(
    folders.map(async (name) => {
      const dir = path.join(root, name);
      return { name, dir, result: await loadManifest(dir, name) };
    }),
  );

  const valid: DiscoveredPlugin[] = [];
  const invalid: InvalidPlugin[] = [];
  for (const { name, dir, result } of loaded) {
    if (result.ok) valid.push({ name, dir, manifest: result.manifest, manifestBytes: result.bytes });
    else invalid.push({ name, dir, problems: result.problems });
  }

  return { valid, invalid, notes };
}

/** Checks whether plugin.json exists in `dir`; an unreadable one counts, so loading it reports why. */
const hasManifest = async (dir: string): Promise<boolean> => {
  try {
    await stat(path.join(dir, MANIFEST_FILE));
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
};

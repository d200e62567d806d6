/**
 * What a plugin's archive needs when it falls back to the browser builds of
 * its dependencies: the files a package's `browser` field maps to `false`,
 * which become empty modules as browserify and webpack make them, and the
 * Node built-ins an archive still imports.
 *
 * compartment-mapper 2.4.0 applies the `browser` field's file replacements
 * when the `browser` condition is set, but skips entries mapped to `false`,
 * so a file a package marks as Node-only (object-inspect's `util.inspect.js`,
 * which requires `util`) would still go into the archive.
 */

import path from 'node:path';
import url from 'node:url';

import { ZipReader } from '@endo/zip';

import { builtinImportIn } from './load-errors.js';
import type { ReadBytes } from './nested-type.js';

/** The export conditions of a build that falls back to browser builds. */
export const BROWSER_CONDITIONS: ReadonlySet<string> = new Set(['browser']);

const isMissing = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/** The package-relative paths, without `./`, that a `browser` field maps to `false`. */
const ignoredFilesOf = (descriptor: unknown): Set<string> => {
  const files = new Set<string>();
  const browser = typeof descriptor === 'object' && descriptor !== null ? (descriptor as { browser?: unknown }).browser : undefined;
  if (typeof browser !== 'object' || browser === null || Array.isArray(browser)) return files;
  for (const [key, value] of Object.entries(browser)) {
    // Only file entries ("./x.js"); entries naming a package or a built-in stay as they are.
    if (value !== false || !key.startsWith('./')) continue;
    const file = path.posix.normalize(key.slice(2));
    files.add(file);
    if (!file.endsWith('.js')) files.add(`${file}.js`);
  }
  return files;
};

/**
 * Makes a lookup that tells whether a module's package maps the module's
 * file to `false` in its package.json `browser` field. Results are memoized
 * per package.
 */
export const makeIgnoredFileLookup = (readBytes: ReadBytes) => {
  const byPackage = new Map<string, Promise<Set<string>>>();

  const read = async (packageRoot: string): Promise<Set<string>> => {
    let bytes: Uint8Array;
    try {
      bytes = await readBytes(path.join(packageRoot, 'package.json'));
    } catch (error) {
      if (isMissing(error)) return new Set();
      throw error;
    }
    try {
      return ignoredFilesOf(JSON.parse(new TextDecoder().decode(bytes)));
    } catch (error) {
      throw new Error(`${path.join(packageRoot, 'package.json')} is not valid JSON (${(error as Error).message})`, { cause: error });
    }
  };

  return async (location: string, packageLocation: string): Promise<boolean> => {
    if (!location.startsWith('file:') || !packageLocation.startsWith('file:')) return false;
    const packageRoot = url.fileURLToPath(packageLocation).replace(/[\\/]+$/, '');
    let pending = byPackage.get(packageRoot);
    if (pending === undefined) {
      pending = read(packageRoot);
      byPackage.set(packageRoot, pending);
    }
    const relative = path.relative(packageRoot, url.fileURLToPath(location)).split(path.sep).join('/');
    return (await pending).has(relative);
  };
};

/** The source of an empty module, which stands for a file mapped to `false`. */
export const emptyModuleSource = (language: 'mjs' | 'cjs'): string =>
  language === 'mjs' ? 'export {};\n' : 'module.exports = {};\n';

interface CompartmentMapShape {
  readonly compartments?: Record<string, { readonly modules?: Record<string, { readonly deferredError?: unknown }> }>;
}

/**
 * Lists the Node built-ins an archive's CommonJS modules require. The
 * archive holds them as deferred errors, which throw only when the
 * `require` runs, so the build succeeds but the plugin may fail when loaded.
 */
export const builtinRequiresIn = (archiveBytes: Uint8Array): string[] => {
  const reader = new ZipReader(archiveBytes);
  const map = JSON.parse(new TextDecoder().decode(reader.read('compartment-map.json'))) as CompartmentMapShape;
  const found = new Set<string>();
  for (const compartment of Object.values(map.compartments ?? {})) {
    for (const module of Object.values(compartment.modules ?? {})) {
      if (typeof module.deferredError !== 'string') continue;
      const specifier = builtinImportIn(module.deferredError);
      if (specifier !== undefined) found.add(specifier);
    }
  }
  return [...found].sort();
};

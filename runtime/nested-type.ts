/**
 * Node decides whether a `.js` file is an ES module or CommonJS from the
 * `type` field of the nearest package.json above it, which may sit in a
 * folder inside the package (`dist/esm/package.json` holding
 * `{"type": "module"}` is a common way to ship both). compartment-mapper
 * 2.4.0 reads such a nested package.json only for a package's entry points,
 * so the archive builder asks this lookup for every `.js` module.
 */

import path from 'node:path';
import url from 'node:url';

/** Reads a file's bytes; throws an error with code `ENOENT` or `ENOTDIR` when it is missing. */
export type ReadBytes = (filePath: string) => Promise<Uint8Array>;

const isMissing = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/**
 * Makes a lookup that returns the language Node would use for a `.js`
 * module, `mjs` or `cjs`, when a package.json between the module and its
 * package root decides it, or undefined when the package's own package.json
 * does (compartment-mapper already applies that one). A nested package.json
 * without `type` makes its folder CommonJS, as in Node. Results are memoized
 * per folder.
 */
export const makeNestedTypeLookup = (readBytes: ReadBytes) => {
  const byFolder = new Map<string, Promise<'mjs' | 'cjs' | undefined>>();

  const typeOfFolder = (folder: string, packageRoot: string): Promise<'mjs' | 'cjs' | undefined> => {
    if (folder === packageRoot || !folder.startsWith(packageRoot + path.sep)) return Promise.resolve(undefined);
    let pending = byFolder.get(folder);
    if (pending === undefined) {
      pending = readNearest(folder, packageRoot);
      byFolder.set(folder, pending);
    }
    return pending;
  };

  const readNearest = async (folder: string, packageRoot: string): Promise<'mjs' | 'cjs' | undefined> => {
    let bytes: Uint8Array;
    try {
      bytes = await readBytes(path.join(folder, 'package.json'));
    } catch (error) {
      if (!isMissing(error)) throw error;
      return typeOfFolder(path.dirname(folder), packageRoot);
    }
    let descriptor: unknown;
    try {
      descriptor = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      throw new Error(`${path.join(folder, 'package.json')} is not valid JSON (${(error as Error).message})`, { cause: error });
    }
    const type = typeof descriptor === 'object' && descriptor !== null ? (descriptor as { type?: unknown }).type : undefined;
    return type === 'module' ? 'mjs' : 'cjs';
  };

  return async (location: string, packageLocation: string): Promise<'mjs' | 'cjs' | undefined> => {
    if (!location.startsWith('file:') || !location.endsWith('.js')) return undefined;
    const file = url.fileURLToPath(location);
    const packageRoot = url.fileURLToPath(packageLocation).replace(/[\\/]+$/, '');
    return typeOfFolder(path.dirname(file), packageRoot);
  };
};

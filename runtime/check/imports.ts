/**
 * Resolves the imports of a plugin's own modules the way its archive build
 * will, without building it. An import leads to a module inside the plugin
 * folder, to a package installed in the plugin's own node_modules, or to
 * something a plugin can never import: a Node built-in, a file outside the
 * folder, a package it does not have. The last kind becomes a diagnostic
 * with the alternative.
 */

import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

import type { Diagnostic, Position } from './diagnostic.js';
import { BUILTIN_ALTERNATIVES, DEFAULT_BUILTIN_ALTERNATIVE } from './globals.js';

/** The plugin folder and its package.json, which every resolution in one plugin shares. */
export interface PluginFolder {
  readonly name: string;
  /** Real path of the plugin folder. */
  readonly root: string;
  /** Package names the plugin's package.json declares as dependencies. */
  readonly declared: ReadonlySet<string>;
}

/** The target of one import. */
export type Resolution =
  | { readonly kind: 'module'; readonly file: string }
  | { readonly kind: 'dependency'; readonly packageName: string }
  | { readonly kind: 'rejected'; readonly diagnostic: Diagnostic };

/** Suffixes tried after a relative specifier, in the order compartment-mapper's search tries them. */
const SEARCH_SUFFIXES = ['', '.js', '.json', '/index.js', '/index.json'];

const builtinNames = new Set(builtinModules);

/** Returns the built-in module name a specifier names (`node:fs/promises` is `fs`), or undefined. */
export const builtinOf = (specifier: string): string | undefined => {
  const bare = specifier.startsWith('node:') ? specifier.slice('node:'.length) : specifier;
  const top = bare.split('/')[0]!;
  if (specifier.startsWith('node:')) return top;
  return builtinNames.has(top) ? top : undefined;
};

/** Returns the package a bare specifier names: `marked` or `@scope/name`. */
const packageNameOf = (specifier: string): string => {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
};

const isInside = (root: string, candidate: string): boolean => candidate === root || candidate.startsWith(root + path.sep);

const isFile = (candidate: string): boolean => {
  try {
    return fs.statSync(candidate).isFile();
  } catch {
    return false;
  }
};

/** Describes an import in messages: `import "fs"` or `require("fs")`. */
const describe = (specifier: string, viaRequire: boolean): string =>
  viaRequire ? `require(${JSON.stringify(specifier)})` : `import ${JSON.stringify(specifier)}`;

/** Resolves one static import or `require` of a literal specifier made by `fromFile`. */
export const resolveImport = (
  folder: PluginFolder,
  fromFile: string,
  specifier: string,
  position: Position,
  viaRequire: boolean,
): Resolution => {
  const reject = (rule: string, message: string, fix: string): Resolution => ({
    kind: 'rejected',
    diagnostic: { plugin: folder.name, file: fromFile, ...position, severity: 'error', rule, message, fix },
  });
  const what = describe(specifier, viaRequire);

  // 1. Paths and file URLs: inside the plugin folder, or rejected.
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:')) {
    if (specifier.startsWith('/') || specifier.startsWith('file:')) {
      return reject('outside-import', `${what} names an absolute path, outside the plugin folder`, 'copy the module into the plugin folder and import it with a relative path such as "./lib/util.js"');
    }
    return resolveRelative(folder, fromFile, specifier, what, reject);
  }

  // 2. A package the plugin declares in its package.json wins over a built-in of that name, as in the archive build.
  const packageName = packageNameOf(specifier);
  if (!specifier.startsWith('node:') && folder.declared.has(packageName)) {
    const installed = path.join(folder.root, 'node_modules', packageName, 'package.json');
    if (!isFile(installed)) {
      return reject('missing-dependency', `${what}: package "${packageName}" is declared in package.json but not installed in the plugin's node_modules`, `run npm install in ${folder.root}`);
    }
    return { kind: 'dependency', packageName };
  }

  // 3. Built-ins, then packages the plugin does not declare.
  const builtin = builtinOf(specifier);
  if (builtin !== undefined) {
    return reject('builtin-import', `${what} imports a Node built-in, which plugins cannot load`, BUILTIN_ALTERNATIVES[builtin] ?? DEFAULT_BUILTIN_ALTERNATIVE);
  }
  return reject(
    'outside-import',
    `${what}: package "${packageName}" is not a dependency in the plugin's own package.json, and plugins cannot import packages from outside their folder`,
    `add it to "dependencies" in ${path.join(folder.root, 'package.json')} and run npm install in ${folder.root}`,
  );
};

const resolveRelative = (
  folder: PluginFolder,
  fromFile: string,
  specifier: string,
  what: string,
  reject: (rule: string, message: string, fix: string) => Resolution,
): Resolution => {
  const target = path.resolve(path.dirname(fromFile), specifier);
  if (!isInside(folder.root, target)) {
    return reject('outside-import', `${what} leaves the plugin folder`, 'copy the module into the plugin folder, or install it as a package in the plugin\'s own node_modules');
  }

  for (const suffix of SEARCH_SUFFIXES) {
    const candidate = target + suffix;
    if (!isFile(candidate)) continue;

    // A link inside the folder may lead out of it; the archive build rejects that too.
    const real = fs.realpathSync(candidate);
    if (!isInside(folder.root, real)) {
      return reject('outside-import', `${what} is a symbolic link to ${real}, outside the plugin folder`, 'copy the file into the plugin folder instead of linking to it');
    }
    const relative = path.relative(folder.root, real).split(path.sep);
    if (relative[0] === 'node_modules') return { kind: 'dependency', packageName: relative[1] ?? '' };
    return { kind: 'module', file: real };
  }
  return reject('missing-module', `${what}: no such file in the plugin folder`, 'correct the path; relative imports name the file with its extension, such as "./lib/util.js"');
};

/** Reads the dependency names a plugin's package.json declares; none when it has no package.json or an unreadable one. */
export const readDeclaredDependencies = (root: string): Set<string> => {
  let descriptor: unknown;
  try {
    descriptor = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  } catch {
    // A missing package.json declares nothing; an invalid one fails the archive build, which check reports.
    return new Set();
  }
  const names = new Set<string>();
  for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
    const section = (descriptor as Record<string, unknown> | null)?.[field];
    if (section !== null && typeof section === 'object') for (const name of Object.keys(section)) names.add(name);
  }
  return names;
};

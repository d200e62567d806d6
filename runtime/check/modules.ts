/**
 * Finds and parses a plugin's own modules for `plugrun check`: its entry
 * (the manifest's `main`) and every module inside its folder that the entry
 * reaches through static imports, `export ... from`, and in CommonJS files
 * `require` of a literal path.
 *
 * The packages in the plugin's node_modules are not parsed. Their imports
 * are checked to be declared and installed, but their code is the library
 * author's. Libraries commonly probe for `process`, `Buffer` or `require`
 * behind guards, which would bury the plugin author's own findings. Whether they load at all is still checked, by the archive build
 * that `plugrun check` runs for the lock state.
 */

import fs from 'node:fs';
import path from 'node:path';

import { analyze, type ScopeManager } from 'eslint-scope';
import type { Node, Program } from 'estree';
import { full } from 'acorn-walk';

import type { Diagnostic } from './diagnostic.js';
import { readDeclaredDependencies, resolveImport, type PluginFolder } from './imports.js';
import { parseModule, positionOfNode, type ModuleLanguage } from './parse.js';

/** Max size of one module that is parsed; a larger one is reported and skipped, so a huge file cannot stall check. */
export const MAX_MODULE_BYTES = 4 * 1024 * 1024;

/** Max number of own modules followed in one plugin. */
export const MAX_MODULES = 2000;

/** One parsed module of the plugin, with its scopes. */
export interface ParsedModule {
  /** Real absolute path. */
  readonly file: string;
  readonly language: ModuleLanguage;
  readonly source: string;
  readonly program: Program;
  readonly scopes: ScopeManager;
}

/** The plugin's own modules and the problems found while following its imports. */
export interface ModuleGraph {
  readonly modules: readonly ParsedModule[];
  /** Packages of the plugin's node_modules that its modules import. */
  readonly dependencies: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
}

/** One import a module makes with a literal specifier. */
interface StaticImport {
  readonly specifier: string;
  readonly node: Node;
  readonly viaRequire: boolean;
}

/** Decides how a file is evaluated: `.cjs` and `.js` in a `"type": "commonjs"` package are CommonJS. */
const languageOf = (file: string, packageType: string | undefined): ModuleLanguage | undefined => {
  const extension = path.extname(file);
  if (extension === '.mjs') return 'mjs';
  if (extension === '.cjs') return 'cjs';
  if (extension === '.js') return packageType === 'commonjs' ? 'cjs' : 'mjs';
  return undefined;
};

const readPackageType = (root: string): string | undefined => {
  try {
    const type = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { type?: unknown }).type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
};

/** Lists the imports with literal specifiers, and in CommonJS the `require` calls that reach the module wrapper's `require`. */
const collectImports = (program: Program, scopes: ScopeManager, language: ModuleLanguage): StaticImport[] => {
  const imports: StaticImport[] = [];
  for (const statement of program.body) {
    if (statement.type === 'ImportDeclaration' || ((statement.type === 'ExportNamedDeclaration' || statement.type === 'ExportAllDeclaration') && statement.source)) {
      const source = statement.source!;
      if (typeof source.value === 'string') imports.push({ specifier: source.value, node: source, viaRequire: false });
    }
  }
  if (language !== 'cjs') return imports;

  const globalScope = scopes.globalScope;
  const unresolvedRequire = new Set(globalScope?.through.filter((reference) => reference.identifier.name === 'require').map((reference) => reference.identifier));
  full(program as never, (node) => {
    const call = node as unknown as Node;
    if (call.type !== 'CallExpression' || call.callee.type !== 'Identifier' || !unresolvedRequire.has(call.callee)) return;
    const [argument] = call.arguments;
    if (argument?.type === 'Literal' && typeof argument.value === 'string') {
      imports.push({ specifier: argument.value, node: argument, viaRequire: true });
    }
  });
  return imports;
};

/** Follows the plugin's own modules from its entry, parsing each once. */
export const loadModuleGraph = (name: string, pluginDir: string, main: string): ModuleGraph => {
  const root = fs.realpathSync(pluginDir);
  const folder: PluginFolder = { name, root, declared: readDeclaredDependencies(root) };
  const packageType = readPackageType(root);
  const diagnostics: Diagnostic[] = [];
  const modules: ParsedModule[] = [];
  const dependencies = new Set<string>();

  const entry = path.join(root, main);
  const manifestFile = path.join(root, 'plugin.json');
  let entryReal: string;
  try {
    entryReal = fs.realpathSync(entry);
  } catch {
    diagnostics.push({ plugin: name, file: manifestFile, severity: 'error', rule: 'missing-entry', message: `"main" names ${JSON.stringify(main)}, which does not exist in the plugin folder`, fix: 'create the entry module, or set "main" to the path of the existing one' });
    return { modules, dependencies: [], diagnostics };
  }
  if (entryReal !== root && !entryReal.startsWith(root + path.sep)) {
    diagnostics.push({ plugin: name, file: manifestFile, severity: 'error', rule: 'outside-import', message: `"main" (${JSON.stringify(main)}) is a symbolic link to ${entryReal}, outside the plugin folder`, fix: 'copy the entry module into the plugin folder instead of linking to it' });
    return { modules, dependencies: [], diagnostics };
  }

  const queue = [entryReal];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const file = queue.shift()!;
    const language = languageOf(file, packageType);
    // JSON and other data modules have no code to check.
    if (language === undefined) continue;
    if (modules.length >= MAX_MODULES) {
      diagnostics.push({ plugin: name, file, severity: 'warning', rule: 'not-checked', message: `not checked: the plugin has more than ${MAX_MODULES} modules`, fix: 'split the plugin, or bundle its code into fewer modules' });
      break;
    }

    const size = fs.statSync(file).size;
    if (size > MAX_MODULE_BYTES) {
      diagnostics.push({ plugin: name, file, severity: 'warning', rule: 'not-checked', message: `not checked: the module is ${size} bytes, more than ${MAX_MODULE_BYTES}`, fix: 'split the module, or review it by hand' });
      continue;
    }

    const source = fs.readFileSync(file, 'utf8');
    const parsed = parseModule(source, language);
    if (!parsed.ok) {
      diagnostics.push({ plugin: name, file, ...parsed.position, severity: 'error', rule: 'syntax-error', message: `syntax error: ${parsed.message}`, fix: 'correct the syntax; plugins are ES modules, evaluated in strict mode' });
      continue;
    }

    const scopes = analyze(parsed.program, {
      ecmaVersion: 2022,
      sourceType: language === 'mjs' ? 'module' : 'script',
      // A direct eval would otherwise leave every name in its scope unresolved; the eval rule reports it.
      ignoreEval: true,
      fallback: 'iteration',
    });
    modules.push({ file, language, source, program: parsed.program, scopes });

    for (const found of collectImports(parsed.program, scopes, language)) {
      const resolution = resolveImport(folder, file, found.specifier, positionOfNode(found.node), found.viaRequire);
      if (resolution.kind === 'rejected') diagnostics.push(resolution.diagnostic);
      else if (resolution.kind === 'dependency') dependencies.add(resolution.packageName);
      else if (!seen.has(resolution.file)) {
        seen.add(resolution.file);
        queue.push(resolution.file);
      }
    }
  }

  return { modules, dependencies: [...dependencies].sort(), diagnostics };
};

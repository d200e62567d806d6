/**
 * Infers the capabilities a plugin's code evidently uses, from `ctx` calls
 * whose first argument is known from the source, and compares them with
 * what its manifest requests. A use the manifest does not request is a
 * warning: the call will be denied unless someone grants it anyway.
 *
 * The calls inferred: `ctx.net.fetch` and `ctx.net.json` with a URL whose
 * scheme and host are known, `ctx.fs.*` with a path whose folder is known,
 * `ctx.db.createTable`, `insert`, `select`, `update` and `delete` with a
 * known table, and `ctx.plugins.call` with a known plugin name. Raw
 * `ctx.db.query` SQL is not inferred: only SQLite can tell which tables a
 * statement touches, which is how the runtime decides it. How `ctx` is
 * recognised is described in ctx-values.ts.
 *
 * The needs are built and compared with the same code the runtime uses
 * (URL and path checks, `GrantSet`, `neededCapability`), so check and
 * runtime agree on which capability string covers a call.
 */

import type { CallExpression, Identifier, Node } from 'estree';

import { findTableNameProblem } from '../../capabilities/db-schema.js';
import { PlugrunError } from '../../capabilities/errors.js';
import { checkPluginPath } from '../../capabilities/fs-path.js';
import { GrantSet, neededCapability } from '../../capabilities/grant-set.js';
import { PLUGIN_NAME_PATTERN } from '../../capabilities/msg.js';
import { checkRequestUrl, needOfUrl } from '../../capabilities/net-host.js';
import type { Need } from '../../capabilities/types.js';
import type { Diagnostic } from './diagnostic.js';
import { makeCtxResolver, type KnownString } from './ctx-values.js';
import type { ParsedModule } from './modules.js';
import { positionOfNode } from './parse.js';
import type { ParentMap } from './syntax.js';

/** One capability a call in the code needs. */
export interface CapabilityUse {
  /** The capability string whose grant allows the call, such as `net:api.example.org`. */
  readonly capability: string;
  /** The call, as `ctx.net.fetch`. */
  readonly call: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** True when a capability the manifest requests covers the call. */
  readonly requested: boolean;
}

const FS_ACCESS: Readonly<Record<string, 'read' | 'write'>> = {
  readFile: 'read',
  list: 'read',
  stat: 'read',
  writeFile: 'write',
  appendFile: 'write',
  deleteFile: 'write',
};

/** fs methods whose path must name a file inside a folder. */
const FILE_METHODS = new Set(['readFile', 'writeFile', 'appendFile', 'deleteFile']);

const DB_TABLE_METHODS = new Set(['createTable', 'insert', 'select', 'update', 'delete']);

/** Result of reading one call: its need, a reason it will fail, or nothing known. */
type CallNeed = { readonly need: Need } | { readonly invalid: string } | undefined;

const invalidMessage = (error: unknown): string => {
  if (error instanceof PlugrunError) return error.message;
  throw error;
};

/** Returns the need of `ctx.net.fetch` or `ctx.net.json`, from the URL or from a start that names scheme and host. */
const netNeed = (url: KnownString, label: string): CallNeed => {
  let text = url.text;
  if (!url.complete) {
    const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*[/?#]/i.exec(text);
    if (authority === null) return undefined;
    text = authority[0];
  }
  try {
    return { need: needOfUrl(checkRequestUrl(text, label), label) };
  } catch (error) {
    return url.complete ? { invalid: invalidMessage(error) } : undefined;
  }
};

/** Returns the need of a `ctx.fs` call, from the path or from a start that names its folder. */
const fsNeed = (method: string, path: KnownString): CallNeed => {
  const access = FS_ACCESS[method];
  if (access === undefined) return undefined;
  const label = `ctx.fs.${method} path`;

  if (!path.complete) {
    const folderEnd = path.text.lastIndexOf('/');
    if (folderEnd <= 0) return undefined;
    try {
      return { need: { kind: 'fs', access, path: `${checkPluginPath(path.text.slice(0, folderEnd), label)}/` } };
    } catch {
      return undefined;
    }
  }

  try {
    const checked = checkPluginPath(path.text, label);
    if (checked === '') return { invalid: `${label} names the data folder itself, which no grant covers; name a folder in it, as in "exports"` };
    if (FILE_METHODS.has(method) && !checked.includes('/')) {
      return { invalid: `${label} ${JSON.stringify(checked)} is not inside a folder, but grants name only folders; put the file in one, as in "exports/report.txt"` };
    }
    return { need: { kind: 'fs', access, path: method === 'list' ? `${checked}/` : checked } };
  } catch (error) {
    return { invalid: invalidMessage(error) };
  }
};

const dbNeed = (method: string, table: KnownString): CallNeed => {
  if (!DB_TABLE_METHODS.has(method) || !table.complete) return undefined;
  const problem = findTableNameProblem(table.text);
  if (problem !== undefined) return { invalid: `ctx.db.${method} table ${JSON.stringify(table.text)} ${problem}` };
  return { need: { kind: 'db', table: table.text.toLowerCase() } };
};

const msgNeed = (method: string, plugin: KnownString): CallNeed => {
  if (method !== 'call' || !plugin.complete) return undefined;
  if (!PLUGIN_NAME_PATTERN.test(plugin.text)) return { invalid: `ctx.plugins.call plugin ${JSON.stringify(plugin.text)} is not a valid plugin name` };
  return { need: { kind: 'msg', plugin: plugin.text } };
};

/** Reads a `ctx.<namespace>.<method>(first, ...)` call: its namespace, method and first argument. */
const readCtxCall = (call: CallExpression, resolver: ReturnType<typeof makeCtxResolver>) => {
  const callee = call.callee;
  if (callee.type !== 'MemberExpression') return undefined;
  const method = callee.computed ? resolver.knownString(callee.property) : { text: (callee.property as Identifier).name, complete: true };
  if (method === undefined || !method.complete) return undefined;

  const target = resolver.classify(callee.object);
  if (target?.kind !== 'namespace') return undefined;
  return { namespace: target.name, method: method.text, first: resolver.knownString(call.arguments[0]) };
};

/**
 * Finds the capability uses in one module and reports those the manifest
 * does not request, and calls whose known argument the runtime will reject.
 */
export const inferCapabilities = (
  plugin: string,
  requested: readonly string[],
  module: ParsedModule,
  parents: ParentMap,
): { uses: CapabilityUse[]; diagnostics: Diagnostic[] } => {
  const resolver = makeCtxResolver(module.scopes, parents);
  const grants = new GrantSet(requested);
  const uses: CapabilityUse[] = [];
  const diagnostics: Diagnostic[] = [];

  for (const node of parents.nodes as Node[]) {
    if (node.type !== 'CallExpression') continue;
    const call = readCtxCall(node, resolver);
    if (call === undefined || call.first === undefined) continue;

    let result: CallNeed;
    if (call.namespace === 'net' && (call.method === 'fetch' || call.method === 'json')) result = netNeed(call.first, `ctx.net.${call.method} url`);
    else if (call.namespace === 'fs') result = fsNeed(call.method, call.first);
    else if (call.namespace === 'db') result = dbNeed(call.method, call.first);
    else if (call.namespace === 'plugins') result = msgNeed(call.method, call.first);
    if (result === undefined) continue;

    const position = positionOfNode(node);
    const name = `ctx.${call.namespace}.${call.method}`;
    if ('invalid' in result) {
      diagnostics.push({ plugin, file: module.file, ...position, severity: 'warning', rule: 'invalid-argument', message: `${name} will fail with PLUGRUN_INVALID: ${result.invalid}`, fix: 'correct the argument; docs/plugin-api.md describes what each ctx method takes' });
      continue;
    }

    const capability = neededCapability(result.need);
    const covered = grants.covers(result.need);
    uses.push({ capability, call: name, file: module.file, ...position, requested: covered });
    if (covered) continue;
    diagnostics.push({
      plugin,
      file: module.file,
      ...position,
      severity: 'warning',
      rule: 'unrequested-capability',
      message: `${name} needs ${capability}, which plugin.json does not request, so the call is denied unless it is granted`,
      fix: `add "${capability}" to "capabilities" in plugin.json, then lock the plugin and run: plugrun grant ${plugin} ${capability}`,
    });
  }
  return { uses, diagnostics };
};

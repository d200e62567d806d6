/**
 * Replaces `process.env.NODE_ENV` in library code with the string
 * `"production"` at lock time.
 *
 * Plugins have no `process` global, because it carries authority (exit,
 * environment, file descriptors). Yet many libraries read
 * `process.env.NODE_ENV` at load time to choose a development or production
 * build, and would fail with a ReferenceError. Bundlers such as webpack and
 * esbuild replace the expression with a constant for the same reason; plugrun
 * does it when it builds the archive, so the integrity covers the result.
 *
 * Only reads of the global `process` are replaced: a module that binds its
 * own `process` (a parameter, a variable, an import) keeps its code, and an
 * assignment to `process.env.NODE_ENV` is left as it is.
 */

import type { NodePath } from '@babel/traverse';
import type { MemberExpression, Node } from '@babel/types';

import { applySourceEdits, parseModuleSource, traverse, type SourceEdit } from './source-parse.js';

/** The value `process.env.NODE_ENV` reads as inside a plugin. */
export const PLUGIN_NODE_ENV = 'production';

const mentionPattern = /\bprocess\s*\.\s*env\b/;

const isNamed = (node: Node, name: string): boolean =>
  (node.type === 'Identifier' && node.name === name) || (node.type === 'StringLiteral' && node.value === name);

/** True for `process.env.NODE_ENV` and `process.env['NODE_ENV']`. */
const isNodeEnvRead = (node: MemberExpression): boolean => {
  const { object, property } = node;
  if (object.type !== 'MemberExpression') return false;
  if (!isNamed(property, 'NODE_ENV') || (property.type === 'Identifier' && node.computed)) return false;
  if (!isNamed(object.property, 'env') || (object.property.type === 'Identifier' && object.computed)) return false;
  return object.object.type === 'Identifier' && object.object.name === 'process';
};

/** True when the expression is written to, deleted or updated rather than read. */
const isWritten = (path: NodePath<MemberExpression>): boolean => {
  const parent = path.parent;
  if (parent.type === 'AssignmentExpression' && parent.left === path.node) return true;
  if (parent.type === 'UpdateExpression') return true;
  return parent.type === 'UnaryExpression' && parent.operator === 'delete';
};

/**
 * Returns `source` with every read of the global `process.env.NODE_ENV`
 * replaced by `"production"`. Text without such a read, and text Babel cannot
 * parse, is returned unchanged.
 */
export const replaceNodeEnv = (source: string, language: 'mjs' | 'cjs'): string => {
  if (!mentionPattern.test(source) || !source.includes('NODE_ENV')) return source;
  const ast = parseModuleSource(source, language);
  if (ast === undefined) return source;

  const edits: SourceEdit[] = [];
  traverse(ast, {
    MemberExpression(path) {
      const { node } = path;
      if (!isNodeEnvRead(node) || isWritten(path)) return;
      if (path.scope.hasBinding('process', { noGlobals: true })) return;
      if (node.start == null || node.end == null) return;
      edits.push({ start: node.start, end: node.end, text: JSON.stringify(PLUGIN_NODE_ENV) });
      path.skip();
    },
  });
  return applySourceEdits(source, edits);
};

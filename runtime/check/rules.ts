/**
 * The code rules of `plugrun check`, run over one parsed module: dynamic
 * `import()`, `eval`, the `Function` constructor, `with`, globals the
 * compartment lacks, and text that SES rejects wherever it sits.
 *
 * Names are resolved with scope analysis (eslint-scope), so a local
 * variable, parameter or import that shadows `process` or `eval` is not
 * reported, nor is a property such as `job.process`. A reference inside
 * `typeof` is not reported either, since probing for a global is safe.
 */

import type { Reference } from 'eslint-scope';
import type { Identifier, Node } from 'estree';

import { findEvalTextEdits } from '../evasion.js';
import { scanModuleSource } from '../source-scan.js';
import type { Diagnostic, Position } from './diagnostic.js';
import { BUILTIN_ALTERNATIVES, COMMONJS_MODULE_NAMES, COMPARTMENT_GLOBALS, DEFAULT_BUILTIN_ALTERNATIVE, HOST_GLOBAL_ALTERNATIVES } from './globals.js';
import { builtinOf } from './imports.js';
import type { ParsedModule } from './modules.js';
import { positionOfNode } from './parse.js';
import { makeParentMap, staticString, type ParentMap } from './syntax.js';

/** Context shared by the rules of one module. */
interface RuleContext {
  readonly plugin: string;
  readonly module: ParsedModule;
  readonly parents: ParentMap;
  readonly diagnostics: Diagnostic[];
}

const report = (
  context: RuleContext,
  node: Node,
  severity: Diagnostic['severity'],
  rule: string,
  message: string,
  fix: string,
): void => {
  context.diagnostics.push({ plugin: context.plugin, file: context.module.file, ...positionOfNode(node), severity, rule, message, fix });
};

/** Runs every code rule over one module. */
export const checkModule = (plugin: string, module: ParsedModule): Diagnostic[] => {
  const context: RuleContext = { plugin, module, parents: makeParentMap(module.program), diagnostics: [] };

  const evalCalls = checkSyntaxRules(context);
  checkGlobals(context, evalCalls);
  checkRejectedText(context, evalCalls);
  return context.diagnostics;
};

/** Reports `import()` and `with`; returns the positions of dynamic imports, which the text rule skips. */
const checkSyntaxRules = (context: RuleContext): Position[] => {
  const dynamicImports: Position[] = [];
  for (const node of context.parents.nodes) {
    if (node.type === 'ImportExpression') {
      dynamicImports.push(positionOfNode(node));
      const specifier = staticString(node.source);
      const what = specifier === undefined ? 'import(...)' : `import(${JSON.stringify(specifier)})`;
      const builtin = specifier === undefined ? undefined : builtinOf(specifier);
      let fix = 'import modules statically at the top of the module, as in: import { helper } from "./lib/helper.js"';
      if (builtin !== undefined) fix = BUILTIN_ALTERNATIVES[builtin] ?? DEFAULT_BUILTIN_ALTERNATIVE;
      report(context, node, 'error', 'dynamic-import', `${what} loads a module at run time, which SES rejects: the module does not load`, fix);
    } else if (node.type === 'WithStatement') {
      report(context, node, 'error', 'with', 'a with statement is a syntax error in strict code, and SES evaluates every module as strict code', 'name the object explicitly, as in: const { a, b } = object');
    }
  }
  return dynamicImports;
};

/** True when the identifier is the operand of `typeof`, which is safe for any name. */
const isTypeofOperand = (parents: ParentMap, identifier: Node): boolean => {
  const parent = parents.get(identifier);
  return parent?.type === 'UnaryExpression' && parent.operator === 'typeof';
};

/** Reports globals the compartment lacks, `eval` and `Function`; returns the positions of direct eval calls. */
const checkGlobals = (context: RuleContext, skipTextAt: Position[]): void => {
  const { module, parents } = context;
  const through: Reference[] = module.scopes.globalScope?.through ?? [];

  for (const reference of through) {
    const identifier = reference.identifier as Identifier;
    const name = identifier.name;
    if (isTypeofOperand(parents, identifier)) continue;
    if (module.language === 'cjs' && COMMONJS_MODULE_NAMES.has(name)) continue;

    if (name === 'eval' || name === 'Function') {
      checkEvaluator(context, identifier, name, identifier, skipTextAt);
      continue;
    }
    if (name === 'globalThis') {
      checkGlobalThisMember(context, identifier, skipTextAt);
      continue;
    }
    if (COMPARTMENT_GLOBALS.has(name)) continue;
    reportMissingGlobal(context, identifier, name);
  }
};

const reportMissingGlobal = (context: RuleContext, node: Node, name: string): void => {
  const alternative = HOST_GLOBAL_ALTERNATIVES[name];
  if (alternative === undefined) {
    report(context, node, 'warning', 'unknown-global', `${name} is not defined in the plugin's compartment, so using it throws a ReferenceError`, `declare or import ${name}; docs/plugin-api.md lists the globals a plugin has`);
    return;
  }

  // `require("fs")` in an ES module: name the built-in's alternative, which is what the author needs.
  const parent = context.parents.get(node);
  if (name === 'require' && parent?.type === 'CallExpression' && parent.callee === node) {
    const specifier = staticString(parent.arguments[0]);
    const builtin = specifier === undefined ? undefined : builtinOf(specifier);
    if (builtin !== undefined) {
      report(context, node, 'error', 'host-global', `require(${JSON.stringify(specifier)}): ES modules have no require, and "${builtin}" is a Node built-in that plugins cannot load`, BUILTIN_ALTERNATIVES[builtin] ?? DEFAULT_BUILTIN_ALTERNATIVE);
      return;
    }
  }
  report(context, node, 'error', 'host-global', `${name} does not exist in the plugin's compartment, so using it throws a ReferenceError`, alternative);
};

/** `globalThis.process` and `globalThis.eval(...)` are the globals they name. */
const checkGlobalThisMember = (context: RuleContext, identifier: Identifier, skipTextAt: Position[]): void => {
  const member = context.parents.get(identifier);
  if (member?.type !== 'MemberExpression' || member.object !== identifier) return;
  const name = member.computed ? staticString(member.property) : (member.property as Identifier).name;
  if (name === undefined || isTypeofOperand(context.parents, member)) return;

  if (name === 'eval' || name === 'Function') checkEvaluator(context, member, name, member, skipTextAt);
  else if (Object.hasOwn(HOST_GLOBAL_ALTERNATIVES, name)) reportMissingGlobal(context, member, name);
};

/**
 * Reports a use of `eval` or `Function`. SES rejects the text of a direct
 * `eval(...)` call, so the module does not load. An indirect eval and the
 * `Function` constructor do run, confined to the compartment, but what
 * they run is text that neither check nor a reviewer of the locked code can inspect.
 */
const checkEvaluator = (context: RuleContext, node: Node, name: 'eval' | 'Function', reference: Node, skipTextAt: Position[]): void => {
  const parent = context.parents.get(node);
  const called = (parent?.type === 'CallExpression' || parent?.type === 'NewExpression') && parent.callee === node;

  if (name === 'eval') {
    const direct = called && parent?.type === 'CallExpression' && reference.type === 'Identifier';
    if (direct) {
      skipTextAt.push(positionOfNode(node));
      report(context, node, 'error', 'eval', 'eval(...) is a direct eval, which SES rejects: the module does not load', 'parse data with JSON.parse, and write code as functions in the plugin\'s modules');
      return;
    }
    report(context, node, 'warning', 'eval', 'eval runs text as code: it stays inside the compartment, but no one reviewing the locked code sees what it runs', 'parse data with JSON.parse, and write code as functions in the plugin\'s modules');
    return;
  }

  if (!called) return;
  const how = parent?.type === 'NewExpression' ? 'new Function(...)' : 'Function(...)';
  report(context, node, 'warning', 'function-constructor', `${how} makes a function from text: it stays inside the compartment, but no one reviewing the locked code sees what it runs`, 'write the function in the plugin\'s modules, and parse data with JSON.parse');
};

/**
 * Reports `eval(` text that SES rejects and that the lock does not rewrite,
 * such as a method named `eval`. The archive build rewrites it in comments,
 * strings, template text and regular expressions (runtime/evasion.ts), so
 * those places are skipped. A real `eval(...)` call is skipped too, because
 * the eval rule already reports it.
 */
const checkRejectedText = (context: RuleContext, skipAt: readonly Position[]): void => {
  const { module } = context;
  const skipped = new Set(skipAt.map((position) => `${position.line}:${position.column}`));
  const rewritten = findEvalTextEdits(module.source, module.language);
  const lineStarts = [0];
  for (let index = module.source.indexOf('\n'); index !== -1; index = module.source.indexOf('\n', index + 1)) lineStarts.push(index + 1);
  const isRewritten = (line: number, column: number): boolean => {
    const offset = (lineStarts[line - 1] ?? 0) + column - 1;
    return rewritten.some((edit) => offset >= edit.start && offset < edit.end);
  };

  for (const finding of scanModuleSource(module.source, module.file, module.language)) {
    if (finding.kind !== 'direct-eval') continue;
    if (skipped.has(`${finding.line}:${finding.column}`)) continue;
    if (isRewritten(finding.line, finding.column)) continue;
    context.diagnostics.push({
      plugin: context.plugin,
      file: module.file,
      line: finding.line,
      column: finding.column,
      severity: 'error',
      rule: 'ses-rejected-text',
      message: '"eval(" appears in the code outside comments and strings, and SES rejects text that looks like a direct eval call: the module does not load',
      fix: 'rename it so that "eval" is not followed by "(", for example a method eval() becomes evaluate()',
    });
  }
};

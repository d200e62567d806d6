/**
 * Recognises `ctx` and the values a call passes to it in a plugin's module,
 * for the capability inference of `plugrun check`. It is a heuristic over
 * the source text, not an evaluation, and it follows these bindings:
 *
 * - A parameter named `ctx`, in any function.
 * - The first parameter of a top-level function named `start` or `stop`,
 *   whatever it is called.
 * - The second parameter of each function in a top-level object named
 *   `commands`, whatever it is called. The function may be written in the
 *   object or be a top-level function that the object names.
 * - A `const` bound to `ctx`, to `ctx.<namespace>`, or destructured from
 *   `ctx` (`const { db } = ctx`), and a destructured `ctx` parameter
 *   (`start({ db, log })`).
 *
 * A value is known when it is a string literal, a template literal, a `+`
 * of such parts, or a `const` bound to one; a value whose start is known
 * (`` `exports/${name}.md` ``) gives that start as a prefix. Anything else,
 * such as `ctx` passed to a helper under another name or a URL read from
 * config, is not followed, so the inference can miss uses but does not
 * invent them.
 */

import type { Reference, ScopeManager, Variable } from 'eslint-scope';
import type { Function as FunctionNode, Identifier, Node, Pattern } from 'estree';

import type { ParentMap, Argument } from './syntax.js';

/** A value recognised as `ctx` itself or as one of its namespaces. */
export type CtxValue = { readonly kind: 'ctx' } | { readonly kind: 'namespace'; readonly name: string };

/** A string value known from the source: the whole text, or only how it starts. */
export interface KnownString {
  readonly text: string;
  /** False when only the start of the value is known. */
  readonly complete: boolean;
}

/** Bound to the scopes and parents of one module. */
export interface CtxResolver {
  /** Classifies an expression as `ctx` or `ctx.<namespace>`, or undefined. */
  classify(node: Argument): CtxValue | undefined;
  /** Returns the string an expression is known to hold, or undefined. */
  knownString(node: Argument): KnownString | undefined;
}

/** Max depth of the `const` chains followed, so a cycle or a long chain costs little. */
const MAX_DEPTH = 8;

const functionTypes = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/** Makes the resolver for one module. */
export const makeCtxResolver = (scopes: ScopeManager, parents: ParentMap): CtxResolver => {
  const referenceOf = new Map<Identifier, Reference>();
  for (const scope of scopes.scopes) {
    for (const reference of scope.references) referenceOf.set(reference.identifier as Identifier, reference);
  }
  const variableOf = (identifier: Identifier): Variable | null | undefined => referenceOf.get(identifier)?.resolved;

  const isTopLevel = (node: Node): boolean => {
    let parent = parents.get(node);
    while (parent !== undefined && parent.type !== 'Program') {
      if (functionTypes.has(parent.type) || parent.type === 'ClassBody') return false;
      parent = parents.get(parent);
    }
    return true;
  };

  /** The name a function is declared or bound under at the top level, if any. */
  const topLevelNameOf = (fn: FunctionNode): string | undefined => {
    if (fn.type === 'FunctionDeclaration') return fn.id && isTopLevel(fn) ? fn.id.name : undefined;
    const parent = parents.get(fn);
    if (parent?.type === 'VariableDeclarator' && parent.id.type === 'Identifier' && isTopLevel(parent)) return parent.id.name;
    return undefined;
  };

  /** True when `fn` is a command: a value of the top-level `commands` object, inline or by name. */
  const isCommand = (fn: FunctionNode): boolean => {
    const commandsObjects = parents.nodes.filter(
      (node) => node.type === 'VariableDeclarator' && node.id.type === 'Identifier' && node.id.name === 'commands' && node.init?.type === 'ObjectExpression' && isTopLevel(node),
    );
    for (const declarator of commandsObjects) {
      if (declarator.type !== 'VariableDeclarator' || declarator.init?.type !== 'ObjectExpression') continue;
      for (const property of declarator.init.properties) {
        if (property.type !== 'Property') continue;
        if (property.value === fn) return true;
        if (property.value.type === 'Identifier') {
          const variable = variableOf(property.value);
          const definition = variable?.defs[0];
          if (definition?.node === fn || (definition?.node.type === 'VariableDeclarator' && definition.node.init === fn)) return true;
        }
      }
    }
    return false;
  };

  /** Classifies a binding made by a parameter. */
  const classifyParameter = (identifier: Identifier, fn: FunctionNode): CtxValue | undefined => {
    const index = fn.params.findIndex((param) => containsNode(param, identifier, parents));
    const param = fn.params[index];
    if (param === undefined) return undefined;

    const name = topLevelNameOf(fn);
    const inCtxPosition = (index === 0 && (name === 'start' || name === 'stop')) || (index === 1 && isCommand(fn));
    if (param === identifier) return identifier.name === 'ctx' || inCtxPosition ? { kind: 'ctx' } : undefined;

    // `start({ db, log })`: one level of destructuring of the ctx parameter.
    if (param.type === 'ObjectPattern' && inCtxPosition) return namespaceFromPattern(param, identifier);
    return undefined;
  };

  const classifyVariable = (variable: Variable, identifier: Identifier, depth: number): CtxValue | undefined => {
    if (variable.defs.length !== 1) return undefined;
    const definition = variable.defs[0]!;
    if (definition.type === 'Parameter') return classifyParameter(identifier, definition.node as FunctionNode);
    if (definition.type !== 'Variable' || (definition.parent as { kind?: string } | null)?.kind !== 'const') return undefined;

    const declarator = definition.node as Node;
    if (declarator.type !== 'VariableDeclarator') return undefined;
    if (declarator.id.type === 'Identifier') return classifyAt(declarator.init, depth + 1);
    if (declarator.id.type === 'ObjectPattern' && classifyAt(declarator.init, depth + 1)?.kind === 'ctx') {
      return namespaceFromPattern(declarator.id, identifier);
    }
    return undefined;
  };

  const classifyAt = (node: Argument, depth: number): CtxValue | undefined => {
    if (node === null || node === undefined || depth > MAX_DEPTH) return undefined;
    if (node.type === 'Identifier') {
      const variable = variableOf(node);
      const definitionName = variable?.defs[0]?.name as Identifier | undefined;
      return variable && definitionName ? classifyVariable(variable, definitionName, depth) : undefined;
    }
    if (node.type === 'MemberExpression') {
      const property = node.computed ? knownAt(node.property, depth + 1) : { text: (node.property as Identifier).name, complete: true };
      if (property === undefined || !property.complete) return undefined;
      return classifyAt(node.object, depth + 1)?.kind === 'ctx' ? { kind: 'namespace', name: property.text } : undefined;
    }
    return undefined;
  };

  const knownAt = (node: Argument, depth: number): KnownString | undefined => {
    if (node === null || node === undefined || depth > MAX_DEPTH) return undefined;
    if (node.type === 'Literal') return typeof node.value === 'string' ? { text: node.value, complete: true } : undefined;
    if (node.type === 'TemplateLiteral') {
      let text = '';
      for (const [index, quasi] of node.quasis.entries()) {
        text += quasi.value.cooked ?? '';
        const expression = node.expressions[index];
        if (expression === undefined) break;
        const part = knownAt(expression, depth + 1);
        if (part === undefined) return { text, complete: false };
        text += part.text;
        if (!part.complete) return { text, complete: false };
      }
      return { text, complete: true };
    }
    if (node.type === 'BinaryExpression' && node.operator === '+') {
      const left = knownAt(node.left, depth + 1);
      if (left === undefined || !left.complete) return left;
      const right = knownAt(node.right, depth + 1);
      if (right === undefined) return { text: left.text, complete: false };
      return { text: left.text + right.text, complete: right.complete };
    }
    if (node.type === 'Identifier') {
      const definition = variableOf(node)?.defs;
      if (definition?.length !== 1) return undefined;
      const only = definition[0]!;
      if (only.type !== 'Variable' || (only.parent as { kind?: string } | null)?.kind !== 'const') return undefined;
      const declarator = only.node as Node;
      if (declarator.type !== 'VariableDeclarator' || declarator.id.type !== 'Identifier') return undefined;
      return knownAt(declarator.init, depth + 1);
    }
    return undefined;
  };

  return {
    classify: (node) => classifyAt(node, 0),
    knownString: (node) => knownAt(node, 0),
  };
};

/** Returns `ctx.<key>` for an identifier bound by `{ key }` or `{ key: identifier }` in a pattern over `ctx`. */
const namespaceFromPattern = (pattern: Pattern, identifier: Identifier): CtxValue | undefined => {
  if (pattern.type !== 'ObjectPattern') return undefined;
  for (const property of pattern.properties) {
    if (property.type !== 'Property' || property.computed || property.key.type !== 'Identifier') continue;
    const value = property.value.type === 'AssignmentPattern' ? property.value.left : property.value;
    if (value === identifier) return { kind: 'namespace', name: property.key.name };
  }
  return undefined;
};

/** True when `inner` is `outer` or lies inside it. */
const containsNode = (outer: Node, inner: Node, parents: ParentMap): boolean => {
  for (let node: Node | undefined = inner; node !== undefined; node = parents.get(node)) {
    if (node === outer) return true;
  }
  return false;
};

/**
 * Small helpers over ESTree syntax trees for the rules of `plugrun check`:
 * a parent map, and the string value of an expression when the source text
 * alone fixes it.
 */

import type { Expression, Node, Program, SpreadElement } from 'estree';

/** Every node of a tree in source order, and the parent of each. */
export interface ParentMap {
  readonly nodes: readonly Node[];
  get(node: Node): Node | undefined;
}

const isNode = (value: unknown): value is Node =>
  value !== null && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string';

/** Walks the whole tree once and records each node's parent. */
export const makeParentMap = (program: Program): ParentMap => {
  const parents = new Map<Node, Node>();
  const nodes: Node[] = [];
  const stack: Node[] = [program];

  while (stack.length > 0) {
    const node = stack.pop()!;
    nodes.push(node);
    const children: Node[] = [];
    for (const [key, value] of Object.entries(node)) {
      if (key === 'loc' || key === 'range') continue;
      if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) children.push(item);
      } else if (isNode(value)) {
        children.push(value);
      }
    }
    for (const child of children) parents.set(child, node);
    // Reversed onto the stack, so nodes come out in source order.
    stack.push(...children.reverse());
  }
  return { nodes, get: (node) => parents.get(node) };
};

/** The argument of a call, as ESTree types it. */
export type Argument = Expression | SpreadElement | Node | null | undefined;

/** Returns the value of a string literal or a template literal without substitutions, else undefined. */
export const staticString = (node: Argument): string | undefined => {
  if (node?.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node?.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0]?.value.cooked ?? undefined;
  return undefined;
};

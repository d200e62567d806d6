/**
 * The start order of plugins. A plugin starts after all of its dependencies.
 * Among plugins that are ready at the same time, the lower `loadOrder` starts
 * first and then the name decides, so the order never depends on the order
 * in which folders are listed.
 *
 * Plugins that cannot start are excluded with a reason: members of a
 * dependency cycle, plugins that name a missing dependency, and, transitively,
 * plugins that depend on an excluded or unavailable plugin.
 */

import { compareText } from '../capabilities/compare.js';

/** The fields of one plugin that decide its place in the order. A `Manifest` fits. */
export interface OrderInput {
  readonly name: string;
  readonly dependencies?: readonly string[];
  /** Non-negative integer, 0 when absent. */
  readonly loadOrder?: number;
}

/** A plugin left out of the start order, and why. */
export interface Exclusion {
  readonly plugin: string;
  readonly reason: string;
}

/** Start order and exclusions, each sorted so that equal input gives equal output. */
export interface StartPlan {
  /** Plugin names, dependencies before their dependents. */
  readonly order: string[];
  /** Plugins excluded here, sorted by name. Plugins passed as `unavailable` are not repeated. */
  readonly excluded: Exclusion[];
}

/**
 * Computes the start order of `plugins`. `unavailable` lists plugins that
 * exist but will not start (an invalid manifest, not locked), so that their
 * dependents are excluded naming them instead of calling them missing. A
 * plugin named in both lists is treated as unavailable.
 */
export function planStartOrder(
  plugins: readonly OrderInput[],
  unavailable: readonly Exclusion[] = [],
): StartPlan {
  const unavailableNames = new Set(unavailable.map((entry) => entry.plugin));
  const byName = new Map(plugins.filter((plugin) => !unavailableNames.has(plugin.name)).map((plugin) => [plugin.name, plugin]));
  const reasons = new Map<string, string>();
  const dependenciesOf = (name: string): readonly string[] => byName.get(name)?.dependencies ?? [];

  // 1. Cycles: every member of a cycle is excluded, naming a cycle through itself.
  const installedDependenciesOf = (name: string) => dependenciesOf(name).filter((dep) => byName.has(dep));
  for (const component of findStronglyConnected([...byName.keys()], installedDependenciesOf)) {
    const members = new Set(component);
    const isCycle = component.length > 1 || dependenciesOf(component[0]!).includes(component[0]!);
    if (!isCycle) continue;
    for (const name of component) {
      const cycle = shortestCycle(name, (from) => dependenciesOf(from).filter((dep) => members.has(dep)));
      reasons.set(name, `dependency cycle ${cycle.join(' -> ')}`);
    }
  }

  // 2. Missing dependencies, reported by the plugin that names them.
  for (const [name, plugin] of byName) {
    if (reasons.has(name)) continue;
    const missing = (plugin.dependencies ?? []).find((dep) => !byName.has(dep) && !unavailableNames.has(dep));
    if (missing !== undefined) reasons.set(name, `depends on "${missing}", which is not installed`);
  }

  // 3. Exclude, transitively, every plugin that depends on an excluded or
  // unavailable one. The reason names the first such dependency it lists.
  const dependents = new Map<string, string[]>();
  for (const [name, plugin] of byName) {
    for (const dep of plugin.dependencies ?? []) {
      const list = dependents.get(dep) ?? [];
      list.push(name);
      dependents.set(dep, list);
    }
  }
  const isBlocked = (dep: string) => reasons.has(dep) || unavailableNames.has(dep);
  const queue = [...reasons.keys(), ...unavailableNames];
  for (let head = 0; head < queue.length; head += 1) {
    for (const dependent of dependents.get(queue[head]!) ?? []) {
      if (reasons.has(dependent) || !byName.has(dependent)) continue;
      const blocker = dependenciesOf(dependent).find(isBlocked)!;
      reasons.set(dependent, `depends on "${blocker}", which is excluded`);
      queue.push(dependent);
    }
  }

  // 4. Kahn's algorithm over the rest, which has no cycles left. Among the
  // plugins whose dependencies have all started, the lowest (loadOrder, name)
  // starts next, one at a time, because each start can make a plugin with a
  // lower loadOrder ready.
  const waitingOn = new Map<string, number>();
  const ready: string[] = [];
  for (const name of byName.keys()) {
    if (reasons.has(name)) continue;
    const count = new Set(dependenciesOf(name)).size;
    waitingOn.set(name, count);
    if (count === 0) ready.push(name);
  }

  const order: string[] = [];
  while (ready.length > 0) {
    let best = 0;
    for (let i = 1; i < ready.length; i += 1) {
      if (compareReady(byName.get(ready[i]!)!, byName.get(ready[best]!)!) < 0) best = i;
    }
    const next = ready.splice(best, 1)[0]!;
    order.push(next);

    for (const dependent of new Set(dependents.get(next))) {
      const count = waitingOn.get(dependent);
      if (count === undefined) continue;
      waitingOn.set(dependent, count - 1);
      if (count === 1) ready.push(dependent);
    }
  }

  const excluded = [...reasons].map(([plugin, reason]) => ({ plugin, reason }));
  excluded.sort((a, b) => compareText(a.plugin, b.plugin));
  return { order, excluded };
}

const compareReady = (a: OrderInput, b: OrderInput): number =>
  (a.loadOrder ?? 0) - (b.loadOrder ?? 0) || compareText(a.name, b.name);

/** Tarjan's algorithm, iterative so a long dependency chain cannot overflow the stack. */
function findStronglyConnected(nodes: readonly string[], edgesOf: (node: string) => readonly string[]): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  for (const root of nodes) {
    if (index.has(root)) continue;
    const frames: { node: string; edges: readonly string[]; next: number }[] = [];
    const enter = (node: string) => {
      index.set(node, counter);
      lowLink.set(node, counter);
      counter += 1;
      stack.push(node);
      onStack.add(node);
      frames.push({ node, edges: edgesOf(node), next: 0 });
    };
    enter(root);

    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const edge = frame.edges[frame.next];
      if (edge !== undefined) {
        frame.next += 1;
        if (!index.has(edge)) enter(edge);
        else if (onStack.has(edge)) lowLink.set(frame.node, Math.min(lowLink.get(frame.node)!, index.get(edge)!));
        continue;
      }

      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent !== undefined) lowLink.set(parent.node, Math.min(lowLink.get(parent.node)!, lowLink.get(frame.node)!));
      if (lowLink.get(frame.node) !== index.get(frame.node)) continue;

      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== frame.node);
      components.push(component);
    }
  }
  return components;
}

/** Returns the shortest cycle from `start` back to itself, as `[start, ..., start]`, preferring names that sort first. */
function shortestCycle(start: string, edgesOf: (node: string) => readonly string[]): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head += 1) {
    const node = queue[head]!;
    for (const next of [...edgesOf(node)].sort(compareText)) {
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return [...path, start];
      }
      if (previous.has(next)) continue;
      previous.set(next, node);
      queue.push(next);
    }
  }
  // Unreachable for a member of a cycle; kept so the function is total.
  return [start, start];
}

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { planStartOrder, type OrderInput } from '../../runtime/order.js';

const plugin = (name: string, dependencies: string[] = [], loadOrder?: number): OrderInput => ({
  name,
  dependencies,
  ...(loadOrder === undefined ? {} : { loadOrder }),
});

const reasonOf = (plan: ReturnType<typeof planStartOrder>, name: string): string | undefined =>
  plan.excluded.find((entry) => entry.plugin === name)?.reason;

test('order starts a chain from its end', () => {
  const plan = planStartOrder([plugin('a', ['b']), plugin('b', ['c']), plugin('c')]);
  assert.equal(plan.order, ['c', 'b', 'a']);
  assert.equal(plan.excluded, []);
});

test('order starts a diamond base first and top last', () => {
  const plan = planStartOrder([plugin('top', ['left', 'right']), plugin('right', ['base']), plugin('left', ['base']), plugin('base')]);
  assert.equal(plan.order, ['base', 'left', 'right', 'top']);
});

test('order sorts independent plugins by loadOrder then name', () => {
  const plan = planStartOrder([plugin('c', [], 1), plugin('b'), plugin('a', [], 1), plugin('d', [], 0), plugin('e', [], 2)]);
  assert.equal(plan.order, ['b', 'd', 'a', 'c', 'e']);
});

test('order treats absent loadOrder as 0', () => {
  const plan = planStartOrder([plugin('z'), plugin('a', [], 1)]);
  assert.equal(plan.order, ['z', 'a']);
});

test('order lets dependencies override loadOrder', () => {
  const plan = planStartOrder([plugin('early', ['late'], 0), plugin('late', [], 5), plugin('middle', [], 3)]);
  assert.equal(plan.order, ['middle', 'late', 'early']);
});

test('order starts a low loadOrder plugin once ready', () => {
  // "urgent" becomes ready after "base" starts and then goes before "other".
  const plan = planStartOrder([plugin('base', [], 1), plugin('other', [], 2), plugin('urgent', ['base'], 0)]);
  assert.equal(plan.order, ['base', 'urgent', 'other']);
});

test('order ignores input order', () => {
  const plugins = [plugin('a', ['c']), plugin('b', [], 1), plugin('c'), plugin('d', ['c'], 1)];
  const expected = planStartOrder(plugins).order;
  assert.equal(planStartOrder([...plugins].reverse()).order, expected);
  assert.equal(expected, ['c', 'a', 'b', 'd']);
});

test('order excludes a cycle of two', () => {
  const plan = planStartOrder([plugin('a', ['b']), plugin('b', ['a']), plugin('free')]);
  assert.equal(plan.order, ['free']);
  assert.is(reasonOf(plan, 'a'), 'dependency cycle a -> b -> a');
  assert.is(reasonOf(plan, 'b'), 'dependency cycle b -> a -> b');
  assert.is(plan.excluded.length, 2);
});

test('order excludes a cycle of three', () => {
  const plan = planStartOrder([plugin('a', ['b']), plugin('b', ['c']), plugin('c', ['a']), plugin('d')]);
  assert.equal(plan.order, ['d']);
  assert.is(reasonOf(plan, 'a'), 'dependency cycle a -> b -> c -> a');
  assert.is(reasonOf(plan, 'b'), 'dependency cycle b -> c -> a -> b');
  assert.is(reasonOf(plan, 'c'), 'dependency cycle c -> a -> b -> c');
});

test('order names the shortest cycle in a tangle', () => {
  const plan = planStartOrder([plugin('a', ['b', 'c']), plugin('b', ['c']), plugin('c', ['a'])]);
  assert.is(reasonOf(plan, 'a'), 'dependency cycle a -> c -> a');
  assert.is(reasonOf(plan, 'b'), 'dependency cycle b -> c -> a -> b');
});

test('order excludes a self-dependency', () => {
  const plan = planStartOrder([plugin('loop', ['loop']), plugin('fine')]);
  assert.equal(plan.order, ['fine']);
  assert.equal(plan.excluded, [{ plugin: 'loop', reason: 'dependency cycle loop -> loop' }]);
});

test('order excludes a missing dependency', () => {
  const plan = planStartOrder([plugin('needy', ['ghost']), plugin('fine')]);
  assert.equal(plan.order, ['fine']);
  assert.equal(plan.excluded, [{ plugin: 'needy', reason: 'depends on "ghost", which is not installed' }]);
});

test('order excludes dependents of a cycle', () => {
  const plan = planStartOrder([plugin('a', ['b']), plugin('b', ['a']), plugin('user', ['a']), plugin('fine')]);
  assert.equal(plan.order, ['fine']);
  assert.is(reasonOf(plan, 'user'), 'depends on "a", which is excluded');
  assert.equal(plan.excluded.map((entry) => entry.plugin), ['a', 'b', 'user']);
});

test('order excludes dependents transitively', () => {
  // "top" is listed first, so a single pass would visit it before "middle" is excluded.
  const plan = planStartOrder([plugin('top', ['middle']), plugin('middle', ['bottom']), plugin('bottom', ['ghost'])]);
  assert.equal(plan.order, []);
  assert.is(reasonOf(plan, 'bottom'), 'depends on "ghost", which is not installed');
  assert.is(reasonOf(plan, 'middle'), 'depends on "bottom", which is excluded');
  assert.is(reasonOf(plan, 'top'), 'depends on "middle", which is excluded');
});

test('order excludes dependents of an unavailable plugin', () => {
  const unavailable = [{ plugin: 'broken', reason: 'invalid manifest' }];
  const plan = planStartOrder([plugin('user', ['broken']), plugin('fine')], unavailable);
  assert.equal(plan.order, ['fine']);
  assert.equal(plan.excluded, [{ plugin: 'user', reason: 'depends on "broken", which is excluded' }]);
});

test('order excludes a plugin marked unavailable', () => {
  const unavailable = [{ plugin: 'unlocked', reason: 'not locked' }];
  const plan = planStartOrder([plugin('unlocked'), plugin('user', ['unlocked']), plugin('fine')], unavailable);
  assert.equal(plan.order, ['fine']);
  assert.equal(plan.excluded, [{ plugin: 'user', reason: 'depends on "unlocked", which is excluded' }]);
});

test('order excludes only a cycle of four', () => {
  const plan = planStartOrder([plugin('a', ['b']), plugin('b', ['c']), plugin('c', ['d']), plugin('d', ['a']), plugin('e', ['f']), plugin('f')]);
  assert.equal(plan.order, ['f', 'e']);
  assert.equal(plan.excluded.map((entry) => entry.plugin), ['a', 'b', 'c', 'd']);
});

test('order handles a long chain', () => {
  const plugins = Array.from({ length: 5_000 }, (_, i) => plugin(`p${i}`, i === 0 ? [] : [`p${i - 1}`]));
  const plan = planStartOrder(plugins);
  assert.is(plan.order.length, 5_000);
  assert.is(plan.order[0], 'p0');
  assert.is(plan.order[4_999], 'p4999');
});

test('order of nothing is empty', () => {
  assert.equal(planStartOrder([]), { order: [], excluded: [] });
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { closestName, formatJsonPath, formatProblem, quoteValue } from '../../runtime/json-file.js';

test('formatJsonPath writes dots, indexes and quoted keys', () => {
  assert.is(formatJsonPath([]), '');
  assert.is(formatJsonPath(['capabilities', 2]), 'capabilities[2]');
  assert.is(formatJsonPath(['plugins', 'notes', 'grants', 0]), 'plugins.notes.grants[0]');
  assert.is(formatJsonPath(['plugins', 'db-core', 'limits']), 'plugins.db-core.limits');
  assert.is(formatJsonPath(['plugins', 'a b']), 'plugins["a b"]');
});

test('quoteValue escapes terminal controls', () => {
  assert.is(quoteValue('a\u001b[2Jb'), '"a\\u001b[2Jb"');
  assert.is(quoteValue('x\u202ey'), '"x\\u202ey"');
  assert.is(quoteValue({ a: '\u2028' }), '{"a":"\\u2028"}');
  assert.is(quoteValue(5), '5');
  assert.is(quoteValue(undefined), 'undefined');
});

test('quoteValue shortens long values', () => {
  assert.ok(quoteValue('x'.repeat(1_000)).length < 200);
  assert.ok(quoteValue(Array.from({ length: 1_000 }, () => 1)).endsWith('...'));
});

test('closestName suggests near misses only', () => {
  const known = ['capabilities', 'dependencies', 'loadOrder'];
  assert.is(closestName('capabilites', known), 'capabilities');
  assert.is(closestName('dependancies', known), 'dependencies');
  assert.is(closestName('loadorder', known), 'loadOrder');
  assert.is(closestName('lodaOrder', known), 'loadOrder');
  assert.is(closestName('homepage', known), undefined);
});

test('formatProblem names file, field and fix', () => {
  const problem = { file: 'plugins/notes/plugin.json', field: 'version', message: 'invalid semantic version "1"', fix: 'use "1.0.0"' };
  assert.is(formatProblem(problem), 'plugins/notes/plugin.json: version: invalid semantic version "1"; use "1.0.0"');
  assert.is(formatProblem({ ...problem, field: '' }), 'plugins/notes/plugin.json: invalid semantic version "1"; use "1.0.0"');
});

test.run();

/**
 * npm-style dependencies inside plugins, on small packages committed under
 * test/fixtures/libraries: each loader rule runs through the real CLI
 * (`plugrun lock`, then `plugrun call`), and where Node's own result is the
 * reference, the same module also runs in plain Node for comparison.
 */

import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { copyFixture, lockProject, makeProject, runCli, type TestProject } from '../helpers/project.js';

const fixtures = [
  'censored-text',
  'trailing-comment',
  'require-cycle',
  'nested-type',
  'module-field',
  'export-pattern',
  'node-env',
  'global-object',
  'own-constructor',
  'globals',
];

let project: TestProject;

test.before(async () => {
  project = makeProject();
  for (const name of fixtures) copyFixture(project, 'libraries', name);
  await lockProject(project.dir);
});

test.after(() => project.remove());

const callPlugin = async (name: string, command = 'run'): Promise<any> => {
  const result = await runCli(['call', name, command], { cwd: project.dir });
  assert.is(result.code, 0, `plugrun call ${name} ${command} failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
};

// Plain Node imports the plugin's own index.js, resolving the same node_modules.
const callInNode = (name: string, command = 'run'): unknown => {
  const entry = path.join(project.dir, 'plugins', name, 'index.js');
  const script = `const m = await import(${JSON.stringify(`file://${entry}`)}); process.stdout.write(JSON.stringify(await m.commands[${JSON.stringify(command)}]()));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(result.status, 0, `node failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
};

test('import( and HTML comments in text load', async () => {
  const value = await callPlugin('censored-text', 'read');
  assert.equal(value.markers, ['<!--', '-->', 'eval(', 'import(x)']);
  assert.is(value.template, 'eval(4)');
  assert.is(value.matches, true);
  assert.equal(value, callInNode('censored-text', 'read'));
});

test('CommonJS ending in a comment loads', async () => {
  const value = await callPlugin('trailing-comment', 'read');
  assert.equal(value, { line: 42 });
  assert.equal(value, callInNode('trailing-comment', 'read'));
});

test('require cycle sees replaced exports', async () => {
  const value = await callPlugin('require-cycle');
  assert.equal(value, { inRange: true, outOfRange: false, intersects: true, rangeName: 'Range', comparatorName: 'Comparator' });
  assert.equal(value, callInNode('require-cycle'));
});

test('nested package.json type is honoured', async () => {
  const value = await callPlugin('nested-type');
  assert.equal(value, { kind: 'module', value: 'from a nested ES module', legacy: 'commonjs' });
  assert.equal(value, callInNode('nested-type'));
});

test('module field leaves .js CommonJS under exports', async () => {
  const value = await callPlugin('module-field');
  assert.equal(value, { answer: 42 });
  assert.equal(value, callInNode('module-field'));
});

test('self-matching export pattern resolves', async () => {
  const value = await callPlugin('export-pattern');
  assert.equal(value, { sum: 5, doubled: 42 });
  assert.equal(value, callInNode('export-pattern'));
});

test('process.env.NODE_ENV reads production', async () => {
  const value = await callPlugin('node-env');
  assert.is(value.build, 'production');
  assert.is(value.computed, 'production');
  assert.is(value.own, 'own binding');
  assert.is(value.message, 'process.env.NODE_ENV in a string stays as written');
  assert.is(value.processType, 'undefined');
});

test('global and self alias own global', async () => {
  const value = await callPlugin('global-object');
  assert.is(value.globalIsGlobalThis, true);
  assert.is(value.selfIsGlobalThis, true);
  assert.is(value.calls, 1);
  assert.is(value.pluginGlobal, true);
  assert.is(value.sharedWithPlugin, false);
});

test('require.extensions and own constructor work', async () => {
  const value = await callPlugin('own-constructor');
  assert.is(value.registered, 'function');
  assert.is(value.text, 'Decimal(5)');
  assert.is(value.ownConstructor, true);
  assert.is(value.objectPrototypeFrozen, true);
  assert.is(value.objectPrototypeAssignment, 'TypeError');
  assert.is(value.objectConstructorIntact, true);
});

test('authority-free globals behave as in Node', async () => {
  const value = await callPlugin('globals', 'check');
  assert.is(value.dateNow, true);
  assert.is(value.newDate, true);
  assert.is(value.dateIso, '2024-02-29T12:00:00.000Z');
  assert.is(value.random, true);
  assert.is(value.randomVaries, true);
  assert.is(value.getRandomValues, true);
  assert.is(value.randomUUID, true);
  assert.equal(value.textEncoder, [0xc3, 0xa9, 0xe2, 0x82, 0xac]);
  assert.is(value.textDecoder, 'é€');
  assert.is(value.url, 'https://example.org/b?x=1#h');
  assert.is(value.searchParams, 'q=a+b&n=1&n=2');
  assert.equal(value.searchParamsGet, ['1', '2']);
  assert.is(value.btoa, 'cGx1Z3J1bg==');
  assert.is(value.atob, 'plugrun');
  assert.is(value.structuredClone, true);
  assert.is(value.intl, '1,234,567.891');
  assert.equal(value.timers.order, ['microtask', 'timeout']);
  assert.is(value.timers.ticks, 2);
  assert.equal(value.absent, []);
});

test('globals hand out no host object', async () => {
  const value = await callPlugin('globals', 'reach');
  assert.ok(value.reached > 500, `only ${value.reached} objects reached`);
  assert.equal(value.badConstructors, []);
  assert.equal(value.notFrozen, []);
  assert.equal(value.hostNames, []);
  assert.equal(value.inertThrows, [true, true, true, true]);
  assert.is(value.getRandomValuesConstructorIsInert, true);
  assert.is(value.getRandomValuesConstructorIsNotFunction, true);
  assert.is(value.asyncInert, true);
  assert.is(value.functionEvaluatesHere, true);
  assert.is(value.dateConstructorIsInert, true);
});

test.run();

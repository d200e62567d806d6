/**
 * The fallback to the browser builds of a plugin's dependencies, on small
 * packages committed under test/fixtures/libraries: a build that needs a
 * Node built-in is made again with the `browser` export condition and
 * package.json `browser` field, and `plugrun lock` says so. A dependency
 * without a browser build still fails to lock, naming the import.
 */

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { copyFixture, makeProject, parseNdjson, runCli, type TestProject } from '../helpers/project.js';

const note = (name: string) => `${name} uses the browser builds of its dependencies`;

const withFixtures = (names: readonly string[], body: (project: TestProject) => Promise<void>) => async () => {
  const project = makeProject();
  try {
    for (const name of names) copyFixture(project, 'libraries', name);
    await body(project);
  } finally {
    project.remove();
  }
};

const lock = async (project: TestProject) => runCli(['lock'], { cwd: project.dir });

const callPlugin = async (project: TestProject, name: string): Promise<any> => {
  const result = await runCli(['call', name, 'run'], { cwd: project.dir });
  assert.is(result.code, 0, `plugrun call ${name} run failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
};

const integrityOf = (project: TestProject, name: string): string =>
  JSON.parse(fs.readFileSync(path.join(project.dir, 'plugin.lock.json'), 'utf8')).plugins[name].integrity;

test('a dependency whose default export imports node:crypto locks with its browser export', withFixtures(['browser-condition'], async (project) => {
  const result = await lock(project);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, 'locked browser-condition@1.0.0');
  assert.match(result.stderr, note('browser-condition'));
  assert.equal(await callPlugin(project, 'browser-condition'), { build: 'browser', length: 12, hex: true });
}));

test('start rebuilds the browser build to the locked integrity when the cache is gone', withFixtures(['browser-condition'], async (project) => {
  assert.is((await lock(project)).code, 0);
  const locked = integrityOf(project, 'browser-condition');
  fs.rmSync(path.join(project.dir, '.plugrun/archives'), { recursive: true });
  const started = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(started.code, 0, started.stderr);
  const events = parseNdjson(started.stdout);
  assert.ok(events.some((event) => event.message === 'tokens browser 8'), started.stdout);
  assert.ok(fs.existsSync(path.join(project.dir, '.plugrun/archives/browser-condition.zip')), 'start rebuilt the archive');

  // A second lock builds again from the files and pins the same integrity.
  const again = await lock(project);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, 'browser-condition@1.0.0 is already locked');
  assert.match(again.stderr, note('browser-condition'));
  assert.is(integrityOf(project, 'browser-condition'), locked);
}));

test('a file the browser field maps to false becomes an empty module', withFixtures(['browser-field'], async (project) => {
  const result = await lock(project);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, note('browser-field'));
  const value = await callPlugin(project, 'browser-field');
  assert.equal(value, { text: '{"a":[1,"two"]}', inspector: 'none' });

  // Plain Node loads the Node build, which reaches util.inspect.
  const entry = path.join(project.dir, 'plugins/browser-field/index.js');
  const script = `const m = await import(${JSON.stringify(`file://${entry}`)}); process.stdout.write(JSON.stringify(m.commands.run()));`;
  const node = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(node.status, 0, node.stderr);
  assert.equal(JSON.parse(node.stdout), { text: '{"a":[1,"two"]}', inspector: 'util' });
}));

test('a dependency without a browser build that imports a built-in still fails to lock', withFixtures(['node-only', 'browser-condition'], async (project) => {
  const result = await lock(project);
  assert.is.not(result.code, 0);
  assert.match(result.stderr, 'failed to lock node-only: plugin "node-only" cannot import "node:fs": it is a Node built-in');
  assert.not.match(result.stderr, note('node-only'));
  // The other plugin is locked as usual, so the failure is this plugin's alone.
  assert.match(result.stderr, note('browser-condition'));
  const lockfile = JSON.parse(fs.readFileSync(path.join(project.dir, 'plugin.lock.json'), 'utf8'));
  assert.not.ok('node-only' in lockfile.plugins);
}));

test('plugins that need no built-in get no note', withFixtures(['node-env'], async (project) => {
  const result = await lock(project);
  assert.is(result.code, 0, result.stderr);
  assert.not.match(result.stderr, 'browser builds');
}));

test.run();

import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { lockProject, makeProject, parseNdjson, runCli, type TestProject } from '../helpers/project.js';

const plugin = {
  files: {
    'index.js': "import { word } from './lib/word.js';\nexport async function start(ctx) { ctx.log.info(word); }\n",
    'lib/word.js': "export const word = 'cached';\n",
  },
};

const withProject = (body: (project: TestProject) => Promise<void>) => async () => {
  const project = makeProject({ cachey: plugin });
  try {
    await body(project);
  } finally {
    project.remove();
  }
};

const cacheFiles = (project: TestProject) => ({
  zip: path.join(project.dir, '.plugrun/archives/cachey.zip'),
  json: path.join(project.dir, '.plugrun/archives/cachey.json'),
});

test('start reuses the archive built by lock', withProject(async (project) => {
  await lockProject(project.dir);
  const { zip } = cacheFiles(project);
  assert.ok(fs.existsSync(zip), 'lock wrote the archive cache');
  const before = fs.statSync(zip).mtimeMs;
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  assert.ok(parseNdjson(result.stdout).some((event) => event.message === 'cached'));
  assert.is(fs.statSync(zip).mtimeMs, before, 'the cached archive was used, not rebuilt');
}));

test('tampered cached archive is rebuilt from the files', withProject(async (project) => {
  await lockProject(project.dir);
  const { zip } = cacheFiles(project);
  const bytes = fs.readFileSync(zip);
  const text = bytes.toString('latin1');
  const at = text.indexOf('cached');
  assert.ok(at > 0, 'the module text is in the archive');
  bytes.write('hacked', at, 'latin1');
  fs.writeFileSync(zip, bytes);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const events = parseNdjson(result.stdout);
  assert.not.ok(events.some((event) => event.message === 'hacked'), 'the tampered code never ran');
  const loads = events.filter((event) => event.op === 'load');
  assert.is(loads[0]?.outcome, 'error', 'the worker rejected the damaged archive');
  assert.match(loads[0]?.error.message, 'is damaged');
  assert.is(loads[1]?.outcome, 'allowed', 'the rebuilt archive loaded');
  assert.ok(events.some((event) => event.message === 'cached'), 'the locked code ran');
  assert.not.match(fs.readFileSync(zip).toString('latin1'), 'hacked', 'the cache entry was replaced');
}));

test('new package.json invalidates the cache', withProject(async (project) => {
  await lockProject(project.dir);
  project.write('plugins/cachey/package.json', JSON.stringify({ name: 'cachey', version: '1.0.0', description: 'now with a package.json' }));
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 3);
  assert.match(result.stderr, 'changed since it was locked');
}));

test('edited module invalidates the cache', withProject(async (project) => {
  await lockProject(project.dir);
  project.write('plugins/cachey/lib/word.js', "export const word = 'edited';\n");
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 3);
  assert.not.match(result.stdout, 'edited');
}));

test('missing cache is rebuilt', withProject(async (project) => {
  await lockProject(project.dir);
  fs.rmSync(path.join(project.dir, '.plugrun/archives'), { recursive: true });
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  assert.ok(fs.existsSync(cacheFiles(project).zip));
}));

test.run();

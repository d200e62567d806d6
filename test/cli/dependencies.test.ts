import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { makeProject, parseNdjson, runCli, type TestProject } from '../helpers/project.js';

// node_modules folders are git-ignored, so these plugins are written by the tests.
const pluginWithDependency = (project: TestProject, dependency: Record<string, string>, entry: string) => {
  project.write('plugins/uses-lib/plugin.json', JSON.stringify({ name: 'uses-lib', version: '1.0.0', description: 'd', author: 'a', license: 'MIT' }));
  project.write('plugins/uses-lib/package.json', JSON.stringify({ name: 'uses-lib', version: '1.0.0', dependencies: { 'tiny-lib': '1.0.0' } }));
  project.write('plugins/uses-lib/index.js', entry);
  for (const [file, content] of Object.entries(dependency)) project.write(`plugins/uses-lib/node_modules/tiny-lib/${file}`, content);
};

const withProject = (body: (project: TestProject) => Promise<void>) => async () => {
  const project = makeProject();
  try {
    await body(project);
  } finally {
    project.remove();
  }
};

test('plugin loads its own CommonJS dependency', withProject(async (project) => {
  pluginWithDependency(
    project,
    {
      'package.json': JSON.stringify({ name: 'tiny-lib', version: '1.0.0', main: 'index.js' }),
      'index.js': `
        exports.shout = (text) => text.toUpperCase() + '!';
        exports.probe = () => ({ process: typeof process, require: typeof require, fetch: typeof fetch, console: typeof console });
      `,
    },
    `import lib from 'tiny-lib';\nexport async function start(ctx) { ctx.log.info(lib.shout('hi'), lib.probe()); }\n`,
  );
  const lock = await runCli(['lock'], { cwd: project.dir });
  assert.is(lock.code, 0, lock.stderr);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const log = parseNdjson(result.stdout).find((event) => event.cap === 'log');
  assert.is(log?.message, 'HI!');
  assert.equal(log?.fields, { process: 'undefined', require: 'function', fetch: 'undefined', console: 'undefined' });
}));

test('dependency change is caught by integrity', withProject(async (project) => {
  pluginWithDependency(
    project,
    { 'package.json': JSON.stringify({ name: 'tiny-lib', version: '1.0.0', type: 'module', exports: './index.js' }), 'index.js': 'export const value = 1;\n' },
    `import { value } from 'tiny-lib';\nexport async function start(ctx) { ctx.log.info('value ' + value); }\n`,
  );
  await runCli(['lock'], { cwd: project.dir });
  project.write('plugins/uses-lib/node_modules/tiny-lib/index.js', 'export const value = 2;\n');
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 3);
  assert.match(result.stderr, 'changed since it was locked');
  assert.not.match(result.stdout, 'value 2');
}));

test('dependency requiring a built-in fails to load', withProject(async (project) => {
  pluginWithDependency(
    project,
    { 'package.json': JSON.stringify({ name: 'tiny-lib', version: '1.0.0', main: 'index.js' }), 'index.js': "const cp = require('child_process');\nexports.run = () => cp.execSync('id');\n" },
    `import lib from 'tiny-lib';\nexport async function start() { lib.run(); }\n`,
  );
  const lock = await runCli(['lock'], { cwd: project.dir });
  assert.is(lock.code, 0, lock.stderr);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 1);
  assert.match(result.stderr, 'cannot import "child_process"');
  assert.match(result.stderr, 'Node built-in');
  const failure = parseNdjson(result.stdout).find((event) => event.op === 'load');
  assert.is(failure?.outcome, 'error');
}));

test('optional require of a built-in is caught by the dependency', withProject(async (project) => {
  pluginWithDependency(
    project,
    {
      'package.json': JSON.stringify({ name: 'tiny-lib', version: '1.0.0', main: 'index.js' }),
      'index.js': "let cp;\ntry { cp = require('child_process'); } catch { cp = null; }\nexports.hasChildProcess = () => cp !== null;\n",
    },
    `import lib from 'tiny-lib';\nexport async function start(ctx) { ctx.log.info('has child_process: ' + lib.hasChildProcess()); }\n`,
  );
  await runCli(['lock'], { cwd: project.dir });
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  assert.ok(parseNdjson(result.stdout).some((event) => event.message === 'has child_process: false'));
}));

test('dependency outside the plugin folder is not found', withProject(async (project) => {
  project.write('plugins/uses-lib/plugin.json', JSON.stringify({ name: 'uses-lib', version: '1.0.0', description: 'd', author: 'a', license: 'MIT' }));
  project.write('plugins/uses-lib/package.json', JSON.stringify({ name: 'uses-lib', version: '1.0.0', dependencies: { 'tiny-lib': '1.0.0' } }));
  project.write('plugins/uses-lib/index.js', "import lib from 'tiny-lib';\nexport const x = lib;\n");
  // Node would find this copy by walking up to the project's node_modules.
  project.write('node_modules/tiny-lib/package.json', JSON.stringify({ name: 'tiny-lib', version: '1.0.0', main: 'index.js' }));
  project.write('node_modules/tiny-lib/index.js', 'exports.x = 1;\n');
  const lock = await runCli(['lock'], { cwd: project.dir });
  assert.is(lock.code, 3);
  assert.match(lock.stderr, 'cannot import "tiny-lib"');
  assert.match(lock.stderr, 'nor a dependency installed');
}));

test('text SES rejects in comments and strings is rewritten', withProject(async (project) => {
  project.write('plugins/tricky/plugin.json', JSON.stringify({ name: 'tricky', version: '1.0.0', description: 'd', author: 'a', license: 'MIT' }));
  project.write(
    'plugins/tricky/index.js',
    [
      '// A comment that mentions import("x") and <!-- an HTML comment -->.',
      "const marker = '<!-- keep -->';",
      'const pattern = /-->/;',
      'export async function start(ctx) { ctx.log.info(marker, { matches: pattern.test("a-->b") }); }',
      '',
    ].join('\n'),
  );
  const lock = await runCli(['lock'], { cwd: project.dir });
  assert.is(lock.code, 0, lock.stderr);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const log = parseNdjson(result.stdout).find((event) => event.cap === 'log');
  assert.is(log?.message, '<!-- keep -->', 'the string value is unchanged');
  assert.equal(log?.fields, { matches: true });
}));

test.run();

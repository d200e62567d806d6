import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { ManifestStruct } from '../../runtime/manifest.js';
import { cliPath, parseNdjson, repoRoot, runCli, withProject } from '../helpers/project.js';

test(
  'new scaffolds a plugin that checks, locks and starts',
  withProject({}, async (project) => {
    const created = await runCli(['new', 'weather', '--author', 'Ada Lovelace'], { cwd: project.dir });
    assert.is(created.code, 0, created.stderr);
    assert.is(created.stdout, '');
    assert.match(created.stderr, `created ${path.join('plugins', 'weather')}${path.sep}: plugin.json, index.js, README.md, test/weather.test.mjs`);
    assert.match(created.stderr, 'plugrun lock weather');
    assert.match(created.stderr, `PLUGRUN_BIN=${path.join(repoRoot, 'dist', 'cli', 'main.js')} node plugins/weather/test/weather.test.mjs`);

    const manifest = JSON.parse(project.read('plugins/weather/plugin.json'));
    const parsed = ManifestStruct.safeParse(manifest);
    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
    assert.is(manifest.name, 'weather');
    assert.is(manifest.author, 'Ada Lovelace');
    assert.is(manifest.license, 'MIT');
    assert.equal(manifest.capabilities, []);
    assert.match(project.read('plugins/weather/README.md'), '# weather');

    const check = await runCli(['check', 'weather', '--json'], { cwd: project.dir });
    assert.is(check.code, 0, check.stdout);
    const report = JSON.parse(check.stdout);
    assert.is(report.errors, 0);
    assert.equal(report.diagnostics.map((diagnostic: any) => diagnostic.rule), ['lock-state']);

    const lock = await runCli(['lock', 'weather'], { cwd: project.dir });
    assert.is(lock.code, 0, lock.stderr);

    const checkAfterLock = await runCli(['check', 'weather'], { cwd: project.dir });
    assert.is(checkAfterLock.code, 0);
    assert.is(checkAfterLock.stdout, '');

    const start = await runCli(['start', '--once', '--frozen', '--no-tui'], { cwd: project.dir });
    assert.is(start.code, 0, start.stderr);
    const events = parseNdjson(start.stdout);
    assert.ok(events.some((event) => event.plugin === 'weather' && event.cap === 'log' && event.message === 'weather 0.1.0 started'), start.stdout);
    assert.ok(events.some((event) => event.plugin === 'weather' && event.op === 'start' && event.outcome === 'allowed'));

    const call = await runCli(['call', 'weather', 'hello', '{"name":"Ada"}'], { cwd: project.dir });
    assert.is(call.code, 0, call.stderr);
    assert.equal(JSON.parse(call.stdout), { greeting: 'Hello, Ada!', greeted: 1 });
  }),
);

test(
  'new scaffold test passes',
  withProject({}, async (project) => {
    const created = await runCli(['new', 'tested'], { cwd: project.dir });
    assert.is(created.code, 0, created.stderr);

    // As in a user's project, uvu is installed in the project's node_modules; plugrun is found through PLUGRUN_BIN.
    fs.mkdirSync(path.join(project.dir, 'node_modules'));
    fs.symlinkSync(path.join(repoRoot, 'node_modules', 'uvu'), path.join(project.dir, 'node_modules', 'uvu'));
    const result = spawnSync(process.execPath, ['plugins/tested/test/tested.test.mjs'], {
      cwd: project.dir,
      encoding: 'utf8',
      env: { ...process.env, PLUGRUN_BIN: cliPath },
      timeout: 120_000,
    });
    assert.is(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /Passed:\s+4/);
    assert.match(result.stdout, /Total:\s+4/);

    // The test works on a copy, so this project is left unlocked.
    assert.not.ok(fs.existsSync(path.join(project.dir, 'plugin.lock.json')));
  }),
);

test(
  'new scaffold test names missing plugrun',
  withProject({}, async (project) => {
    await runCli(['new', 'lonely'], { cwd: project.dir });
    fs.mkdirSync(path.join(project.dir, 'node_modules'));
    fs.symlinkSync(path.join(repoRoot, 'node_modules', 'uvu'), path.join(project.dir, 'node_modules', 'uvu'));
    const env = { ...process.env };
    delete env.PLUGRUN_BIN;
    const result = spawnSync(process.execPath, ['plugins/lonely/test/lonely.test.mjs'], { cwd: project.dir, encoding: 'utf8', env });
    assert.is.not(result.status, 0);
    assert.match(result.stderr, "plugrun not found: set PLUGRUN_BIN to the path of plugrun's dist/cli/main.js");
  }),
);

test(
  'new refuses an existing folder',
  withProject({ taken: { files: { 'index.js': '// mine\n' } } }, async (project) => {
    const before = project.read('plugins/taken/index.js');
    const result = await runCli(['new', 'taken'], { cwd: project.dir });
    assert.is(result.code, 2);
    assert.match(result.stderr, `${path.join(fs.realpathSync(project.dir), 'plugins', 'taken')} already exists, and plugrun new never overwrites`);
    assert.is(project.read('plugins/taken/index.js'), before);
    assert.not.ok(fs.existsSync(path.join(project.dir, 'plugins/taken/README.md')));
  }),
);

test(
  'new refuses a file of that name',
  withProject({}, async (project) => {
    project.write('plugins/notes', 'a file, not a folder');
    const result = await runCli(['new', 'notes'], { cwd: project.dir });
    assert.is(result.code, 2);
    assert.match(result.stderr, 'already exists');
    assert.is(project.read('plugins/notes'), 'a file, not a folder');
  }),
);

const INVALID_NAMES = ['Weather', '_lead', 'has space', 'dots.js', '../escape', 'a'.repeat(65), ''];

for (const name of INVALID_NAMES) {
  test(`new rejects name ${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}…` : name)}`, withProject({}, async (project) => {
    const result = await runCli(['new', name], { cwd: project.dir });
    assert.is(result.code, 2, result.stderr);
    assert.match(result.stderr, 'invalid plugin name');
    assert.not.ok(fs.existsSync(path.join(project.dir, 'plugins')));
  }));
}

test(
  'new rejects empty description',
  withProject({}, async (project) => {
    const result = await runCli(['new', 'ok', '--description', ' '], { cwd: project.dir });
    assert.is(result.code, 2);
    assert.match(result.stderr, '--description must not be empty');
    assert.not.ok(fs.existsSync(path.join(project.dir, 'plugins', 'ok')));
  }),
);

test(
  'new --json and --dir',
  withProject({}, async (project) => {
    const result = await runCli(['new', 'remote', '--json', '--dir', 'app', '--description', 'Fetches things.'], { cwd: project.dir });
    assert.is(result.code, 0, result.stderr);
    const output = JSON.parse(result.stdout);
    assert.equal(output, {
      plugin: 'remote',
      dir: path.join(fs.realpathSync(project.dir), 'app', 'plugins', 'remote'),
      files: ['plugin.json', 'index.js', 'README.md', 'test/remote.test.mjs'],
    });
    assert.is(JSON.parse(project.read('app/plugins/remote/plugin.json')).description, 'Fetches things.');
  }),
);

test(
  'new next steps carry --dir',
  withProject({}, async (project) => {
    const result = await runCli(['new', 'far', '--dir', 'app'], { cwd: project.dir });
    assert.is(result.code, 0, result.stderr);
    assert.match(result.stderr, 'plugrun lock far --dir app');
  }),
);

test.run();

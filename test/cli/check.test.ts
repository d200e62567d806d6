import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { COMPARTMENT_GLOBALS } from '../../runtime/check/globals.js';
import { editLockfile, lockProject, makeProject, parseNdjson, repoRoot, runCli, withProject } from '../helpers/project.js';

const CLEAN = "export async function start(ctx) { ctx.log.info('ready'); }\n";

/** The `file:line:column  severity  message  [rule]` lines of a human report. */
const reportLines = (stdout: string): string[] => stdout.split('\n').filter((line) => line.trim() !== '');

test(
  'check clean plugin exits 0',
  withProject({ clean: { files: { 'index.js': CLEAN } } }, async (project) => {
    await lockProject(project.dir);
    const result = await runCli(['check'], { cwd: project.dir });
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout, '');
    assert.match(result.stderr, 'checked 1 plugin: no problems found');
  }),
);

test(
  'check warnings only exit 0',
  withProject({ open: { files: { 'index.js': CLEAN } } }, async (project) => {
    const result = await runCli(['check'], { cwd: project.dir });
    assert.is(result.code, 0, result.stderr);
    assert.equal(reportLines(result.stdout), [
      `${path.join('plugins', 'open', 'plugin.json')}  warning  the plugin is not locked, so plugrun start does not load it; review the code, then run: plugrun lock open  [lock-state]`,
    ]);
    assert.match(result.stderr, 'checked 1 plugin: 0 errors and 1 warning');
  }),
);

test(
  'check errors exit 1 with positions',
  withProject({ bad: { files: { 'index.js': "import fs from 'node:fs';\nexport async function start(ctx) {\n  console.log(process.env.HOME);\n}\n" } } }, async (project) => {
    const result = await runCli(['check', 'bad'], { cwd: project.dir });
    assert.is(result.code, 1, result.stderr);
    const lines = reportLines(result.stdout);
    const file = path.join('plugins', 'bad', 'index.js');
    assert.ok(lines.some((line) => line.startsWith(`${file}:1:16  error  import "node:fs" imports a Node built-in`)), lines.join('\n'));
    assert.ok(lines.some((line) => line.startsWith(`${file}:3:3  error  console does not exist`) && line.endsWith('[host-global]')), lines.join('\n'));
    assert.ok(lines.some((line) => line.startsWith(`${file}:3:15  error  process does not exist`)), lines.join('\n'));
    assert.match(result.stderr, /checked 1 plugin: 3 errors and 1 warning/);
  }),
);

test(
  'check --json shape',
  withProject(
    {
      app: {
        manifest: { capabilities: ['db:items'] },
        files: { 'index.js': "export async function start(ctx) {\n  await ctx.db.insert('items', {});\n  await ctx.net.fetch('https://api.example.org/x');\n  eval('1');\n}\n" },
      },
    },
    async (project) => {
      const result = await runCli(['check', '--json'], { cwd: project.dir });
      assert.is(result.code, 1, result.stderr);
      const report = JSON.parse(result.stdout);
      assert.equal(Object.keys(report), ['ok', 'errors', 'warnings', 'plugins', 'diagnostics']);
      assert.is(report.ok, false);
      assert.is(report.errors, 1);
      assert.is(report.warnings, 3);

      const [plugin] = report.plugins;
      assert.equal(Object.keys(plugin), ['name', 'dir', 'lock', 'modules', 'dependencies', 'requested', 'granted', 'pending', 'uses']);
      assert.is(plugin.name, 'app');
      assert.is(plugin.lock, 'invalid');
      assert.equal(plugin.modules, [path.join(fs.realpathSync(project.dir), 'plugins', 'app', 'index.js')]);
      assert.equal(plugin.requested, ['db:items']);
      assert.equal(plugin.pending, ['db:items']);
      assert.equal(plugin.uses.map((use: any) => [use.capability, use.call, use.line, use.column, use.requested]), [
        ['db:items', 'ctx.db.insert', 2, 9, true],
        ['net:api.example.org', 'ctx.net.fetch', 3, 9, false],
      ]);

      for (const diagnostic of report.diagnostics) {
        assert.equal(Object.keys(diagnostic).filter((key) => !['line', 'column'].includes(key)), ['plugin', 'file', 'severity', 'rule', 'message', 'fix']);
      }
      assert.equal(report.diagnostics.map((diagnostic: any) => [diagnostic.rule, diagnostic.severity, diagnostic.line ?? null]), [
        ['unrequested-capability', 'warning', 3],
        ['eval', 'error', 4],
        ['lock-state', 'warning', null],
        ['pending-grant', 'warning', null],
      ]);
    },
  ),
);

test(
  'check reports lock states',
  withProject({ kept: { files: { 'index.js': CLEAN } }, edited: { files: { 'index.js': CLEAN } }, asks: { manifest: { capabilities: ['fs:out/'] }, files: { 'index.js': CLEAN } } }, async (project) => {
    await lockProject(project.dir);
    project.write('plugins/edited/index.js', `${CLEAN}// edited\n`);
    editLockfile(project.dir, (lockfile) => {
      lockfile.plugins.gone = { ...lockfile.plugins.kept };
    });

    const result = await runCli(['check', '--json'], { cwd: project.dir });
    assert.is(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.plugins.map((plugin: any) => [plugin.name, plugin.lock]), [['asks', 'locked'], ['edited', 'changed'], ['kept', 'locked']]);
    const byRule = report.diagnostics.map((diagnostic: any) => [diagnostic.plugin, diagnostic.rule]);
    assert.equal(byRule, [['asks', 'pending-grant'], ['edited', 'lock-state'], ['gone', 'lock-state']]);
    assert.match(report.diagnostics[0].fix, 'plugrun grant asks fs:out/');
    assert.match(report.diagnostics[1].fix, 'plugrun lock edited');
    assert.is(report.diagnostics[2].file, path.join(fs.realpathSync(project.dir), 'plugin.lock.json'));
  }),
);

test(
  'check invalid manifest and lockfile',
  withProject({ broken: { manifest: { version: 'one', capabilitees: [] }, files: { 'index.js': CLEAN } } }, async (project) => {
    project.write('plugin.lock.json', '{"lockfileVersion": 7, "plugins": {}}\n');
    const result = await runCli(['check', '--json'], { cwd: project.dir });
    assert.is(result.code, 1);
    const report = JSON.parse(result.stdout);
    const rules = report.diagnostics.map((diagnostic: any) => [diagnostic.plugin, diagnostic.rule, diagnostic.severity]);
    assert.equal(rules, [
      [null, 'lockfile', 'error'],
      ['broken', 'manifest', 'error'],
      ['broken', 'manifest', 'error'],
    ]);
    const messages = report.diagnostics.map((diagnostic: any) => diagnostic.message).join('\n');
    assert.match(messages, 'lockfileVersion');
    assert.match(messages, 'version: invalid semantic version "one"');
    assert.match(messages, 'capabilitees');
  }),
);

test(
  'check archive build failure is error',
  withProject({ linked: { files: { 'index.js': CLEAN } } }, async (project) => {
    project.write('plugins/linked/package.json', '{ not json');
    const result = await runCli(['check', '--json'], { cwd: project.dir });
    assert.is(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout);
    const build = report.diagnostics.find((diagnostic: any) => diagnostic.rule === 'archive-build');
    assert.ok(build, result.stdout);
    assert.match(build.message, 'package.json is not valid JSON');
    assert.is(report.plugins[0].lock, 'invalid');
  }),
);

test(
  'check escapes plugin text for the terminal',
  withProject({ shady: { files: { 'index.js': "import x from 'evil\u001b[2J\u202e';\nexport const y = x;\n" } } }, async (project) => {
    const result = await runCli(['check', 'shady'], { cwd: project.dir });
    assert.is(result.code, 1);
    assert.not.match(result.stdout, '\u001b');
    assert.not.match(result.stdout, '\u202e');
    assert.match(result.stdout, 'evil\\u001b[2J\\u202e');
  }),
);

test(
  'check unknown or invalid name exits 2',
  withProject({ real: { files: { 'index.js': CLEAN } } }, async (project) => {
    const unknown = await runCli(['check', 'real', 'nope'], { cwd: project.dir });
    assert.is(unknown.code, 2);
    assert.match(unknown.stderr, '"nope" not found in');
    assert.is(unknown.stdout, '');

    const invalid = await runCli(['check', 'Bad Name'], { cwd: project.dir });
    assert.is(invalid.code, 2);
    assert.match(invalid.stderr, 'invalid plugin name "Bad Name"');
  }),
);

test(
  'check selected plugin only',
  withProject({ one: { files: { 'index.js': CLEAN } }, two: { files: { 'index.js': 'console.log(1);\n' } } }, async (project) => {
    const result = await runCli(['check', 'one', '--json'], { cwd: project.dir });
    assert.is(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.plugins.map((plugin: any) => plugin.name), ['one']);
    assert.ok(report.diagnostics.every((diagnostic: any) => diagnostic.plugin === 'one'));
  }),
);

test('check bundled plugins have no errors', async () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-state-'));
  try {
    const result = await runCli(['check', '--json', '--dir', repoRoot, '--state-dir', stateDir], { cwd: repoRoot });
    assert.is(result.code, 0, result.stdout);
    const report = JSON.parse(result.stdout);
    assert.is(report.errors, 0);
    assert.equal(report.diagnostics.filter((diagnostic: any) => diagnostic.rule !== 'pending-grant'), []);
    const notes = report.plugins.find((plugin: any) => plugin.name === 'notes');
    assert.equal(notes.dependencies, ['marked']);
    assert.equal([...new Set(notes.uses.map((use: any) => use.capability))], ['db:notes', 'fs:exports/']);
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});

test(
  'check globals match the compartment',
  withProject(
    { probe: { files: { 'index.js': "export async function start(ctx) { ctx.log.info(Object.getOwnPropertyNames(globalThis).sort().join(',')); }\n" } } },
    async (project) => {
      await lockProject(project.dir);
      const result = await runCli(['start', '--once', '--no-tui'], { cwd: project.dir });
      assert.is(result.code, 0, result.stderr);
      const event = parseNdjson(result.stdout).find((candidate) => candidate.cap === 'log');
      assert.equal(event?.message.split(','), [...COMPARTMENT_GLOBALS].sort());
    },
  ),
);

test.run();

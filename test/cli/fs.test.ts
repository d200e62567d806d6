import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { copyFixture, editLockfile, lockProject, runCli, withProject, type TestProject } from '../helpers/project.js';

const exporter = {
  manifest: { capabilities: ['fs:exports/'] },
  files: {
    'index.js': `
      export const commands = {
        async save(input, ctx) {
          await ctx.fs.writeFile('exports/' + input.name, input.text);
          await ctx.fs.appendFile('exports/' + input.name, '!');
          await ctx.fs.writeFile('exports/2026/summary.bin', new Uint8Array([1, 2, 3]));
          return {
            text: await ctx.fs.readFile('exports/' + input.name),
            bytes: Array.from(await ctx.fs.readFile('exports/2026/summary.bin', { encoding: 'bytes' })),
            names: await ctx.fs.list('exports'),
            stat: await ctx.fs.stat('exports/' + input.name),
          };
        },
        async read(input, ctx) { return ctx.fs.readFile('exports/' + input.name); },
        async remove(input, ctx) { await ctx.fs.deleteFile('exports/' + input.name); return ctx.fs.list('exports'); },
        async fill(input, ctx) {
          await ctx.fs.writeFile('exports/a.txt', 'a'.repeat(input.bytes));
          try {
            await ctx.fs.writeFile('exports/b.txt', 'b'.repeat(input.bytes));
            return { code: null };
          } catch (error) {
            return { code: error.code, message: error.message };
          }
        },
      };
    `,
  },
};

const grant = async (project: TestProject, plugin: string, capability: string) => {
  const result = await runCli(['grant', plugin, capability], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
};

const fsEvents = (project: TestProject) => project.auditEvents().filter((event) => event.cap === 'fs');

test('fs plugin writes, reads and lists', withProject({ exporter }, async (project) => {
  await lockProject(project.dir);
  await grant(project, 'exporter', 'fs:exports/');

  const saved = await runCli(['call', 'exporter', 'save', '{"name":"report.txt","text":"hello"}'], { cwd: project.dir });
  assert.is(saved.code, 0, saved.stderr);
  const result = JSON.parse(saved.stdout);
  assert.is(result.text, 'hello!');
  assert.equal(result.bytes, [1, 2, 3]);
  assert.equal(result.names, ['2026/', 'report.txt']);
  assert.is(result.stat.size, 6);
  assert.is(result.stat.isFile, true);
  assert.is(project.read('.plugrun/data/exporter/exports/report.txt'), 'hello!');

  // A second process reads the same files, and deletes one.
  const read = await runCli(['call', 'exporter', 'read', '{"name":"report.txt"}'], { cwd: project.dir });
  assert.is(JSON.parse(read.stdout), 'hello!');
  const removed = await runCli(['call', 'exporter', 'remove', '{"name":"report.txt"}'], { cwd: project.dir });
  assert.equal(JSON.parse(removed.stdout), ['2026/']);

  const events = fsEvents(project);
  assert.equal(
    events.map((event) => `${event.op} ${event.target} ${event.outcome}`),
    [
      'writeFile exports/report.txt allowed',
      'appendFile exports/report.txt allowed',
      'writeFile exports/2026/summary.bin allowed',
      'readFile exports/report.txt allowed',
      'readFile exports/2026/summary.bin allowed',
      'list exports allowed',
      'stat exports/report.txt allowed',
      'readFile exports/report.txt allowed',
      'deleteFile exports/report.txt allowed',
      'list exports allowed',
    ],
  );
  assert.is(events[0]?.bytes, 5);
}));

test('fs.read grant denies writes', withProject({ exporter }, async (project) => {
  await lockProject(project.dir);
  await grant(project, 'exporter', 'fs.read:exports/');

  const result = await runCli(['call', 'exporter', 'save', '{"name":"report.txt","text":"hello"}'], { cwd: project.dir });
  assert.is(result.code, 4);
  assert.match(result.stderr, 'PLUGRUN_DENIED');
  assert.match(result.stderr, 'to allow it run: plugrun grant exporter fs:exports/');
  const denied = fsEvents(project).find((event) => event.outcome === 'denied');
  assert.is(denied?.needed, 'fs:exports/');
  assert.not.ok(fs.existsSync(path.join(project.dir, '.plugrun/data/exporter/exports/report.txt')));
}));

test('fs quota from the lockfile applies', withProject({ exporter }, async (project) => {
  await lockProject(project.dir);
  await grant(project, 'exporter', 'fs:exports/');
  editLockfile(project.dir, (lockfile) => {
    lockfile.plugins.exporter.limits = { fsQuotaBytes: 1000 };
  });

  const result = await runCli(['call', 'exporter', 'fill', '{"bytes":600}'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const { code, message } = JSON.parse(result.stdout);
  assert.is(code, 'PLUGRUN_LIMIT');
  assert.match(message, 'fsQuotaBytes limit of 1000 bytes');
  assert.is(project.read('.plugrun/data/exporter/exports/a.txt'), 'a'.repeat(600));
  assert.not.ok(fs.existsSync(path.join(project.dir, '.plugrun/data/exporter/exports/b.txt')));
}));

test('fs symlink escape is rejected and audited', withProject({}, async (project) => {
  copyFixture(project, 'hostile', 'fs-symlink-escape');
  await lockProject(project.dir);
  await grant(project, 'fs-symlink-escape', 'fs:exports/');

  // The outside folder sits next to the project, where no grant reaches.
  const outside = `${project.dir}-outside`;
  fs.mkdirSync(outside);
  try {
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    fs.writeFileSync(path.join(outside, 'passwd'), 'root:x:0:0');
    const exports = path.join(project.dir, '.plugrun/data/fs-symlink-escape/exports');
    fs.mkdirSync(exports, { recursive: true });
    fs.symlinkSync(path.join(outside, 'passwd'), path.join(exports, 'passwd'));
    fs.symlinkSync(outside, path.join(exports, 'outside'));

    const result = await runCli(['call', 'fs-symlink-escape', 'escape'], { cwd: project.dir });
    assert.is(result.code, 0, result.stderr);
    const attempts: Record<string, { ok: boolean; code?: string; message?: string; value?: unknown }> = JSON.parse(result.stdout);

    const { listGranted, ...escapes } = attempts;
    for (const [name, attempt] of Object.entries(escapes)) {
      assert.is(attempt.ok, false, `${name} was rejected`);
      assert.is(attempt.code, 'PLUGRUN_INVALID', `${name}: ${attempt.message}`);
      assert.match(attempt.message ?? '', 'is a symbolic link');
      assert.not.match(attempt.message ?? '', outside, `${name} shows no host path`);
    }
    assert.equal(listGranted?.value, [], 'list leaves the links out');

    assert.equal(fs.readdirSync(outside).sort(), ['passwd', 'secret.txt']);
    assert.is(fs.readFileSync(path.join(outside, 'passwd'), 'utf8'), 'root:x:0:0');

    const errors = fsEvents(project).filter((event) => event.outcome === 'error');
    assert.is(errors.length, Object.keys(escapes).length, 'each rejected call writes one error event');
    for (const event of errors) assert.is(event.error.code, 'PLUGRUN_INVALID');
    assert.ok(errors.some((event) => event.op === 'writeFile' && event.target === 'exports/outside/planted.txt'));
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
}));

test('fs path tricks are rejected', withProject({}, async (project) => {
  copyFixture(project, 'hostile', 'fs-path-tricks');
  await lockProject(project.dir);
  await grant(project, 'fs-path-tricks', 'fs:exports/');
  const lockfileBefore = project.read('plugin.lock.json');

  const result = await runCli(['call', 'fs-path-tricks', 'tricks'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const { results, toStringCalls } = JSON.parse(result.stdout);
  for (const [name, attempt] of Object.entries(results as Record<string, { ok: boolean; code?: string; message?: string }>)) {
    assert.is(attempt.ok, false, `${name} was rejected`);
    assert.is(attempt.code, 'PLUGRUN_INVALID', `${name}: ${attempt.message}`);
  }
  assert.is(toStringCalls, 0, 'no path was converted with toString');
  assert.is(project.read('plugin.lock.json'), lockfileBefore);
  assert.not.ok(fs.existsSync(path.join(project.dir, '.plugrun/data/fs-symlink-escape')));

  // Every attempt writes one error event, including the object that could not
  // be copied out of the worker.
  const errors = fsEvents(project).filter((event) => event.outcome === 'error');
  assert.is(errors.length, Object.keys(results).length);
  for (const event of errors) assert.is(event.error.code, 'PLUGRUN_INVALID');
  assert.not.ok(fsEvents(project).some((event) => event.outcome === 'allowed'));
}));

test.run();

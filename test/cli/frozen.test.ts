import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { editLockfile, lockProject, parseNdjson, runCli, withProject, type TestProject } from '../helpers/project.js';

const CLEAN = "export async function start(ctx) { ctx.log.info('ready'); }\n";

/** Runs `plugrun start --once --frozen` and returns its status, stderr lines and NDJSON events. */
const startFrozen = async (project: TestProject) => {
  const result = await runCli(['start', '--once', '--frozen', '--no-tui'], { cwd: project.dir });
  return { code: result.code, messages: result.stderr.split('\n').filter(Boolean), events: parseNdjson(result.stdout) };
};

/** Asserts that --frozen refused before anything ran: status 3, no audit event at all. */
const assertRefused = (run: Awaited<ReturnType<typeof startFrozen>>, project: TestProject) => {
  assert.is(run.code, 3, run.messages.join('\n'));
  assert.equal(run.events, []);
  assert.equal(project.auditEvents(), []);
  assert.match(run.messages.at(-1)!, /^plugrun: not starting \(--frozen\): \d+ problems? above$/);
};

test(
  'frozen starts when all in order',
  withProject({ fine: { manifest: { capabilities: ['db:items'] }, files: { 'index.js': CLEAN } } }, async (project) => {
    await lockProject(project.dir);
    editLockfile(project.dir, (lockfile) => {
      lockfile.plugins.fine.grants = ['db:items'];
    });
    const run = await startFrozen(project);
    assert.is(run.code, 0, run.messages.join('\n'));
    assert.ok(run.events.some((event) => event.plugin === 'fine' && event.op === 'start' && event.outcome === 'allowed'));
  }),
);

test(
  'frozen refuses without lockfile',
  withProject({ fresh: { files: { 'index.js': CLEAN } } }, async (project) => {
    const run = await startFrozen(project);
    assertRefused(run, project);
    assert.match(run.messages[0]!, 'plugin.lock.json does not exist, so no plugin is locked; review the plugins, then run: plugrun lock');
    assert.is(run.messages.length, 2);
  }),
);

test(
  'frozen refuses unlocked plugin',
  withProject({ locked: { files: { 'index.js': CLEAN } }, added: { files: { 'index.js': CLEAN } } }, async (project) => {
    await lockProject(project.dir, ['locked']);
    const run = await startFrozen(project);
    assertRefused(run, project);
    assert.equal(run.messages.slice(0, -1), ['plugrun: plugin "added" is not locked; review it, then run: plugrun lock added']);
  }),
);

test(
  'frozen refuses changed plugin',
  withProject({ edited: { files: { 'index.js': CLEAN } } }, async (project) => {
    await lockProject(project.dir);
    project.write('plugins/edited/index.js', `${CLEAN}// changed\n`);
    const run = await startFrozen(project);
    assertRefused(run, project);
    assert.equal(run.messages.slice(0, -1), ['plugrun: plugin "edited": its code changed since it was locked; review the change, then run: plugrun lock edited']);
  }),
);

test(
  'frozen refuses version change',
  withProject({ bumped: { files: { 'index.js': CLEAN } } }, async (project) => {
    await lockProject(project.dir);
    const manifest = JSON.parse(project.read('plugins/bumped/plugin.json'));
    project.write('plugins/bumped/plugin.json', JSON.stringify({ ...manifest, version: '1.1.0' }));
    const run = await startFrozen(project);
    assertRefused(run, project);
    assert.match(run.messages[0]!, 'its version (1.0.0 locked, 1.1.0 now) changed since it was locked');
  }),
);

test(
  'frozen refuses pending grants',
  withProject({ asks: { manifest: { capabilities: ['net:api.example.org', 'fs:out/'] }, files: { 'index.js': CLEAN } } }, async (project) => {
    await lockProject(project.dir);
    editLockfile(project.dir, (lockfile) => {
      lockfile.plugins.asks.grants = ['fs:out/'];
    });
    const run = await startFrozen(project);
    assertRefused(run, project);
    assert.equal(run.messages.slice(0, -1), [
      'plugrun: plugin "asks" requests net:api.example.org, not granted; grant them with: plugrun grant asks net:api.example.org (or remove them from its plugin.json and re-lock)',
    ]);
  }),
);

test(
  'frozen lists one message per problem',
  withProject(
    {
      a: { files: { 'index.js': CLEAN } },
      b: { manifest: { capabilities: ['db:b'] }, files: { 'index.js': CLEAN } },
      c: { manifest: { version: 'x' }, files: { 'index.js': CLEAN } },
    },
    async (project) => {
      await lockProject(project.dir, ['b']);
      editLockfile(project.dir, (lockfile) => {
        lockfile.plugins.gone = { ...lockfile.plugins.b };
      });
      const run = await startFrozen(project);
      assertRefused(run, project);
      const problems = run.messages.slice(0, -1);
      assert.is(problems.length, 4, problems.join('\n'));
      assert.match(problems[0]!, 'plugin "a" is not locked; review it, then run: plugrun lock a');
      assert.match(problems[1]!, 'plugrun grant b db:b');
      assert.match(problems[2]!, 'plugin "c" has an invalid manifest');
      assert.match(problems[2]!, 'invalid semantic version "x"');
      assert.match(problems[3]!, 'plugin "gone" is pinned in the lockfile, but');
      assert.match(problems[3]!, 'run: plugrun lock');
      assert.match(run.messages.at(-1)!, '4 problems above');
    },
  ),
);

test(
  'frozen refuses invalid lockfile',
  withProject({ one: { files: { 'index.js': CLEAN } } }, async (project) => {
    project.write('plugin.lock.json', '{"lockfileVersion": 1, "plugins": {"one": {"version": "1.0.0"}}}\n');
    const run = await startFrozen(project);
    assertRefused(run, project);
    assert.match(run.messages[0]!, 'plugin.lock.json is invalid, so nothing is granted');
  }),
);

test(
  'without frozen unlocked still starts others',
  withProject({ locked: { files: { 'index.js': CLEAN } }, added: { files: { 'index.js': CLEAN } } }, async (project) => {
    await lockProject(project.dir, ['locked']);
    const result = await runCli(['start', '--once', '--no-tui'], { cwd: project.dir });
    assert.is(result.code, 3);
    assert.ok(parseNdjson(result.stdout).some((event) => event.plugin === 'locked' && event.op === 'start'));
  }),
);

test.run();

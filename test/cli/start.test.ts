import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { copyFixture, editLockfile, lockProject, parseNdjson, runCli, withProject, type TestProject } from '../helpers/project.js';

const counterPlugin = {
  files: {
    'index.js': `
      export async function start(ctx) {
        const runs = ((await ctx.config.get('runs')) ?? 0) + 1;
        await ctx.config.set('runs', runs);
        ctx.log.info('run ' + runs, { runs });
      }
    `,
  },
};

test('start runs locked plugins and prints NDJSON', withProject({ counter: counterPlugin }, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const events = parseNdjson(result.stdout);
  const log = events.find((event) => event.cap === 'log');
  assert.ok(log, 'a log event is printed');
  assert.is(log!.message, 'run 1');
  assert.equal(log!.fields, { runs: 1 });
  assert.ok(events.some((event) => event.cap === 'runtime' && event.op === 'start' && event.outcome === 'allowed'));
  assert.ok(events.some((event) => event.cap === 'runtime' && event.op === 'stop'));
  assert.is(events.length, project.auditEvents().length, 'stdout and the audit log carry the same events');
}));

test('config persists across runs', withProject({ counter: counterPlugin }, async (project) => {
  await lockProject(project.dir);
  await runCli(['start', '--once'], { cwd: project.dir });
  const second = await runCli(['start', '--once'], { cwd: project.dir });
  const log = parseNdjson(second.stdout).find((event) => event.cap === 'log');
  assert.is(log?.message, 'run 2');
  assert.equal(JSON.parse(project.read('.plugrun/config/counter.json')).runs, 2);
}));

test('unlocked plugin is skipped with the lock command', withProject({ counter: counterPlugin, fresh: counterPlugin }, async (project) => {
  await lockProject(project.dir, ['counter']);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.match(result.stderr, 'plugrun lock fresh');
  const events = parseNdjson(result.stdout);
  assert.ok(events.some((event) => event.plugin === 'counter' && event.op === 'start' && event.outcome === 'allowed'), 'the locked plugin still runs');
  assert.not.ok(events.some((event) => event.plugin === 'fresh' && event.op === 'start'));
  assert.is(result.code, 3);
}));

test('missing lockfile runs nothing', withProject({ counter: counterPlugin }, async (project) => {
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 3);
  assert.match(result.stderr, 'does not exist');
  assert.match(result.stderr, 'plugrun lock counter');
}));

test('code changed after locking is refused', withProject({ counter: counterPlugin, other: counterPlugin }, async (project) => {
  await lockProject(project.dir);
  project.write('plugins/counter/index.js', 'export async function start(ctx) { ctx.log.info("changed"); }\n');
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 3);
  assert.match(result.stderr, 'plugin "counter" changed since it was locked');
  assert.match(result.stderr, 'plugrun lock counter');
  const events = parseNdjson(result.stdout);
  assert.not.ok(events.some((event) => event.message === 'changed'), 'the changed code never ran');
  assert.ok(events.some((event) => event.plugin === 'other' && event.op === 'start' && event.outcome === 'allowed'));
}));

test('changed library module is refused', withProject({}, async (project) => {
  project.write('plugins/lib-user/plugin.json', JSON.stringify({ name: 'lib-user', version: '1.0.0', description: 'd', author: 'a', license: 'MIT' }));
  project.write('plugins/lib-user/index.js', "import { value } from './lib/value.js';\nexport async function start(ctx) { ctx.log.info(value); }\n");
  project.write('plugins/lib-user/lib/value.js', "export const value = 'original';\n");
  await lockProject(project.dir);
  project.write('plugins/lib-user/lib/value.js', "export const value = 'tampered';\n");
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 3);
  assert.not.match(result.stdout, 'tampered');
}));

test('manifest version bump is refused', withProject({ counter: counterPlugin }, async (project) => {
  await lockProject(project.dir);
  editLockfile(project.dir, (lockfile) => {
    lockfile.plugins.counter.version = '0.9.0';
  });
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 3);
  assert.match(result.stderr, 'the lockfile pins 0.9.0');
}));

test('invalid manifest is skipped and others run', withProject({ counter: counterPlugin }, async (project) => {
  await lockProject(project.dir);
  project.write('plugins/broken/plugin.json', JSON.stringify({ name: 'broken', version: 'one', description: 'd', author: 'a', license: 'MIT' }));
  project.write('plugins/broken/index.js', 'export {};\n');
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 1);
  assert.match(result.stderr, 'plugin.json');
  assert.match(result.stderr, 'version');
  assert.ok(parseNdjson(result.stdout).some((event) => event.plugin === 'counter' && event.op === 'start' && event.outcome === 'allowed'));
}));

const importCases: Array<[string, string]> = [
  ['import-node-builtin', 'node:fs'],
  ['dynamic-import-builtin', 'child_process'],
  ['require-builtin', 'require("fs")'],
  ['import-outside-folder', 'secret.js'],
];
for (const [fixture, named] of importCases) {
  test(`${fixture} fails to load naming the import`, withProject({}, async (project) => {
    copyFixture(project, 'hostile', fixture);
    project.write('secret.js', 'export default "secret";\n');
    const lock = await runCli(['lock'], { cwd: project.dir });
    if (lock.code === 0) {
      // Some imports only fail when the module is evaluated, in the worker.
      const result = await runCli(['start', '--once'], { cwd: project.dir });
      assert.is(result.code, 1);
      assert.match(result.stderr, named);
      const failure = parseNdjson(result.stdout).find((event) => event.plugin === fixture && event.outcome === 'error');
      assert.ok(failure, 'an error event is written');
      assert.match(failure!.error.message, named);
    } else {
      assert.is(lock.code, 3);
      assert.match(lock.stderr, named);
    }
  }));
}

test('symlink out of the plugin folder is not imported', withProject({}, async (project) => {
  copyFixture(project, 'hostile', 'escape-symlink-import');
  const outside = path.join(os.tmpdir(), `plugrun-outside-${process.pid}.js`);
  fs.writeFileSync(outside, 'export default "outside";\n');
  try {
    fs.symlinkSync(outside, path.join(project.dir, 'plugins/escape-symlink-import/linked.js'));
    const lock = await runCli(['lock'], { cwd: project.dir });
    assert.is(lock.code, 3);
    assert.match(lock.stderr, 'symbolic link');
    assert.match(lock.stderr, 'outside the plugin folder');
  } finally {
    fs.rmSync(outside, { force: true });
  }
}));

test('compartment has no host globals', withProject({
  probe: {
    files: {
      'index.js': `
        export async function start(ctx) {
          const values = {
            process: typeof process,
            fetch: typeof fetch,
            console: typeof console,
            require: typeof require,
            Buffer: typeof Buffer,
            now: typeof Date.now(),
            nowPositive: Date.now() > 1.7e12,
            date: !Number.isNaN(new Date().getTime()),
            random: Math.random(),
            uuid: crypto.randomUUID(),
            bytes: crypto.getRandomValues(new Uint8Array(4)).length,
            text: new TextDecoder().decode(new TextEncoder().encode('hé')),
            url: new URL('https://example.org/a?b=1').searchParams.get('b'),
            base64: atob(btoa('hi')),
            clone: structuredClone({ a: [1] }).a[0],
            ctxFrozen: Object.isFrozen(ctx) && Object.isFrozen(ctx.fs),
          };
          ctx.log.info('probe', values);
        }
      `,
    },
  },
}, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const fields = parseNdjson(result.stdout).find((event) => event.message === 'probe')?.fields;
  assert.ok(fields, 'the probe logged its findings');
  assert.is(fields.process, 'undefined');
  assert.is(fields.fetch, 'undefined');
  assert.is(fields.console, 'undefined');
  assert.is(fields.require, 'undefined');
  assert.is(fields.Buffer, 'undefined');
  assert.is(fields.now, 'number');
  assert.ok(fields.nowPositive);
  assert.ok(fields.date);
  assert.ok(fields.random >= 0, 'Math.random() is not negative');
  assert.ok(fields.random < 1, 'Math.random() is below 1');
  assert.match(fields.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.is(fields.bytes, 4);
  assert.is(fields.text, 'hé');
  assert.is(fields.url, '1');
  assert.is(fields.base64, 'hi');
  assert.is(fields.clone, 1);
  assert.ok(fields.ctxFrozen);
}));

test('prototype change throws and does not leak', withProject({
  'peer-check': {
    manifest: { loadOrder: 10 },
    files: {
      'index.js': `
        export async function start(ctx) {
          ctx.log.info('peer', { seen: [].polluted ?? null, keys: Object.keys(Array.prototype) });
        }
      `,
    },
  },
}, async (project) => {
  copyFixture(project, 'hostile', 'prototype-pollution');
  await lockProject(project.dir);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const events = parseNdjson(result.stdout);
  const attack = events.find((event) => event.message === 'attack');
  assert.equal(attack?.fields, { threw: true, name: 'TypeError' });
  const peer = events.find((event) => event.message === 'peer');
  assert.equal(peer?.fields, { seen: null, keys: [] });
  assert.ok(events.indexOf(attack!) < events.indexOf(peer!), 'the attack ran before the peer looked');
}));

test('timers stop when the plugin stops', withProject({
  // Starts first, so it stops last: its slow stop leaves a window in which the
  // ticking plugin, already stopped, must stay silent.
  'slow-stop': {
    manifest: { loadOrder: 0 },
    files: {
      'index.js': `
        export async function stop(ctx) { await ctx.timers.sleep(600); ctx.log.info('slow stop done'); }
      `,
    },
  },
  ticking: {
    manifest: { loadOrder: 1 },
    files: {
      'index.js': `
        let n = 0;
        export async function start(ctx) {
          setInterval(() => ctx.log.info('global tick ' + ++n), 20);
          ctx.timers.setInterval(() => ctx.log.info('ctx tick ' + ++n), 20);
          const again = () => { ctx.log.info('timeout tick ' + ++n); setTimeout(again, 20); };
          setTimeout(again, 20);
          await ctx.timers.sleep(200);
        }
      `,
    },
  },
}, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const events = parseNdjson(result.stdout);
  const stopIndex = events.findIndex((event) => event.plugin === 'ticking' && event.op === 'stop');
  assert.ok(stopIndex > 0, 'ticking stopped');
  const ticksBefore = events.slice(0, stopIndex).filter((event) => event.plugin === 'ticking' && event.cap === 'log');
  assert.ok(ticksBefore.some((event) => event.message.startsWith('global tick')));
  assert.ok(ticksBefore.some((event) => event.message.startsWith('ctx tick')));
  assert.ok(ticksBefore.some((event) => event.message.startsWith('timeout tick')));
  const ticksAfter = events.slice(stopIndex).filter((event) => event.plugin === 'ticking' && event.cap === 'log');
  assert.equal(ticksAfter, [], 'no tick after the stop event');
  const slowDone = events.find((event) => event.message === 'slow stop done');
  assert.ok(Date.parse(slowDone!.time) - Date.parse(events[stopIndex]!.time) >= 500, 'the silent window lasted');
}));

test('endless loop in start is stopped at the timeout', withProject({
  chatty: {
    manifest: { loadOrder: 0 },
    files: {
      'index.js': `
        let n = 0;
        export async function start(ctx) { setInterval(() => ctx.log.info('chat ' + ++n), 25); }
      `,
    },
  },
}, async (project) => {
  copyFixture(project, 'hostile', 'endless-loop-in-start');
  project.write('plugins/endless-loop-in-start/plugin.json', JSON.stringify({
    name: 'endless-loop-in-start', version: '1.0.0', description: 'loops', author: 'a', license: 'MIT', loadOrder: 5,
  }));
  await lockProject(project.dir);
  editLockfile(project.dir, (lockfile) => {
    lockfile.plugins['endless-loop-in-start'].limits = { startTimeoutMs: 1000 };
  });
  const started = Date.now();
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.ok(Date.now() - started < 8000, 'the run ended soon after the timeout');
  assert.is(result.code, 1);
  assert.match(result.stderr, 'start() timed out after 1000 ms');
  const events = parseNdjson(result.stdout);
  const timeout = events.find((event) => event.plugin === 'endless-loop-in-start' && event.op === 'start');
  assert.is(timeout?.outcome, 'error');
  assert.is(timeout?.error.code, 'PLUGRUN_LIMIT');
  const timeoutAt = Date.parse(timeout!.time);
  const during = events.filter((event) => event.plugin === 'chatty' && event.cap === 'log' && Date.parse(event.time) > timeoutAt - 800 && Date.parse(event.time) <= timeoutAt);
  assert.ok(during.length >= 5, `the other plugin kept logging during the loop (${during.length} events)`);
  assert.ok(events.some((event) => event.plugin === 'chatty' && event.op === 'stop' && event.outcome === 'allowed'));
}));

test('heap exhaustion stops only that plugin', withProject({
  chatty: {
    manifest: { loadOrder: 0 },
    files: {
      'index.js': `
        let n = 0;
        export async function start(ctx) { ctx.log.info('chatty up'); }
        export async function stop(ctx) { ctx.log.info('chatty down'); }
      `,
    },
  },
}, async (project) => {
  copyFixture(project, 'hostile', 'heap-exhaustion');
  await lockProject(project.dir);
  editLockfile(project.dir, (lockfile) => {
    lockfile.plugins['heap-exhaustion'].limits = { memoryMb: 32 };
  });
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 1);
  const events = parseNdjson(result.stdout);
  const stopped = events.find((event) => event.plugin === 'heap-exhaustion' && event.op === 'limit');
  assert.ok(stopped, 'a limit event is written');
  assert.is(stopped!.limit, 'memoryMb');
  assert.is(stopped!.error.code, 'PLUGRUN_LIMIT');
  assert.match(stopped!.error.message, /memory|heap/i);
  assert.ok(events.some((event) => event.message === 'chatty down'), 'the other plugin still stops normally');
}));

test('throw in start leaves the others running', withProject({ counter: counterPlugin }, async (project) => {
  copyFixture(project, 'hostile', 'throw-in-start');
  await lockProject(project.dir);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 1);
  assert.match(result.stderr, 'start failed on purpose');
  const events = parseNdjson(result.stdout);
  const failure = events.find((event) => event.plugin === 'throw-in-start' && event.op === 'start');
  assert.is(failure?.outcome, 'error');
  assert.ok(events.some((event) => event.plugin === 'counter' && event.op === 'start' && event.outcome === 'allowed'));
}));

test('dependencies start first and stop last', withProject({
  base: { manifest: { loadOrder: 50 }, files: { 'index.js': "export async function start(ctx) { ctx.log.info('base up'); }\nexport async function stop(ctx) { ctx.log.info('base down'); }\n" } },
  app: { manifest: { dependencies: ['base'], loadOrder: 0 }, files: { 'index.js': "export async function start(ctx) { ctx.log.info('app up'); }\nexport async function stop(ctx) { ctx.log.info('app down'); }\n" } },
  early: { manifest: { loadOrder: 1 }, files: { 'index.js': "export async function start(ctx) { ctx.log.info('early up'); }\n" } },
}, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const messages = parseNdjson(result.stdout).filter((event) => event.cap === 'log').map((event) => event.message);
  assert.equal(messages, ['early up', 'base up', 'app up', 'app down', 'base down']);
}));

test('dependency cycle is reported', withProject({
  a: { manifest: { dependencies: ['b'] }, files: { 'index.js': 'export {};\n' } },
  b: { manifest: { dependencies: ['a'] }, files: { 'index.js': 'export {};\n' } },
  c: { manifest: { dependencies: ['missing'] }, files: { 'index.js': 'export {};\n' } },
  d: counterPlugin,
}, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 1);
  assert.match(result.stderr, /a -> b -> a|b -> a -> b/);
  assert.match(result.stderr, 'missing');
  assert.ok(parseNdjson(result.stdout).some((event) => event.plugin === 'd' && event.op === 'start' && event.outcome === 'allowed'));
}));

test('start names a locked plugin whose folder is gone', withProject({
  kept: { files: { 'index.js': 'export async function start() {}\n' } },
  gone: { files: { 'index.js': 'export async function start() {}\n' } },
}, async (project) => {
  await lockProject(project.dir);
  fs.rmSync(path.join(project.dir, 'plugins', 'gone'), { recursive: true });
  const result = await runCli(['start', '--once', '--no-tui'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, 'plugin "gone" is in the lockfile but not in');
  assert.match(result.stderr, 'started 1 of 1 plugins');
}));

test.run();

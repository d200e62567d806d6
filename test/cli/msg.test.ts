import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { lockProject, parseNdjson, runCli, withProject, type TestProject } from '../helpers/project.js';

const grant = async (project: TestProject, plugin: string, capability: string) => {
  const result = await runCli(['grant', plugin, capability], { cwd: project.dir });
  if (result.code !== 0) throw new Error(result.stderr);
};

// The caller runs its calls in start() and logs what came back; it depends on
// the target, so the target is running by then.
const caller = (body: string) => ({
  manifest: { dependencies: ['target'], capabilities: ['msg:target'] },
  files: {
    'index.js': `
      const describe = (error) => ({ code: error.code, message: error.message, keys: Object.keys(error), hasCause: 'cause' in error });
      export async function start(ctx) {
        ${body}
      }
    `,
  },
});

const target = {
  files: {
    'index.js': `
      export const commands = {
        async double(input, ctx) { ctx.log.info('doubling ' + input.n); input.n = -1; return { n: input.n === -1 ? 'mutated' : 0, result: input.original * 2 }; },
        async fail() { const error = new Error('the target failed'); error.code = 'PLUGRUN_DENIED'; error.extra = { secret: 1 }; throw error; },
        async ping(input, ctx) { return ctx.plugins.call('caller', 'pong', input); },
      };
    `,
  },
};

test('call returns the target result', withProject({
  target,
  caller: caller(`
    const input = { n: 21, original: 21 };
    const result = await ctx.plugins.call('target', 'double', input);
    ctx.log.info('result', { result, inputAfter: input });
  `),
}, async (project) => {
  await lockProject(project.dir);
  await grant(project, 'caller', 'msg:target');
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const events = parseNdjson(result.stdout);
  const log = events.find((event) => event.message === 'result');
  assert.equal(log?.fields.result, { n: 'mutated', result: 42 });
  assert.equal(log?.fields.inputAfter, { n: 21, original: 21 }, 'the target changed its own copy only');
  const msg = events.filter((event) => event.cap === 'msg');
  assert.is(msg.length, 1, 'one msg event for the call');
  assert.is(msg[0]!.plugin, 'caller');
  assert.is(msg[0]!.target, 'target.double');
  assert.is(msg[0]!.outcome, 'allowed');
  assert.ok(events.some((event) => event.plugin === 'target' && event.message === 'doubling 21'), "the target's own call is audited under the target");
}));

test('call without grant is denied', withProject({
  target,
  caller: caller(`
    try { await ctx.plugins.call('target', 'double', { original: 1 }); } catch (error) { ctx.log.info('denied', describe(error)); }
  `),
}, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  const denied = parseNdjson(result.stdout).find((event) => event.message === 'denied');
  assert.is(denied?.fields.code, 'PLUGRUN_DENIED');
  assert.match(denied?.fields.message, 'to allow it run: plugrun grant caller msg:target');
  assert.not.ok(parseNdjson(result.stdout).some((event) => event.message?.startsWith('doubling')), 'the target never ran');
}));

test('target error reaches caller as FAILED', withProject({
  target,
  caller: caller(`
    try { await ctx.plugins.call('target', 'fail', null); } catch (error) { ctx.log.info('failed', describe(error)); }
  `),
}, async (project) => {
  await lockProject(project.dir);
  await grant(project, 'caller', 'msg:target');
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  const failed = parseNdjson(result.stdout).find((event) => event.message === 'failed');
  assert.is(failed?.fields.code, 'PLUGRUN_FAILED');
  assert.match(failed?.fields.message, 'the target failed');
  assert.equal(failed?.fields.keys, ['code'], 'only the code is attached');
  assert.is(failed?.fields.hasCause, false);
}));

test('unknown target command fails clearly', withProject({
  target,
  caller: caller(`
    try { await ctx.plugins.call('target', 'nothing', null); } catch (error) { ctx.log.info('failed', describe(error)); }
  `),
}, async (project) => {
  await lockProject(project.dir);
  await grant(project, 'caller', 'msg:target');
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  const failed = parseNdjson(result.stdout).find((event) => event.message === 'failed');
  assert.is(failed?.fields.code, 'PLUGRUN_FAILED');
  assert.match(failed?.fields.message, 'has no command "nothing"');
}));

test('call cycle stops at the depth limit', withProject({
  target,
  caller: {
    manifest: { dependencies: ['target'] },
    files: {
      'index.js': `
        export const commands = { async pong(input, ctx) { return ctx.plugins.call('target', 'ping', input); } };
        export async function start(ctx) {
          try { await ctx.plugins.call('target', 'ping', {}); ctx.log.info('no error'); }
          catch (error) { ctx.log.info('cycle', { code: error.code, message: error.message }); }
        }
      `,
    },
  },
}, async (project) => {
  await lockProject(project.dir);
  await grant(project, 'caller', 'msg:target');
  await grant(project, 'target', 'msg:caller');
  const started = Date.now();
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.ok(Date.now() - started < 15_000, 'the cycle did not wait for a timeout');
  assert.is(result.code, 0, result.stderr);
  const events = parseNdjson(result.stdout);
  const cycle = events.find((event) => event.message === 'cycle');
  assert.is(cycle?.fields.code, 'PLUGRUN_FAILED');
  assert.match(cycle?.fields.message, 'deeper than 16');
  assert.is(cycle?.fields.message.split(' failed: ').length, 2, 'the failure is reported once, not once per hop');
  assert.ok(events.some((event) => event.cap === 'msg' && event.outcome === 'error' && event.error.code === 'PLUGRUN_LIMIT'));
  assert.ok(events.some((event) => event.plugin === 'target' && event.op === 'stop' && event.outcome === 'allowed'), 'both plugins still stop normally');
}));

test('call to a plugin that is not running fails', withProject({
  target: { files: { 'index.js': "export async function start() { throw new Error('no start'); }\nexport const commands = { async double() { return 1; } };\n" } },
  caller: {
    manifest: { capabilities: ['msg:target'], loadOrder: 5 },
    files: {
      'index.js': `
        export async function start(ctx) {
          try { await ctx.plugins.call('target', 'double', null); } catch (error) { ctx.log.info('failed', { code: error.code, message: error.message }); }
        }
      `,
    },
  },
}, async (project) => {
  await lockProject(project.dir);
  await grant(project, 'caller', 'msg:target');
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  const failed = parseNdjson(result.stdout).find((event) => event.message === 'failed');
  assert.is(failed?.fields.code, 'PLUGRUN_FAILED');
  assert.match(failed?.fields.message, 'plugin "target" is failed');
}));

test('call command loads its dependencies', withProject({
  target,
  caller: {
    manifest: { dependencies: ['target'], capabilities: ['msg:target'] },
    files: { 'index.js': "export const commands = { async run(input, ctx) { return ctx.plugins.call('target', 'double', { original: input.n }); } };\n" },
  },
}, async (project) => {
  await lockProject(project.dir);
  await grant(project, 'caller', 'msg:target');
  const result = await runCli(['call', 'caller', 'run', '{"n":4}'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  assert.is(JSON.parse(result.stdout).result, 8);
}));

test.run();

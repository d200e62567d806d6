import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_CALL_DEPTH, makeMsgCapability } from '../../capabilities/msg.js';
import type { PluginCallRequest } from '../../capabilities/types.js';
import { check, expectCode, expectRejection, makeTestEnv, operationOf } from './helpers.js';

const plugins = makeMsgCapability(makeTestEnv());
const call = operationOf(plugins.operations, 'call');

test('msg call needs the plugin', () => {
  const checked = check(call, 'weather', 'forecast', { city: 'Oslo' });
  assert.equal(checked.need, { kind: 'msg', plugin: 'weather' });
  assert.is(checked.target, 'weather.forecast');
  assert.equal(checked.args, { plugin: 'weather', command: 'forecast', input: { city: 'Oslo' } });
  assert.is(checked.audit, undefined);
});

test('msg call sends null for omitted input', () => {
  assert.equal(check(call, 'weather', 'now').args, { plugin: 'weather', command: 'now', input: null });
  assert.equal(check(call, 'weather', 'now', null).args, { plugin: 'weather', command: 'now', input: null });
});

test('msg call rejects bad plugin names', () => {
  const cases: readonly (readonly [unknown, string])[] = [
    [undefined, 'must be a string'],
    [42, 'must be a string'],
    ['', 'must be 1 to 64 lowercase'],
    ['Weather', 'must be 1 to 64 lowercase'],
    ['../weather', 'must be 1 to 64 lowercase'],
    ['-weather', 'must be 1 to 64 lowercase'],
    ['w'.repeat(65), 'must be 1 to 64 lowercase'],
  ];
  for (const [plugin, problem] of cases) {
    const error = expectCode(() => check(call, plugin, 'now'), 'PLUGRUN_INVALID', String(plugin));
    assert.ok(error.message.includes(problem), `${String(plugin)}: ${error.message}`);
  }
});

test('msg call rejects bad command names', () => {
  for (const command of [undefined, 1, '', ' now', 'now()', 'a.b', '1now', 'x'.repeat(129), 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    expectCode(() => check(call, 'weather', command), 'PLUGRUN_INVALID', String(command));
  }
  for (const command of ['now', '_private', '$run', 'getForecast2']) {
    assert.is((check(call, 'weather', command).args as { command: string }).command, command);
  }
});

test('msg call rejects non-JSON input', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const cases: readonly (readonly [unknown, string])[] = [
    [new Date(0), 'input is a Date'],
    [new Map(), 'input is a Map'],
    [{ a: Number.NaN }, 'input.a is NaN'],
    [{ a: undefined }, 'input.a is undefined'],
    [[1, 2n], 'input[1] is a bigint'],
    [cyclic, 'input.self refers to itself'],
    [new Uint8Array(2), 'input is a Uint8Array'],
  ];
  for (const [input, problem] of cases) {
    const error = expectCode(() => check(call, 'weather', 'now', input), 'PLUGRUN_INVALID', problem);
    assert.ok(error.message.includes(problem), error.message);
  }
  expectCode(() => check(call, 'weather', 'now', 'x'.repeat(1024 * 1024)), 'PLUGRUN_LIMIT');
  expectCode(() => check(call, 'weather', 'now', {}, 'extra'), 'PLUGRUN_INVALID');
});

test('msg perform asks the directory', async () => {
  const requests: PluginCallRequest[] = [];
  const env = { ...makeTestEnv(), plugins: { call: async (request: PluginCallRequest) => (requests.push(request), { ok: true }) } };
  const direct = operationOf(makeMsgCapability(env).operations, 'call');
  const result = await direct.perform({ plugin: 'weather', command: 'now', input: { city: 'Oslo' } }, { depth: 2 });
  assert.equal(result, { ok: true });
  assert.equal(requests, [{ caller: 'notes', plugin: 'weather', command: 'now', input: { city: 'Oslo' }, depth: 2 }]);
});

test('msg perform stops deep call chains', async () => {
  let called = false;
  const env = { ...makeTestEnv(), plugins: { call: async () => { called = true; } } };
  const direct = operationOf(makeMsgCapability(env).operations, 'call');
  const error = await expectRejection(direct.perform({ plugin: 'weather', command: 'now', input: null }, { depth: MAX_CALL_DEPTH }), 'PLUGRUN_LIMIT');
  assert.ok(error.message.includes(`deeper than ${MAX_CALL_DEPTH}`), error.message);
  assert.not.ok(called, 'the directory was not asked');
  await plugins.teardown();
});

test.run();

import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONFIG_VALUE_MAX_BYTES, makeConfigCapability } from '../../capabilities/config.js';
import { CONFIG_FILE_MAX_BYTES } from '../../capabilities/config-store.js';
import type { CapabilityInstance } from '../../capabilities/types.js';
import { check, expectCode, expectRejection, makeTestEnv, operationOf, withTempDir } from './helpers.js';

/** Checks and performs a config call, as the host does once the check passed. */
const run = async (config: CapabilityInstance, method: 'get' | 'set', ...alleged: unknown[]): Promise<unknown> => {
  const operation = operationOf(config.operations, method);
  return operation.perform(check(operation, ...alleged).args);
};

test('config get of unset key', async () => {
  await withTempDir(async (dir) => {
    const config = makeConfigCapability(makeTestEnv(dir));
    assert.is(await run(config, 'get', 'missing'), undefined);
    await config.teardown();
  });
});

test('config persists across instances', async () => {
  await withTempDir(async (dir) => {
    const env = makeTestEnv(dir);
    const first = makeConfigCapability(env);
    await run(first, 'set', 'runs', 3);
    await run(first, 'set', 'api.endpoint', 'https://example.com/');
    await run(first, 'set', 'filters', { tags: ['a', 'b'], active: true, limit: null });
    await run(first, 'set', 'runs', 4);
    await first.teardown();

    const second = makeConfigCapability(env);
    assert.is(await run(second, 'get', 'runs'), 4);
    assert.is(await run(second, 'get', 'api.endpoint'), 'https://example.com/');
    assert.equal(await run(second, 'get', 'filters'), { tags: ['a', 'b'], active: true, limit: null });
    await second.teardown();

    const text = await readFile(env.paths.config, 'utf8');
    assert.is(text, `${JSON.stringify({ 'api.endpoint': 'https://example.com/', filters: { tags: ['a', 'b'], active: true, limit: null }, runs: 4 }, null, 2)}\n`);
  });
});

test('config concurrent sets all land', async () => {
  await withTempDir(async (dir) => {
    const env = makeTestEnv(dir);
    const config = makeConfigCapability(env);
    await Promise.all(Array.from({ length: 25 }, (_, index) => run(config, 'set', `key${index}`, index)));
    await config.teardown();

    const stored = JSON.parse(await readFile(env.paths.config, 'utf8'));
    for (let index = 0; index < 25; index += 1) assert.is(stored[`key${index}`], index, `key${index}`);
  });
});

test('config get sees earlier set', async () => {
  await withTempDir(async (dir) => {
    const config = makeConfigCapability(makeTestEnv(dir));
    const set = run(config, 'set', 'mode', 'fast');
    const get = run(config, 'get', 'mode');
    await set;
    assert.is(await get, 'fast');
    await config.teardown();
  });
});

test('config get returns a copy', async () => {
  await withTempDir(async (dir) => {
    const config = makeConfigCapability(makeTestEnv(dir));
    await run(config, 'set', 'list', [1, 2]);
    const value = (await run(config, 'get', 'list')) as number[];
    value.push(3);
    assert.equal(await run(config, 'get', 'list'), [1, 2]);
    await config.teardown();
  });
});

test('config file is private', async () => {
  if (process.platform === 'win32') return;
  await withTempDir(async (dir) => {
    const env = makeTestEnv(dir);
    const config = makeConfigCapability(env);
    await run(config, 'set', 'token', 'x');
    await config.teardown();
    assert.is((await stat(env.paths.config)).mode & 0o777, 0o600);
  });
});

test('config corrupt file is an error', async () => {
  await withTempDir(async (dir) => {
    const env = makeTestEnv(dir);
    await mkdir(path.dirname(env.paths.config), { recursive: true });
    await writeFile(env.paths.config, '{"runs": 3,');

    const config = makeConfigCapability(env);
    const getError = await expectRejection(run(config, 'get', 'runs'), 'PLUGRUN_FAILED');
    assert.ok(getError.message.includes(env.paths.config), getError.message);
    assert.ok(getError.message.includes('not valid JSON'), getError.message);

    const setError = await expectRejection(run(config, 'set', 'runs', 4), 'PLUGRUN_FAILED');
    assert.ok(setError.message.includes(env.paths.config), setError.message);
    assert.is(await readFile(env.paths.config, 'utf8'), '{"runs": 3,', 'the corrupt file was changed');

    // Once repaired, the file is read again.
    await writeFile(env.paths.config, '{"runs": 3}');
    assert.is(await run(config, 'get', 'runs'), 3);
    await config.teardown();
  });
});

test('config non-object file is an error', async () => {
  await withTempDir(async (dir) => {
    const env = makeTestEnv(dir);
    await mkdir(path.dirname(env.paths.config), { recursive: true });
    for (const text of ['[1, 2]', '"runs"', 'null', '42']) {
      await writeFile(env.paths.config, text);
      const config = makeConfigCapability(env);
      const error = await expectRejection(run(config, 'get', 'runs'), 'PLUGRUN_FAILED');
      assert.ok(error.message.includes('must contain a JSON object'), `${text}: ${error.message}`);
      await config.teardown();
    }
  });
});

test('config rejects bad keys', () => {
  const config = makeConfigCapability(makeTestEnv());
  const get = operationOf(config.operations, 'get');
  const set = operationOf(config.operations, 'set');
  for (const key of [undefined, 42, '', 'a b', 'a/b', 'ключ', 'a\u0000', 'k'.repeat(129), '__proto__', ['a']]) {
    expectCode(() => check(get, key), 'PLUGRUN_INVALID', `get ${String(key)}`);
    expectCode(() => check(set, key, 1), 'PLUGRUN_INVALID', `set ${String(key)}`);
  }
  for (const key of ['a', 'api.endpoint', 'db:path', 'max-items', 'A_1', 'k'.repeat(128)]) {
    assert.equal(check(get, key).args, { key }, key);
    assert.is(check(get, key).target, key);
    assert.is(check(get, key).need, null);
  }
});

test('config rejects bad values', () => {
  const set = operationOf(makeConfigCapability(makeTestEnv()).operations, 'set');
  const cases: readonly (readonly [unknown, string])[] = [
    [undefined, 'value is undefined'],
    [Number.NaN, 'value is NaN'],
    [new Date(0), 'value is a Date'],
    [{ a: () => 1 }, 'value.a is a function'],
    [new Uint8Array(1), 'value is a Uint8Array'],
  ];
  for (const [value, problem] of cases) {
    const error = expectCode(() => check(set, 'key', value), 'PLUGRUN_INVALID', problem);
    assert.ok(error.message.includes(problem), error.message);
  }
  expectCode(() => check(set, 'key', 'x'.repeat(CONFIG_VALUE_MAX_BYTES)), 'PLUGRUN_LIMIT');
  check(set, 'key', 'x'.repeat(CONFIG_VALUE_MAX_BYTES - 2));
  expectCode(() => check(set, 'key', 1, 'extra'), 'PLUGRUN_INVALID');
});

test('config set never audits the value', () => {
  const set = operationOf(makeConfigCapability(makeTestEnv()).operations, 'set');
  const checked = check(set, 'token', 'SECRET');
  assert.is(checked.target, 'token');
  assert.not.ok(JSON.stringify(checked.audit ?? {}).includes('SECRET'));
});

test('config file size limit', async () => {
  await withTempDir(async (dir) => {
    const env = makeTestEnv(dir);
    const config = makeConfigCapability(env);
    const value = 'x'.repeat(CONFIG_VALUE_MAX_BYTES - 100);
    const count = Math.floor(CONFIG_FILE_MAX_BYTES / CONFIG_VALUE_MAX_BYTES);
    for (let index = 0; index < count; index += 1) await run(config, 'set', `key${index}`, value);

    const error = await expectRejection(run(config, 'set', 'one-more', value), 'PLUGRUN_LIMIT');
    assert.ok(error.message.includes('over the maximum'), error.message);
    assert.is(await run(config, 'get', 'one-more'), undefined);
    assert.is(await run(config, 'get', 'key0'), value);
    await config.teardown();
  });
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LOG_LEVELS, LOG_MESSAGE_MAX_CHARS, makeLogCapability, truncateLogMessage } from '../../capabilities/log.js';
import { check, expectCode, makeTestEnv, operationOf } from './helpers.js';

const log = makeLogCapability(makeTestEnv());

test('log has one method per level', () => {
  assert.equal(Object.keys(log.operations).sort(), [...LOG_LEVELS].sort());
});

test('log audit carries message and fields', () => {
  for (const level of LOG_LEVELS) {
    const operation = operationOf(log.operations, level);
    const plain = check(operation, 'started');
    assert.is(plain.need, null, level);
    assert.equal(plain.audit, { message: 'started' }, level);

    const withFields = check(operation, 'saved', { id: 3, tags: ['a'] });
    assert.equal(withFields.audit, { message: 'saved', fields: { id: 3, tags: ['a'] } }, level);
  }
});

test('log rejects non-string message', () => {
  const info = operationOf(log.operations, 'info');
  for (const message of [undefined, null, 42, { text: 'x' }, ['x'], new Uint8Array(1)]) {
    const error = expectCode(() => check(info, message), 'PLUGRUN_INVALID', String(message));
    assert.ok(error.message.startsWith('ctx.log.info message must be a string'), error.message);
  }
});

test('log rejects bad fields', () => {
  const warn = operationOf(log.operations, 'warn');
  const cases: readonly (readonly [unknown, string])[] = [
    [null, 'must be a plain object, got null'],
    ['x', 'must be a plain object, got a string'],
    [[1], 'must be a plain object, got an array'],
    [new Date(0), 'must be a plain object, got a Date'],
    [{ at: new Date(0) }, 'fields.at is a Date'],
    [{ n: Number.POSITIVE_INFINITY }, 'fields.n is Infinity'],
  ];
  for (const [fields, problem] of cases) {
    const error = expectCode(() => check(warn, 'x', fields), 'PLUGRUN_INVALID', problem);
    assert.ok(error.message.includes(problem), error.message);
  }
  expectCode(() => check(warn, 'x', { big: 'x'.repeat(17 * 1024) }), 'PLUGRUN_LIMIT');
  expectCode(() => check(warn, 'x', {}, 'extra'), 'PLUGRUN_INVALID');
});

test('log truncates long message', () => {
  const long = 'a'.repeat(LOG_MESSAGE_MAX_CHARS + 100);
  const checked = check(operationOf(log.operations, 'debug'), long);
  const message = (checked.audit as { message: string }).message;
  assert.ok(message.startsWith('a'.repeat(LOG_MESSAGE_MAX_CHARS)));
  assert.ok(message.endsWith('... [truncated 100 characters]'), message.slice(-40));
  assert.is(truncateLogMessage('short'), 'short');
  assert.is(truncateLogMessage('a'.repeat(LOG_MESSAGE_MAX_CHARS)), 'a'.repeat(LOG_MESSAGE_MAX_CHARS));
});

test('log truncation keeps surrogate pairs', () => {
  const message = `${'a'.repeat(LOG_MESSAGE_MAX_CHARS - 1)}😀tail`;
  const truncated = truncateLogMessage(message);
  assert.ok(truncated.startsWith(`${'a'.repeat(LOG_MESSAGE_MAX_CHARS - 1)}...`), 'half a character was kept');
  assert.ok(truncated.endsWith('[truncated 6 characters]'), truncated.slice(-40));
});

test('log perform does nothing', async () => {
  assert.is(await operationOf(log.operations, 'error').perform({ message: 'x', fields: undefined }), undefined);
  await log.teardown();
});

test.run();

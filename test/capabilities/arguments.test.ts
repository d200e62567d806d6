import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeType, escapeControlCharacters, expectJsonValue, quote } from '../../capabilities/arguments.js';
import { expectCode } from './helpers.js';

test('quote escapes control and bidi characters', () => {
  assert.is(quote('a\u001b[2Jb'), '"a\\u001b[2Jb"');
  assert.is(quote('a\u202eb'), '"a\\u202eb"');
  assert.is(quote('a\u2028b'), '"a\\u2028b"');
  assert.is(quote('a\u200bb'), '"a\\u200bb"');
  assert.is(quote('line\nnext'), '"line\\nnext"');
  assert.is(quote('plain'), '"plain"');
});

test('quote shortens long text', () => {
  const quoted = quote('x'.repeat(500));
  assert.is(quoted, `"${'x'.repeat(120)}"... (500 characters)`);
});

test('escapeControlCharacters keeps printable text', () => {
  assert.is(escapeControlCharacters('héllo wörld 😀'), 'héllo wörld 😀');
  assert.is(escapeControlCharacters('\u0007'), '\\u0007');
});

test('describeType names values', () => {
  const cases: readonly (readonly [unknown, string])[] = [
    [undefined, 'undefined'],
    [null, 'null'],
    ['x', 'a string'],
    [1, 'a number'],
    [true, 'a boolean'],
    [1n, 'a bigint'],
    [Symbol('x'), 'a symbol'],
    [() => 1, 'a function'],
    [[], 'an array'],
    [{}, 'an object'],
    [Object.create(null), 'an object'],
    [new Uint8Array(1), 'a Uint8Array'],
    [new Int8Array(1), 'an Int8Array'],
    [Buffer.from('x'), 'a Uint8Array'],
    [new Date(0), 'a Date'],
    [new Map(), 'a Map'],
    [new URL('https://example.com/'), 'a URL'],
    [new (class Custom {})(), 'an Object'],
  ];
  for (const [value, expected] of cases) assert.is(describeType(value), expected, expected);
});

test('expectJsonValue accepts JSON values', () => {
  const value = { a: [1, 'two', true, null, { b: -0.5 }], c: {} };
  assert.is(expectJsonValue(value, 'value', 1000), value);
  const bare = Object.assign(Object.create(null), { a: 1 });
  assert.is(expectJsonValue(bare, 'value', 1000), bare);
});

test('expectJsonValue rejects deep nesting', () => {
  let deep: unknown = 1;
  for (let depth = 0; depth < 70; depth += 1) deep = [deep];
  const error = expectCode(() => expectJsonValue(deep, 'value', 1_000_000), 'PLUGRUN_INVALID');
  assert.ok(error.message.includes('nested deeper than 64'), error.message);
});

test('expectJsonValue allows repeated references', () => {
  const shared = { a: 1 };
  assert.ok(expectJsonValue({ x: shared, y: shared }, 'value', 1000));
});

test('expectJsonValue measures UTF-8 bytes', () => {
  expectJsonValue('é'.repeat(4), 'value', 10);
  const error = expectCode(() => expectJsonValue('é'.repeat(5), 'value', 11), 'PLUGRUN_LIMIT');
  assert.ok(error.message.includes('12 bytes'), error.message);
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { describeSyntaxError, locateJsonError } from '../../runtime/json-syntax.js';

/** Each case: invalid JSON text and the offset of the first character that breaks it. */
const syntaxCases: { name: string; text: string; offset: number }[] = [
  { name: 'trailing comma in array', text: '[1, 2,]', offset: 6 },
  { name: 'trailing comma in object', text: '{"a": 1,\n}', offset: 9 },
  { name: 'unquoted key', text: '{a: 1}', offset: 1 },
  { name: 'single quotes', text: "{'a': 1}", offset: 1 },
  { name: 'missing colon', text: '{"a" 1}', offset: 5 },
  { name: 'missing comma', text: '[1 2]', offset: 3 },
  { name: 'bad literal', text: '[tru]', offset: 4 },
  { name: 'leading zero', text: '[01]', offset: 2 },
  { name: 'bare minus', text: '-', offset: 1 },
  { name: 'control character in string', text: '"a\u0001"', offset: 2 },
  { name: 'bad escape', text: '"\\x"', offset: 2 },
  { name: 'short unicode escape', text: '"\\u12"', offset: 5 },
  { name: 'unterminated string', text: '"abc', offset: 4 },
  { name: 'unclosed object', text: '{"a": 1', offset: 7 },
  { name: 'text after value', text: '{} x', offset: 3 },
  { name: 'empty text', text: '', offset: 0 },
  { name: 'comment', text: '// note\n{}', offset: 0 },
];

for (const { name, text, offset } of syntaxCases) {
  test(`locateJsonError finds ${name}`, () => {
    assert.throws(() => JSON.parse(text));
    assert.is(locateJsonError(text), offset);
  });
}

test('locateJsonError accepts valid JSON', () => {
  for (const text of ['{}', '[]', '0', '-1.5e+3', '"\\u00e9\\n"', ' {"a": [true, false, null, {"b": "c"}]} ']) {
    assert.is(locateJsonError(text), undefined, text);
  }
});

test('locateJsonError gives up on deep nesting', () => {
  assert.is(locateJsonError('['.repeat(100_000)), undefined);
});

const syntaxErrorOf = (text: string): unknown => {
  try {
    JSON.parse(text);
  } catch (error) {
    return error;
  }
  throw new Error(`expected invalid JSON: ${text}`);
};

test('describeSyntaxError gives line and column', () => {
  const text = '{\n  "a": [1,\n  ]\n}';
  assert.is(describeSyntaxError(text, syntaxErrorOf(text)), "is not valid JSON at line 3, column 3: Unexpected token ']'");
});

test('describeSyntaxError drops the source excerpt', () => {
  const text = '{"secret": "hunter2", oops}';
  const description = describeSyntaxError(text, syntaxErrorOf(text));
  assert.not.match(description, 'hunter2');
  assert.match(description, 'line 1, column 23');
});

test('describeSyntaxError names the end of input', () => {
  assert.is(describeSyntaxError('[1,', syntaxErrorOf('[1,')), 'is not valid JSON at line 1, column 4: unexpected end of input');
});

test.run();

/**
 * The libraries of the compatibility suite, each pinned to one version so a
 * run is reproducible, with a representative call whose result is a JSON
 * value. The same module runs as a plugin command through `plugrun call` and
 * in plain Node, and the two results must be equal.
 *
 * A call returns only deterministic values: random output (uuid v4, nanoid)
 * is reduced to its length and alphabet, and dates are fixed and read in UTC.
 */

/** One library and the plugin module that exercises it. */
export interface LibraryCase {
  /** The npm package name. */
  readonly name: string;
  /** The exact version installed. */
  readonly version: string;
  /** The import statements at the top of the plugin module. */
  readonly imports: string;
  /** The body of `commands.run`, which returns a JSON value. */
  readonly body: string;
}

/** The libraries, in the order of the report. */
export const libraries: readonly LibraryCase[] = [
  {
    name: 'marked',
    version: '18.3.0',
    imports: "import { marked } from 'marked';",
    body: "return marked.parse('# Title\\n\\nSome *emphasis*, `code` and a [link](https://example.org).\\n\\n- one\\n- two\\n\\n<!-- a comment -->\\n');",
  },
  {
    name: 'lodash',
    version: '4.18.1',
    imports: "import _ from 'lodash';",
    body: [
      'return {',
      '  chunk: _.chunk([1, 2, 3, 4, 5], 2),',
      '  merged: _.merge({ a: { b: 1 } }, { a: { c: 2 } }),',
      "  camel: _.camelCase('Foo Bar-baz'),",
      '  grouped: _.groupBy([1.3, 2.1, 2.4], Math.floor),',
      "  sorted: _.sortBy([{ n: 'b' }, { n: 'a' }], 'n'),",
      "  picked: _.pick({ a: 1, b: 2, c: 3 }, ['a', 'c']),",
      '  uniq: _.uniqBy([2.1, 1.2, 2.3], Math.floor),',
      '};',
    ].join('\n'),
  },
  {
    name: 'date-fns',
    version: '4.4.0',
    imports: "import { addDays, differenceInCalendarDays, format, formatDistanceStrict, parseISO } from 'date-fns';",
    body: [
      "const day = parseISO('2024-02-27T10:00:00');",
      'return {',
      "  formatted: format(addDays(day, 3), 'yyyy-MM-dd EEEE'),",
      "  days: differenceInCalendarDays(parseISO('2024-12-25'), day),",
      "  distance: formatDistanceStrict(day, parseISO('2024-03-27T10:00:00')),",
      '};',
    ].join('\n'),
  },
  {
    name: 'dayjs',
    version: '1.11.23',
    imports: "import dayjs from 'dayjs';",
    body: [
      "const day = dayjs('2024-02-27T10:00:00');",
      "return { formatted: day.add(1, 'month').format('YYYY-MM-DD HH:mm dddd'), valid: dayjs('nope').isValid(), diff: day.diff(dayjs('2024-01-01'), 'day') };",
    ].join('\n'),
  },
  {
    name: 'zod',
    version: '4.6.7',
    imports: "import { z } from 'zod';",
    body: [
      'const User = z.object({ name: z.string().min(1), age: z.number().int().nonnegative(), tags: z.array(z.string()).default([]) });',
      "const good = User.parse({ name: 'Ada', age: 36 });",
      "const bad = User.safeParse({ name: '', age: -1 });",
      'return { good, ok: bad.success, issues: bad.error.issues.map((issue) => ({ path: issue.path, code: issue.code })) };',
    ].join('\n'),
  },
  {
    name: 'uuid',
    version: '14.0.3',
    imports: "import { v4, v5, validate, version } from 'uuid';",
    body: "const id = v4();\nreturn { v5: v5('hello', v5.URL), valid: validate(id), version: version(id), length: id.length };",
  },
  {
    name: 'nanoid',
    version: '5.1.16',
    imports: "import { customAlphabet, nanoid } from 'nanoid';",
    body: "const id = nanoid();\nreturn { length: id.length, alphabet: /^[A-Za-z0-9_-]+$/.test(id), custom: /^[ab]{8}$/.test(customAlphabet('ab', 8)()) };",
  },
  {
    name: 'yaml',
    version: '2.9.1',
    imports: "import YAML from 'yaml';",
    body: "const value = YAML.parse('a: 1\\nlist:\\n  - x\\n  - y\\nnested: { b: true }\\n');\nreturn { value, text: YAML.stringify({ name: 'plugrun', items: [1, 2] }) };",
  },
  {
    name: 'semver',
    version: '7.8.6',
    imports: "import semver from 'semver';",
    body: [
      'return {',
      "  satisfies: semver.satisfies('1.2.3', '^1.0.0 || ^2.0.0'),",
      "  max: semver.maxSatisfying(['1.2.3', '1.4.0', '2.0.0-beta.1'], '~1.4.0'),",
      "  coerced: semver.coerce('v2.3').version,",
      "  range: new semver.Range('>=1.2.7 <1.3.0').format(),",
      "  sorted: semver.sort(['1.10.0', '1.2.0', '1.2.0-rc.1']),",
      '};',
    ].join('\n'),
  },
  {
    name: 'ajv',
    version: '8.20.0',
    imports: "import Ajv from 'ajv';",
    body: [
      'const ajv = new Ajv({ allErrors: true });',
      "const validate = ajv.compile({ type: 'object', properties: { n: { type: 'integer', minimum: 1 }, s: { type: 'string' } }, required: ['n'], additionalProperties: false });",
      "return { good: validate({ n: 2, s: 'x' }), bad: validate({ n: 0, extra: 1 }), errors: validate.errors.map((error) => error.keyword) };",
    ].join('\n'),
  },
  {
    name: 'csv-parse',
    version: '7.0.3',
    imports: "import { parse } from 'csv-parse/sync';",
    body: "return parse('name,age\\nAda,36\\n\"Lovelace, A\",\"1\"\"2\"\\n', { columns: true, skip_empty_lines: true });",
  },
  {
    name: 'mustache',
    version: '4.2.0',
    imports: "import Mustache from 'mustache';",
    body: "return Mustache.render('Hello {{name}}! {{#items}}<{{.}}>{{/items}} {{{raw}}} {{escaped}}', { name: 'Ada', items: [1, 2], raw: '<b>', escaped: '<i>' });",
  },
  {
    name: 'handlebars',
    version: '4.7.10',
    imports: "import Handlebars from 'handlebars';",
    body: [
      'const hb = Handlebars.create();',
      "hb.registerHelper('upper', (text) => String(text).toUpperCase());",
      "const template = hb.compile('{{upper name}} has {{#each items}}[{{this}}]{{/each}} {{html}}');",
      "return template({ name: 'Ada', items: ['a', 'b'], html: '<b>' });",
    ].join('\n'),
  },
  {
    name: 'he',
    version: '1.2.0',
    imports: "import he from 'he';",
    body: "return { encoded: he.encode('foo © bar ≠ baz 𝌆 <qux>'), decoded: he.decode('foo &copy; bar &ne; baz &#x1D306; &lt;qux&gt;') };",
  },
  {
    name: 'ms',
    version: '2.1.3',
    imports: "import ms from 'ms';",
    body: "return { days: ms('2 days'), short: ms(60000), long: ms(ms('10h'), { long: true }) };",
  },
  {
    name: 'qs',
    version: '6.17.1',
    imports: "import qs from 'qs';",
    body: "return { parsed: qs.parse('a[b][c]=1&list[]=x&list[]=y&e=%20'), text: qs.stringify({ a: { b: [1, 2] }, c: 'd e' }) };",
  },
  {
    name: 'diff',
    version: '9.0.0',
    imports: "import { createPatch, diffWords } from 'diff';",
    body: [
      "const parts = diffWords('the quick brown fox', 'the slow brown dog').map((part) => ({ value: part.value, added: Boolean(part.added), removed: Boolean(part.removed) }));",
      "return { parts, patch: createPatch('a.txt', 'one\\ntwo\\nthree\\n', 'one\\n2\\nthree\\n', '', '') };",
    ].join('\n'),
  },
  {
    name: 'immer',
    version: '11.2.14',
    imports: "import { produce } from 'immer';",
    body: [
      "const base = { todos: [{ text: 'a', done: false }] };",
      "const next = produce(base, (draft) => { draft.todos[0].done = true; draft.todos.push({ text: 'b', done: false }); });",
      'return { next, unchanged: base.todos[0].done, frozen: Object.isFrozen(next), shared: produce(base, () => {}) === base };',
    ].join('\n'),
  },
  {
    name: 'decimal.js',
    version: '10.6.0',
    imports: "import Decimal from 'decimal.js';",
    body: "const third = new Decimal(1).div(3);\nreturn { third: third.toFixed(20), sum: new Decimal('0.1').plus('0.2').toString(), pow: new Decimal(2).pow(100).toFixed(), sqrt: new Decimal(2).sqrt().toSignificantDigits(15).toString() };",
  },
  {
    name: 'ramda',
    version: '0.32.0',
    imports: "import * as R from 'ramda';",
    body: "const pipeline = R.pipe(R.filter((n) => n % 2 === 1), R.map((n) => n * n), R.sum);\nreturn { sum: pipeline([1, 2, 3, 4, 5]), grouped: R.groupBy((word) => word[0], ['apple', 'avocado', 'banana']), path: R.path(['a', 'b'], { a: { b: 7 } }) };",
  },
  {
    name: 'validator',
    version: '13.15.35',
    imports: "import validator from 'validator';",
    body: "return { email: validator.isEmail('ada@example.org'), badEmail: validator.isEmail('ada@'), url: validator.isURL('https://example.org/x?y=1'), uuid: validator.isUUID('9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d'), escaped: validator.escape('<a href=\"x\">') };",
  },
  {
    name: 'js-yaml',
    version: '5.5.0',
    imports: "import * as yaml from 'js-yaml';",
    body: "return { value: yaml.load('a: 1\\nb: [x, y]\\nc: { d: null }\\n'), text: yaml.dump({ name: 'plugrun', list: [1, 'two'] }) };",
  },
  {
    name: 'luxon',
    version: '3.7.2',
    imports: "import { DateTime, Duration } from 'luxon';",
    body: "const day = DateTime.fromISO('2024-02-27T10:00:00', { zone: 'utc' });\nreturn { iso: day.plus({ months: 1, hours: 3 }).toISO(), formatted: day.toFormat('yyyy LLL dd, HH:mm'), duration: Duration.fromObject({ hours: 2, minutes: 30 }).as('minutes') };",
  },
  {
    name: 'fast-xml-parser',
    version: '5.12.1',
    imports: "import { XMLBuilder, XMLParser } from 'fast-xml-parser';",
    body: "const value = new XMLParser({ ignoreAttributes: false }).parse('<root a=\"1\"><item>x</item><item>y</item></root>');\nreturn { value, text: new XMLBuilder({}).build({ note: { to: 'Ada', body: 'hi' } }) };",
  },
  {
    name: 'slugify',
    version: '1.6.9',
    imports: "import slugify from 'slugify';",
    body: "return { plain: slugify('Héllo Wörld & co'), strict: slugify('Héllo Wörld & co!', { lower: true, strict: true }) };",
  },
  {
    name: 'clsx',
    version: '2.1.1',
    imports: "import clsx from 'clsx';",
    body: "return clsx('a', { b: true, c: false }, ['d', ['e']], null, 0 && 'f');",
  },
  {
    name: 'deepmerge',
    version: '4.3.1',
    imports: "import deepmerge from 'deepmerge';",
    body: "return deepmerge({ a: [1], b: { c: 1 } }, { a: [2], b: { d: 2 } });",
  },
  {
    name: 'fast-deep-equal',
    version: '3.1.3',
    imports: "import equal from 'fast-deep-equal';",
    body: "return { same: equal({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), different: equal({ a: 1 }, { a: '1' }) };",
  },
  {
    name: 'pluralize',
    version: '8.0.0',
    imports: "import pluralize from 'pluralize';",
    body: "return { plural: pluralize('person'), singular: pluralize.singular('geese'), counted: pluralize('test', 5, true) };",
  },
  {
    name: 'bignumber.js',
    version: '11.1.5',
    imports: "import BigNumber from 'bignumber.js';",
    body: "return { sum: new BigNumber('0.1').plus('0.2').toString(), big: new BigNumber(2).pow(80).toFixed(), rounded: new BigNumber('1.005').decimalPlaces(2).toString() };",
  },
  {
    name: 'json5',
    version: '2.2.3',
    imports: "import JSON5 from 'json5';",
    body: "return { value: JSON5.parse(\"{ a: 1, b: 'two', c: [3,], // note\\n d: 0x10 }\"), text: JSON5.stringify({ a: 1, 'b-c': [2] }) };",
  },
  {
    name: 'path-to-regexp',
    version: '9.0.0',
    imports: "import { compile, match } from 'path-to-regexp';",
    body: "const matched = match('/users/:id{/:tab}')('/users/42/posts');\nreturn { params: matched && matched.params, path: compile('/files/*rest')({ rest: ['a', 'b.txt'] }) };",
  },
  {
    name: 'cookie',
    version: '1.1.1',
    imports: "import { parse, serialize } from 'cookie';",
    body: "return { parsed: { ...parse('a=1; b=hello%20world; c=\"q\"') }, text: serialize('session', 'x y', { httpOnly: true, maxAge: 60, path: '/' }) };",
  },
  {
    name: 'mime',
    version: '4.1.2',
    imports: "import mime from 'mime';",
    body: "return { type: mime.getType('notes.md'), json: mime.getType('a/b/data.json'), extension: mime.getExtension('text/html') };",
  },
  {
    name: 'papaparse',
    version: '5.7.1',
    imports: "import Papa from 'papaparse';",
    body: "const parsed = Papa.parse('name,age\\nAda,36\\n\"B, C\",7', { header: true, dynamicTyping: true });\nreturn { data: parsed.data, errors: parsed.errors.length, text: Papa.unparse([{ a: 1, b: 'x,y' }]) };",
  },
];

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeDbCapability } from '../../capabilities/db.js';
import { check, expectCode, makeTestEnv, operationOf } from './helpers.js';

const db = makeDbCapability(makeTestEnv(undefined, { dbMaxRows: 500 }));
const createTable = operationOf(db.operations, 'createTable');
const insert = operationOf(db.operations, 'insert');
const select = operationOf(db.operations, 'select');
const update = operationOf(db.operations, 'update');
const deleteRows = operationOf(db.operations, 'delete');
const query = operationOf(db.operations, 'query');

const SCHEMA = { columns: { title: { type: 'string', required: true, maxLength: 200 }, done: { type: 'boolean', default: false } } };

/** Table names that every table method rejects, and a part of the message. */
const REJECTED_TABLES: readonly (readonly [unknown, string])[] = [
  [undefined, 'must be a string, got undefined'],
  [42, 'must be a string, got a number'],
  [['notes'], 'must be a string, got an array'],
  ['', 'must start with a letter'],
  ['1notes', 'must start with a letter'],
  ['notes; DROP TABLE x', 'must start with a letter'],
  ['"notes"', 'must start with a letter'],
  ['notes-2', 'must start with a letter'],
  ['main.notes', 'must start with a letter'],
  ['*', 'must start with a letter'],
  ['sqlite_master', 'sqlite_'],
  ['SQLITE_SCHEMA', 'sqlite_'],
  ['t'.repeat(65), 'longer than 64'],
];

test('db rejects bad table names', () => {
  const calls: readonly (readonly [string, (table: unknown) => unknown])[] = [
    ['createTable', (table) => check(createTable, table, SCHEMA)],
    ['insert', (table) => check(insert, table, { title: 'a' })],
    ['select', (table) => check(select, table)],
    ['update', (table) => check(update, table, { done: true }, { id: 1 })],
    ['delete', (table) => check(deleteRows, table, { id: 1 })],
  ];
  for (const [method, call] of calls) {
    for (const [table, problem] of REJECTED_TABLES) {
      const label = `${method} ${String(table)}`;
      const error = expectCode(() => call(table), 'PLUGRUN_INVALID', label);
      assert.ok(error.message.includes(problem), `${label}: "${error.message}" lacks "${problem}"`);
    }
  }
});

test('db need lowercases table', () => {
  assert.equal(check(select, 'Notes').need, { kind: 'db', table: 'notes' });
  assert.is(check(select, 'Notes').target, 'notes');
  assert.equal(check(insert, 'notes', {}).need, { kind: 'db', table: 'notes' });
  assert.equal(check(createTable, 'NOTES', SCHEMA).need, { kind: 'db', table: 'notes' });
});

test('db createTable accepts schema', () => {
  const checked = check(createTable, 'notes', {
    columns: {
      title: { type: 'string', required: true, unique: true, maxLength: 100 },
      body: { type: 'json', default: { tags: [] } },
      due: { type: 'date', default: '2026-12-04T19:30:00.000Z' },
      rank: { type: 'number', default: 0 },
      done: { type: 'boolean', default: null },
    },
    primaryKey: 'title',
    indexes: ['due', ['done', 'rank']],
  });
  assert.is((checked.args as { table: string }).table, 'notes');
});

test('db createTable rejects bad schema', () => {
  const cases: readonly (readonly [unknown, string])[] = [
    [undefined, 'expected object'],
    [{}, 'columns'],
    [{ columns: {} }, 'at least one column'],
    [{ columns: { title: { type: 'text' } } }, 'columns.title.type'],
    [{ columns: { title: 'string' } }, 'columns.title'],
    [{ columns: { '1title': { type: 'string' } } }, 'invalid key, must start with a letter'],
    [{ columns: { 'ti tle': { type: 'string' } } }, 'invalid key'],
    [JSON.parse('{"columns": {"__proto__": {"type": "string"}}}'), 'reserved by JavaScript'],
    [{ columns: { title: { type: 'string', check: 'x > 0' } } }, 'Unrecognized key'],
    [{ columns: { title: { type: 'string' } }, temporary: true }, 'Unrecognized key'],
    [{ columns: { title: { type: 'string', default: 1 } } }, 'does not match type string'],
    [{ columns: { n: { type: 'number', default: 'one' } } }, 'does not match type number'],
    [{ columns: { d: { type: 'date', default: 'next tuesday' } } }, 'does not match type date'],
    [{ columns: { n: { type: 'number', maxLength: 3 } } }, 'only to string columns'],
    [{ columns: { title: { type: 'string', maxLength: 0 } } }, 'maxLength'],
    [{ columns: { title: { type: 'string' }, Title: { type: 'string' } } }, 'only in case'],
    [{ columns: { title: { type: 'string' } }, primaryKey: 'id' }, 'primaryKey'],
    [{ columns: { title: { type: 'string' } }, indexes: ['missing'] }, 'indexes[0]'],
    [{ columns: { title: { type: 'string' } }, indexes: [[]] }, 'indexes[0]'],
    [{ columns: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`c${i}`, { type: 'string' }])) }, 'more than 50'],
    [{ columns: { title: { type: 'string', maxLength: 10_001 } } }, 'maxLength'],
    [{ columns: { title: { type: 'string', maxLength: 3, default: 'long' } } }, 'longer than maxLength 3'],
    [{ columns: { rowid: { type: 'number' } } }, 'reserved by SQLite for the row id'],
    [{ columns: { _ROWID_: { type: 'number' } } }, 'reserved by SQLite for the row id'],
    [{ columns: { id: { type: 'number' } } }, 'implicit primary key'],
    [{ columns: { Id: { type: 'string' } } }, 'implicit primary key'],
    [{ columns: { title: { type: 'string' } }, primaryKey: 'Title' }, 'primaryKey'],
  ];
  for (const [schema, problem] of cases) {
    const label = JSON.stringify(schema)?.slice(0, 80) ?? 'undefined';
    const error = expectCode(() => check(createTable, 'notes', schema), 'PLUGRUN_INVALID', label);
    assert.ok(error.message.includes(problem), `${label}: "${error.message}" lacks "${problem}"`);
    assert.ok(error.message.startsWith('ctx.db.createTable schema'), error.message);
  }
});

test('db insert checks row', () => {
  const checked = check(insert, 'notes', { title: 'a', body: { tags: ['x'] }, done: false, rank: null });
  assert.equal((checked.args as { row: unknown }).row, { title: 'a', body: { tags: ['x'] }, done: false, rank: null });

  const cases: readonly (readonly [unknown, string])[] = [
    [undefined, 'must be a plain object'],
    [['a'], 'must be a plain object'],
    [new Map([['title', 'a']]), 'must be a plain object, got a Map'],
    [{ 'title; --': 'a' }, 'column name'],
    [JSON.parse('{"__proto__": 1}'), 'reserved by JavaScript'],
    [{ title: undefined }, 'row.title is undefined'],
    [{ rank: Number.NaN }, 'row.rank is NaN'],
    [{ due: new Date(0) }, 'row.due is a Date'],
    [{ title: 1n }, 'row.title is a bigint'],
  ];
  for (const [row, problem] of cases) {
    const label = String(row);
    const error = expectCode(() => check(insert, 'notes', row), 'PLUGRUN_INVALID', label);
    assert.ok(error.message.includes(problem), `${label}: "${error.message}" lacks "${problem}"`);
  }
});

test('db select where and options', () => {
  const checked = check(select, 'notes', { done: false, title: 'a' }, { limit: 10, offset: 5, orderBy: 'title', orderDirection: 'desc' });
  assert.equal(checked.args, {
    table: 'notes',
    where: { done: false, title: 'a' },
    options: { limit: 10, offset: 5, orderBy: 'title', orderDirection: 'desc' },
  });
  assert.equal(check(select, 'notes').args, { table: 'notes', where: {}, options: {} });

  const cases: readonly (readonly [unknown, unknown, string])[] = [
    [{ title: { $gt: 'a' } }, undefined, 'where.title must be a string, a finite number, a boolean or null'],
    [{ title: ['a'] }, undefined, 'where.title'],
    [{ rank: Number.POSITIVE_INFINITY }, undefined, 'got Infinity'],
    [{ 'a b': 1 }, undefined, 'column name'],
    ['title = 1', undefined, 'must be a plain object'],
    [{}, { limit: 0 }, 'limit'],
    [{}, { offset: -1 }, 'offset'],
    [{}, { orderBy: 'title; DROP TABLE notes' }, 'orderBy'],
    [{}, { orderDirection: 'DESC' }, 'orderDirection'],
    [{}, { where: 'x' }, 'Unrecognized key'],
  ];
  for (const [where, options, problem] of cases) {
    const label = `${JSON.stringify(where)} ${JSON.stringify(options)}`;
    const error = expectCode(() => check(select, 'notes', where, options), 'PLUGRUN_INVALID', label);
    assert.ok(error.message.includes(problem), `${label}: "${error.message}" lacks "${problem}"`);
  }
});

test('db select limit over dbMaxRows names it', () => {
  const error = expectCode(() => check(select, 'notes', {}, { limit: 501 }), 'PLUGRUN_LIMIT');
  assert.ok(error.message.includes('over the dbMaxRows limit of 500'), error.message);
});

test('db update checks values and where', () => {
  const checked = check(update, 'notes', { done: true }, { title: 'a' });
  assert.equal(checked.args, { table: 'notes', values: { done: true }, where: { title: 'a' } });
  assert.equal(check(update, 'notes', { done: true }, {}).args, { table: 'notes', values: { done: true }, where: {} });

  const empty = expectCode(() => check(update, 'notes', {}, { title: 'a' }), 'PLUGRUN_INVALID');
  assert.ok(empty.message.includes('at least one column'), empty.message);
  expectCode(() => check(update, 'notes', { done: true }), 'PLUGRUN_INVALID');
});

test('db delete rejects empty where', () => {
  assert.equal(check(deleteRows, 'notes', { title: 'a' }).args, { table: 'notes', where: { title: 'a' } });

  const error = expectCode(() => check(deleteRows, 'notes', {}), 'PLUGRUN_INVALID');
  assert.ok(error.message.includes('would match every row'), error.message);
  expectCode(() => check(deleteRows, 'notes'), 'PLUGRUN_INVALID');
  expectCode(() => check(deleteRows, 'notes', null), 'PLUGRUN_INVALID');
  expectCode(() => check(deleteRows, 'notes', 'title = 1'), 'PLUGRUN_INVALID');
});

test('db query check leaves need to perform', () => {
  const checked = check(query, 'SELECT *\n  FROM notes WHERE id = ?', [1]);
  assert.is(checked.need, null);
  assert.is(checked.target, 'SELECT * FROM notes WHERE id = ?');
  assert.equal(checked.args, { sql: 'SELECT *\n  FROM notes WHERE id = ?', params: [1] });

  const named = check(query, 'SELECT * FROM notes WHERE id = :id', { ':id': 1, $b: new Uint8Array([1]), c: null });
  assert.equal((named.args as { params: unknown }).params, { ':id': 1, $b: new Uint8Array([1]), c: null });

  const long = check(query, `SELECT ${'x, '.repeat(200)}y FROM notes`);
  assert.ok(long.target.length <= 203, `target is ${long.target.length} characters`);
});

test('db createTable accepts 50 columns and maxLength 10000', () => {
  const columns = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`c${i}`, { type: 'string', maxLength: 10_000 }]));
  assert.is((check(createTable, 'wide', { columns }).args as { table: string }).table, 'wide');
});

test('db query rejects bad arguments', () => {
  const cases: readonly (readonly [unknown, unknown, string])[] = [
    [undefined, undefined, 'must be a string'],
    ['', undefined, 'is empty'],
    ['   ', undefined, 'is empty'],
    ['x'.repeat(100_001), undefined, 'longer than 100000'],
    ['SELECT ?', [{ a: 1 }], 'params[0]'],
    ['SELECT ?', [undefined], 'params[0]'],
    ['SELECT ?', [Number.NaN], 'params[0]'],
    ['SELECT ?', 'x', 'must be an array or a plain object'],
    ['SELECT :a', { 'a b': 1 }, 'parameter name'],
    ['SELECT :a', { ':a': [1] }, 'params.:a'],
  ];
  for (const [sql, params, problem] of cases) {
    const label = `${String(sql).slice(0, 20)} ${JSON.stringify(params)}`;
    const error = expectCode(() => check(query, sql, params), 'PLUGRUN_INVALID', label);
    assert.ok(error.message.includes(problem), `${label}: "${error.message}" lacks "${problem}"`);
  }
});

test('db query params over 1 MiB hit the limit', async () => {
  const error = expectCode(() => check(query, 'SELECT ?, ?', ['x'.repeat(600_000), new Uint8Array(600_000)]), 'PLUGRUN_LIMIT');
  assert.ok(error.message.includes('over the maximum of 1048576 bytes'), error.message);
  expectCode(() => check(query, 'SELECT :a', { a: 'é'.repeat(600_000) }), 'PLUGRUN_LIMIT');
  await db.teardown();
});

test.run();

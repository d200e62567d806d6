import fs from 'node:fs';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { expectRejection } from './helpers.js';
import { NOTES_SCHEMA, openHarness, withHarness } from './db-harness.js';

test('createTable same schema is a no-op', withHarness({}, async (h) => {
  assert.equal(await h.call('createTable', 'notes', NOTES_SCHEMA), { created: true });
  assert.equal(await h.call('insert', 'notes', { title: 'kept' }), { id: 1 });

  // Same schema with its keys in another order.
  const reordered = { indexes: ['done'], columns: Object.fromEntries(Object.entries(NOTES_SCHEMA.columns).reverse()) };
  assert.equal(await h.call('createTable', 'notes', reordered), { created: false });
  assert.equal(await h.call('createTable', 'Notes', { ...NOTES_SCHEMA, columns: { ...NOTES_SCHEMA.columns, done: { default: false, type: 'boolean', required: false } } }), { created: false });
  assert.is((await h.call('select', 'notes') as unknown[]).length, 1, 'the rows are untouched');
}));

test('createTable different schema fails', withHarness({}, async (h) => {
  await h.call('createTable', 'notes', NOTES_SCHEMA);
  const cases: readonly (readonly [unknown, string])[] = [
    [{ ...NOTES_SCHEMA, columns: { ...NOTES_SCHEMA.columns, title: { type: 'string' } } }, 'column "title" is {"maxLength":200,"required":true,"type":"string"} but the new schema has {"type":"string"}'],
    [{ ...NOTES_SCHEMA, columns: { ...NOTES_SCHEMA.columns, extra: { type: 'number' } } }, 'column "extra" is new'],
    [{ columns: { title: NOTES_SCHEMA.columns.title } }, 'column "done" is missing'],
    [{ ...NOTES_SCHEMA, indexes: ['rank'] }, 'indexes are [["done"]] but the new schema has [["rank"]]'],
    [{ ...NOTES_SCHEMA, primaryKey: 'title' }, 'primaryKey is null but the new schema has "title"'],
  ];
  for (const [schema, difference] of cases) {
    const error = await expectRejection(h.call('createTable', 'notes', schema), 'PLUGRUN_FAILED');
    assert.ok(error.message.startsWith('table "notes" already exists with a different schema'), error.message);
    assert.ok(error.message.includes(difference), `"${error.message}" lacks "${difference}"`);
    assert.ok(error.message.includes('create the new shape under another table name'), error.message);
  }
}));

test('createTable schema survives reopen', async () => {
  const first = openHarness();
  await first.call('createTable', 'notes', NOTES_SCHEMA);
  await first.close();

  const second = openHarness({ dir: first.dir });
  try {
    assert.equal(await second.call('createTable', 'notes', NOTES_SCHEMA), { created: false });
    await expectRejection(second.call('createTable', 'notes', { columns: { title: { type: 'string' } } }), 'PLUGRUN_FAILED');
  } finally {
    await second.close();
    fs.rmSync(first.dir, { recursive: true, force: true });
  }
});

test('insert and select round-trip every type', withHarness({}, async (h) => {
  await h.call('createTable', 'notes', NOTES_SCHEMA);
  const rows = [
    { title: 'iso date', due: '2026-12-04T19:30:00.123Z', meta: { tags: ['a', 'b'], nested: { n: 1.5, ok: true, none: null } }, rank: 2.25 },
    { title: 'epoch date', due: 1_780_000_000_000, meta: [1, 'two', null], rank: -3, done: true },
    { title: 'json scalars', meta: 'just text', due: '2026-12-04' },
    { title: 'json number', meta: 0 },
    { title: 'nulls', due: null, meta: null, rank: null },
    { title: 'ünïcødé ✓ 😀' },
  ];
  const ids: unknown[] = [];
  for (const row of rows) ids.push(((await h.call('insert', 'notes', row)) as { id: unknown }).id);
  assert.equal(ids, [1, 2, 3, 4, 5, 6]);

  const stored = (await h.call('select', 'notes')) as Array<Record<string, unknown>>;
  rows.forEach((row, index) => {
    const expected = { id: index + 1, done: false, due: null, meta: null, rank: null, ...row };
    assert.equal(stored[index], expected, `row ${index + 1}`);
  });
}));

test('insert applies defaults and requires', withHarness({}, async (h) => {
  await h.call('createTable', 'tasks', {
    columns: {
      name: { type: 'string', required: true },
      state: { type: 'string', required: true, default: 'open' },
      tags: { type: 'json', default: { list: [] } },
      flag: { type: 'boolean', default: true },
    },
  });
  await h.call('insert', 'tasks', { name: 'a' });
  await h.call('insert', 'tasks', { name: 'b', state: 'closed', flag: false });
  assert.equal(await h.call('select', 'tasks'), [
    { id: 1, name: 'a', state: 'open', tags: { list: [] }, flag: true },
    { id: 2, name: 'b', state: 'closed', tags: { list: [] }, flag: false },
  ]);

  const missing = await expectRejection(h.call('insert', 'tasks', { state: 'x' }), 'PLUGRUN_INVALID');
  assert.ok(missing.message.includes('no value for the required column "name"'), missing.message);
  const nulled = await expectRejection(h.call('insert', 'tasks', { name: null }), 'PLUGRUN_INVALID');
  assert.ok(nulled.message.includes('column "name" is required'), nulled.message);
}));

test('insert rejects values of the wrong type', withHarness({}, async (h) => {
  await h.call('createTable', 'notes', NOTES_SCHEMA);
  const cases: readonly (readonly [Record<string, unknown>, string])[] = [
    [{ title: 42 }, 'must be a string for the string column "title"'],
    [{ title: 'x'.repeat(201) }, 'has 201 characters, over the maxLength of 200'],
    [{ title: 'a', done: 'yes' }, 'must be a boolean'],
    [{ title: 'a', done: 1 }, 'must be a boolean'],
    [{ title: 'a', rank: '3' }, 'must be a finite number'],
    [{ title: 'a', due: 'next tuesday' }, 'ISO 8601'],
    [{ title: 'a', due: true }, 'ISO 8601'],
    [{ title: 'a', id: 1.5 }, 'must be an integer'],
    [{ title: 'a', colour: 'red' }, 'names the column "colour", which table "notes" does not have; its columns: id, title, done, due, meta, rank'],
    [{ title: 'a', Title: 'b' }, 'names the column "Title"'],
  ];
  for (const [row, problem] of cases) {
    const error = await expectRejection(h.call('insert', 'notes', row), 'PLUGRUN_INVALID');
    assert.ok(error.message.includes(problem), `${JSON.stringify(row)}: "${error.message}" lacks "${problem}"`);
  }
  assert.equal(await h.call('select', 'notes'), [], 'nothing was inserted');
}));

test('maxLength counts characters, not UTF-16 units', withHarness({}, async (h) => {
  await h.call('createTable', 'short', { columns: { text: { type: 'string', maxLength: 3 } } });
  assert.equal(await h.call('insert', 'short', { text: '😀😀😀' }), { id: 1 });
  await expectRejection(h.call('insert', 'short', { text: '😀😀😀😀' }), 'PLUGRUN_INVALID');
}));

test('insert over 1 MiB hits the limit', withHarness({}, async (h) => {
  await h.call('createTable', 'blobs', { columns: { body: { type: 'json' } } });
  const error = await expectRejection(h.call('insert', 'blobs', { body: 'x'.repeat(1024 * 1024) }), 'PLUGRUN_LIMIT');
  assert.ok(error.message.includes('over the maximum of 1048576 bytes'), error.message);
  assert.equal(await h.call('insert', 'blobs', { body: 'x'.repeat(1024 * 1024 - 100) }), { id: 1 });
}));

test('unique and primary key constraints fail the call', withHarness({}, async (h) => {
  await h.call('createTable', 'users', {
    columns: { email: { type: 'string' }, name: { type: 'string', unique: true }, age: { type: 'number' } },
    primaryKey: 'email',
  });
  assert.equal(await h.call('insert', 'users', { email: 'ada@example.org', name: 'Ada' }), { id: 'ada@example.org' });

  const duplicateKey = await expectRejection(h.call('insert', 'users', { email: 'ada@example.org', name: 'Other' }), 'PLUGRUN_FAILED');
  assert.ok(duplicateKey.message.includes('UNIQUE constraint failed: users.email'), duplicateKey.message);
  const duplicateName = await expectRejection(h.call('insert', 'users', { email: 'b@example.org', name: 'Ada' }), 'PLUGRUN_FAILED');
  assert.ok(duplicateName.message.includes('UNIQUE constraint failed: users.name'), duplicateName.message);
  const noKey = await expectRejection(h.call('insert', 'users', { name: 'Nobody' }), 'PLUGRUN_INVALID');
  assert.ok(noKey.message.includes('required column "email"'), noKey.message);

  assert.equal(await h.call('select', 'users'), [{ email: 'ada@example.org', name: 'Ada', age: null }]);
}));

test('number primary key is assigned when left out', withHarness({}, async (h) => {
  await h.call('createTable', 'events', { columns: { seq: { type: 'number' }, what: { type: 'string' } }, primaryKey: 'seq' });
  assert.equal(await h.call('insert', 'events', { seq: 10, what: 'a' }), { id: 10 });
  assert.equal(await h.call('insert', 'events', { what: 'b' }), { id: 11 });
  await expectRejection(h.call('insert', 'events', { seq: 2.5, what: 'c' }), 'PLUGRUN_INVALID');
}));

test('select filters, orders and pages', withHarness({}, async (h) => {
  await h.call('createTable', 'notes', NOTES_SCHEMA);
  for (let index = 0; index < 150; index += 1) {
    await h.call('insert', 'notes', { title: `note ${String(index).padStart(3, '0')}`, done: index % 3 === 0, rank: index % 7 });
  }

  assert.is((await h.call('select', 'notes') as unknown[]).length, 100, 'default limit');
  assert.is((await h.call('select', 'notes', {}, { limit: 500 }) as unknown[]).length, 150);
  assert.is((await h.call('select', 'notes', { done: true }) as unknown[]).length, 50);

  const page = (await h.call('select', 'notes', { done: false }, { limit: 3, offset: 2, orderBy: 'rank', orderDirection: 'desc' })) as Array<Record<string, unknown>>;
  assert.equal(page.map((row) => [row.rank, row.id]), [[6, 35], [6, 42], [6, 56]]);

  assert.equal(await h.call('select', 'notes', { title: 'note 007', rank: 0 }), [{ id: 8, title: 'note 007', done: false, due: null, meta: null, rank: 0 }]);
  assert.equal(await h.call('select', 'notes', { due: null, id: 1 }).then((rows) => (rows as unknown[]).length), 1, 'null compares with IS NULL');

  const badOrder = await expectRejection(h.call('select', 'notes', {}, { orderBy: 'colour' }), 'PLUGRUN_INVALID');
  assert.ok(badOrder.message.includes('options.orderBy names the column "colour"'), badOrder.message);
  const badWhere = await expectRejection(h.call('select', 'notes', { done: 'no' }), 'PLUGRUN_INVALID');
  assert.ok(badWhere.message.includes('where.done must be a boolean'), badWhere.message);
  await expectRejection(h.call('select', 'notes', {}, { limit: 1001 }), 'PLUGRUN_LIMIT');
}));

test('select default limit follows a lower dbMaxRows', withHarness({ limits: { dbMaxRows: 20 } }, async (h) => {
  await h.call('createTable', 'notes', NOTES_SCHEMA);
  for (let index = 0; index < 30; index += 1) await h.call('insert', 'notes', { title: `n${index}` });
  assert.is((await h.call('select', 'notes') as unknown[]).length, 20);
}));

test('update and delete report changes', withHarness({}, async (h) => {
  await h.call('createTable', 'notes', NOTES_SCHEMA);
  for (const title of ['a', 'b', 'c']) await h.call('insert', 'notes', { title });

  assert.equal(await h.call('update', 'notes', { done: true, meta: { by: 'test' } }, { title: 'b' }), { changes: 1 });
  assert.equal(await h.call('update', 'notes', { rank: 1 }, {}), { changes: 3 });
  assert.equal(await h.call('update', 'notes', { rank: 2 }, { title: 'none' }), { changes: 0 });
  assert.equal(await h.call('select', 'notes', { title: 'b' }), [{ id: 2, title: 'b', done: true, due: null, meta: { by: 'test' }, rank: 1 }]);

  const required = await expectRejection(h.call('update', 'notes', { title: null }, { id: 1 }), 'PLUGRUN_INVALID');
  assert.ok(required.message.includes('"title" is required'), required.message);

  assert.equal(await h.call('delete', 'notes', { done: false }), { changes: 2 });
  assert.equal(await h.call('delete', 'notes', { id: 99 }), { changes: 0 });
  assert.equal((await h.call('select', 'notes') as Array<{ id: number }>).map((row) => row.id), [2]);
}));

test('missing table fails with the fix', withHarness({}, async (h) => {
  for (const [op, args] of [['insert', [{ title: 'a' }]], ['select', []], ['update', [{ a: 1 }, {}]], ['delete', [{ a: 1 }]]] as const) {
    const error = await expectRejection(h.call(op, 'ghost', ...args), 'PLUGRUN_FAILED');
    assert.ok(error.message.includes('table "ghost" does not exist; create it first with ctx.db.createTable("ghost", schema)'), `${op}: ${error.message}`);
  }
}));

test('table calls need their table grant', withHarness({ grants: ['db:notes'] }, async (h) => {
  await h.call('createTable', 'notes', NOTES_SCHEMA);
  const error = await expectRejection(h.call('createTable', 'secret', NOTES_SCHEMA), 'PLUGRUN_DENIED');
  assert.ok(error.message.includes('plugrun grant notes db:secret'), error.message);
  await expectRejection(h.call('select', 'SECRET'), 'PLUGRUN_DENIED');

  h.setGrants(['db:*']);
  await h.call('createTable', 'secret', NOTES_SCHEMA);
  h.setGrants([]);
  await expectRejection(h.call('select', 'notes'), 'PLUGRUN_DENIED');
}));

test('each call writes one audit event', withHarness({}, async (h) => {
  await h.call('createTable', 'notes', NOTES_SCHEMA);
  await h.call('insert', 'notes', { title: 'a' });
  await h.call('select', 'notes', { id: 1 });
  await expectRejection(h.call('insert', 'notes', { title: 7 }), 'PLUGRUN_INVALID');

  const events = h.events().map((event) => [event.op, event.target, event.outcome]);
  assert.equal(events, [
    ['createTable', 'notes', 'allowed'],
    ['insert', 'notes', 'allowed'],
    ['select', 'notes', 'allowed'],
    ['insert', 'notes', 'error'],
  ]);
}));

test.run();

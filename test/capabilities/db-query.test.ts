import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import type { ErrorCode } from '../../capabilities/errors.js';
import { expectRejection } from './helpers.js';
import { NOTES_SCHEMA, openHarness, withHarness, type DbHarness } from './db-harness.js';

/** Creates `notes` (granted later) and `secret` (never granted), each with rows. */
const seed = async (h: DbHarness): Promise<void> => {
  h.setGrants(['db:*']);
  await h.call('createTable', 'notes', NOTES_SCHEMA);
  await h.call('createTable', 'secret', { columns: { v: { type: 'string' } }, indexes: ['v'] });
  await h.call('insert', 'notes', { title: 'public' });
  await h.call('insert', 'secret', { v: 'hidden' });
  h.setGrants(['db:notes']);
};

/** Counts a table's rows under a `db:*` grant, then puts back the `db:notes` grant. */
const countRows = async (h: DbHarness, table: string): Promise<number> => {
  h.setGrants(['db:*']);
  const rows = (await h.call('select', table, {}, { limit: 1000 })) as unknown[];
  h.setGrants(['db:notes']);
  return rows.length;
};

/** Statements that reach the ungranted table `secret`, each spelt differently. */
const SECRET_SPELLINGS = [
  'SELECT * FROM secret',
  'SELECT * FROM "secret"',
  'SELECT * FROM [secret]',
  'SELECT * FROM `secret`',
  'SELECT * FROM SeCrEt',
  'SELECT * FROM main.secret',
  'SELECT * FROM "main"."secret"',
  'SELECT * FROM MAIN.[SECRET]',
  'SELECT * FROM/**/secret',
  'SELECT * FROM -- a comment\n secret',
  '  /* leading */ select * from secret;  -- trailing',
  'SELECT * FROM notes WHERE id IN (SELECT id FROM secret)',
  'SELECT (SELECT v FROM secret LIMIT 1) AS leaked',
  'SELECT * FROM notes WHERE EXISTS (SELECT 1 FROM secret)',
  'WITH s AS (SELECT * FROM secret) SELECT * FROM s',
  'WITH RECURSIVE r(x) AS (SELECT v FROM secret UNION SELECT x FROM r) SELECT * FROM r',
  'SELECT * FROM notes, secret',
  'SELECT * FROM notes JOIN secret ON 1',
  'SELECT title FROM notes UNION SELECT v FROM secret',
  "SELECT v FROM secret WHERE v = 'hidden'",
  'SELECT count(*) FROM secret',
  'VALUES ((SELECT v FROM secret))',
  'INSERT INTO notes (title) SELECT v FROM secret',
  "INSERT INTO secret (v) VALUES ('planted')",
  "REPLACE INTO secret (id, v) VALUES (1, 'replaced')",
  "UPDATE secret SET v = 'changed'",
  'UPDATE notes SET title = (SELECT v FROM secret LIMIT 1)',
  'DELETE FROM secret',
  'DELETE FROM secret WHERE id = 1',
  "WITH x AS (SELECT 1) DELETE FROM \"main\".[secret] WHERE v IN (SELECT 'hidden')",
];

test('query reaches granted tables only', withHarness({}, async (h) => {
  await seed(h);
  for (const sql of SECRET_SPELLINGS) {
    const error = await expectRejection(h.call('query', sql), 'PLUGRUN_DENIED');
    assert.ok(error.message.includes('has no grant for db:secret; to allow it run: plugrun grant notes db:secret'), `${sql}: ${error.message}`);
  }

  const queryEvents = h.events().filter((event) => event.op === 'query');
  assert.is(queryEvents.length, SECRET_SPELLINGS.length, 'exactly one event per call');
  assert.ok(queryEvents.every((event) => event.outcome === 'denied'), 'each call is recorded as denied, not also as an error');
  assert.ok(queryEvents.every((event) => event.needed === 'db:secret' && event.cap === 'db'));
  assert.is(await countRows(h, 'secret'), 1, 'secret still has its one row');
  assert.equal(await h.call('select', 'notes'), [{ id: 1, title: 'public', done: false, due: null, meta: null, rank: null }], 'notes unchanged');
}));

test('query runs on granted tables', withHarness({}, async (h) => {
  await seed(h);
  assert.equal(await h.call('query', 'SELECT id, title FROM "main"."notes" WHERE id = ?', [1]), [{ id: 1, title: 'public' }]);
  assert.equal(await h.call('query', 'SELECT a.title FROM notes a JOIN notes b ON a.id = b.id'), [{ title: 'public' }]);
  assert.equal(await h.call('query', 'SELECT 1 + 1 AS two'), [{ two: 2 }], 'a statement without tables needs no grant');
  assert.equal(await h.call('query', "SELECT value FROM json_each(?) ORDER BY value", ['[3,1,2]']), [{ value: 1 }, { value: 2 }, { value: 3 }]);
  assert.equal(await h.call('query', "SELECT key FROM json_tree('{\"a\":1}') WHERE key IS NOT NULL"), [{ key: 'a' }]);
  assert.equal(await h.call('query', 'SELECT :a AS a, @b AS b, $c AS c, :d AS d', { a: 1, '@b': 'two', c: null, ':d': new Uint8Array([7]) }), [
    { a: 1, b: 'two', c: null, d: new Uint8Array([7]) },
  ]);

  assert.equal(await h.call('query', "INSERT INTO notes (title, done) VALUES (?, ?) RETURNING id, done", ['second', true]), [{ id: 2, done: 1 }]);
  assert.equal(await h.call('query', 'UPDATE notes SET rank = 5 WHERE id = 2 RETURNING rank'), [{ rank: 5 }]);
  assert.equal(await h.call('query', 'DELETE FROM notes WHERE id = 1'), []);
  assert.equal((await h.call('select', 'notes') as Array<{ id: number }>).map((row) => row.id), [2]);

  h.setGrants(['db:notes', 'db:secret']);
  assert.equal(await h.call('query', 'SELECT title, v FROM notes, secret'), [{ title: 'second', v: 'hidden' }]);
  assert.is(h.events().filter((event) => event.outcome === 'denied').length, 0);
}));

/** Statements a raw query may never run, whatever the grants, with the code and a part of the message. */
const REJECTED: readonly (readonly [string, ErrorCode, string])[] = [
  ["ATTACH DATABASE '/tmp/plugrun-attach.db' AS other", 'PLUGRUN_INVALID', 'it is a statement of kind "ATTACH"'],
  ["attach '/tmp/plugrun-attach.db' as other", 'PLUGRUN_INVALID', 'other database files are not reachable'],
  ['DETACH DATABASE other', 'PLUGRUN_INVALID', 'it is a statement of kind "DETACH"'],
  ['VACUUM', 'PLUGRUN_INVALID', 'it is a statement of kind "VACUUM"'],
  ["VACUUM INTO '/tmp/plugrun-vacuum-copy.db'", 'PLUGRUN_INVALID', 'it is a statement of kind "VACUUM"'],
  ['PRAGMA writable_schema = 1', 'PLUGRUN_INVALID', 'PRAGMA statements are not allowed'],
  ['pragma user_version = 7', 'PLUGRUN_INVALID', 'PRAGMA statements are not allowed'],
  ['PRAGMA journal_mode = OFF', 'PLUGRUN_INVALID', 'PRAGMA statements are not allowed'],
  ['PRAGMA table_info(secret)', 'PLUGRUN_INVALID', 'PRAGMA statements are not allowed'],
  ['/* hidden */ PRAGMA query_only = 1', 'PLUGRUN_INVALID', 'PRAGMA statements are not allowed'],
  ["SELECT * FROM pragma_table_info('secret')", 'PLUGRUN_INVALID', 'virtual table'],
  ["SELECT * FROM \"PRAGMA_TABLE_INFO\"('secret')", 'PLUGRUN_INVALID', 'virtual table'],
  ['SELECT * FROM main.pragma_database_list', 'PLUGRUN_INVALID', 'virtual table'],
  ['SELECT name FROM pragma_function_list', 'PLUGRUN_INVALID', 'virtual table'],
  ["SELECT title FROM notes WHERE title IN (SELECT name FROM pragma_table_list)", 'PLUGRUN_INVALID', 'virtual table'],
  ['CREATE TRIGGER wipe AFTER INSERT ON notes BEGIN DELETE FROM notes; END', 'PLUGRUN_INVALID', 'views, triggers and virtual tables are not allowed'],
  ['CREATE TEMP TRIGGER wipe AFTER INSERT ON notes BEGIN DELETE FROM notes; END', 'PLUGRUN_INVALID', 'it is a statement of kind "CREATE"'],
  ['CREATE VIEW peek AS SELECT * FROM secret', 'PLUGRUN_INVALID', 'it is a statement of kind "CREATE"'],
  ['create temporary view peek as select 1', 'PLUGRUN_INVALID', 'it is a statement of kind "CREATE"'],
  ['CREATE TABLE extra (a)', 'PLUGRUN_INVALID', 'create tables with ctx.db.createTable'],
  ['CREATE VIRTUAL TABLE f USING fts4(a)', 'PLUGRUN_INVALID', 'it is a statement of kind "CREATE"'],
  ['DROP TABLE notes', 'PLUGRUN_INVALID', 'it is a statement of kind "DROP"'],
  ['ALTER TABLE notes ADD COLUMN extra', 'PLUGRUN_INVALID', 'it is a statement of kind "ALTER"'],
  ['SELECT * FROM sqlite_master', 'PLUGRUN_INVALID', 'the schema table'],
  ['SELECT * FROM sqlite_schema', 'PLUGRUN_INVALID', 'the schema table'],
  ['SELECT * FROM "sqlite_master"', 'PLUGRUN_INVALID', 'the schema table'],
  ['SELECT * FROM [SQLITE_MASTER]', 'PLUGRUN_INVALID', 'the schema table'],
  ['SELECT * FROM main.sqlite_master', 'PLUGRUN_INVALID', 'the schema table'],
  ['SELECT * FROM sqlite_temp_master', 'PLUGRUN_INVALID', 'the temp database'],
  ['SELECT * FROM temp.sqlite_master', 'PLUGRUN_INVALID', 'the temp database'],
  ['SELECT * FROM sqlite_temp_schema', 'PLUGRUN_INVALID', 'the temp database'],
  ['SELECT title FROM notes WHERE title IN (SELECT name FROM sqlite_master)', 'PLUGRUN_INVALID', 'the schema table'],
  ['WITH s AS (SELECT * FROM sqlite_schema) SELECT * FROM s', 'PLUGRUN_INVALID', 'the schema table'],
  // SQLite itself refuses to prepare a write to the schema table.
  ["UPDATE sqlite_master SET sql = ''", 'PLUGRUN_FAILED', 'table sqlite_master may not be modified'],
  ['SELECT * FROM "plugrun-tables"', 'PLUGRUN_INVALID', 'the internal table "plugrun-tables"'],
  ["INSERT INTO \"plugrun-tables\" VALUES ('x', '{}')", 'PLUGRUN_INVALID', 'the internal table'],
  ['SELECT 1; SELECT 2', 'PLUGRUN_INVALID', 'more than one statement'],
  ['SELECT 1; DELETE FROM notes', 'PLUGRUN_INVALID', 'more than one statement'],
  ["SELECT 1 /* x */ ; ATTACH 'x' AS y", 'PLUGRUN_INVALID', 'more than one statement'],
  ['BEGIN', 'PLUGRUN_INVALID', 'it is a statement of kind "BEGIN"'],
  ['COMMIT', 'PLUGRUN_INVALID', 'it is a statement of kind "COMMIT"'],
  ['SAVEPOINT a', 'PLUGRUN_INVALID', 'it is a statement of kind "SAVEPOINT"'],
  ['EXPLAIN SELECT * FROM secret', 'PLUGRUN_INVALID', 'it is a statement of kind "EXPLAIN"'],
  ['EXPLAIN QUERY PLAN SELECT 1', 'PLUGRUN_INVALID', 'it is a statement of kind "EXPLAIN"'],
  ['ANALYZE', 'PLUGRUN_INVALID', 'it is a statement of kind "ANALYZE"'],
  ['REINDEX', 'PLUGRUN_INVALID', 'it is a statement of kind "REINDEX"'],
  ['-- only a comment', 'PLUGRUN_INVALID', 'it does not start with a keyword'],
  ['"SELECT" * FROM notes', 'PLUGRUN_INVALID', 'it does not start with a keyword'],
  // This build of SQLite has no extension loading, so SQLite itself rejects the call.
  ["SELECT load_extension('/tmp/plugrun-evil.so')", 'PLUGRUN_FAILED', 'no such function: load_extension'],
  ["SELECT load_extension('/tmp/plugrun-evil.so', 'entry')", 'PLUGRUN_FAILED', 'no such function: load_extension'],
  ['SELECT changes()', 'PLUGRUN_FAILED', 'changes() is not available in ctx.db.query'],
  ['SELECT last_insert_rowid()', 'PLUGRUN_FAILED', 'last_insert_rowid() is not available'],
];

test('query rejects statements outside rows', withHarness({}, async (h) => {
  await seed(h);
  h.setGrants(['db:*']);
  for (const [sql, code, problem] of REJECTED) {
    const error = await expectRejection(h.call('query', sql), code);
    assert.ok(error.message.includes(problem), `${sql}: "${error.message}" lacks "${problem}"`);
  }

  assert.not.ok(fs.existsSync('/tmp/plugrun-vacuum-copy.db'), 'VACUUM INTO wrote no file');
  assert.not.ok(fs.existsSync('/tmp/plugrun-attach.db'), 'ATTACH created no file');
  assert.is(h.events().filter((event) => event.outcome === 'allowed' && event.op === 'query').length, 0);
  assert.is(await countRows(h, 'notes'), 1);
  assert.is(await countRows(h, 'secret'), 1);
}));

test('query with OR ROLLBACK conflict fails cleanly', withHarness({}, async (h) => {
  await h.call('createTable', 'users', { columns: { email: { type: 'string', unique: true } } });
  await h.call('insert', 'users', { email: 'a@example.org' });
  const error = await expectRejection(h.call('query', "INSERT OR ROLLBACK INTO users (email) VALUES ('a@example.org')"), 'PLUGRUN_FAILED');
  assert.ok(error.message.includes('UNIQUE constraint failed: users.email'), error.message);
  assert.equal(await h.call('query', "INSERT OR ROLLBACK INTO users (email) VALUES ('b@example.org') RETURNING id"), [{ id: 2 }]);
  assert.equal(await h.call('query', 'SELECT count(*) AS n FROM users'), [{ n: 2 }]);
}));

test('query pragma after first statement never applies', withHarness({}, async (h) => {
  await seed(h);
  await expectRejection(h.call('query', 'SELECT 1; PRAGMA query_only = 1'), 'PLUGRUN_INVALID');
  await expectRejection(h.call('query', 'SELECT 1; PRAGMA writable_schema = 1'), 'PLUGRUN_INVALID');
  assert.equal(await h.call('insert', 'notes', { title: 'still writable' }), { id: 2 });
}));

test('query results over dbMaxRows hit the limit', withHarness({ limits: { dbMaxRows: 10 } }, async (h) => {
  await seed(h);
  for (let index = 0; index < 12; index += 1) await h.call('insert', 'notes', { title: `n${index}` });

  const error = await expectRejection(h.call('query', 'SELECT * FROM notes'), 'PLUGRUN_LIMIT');
  assert.ok(error.message.includes('ctx.db.query returned more than 10 rows (limit dbMaxRows)'), error.message);
  assert.is((await h.call('query', 'SELECT * FROM notes LIMIT 10') as unknown[]).length, 10);

  // A write whose returned rows exceed the limit is undone.
  await expectRejection(h.call('query', "UPDATE notes SET rank = 1 RETURNING id"), 'PLUGRUN_LIMIT');
  assert.equal(await h.call('query', 'SELECT count(*) AS n FROM notes WHERE rank = 1'), [{ n: 0 }]);
}));

test('query results over 16 MiB hit the limit', withHarness({}, async (h) => {
  const error = await expectRejection(h.call('query', 'SELECT zeroblob(17 * 1024 * 1024) AS big'), 'PLUGRUN_LIMIT');
  assert.ok(error.message.includes('returned more than 16 MiB'), error.message);
  const memory = await expectRejection(h.call('query', "SELECT length(printf('%.*c', 300000000, 'x'))"), 'PLUGRUN_LIMIT');
  assert.ok(memory.message.includes('256 MiB of memory'), memory.message);
}));

test('query writes replay to the same values', async () => {
  const first = openHarness();
  try {
    await first.call('createTable', 'notes', NOTES_SCHEMA);
    const written = await first.call(
      'query',
      "INSERT INTO notes (title, rank, due, meta) VALUES (hex(randomblob(8)), random(), datetime('now'), json_array(random(), CURRENT_TIMESTAMP)) RETURNING title, rank, due, meta",
    );
    await first.close();

    const second = openHarness({ dir: first.dir });
    try {
      const replayed = await second.call('query', 'SELECT title, rank, due, meta FROM notes');
      assert.equal(replayed, written);
    } finally {
      await second.close();
    }
  } finally {
    fs.rmSync(first.dir, { recursive: true, force: true });
  }
});

test('rejected ATTACH and VACUUM INTO write no file', async () => {
  const h = openHarness();
  try {
    await h.call('createTable', 'notes', NOTES_SCHEMA);
    await expectRejection(h.call('query', "VACUUM INTO 'copy.db'"), 'PLUGRUN_INVALID');
    await expectRejection(h.call('query', "ATTACH 'other.db' AS other"), 'PLUGRUN_INVALID');
    const files = fs.readdirSync(h.dbFolder).sort();
    assert.equal(files.filter((name) => !/^(journal-\d+\.log|lock)$/.test(name)), []);
    assert.not.ok(fs.existsSync(path.join(process.cwd(), 'copy.db')));
  } finally {
    await h.close();
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});

test('query of a missing table needs its grant', withHarness({ grants: ['db:notes'] }, async (h) => {
  const denied = await expectRejection(h.call('query', 'SELECT * FROM ghost'), 'PLUGRUN_DENIED');
  assert.ok(denied.message.includes('no grant for db:ghost'), denied.message);
  const missing = await expectRejection(h.call('query', 'SELECT * FROM notes'), 'PLUGRUN_FAILED');
  assert.ok(missing.message.includes('no such table: notes'), missing.message);
}));

test.run();

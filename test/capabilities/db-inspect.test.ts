import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { Engine } from '../../capabilities/db/engine.js';
import { inspectDatabase } from '../../capabilities/db/inspect.js';
import { loadSqlJs } from '../../capabilities/db/sql-js.js';
import { makeStateDir, NOTES_SCHEMA } from './db-harness.js';

/** Runs `body` with an empty database folder that does not exist yet, and removes it afterwards. */
const withFolder = (body: (folder: string) => Promise<void>) => async () => {
  const dir = makeStateDir();
  try {
    await body(path.join(dir, 'db'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

/** Opens an engine on `folder`, runs `body` with it and closes it. */
const withEngine = async (folder: string, body: (engine: Engine) => void): Promise<void> => {
  const engine = await Engine.open(folder, 1000);
  try {
    body(engine);
  } finally {
    engine.close();
  }
};

const insertTitles = (engine: Engine, table: string, titles: readonly string[]) => {
  for (const title of titles) engine.insert({ table, row: { title } });
};

/** Every file of a folder with its bytes, to show that nothing changed. */
const folderContents = (folder: string): Record<string, string> =>
  Object.fromEntries(fs.readdirSync(folder).sort().map((name) => [name, fs.readFileSync(path.join(folder, name)).toString('base64')]));

const fileSize = (folder: string, name: string) => fs.statSync(path.join(folder, name)).size;

test('inspect counts rows of each table', withFolder(async (folder) => {
  await withEngine(folder, (engine) => {
    engine.createTable({ table: 'notes', schema: NOTES_SCHEMA as never });
    engine.createTable({ table: 'empty', schema: NOTES_SCHEMA as never });
    insertTitles(engine, 'notes', ['a', 'b', 'c']);
    engine.delete({ table: 'notes', where: { title: 'b' } });
  });

  const summary = await inspectDatabase(folder);
  assert.equal(summary?.tables, [{ name: 'empty', rows: 0 }, { name: 'notes', rows: 2 }], 'no sqlite_ or plugrun-tables entries');
  assert.is(summary?.problem, undefined);
  assert.is(summary?.snapshotBytes, 0);
  assert.is(summary?.journalBytes, fileSize(folder, 'journal-0.log'));
  assert.is(summary?.bytes, summary?.journalBytes);
}));

test('inspect replays random() as recorded', withFolder(async (folder) => {
  // Each row survives a coin flip, so a replay without the recorded seed would almost surely count differently.
  const sql = "INSERT INTO notes (title) SELECT 'flip' FROM json_each(?) WHERE random() > 0";
  const flips = JSON.stringify(Array.from({ length: 200 }, (_, index) => index));
  let expected = 0;
  await withEngine(folder, (engine) => {
    engine.createTable({ table: 'notes', schema: NOTES_SCHEMA as never });
    for (let run = 0; run < 3; run += 1) engine.runQuery({ sql, params: [flips], authorized: ['notes'] });
    expected = engine.select({ table: 'notes', where: {}, options: { limit: 1000 } }).length;
  });

  const summary = await inspectDatabase(folder);
  assert.ok(expected > 0, `the coin flips kept ${expected} of 600 rows`);
  assert.ok(expected < 600, `the coin flips kept ${expected} of 600 rows`);
  assert.equal(summary?.tables, [{ name: 'notes', rows: expected }]);
}));

test('inspect adds journal to snapshot', withFolder(async (folder) => {
  await withEngine(folder, (engine) => {
    engine.createTable({ table: 'notes', schema: NOTES_SCHEMA as never });
    insertTitles(engine, 'notes', ['before 1', 'before 2']);
    engine.compact();
    insertTitles(engine, 'notes', ['after']);
  });

  const summary = await inspectDatabase(folder);
  assert.equal(summary?.tables, [{ name: 'notes', rows: 3 }]);
  assert.is(summary?.snapshotBytes, fileSize(folder, 'snapshot-1.sqlite'));
  assert.is(summary?.journalBytes, fileSize(folder, 'journal-1.log'));
  assert.is(summary?.bytes, fileSize(folder, 'snapshot-1.sqlite') + fileSize(folder, 'journal-1.log'));
}));

test('inspect reads snapshot before its journal exists', withFolder(async (folder) => {
  await withEngine(folder, (engine) => {
    engine.createTable({ table: 'notes', schema: NOTES_SCHEMA as never });
    insertTitles(engine, 'notes', ['a', 'b']);
    engine.compact();
  });
  // A compaction renames the new snapshot into place before it creates the new journal.
  fs.rmSync(path.join(folder, 'journal-1.log'));
  const before = folderContents(folder);

  const summary = await inspectDatabase(folder);
  assert.equal(summary?.tables, [{ name: 'notes', rows: 2 }]);
  assert.is(summary?.problem, undefined);
  assert.equal(folderContents(folder), before, 'no journal was created');
}));

test('inspect ignores older generation', withFolder(async (folder) => {
  await withEngine(folder, (engine) => {
    engine.createTable({ table: 'notes', schema: NOTES_SCHEMA as never });
    insertTitles(engine, 'notes', ['a']);
  });
  const oldJournal = fs.readFileSync(path.join(folder, 'journal-0.log'));
  await withEngine(folder, (engine) => {
    insertTitles(engine, 'notes', ['b']);
    engine.compact();
  });
  // A compaction deletes the older generation's files last.
  fs.writeFileSync(path.join(folder, 'journal-0.log'), oldJournal);

  const summary = await inspectDatabase(folder);
  assert.equal(summary?.tables, [{ name: 'notes', rows: 2 }]);
  assert.ok(fs.existsSync(path.join(folder, 'journal-0.log')), 'the older journal is left in place');
}));

test('inspect reports torn tail without cutting it', withFolder(async (folder) => {
  await withEngine(folder, (engine) => {
    engine.createTable({ table: 'notes', schema: NOTES_SCHEMA as never });
    insertTitles(engine, 'notes', ['whole']);
  });
  const validBytes = fileSize(folder, 'journal-0.log');
  const torn = Buffer.alloc(20);
  torn.writeUInt32LE(500, 0);
  fs.appendFileSync(path.join(folder, 'journal-0.log'), torn);
  const before = folderContents(folder);

  const summary = await inspectDatabase(folder);
  assert.equal(summary?.tables, [{ name: 'notes', rows: 1 }], 'the whole records still count');
  assert.match(summary?.problem ?? '', 'ends with 20 bytes that are not a whole record');
  assert.match(summary?.problem ?? '', `journal-0.log.${validBytes}.discarded`);
  assert.is(summary?.journalBytes, validBytes + 20);
  assert.equal(folderContents(folder), before, 'the tail is neither cut nor copied');
}));

test('inspect reports foreign journal', withFolder(async (folder) => {
  fs.mkdirSync(folder);
  fs.writeFileSync(path.join(folder, 'journal-0.log'), 'not a journal at all');

  const summary = await inspectDatabase(folder);
  assert.is(summary?.tables, null);
  assert.match(summary?.problem ?? '', 'is not a plugrun journal');
  assert.is(summary?.bytes, 20);
}));

test('inspect reports unreplayable record', withFolder(async (folder) => {
  await withEngine(folder, (engine) => {
    engine.createTable({ table: 'notes', schema: NOTES_SCHEMA as never });
    insertTitles(engine, 'notes', ['a']);
    engine.compact();
    insertTitles(engine, 'notes', ['b']);
  });
  // A snapshot from before the table was created makes the journal's insert fail.
  const bareFolder = path.join(path.dirname(folder), 'bare');
  await withEngine(bareFolder, (engine) => {
    engine.compact();
  });
  fs.copyFileSync(path.join(bareFolder, 'snapshot-1.sqlite'), path.join(folder, 'snapshot-1.sqlite'));

  const summary = await inspectDatabase(folder);
  assert.is(summary?.tables, null);
  assert.match(summary?.problem ?? '', 'record 1 of the database journal');
  assert.match(summary?.problem ?? '', 'no such table: notes');
}));

test('inspect reports damaged snapshot', withFolder(async (folder) => {
  await withEngine(folder, (engine) => {
    engine.createTable({ table: 'notes', schema: NOTES_SCHEMA as never });
    engine.compact();
  });
  fs.writeFileSync(path.join(folder, 'snapshot-1.sqlite'), Buffer.alloc(8192, 0x5a));

  const summary = await inspectDatabase(folder);
  assert.is(summary?.tables, null);
  assert.match(summary?.problem ?? '', 'snapshot-1.sqlite cannot be read');
  assert.is(summary?.snapshotBytes, 8192);
}));

test('inspect reports damaged table page', withFolder(async (folder) => {
  await withEngine(folder, (engine) => {
    // Without an index, count(*) has to read the table's own b-tree.
    engine.createTable({ table: 'notes', schema: { columns: { title: { type: 'string' } } } });
    insertTitles(engine, 'notes', ['a', 'b']);
    engine.compact();
  });
  const snapshotFile = path.join(folder, 'snapshot-1.sqlite');
  const sqlJs = await loadSqlJs();
  const reader = new sqlJs.Database(fs.readFileSync(snapshotFile));
  const rootPage = Number(reader.exec("SELECT rootpage FROM sqlite_schema WHERE name = 'notes'")[0]?.values[0]?.[0]);
  const pageSize = Number(reader.exec('PRAGMA page_size')[0]?.values[0]?.[0]);
  reader.close();

  // The first byte of a b-tree page is its type, and 0xff is none of the four valid ones.
  const bytes = fs.readFileSync(snapshotFile);
  bytes[(rootPage - 1) * pageSize] = 0xff;
  fs.writeFileSync(snapshotFile, bytes);

  const summary = await inspectDatabase(folder);
  assert.is(summary?.tables, null);
  assert.match(summary?.problem ?? '', 'cannot count the rows of table "notes"');
  assert.match(summary?.problem ?? '', 'malformed');
}));

test('inspect reports journal without snapshot', withFolder(async (folder) => {
  await withEngine(folder, (engine) => {
    engine.createTable({ table: 'notes', schema: NOTES_SCHEMA as never });
  });
  fs.renameSync(path.join(folder, 'journal-0.log'), path.join(folder, 'journal-2.log'));

  const summary = await inspectDatabase(folder);
  assert.is(summary?.tables, null);
  assert.match(summary?.problem ?? '', 'has journal-2.log but not snapshot-2.sqlite');
  assert.is(summary?.journalBytes, fileSize(folder, 'journal-2.log'), 'the orphan journal still counts as space taken');
}));

test('inspect finds no database', withFolder(async (folder) => {
  assert.is(await inspectDatabase(folder), undefined);
  assert.not.ok(fs.existsSync(folder), 'the folder is not created');

  // The db capability creates the folder and takes the lock before the worker creates the journal.
  fs.mkdirSync(folder);
  fs.writeFileSync(path.join(folder, 'lock'), '{}');
  assert.is(await inspectDatabase(folder), undefined);
}));

test.run();

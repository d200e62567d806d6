/**
 * Database benchmarks. They measure the sequential insert rate through the
 * db capability at about 1 MB and about 100 MB of data, and select by
 * primary key, each against raw sql.js in this process. They time the same
 * two calls from inside a plugin through `plugrun call`, and the reopening
 * and compaction of the 100 MB database.
 *
 * The capability figures run check() and perform() as the dispatch gate
 * does, without the audit log. Every capability insert is synced to disk
 * before it resolves. Raw sql.js keeps its database in memory and syncs
 * nothing, so that ratio shows the price of durability, and the rate of
 * bare appends with fdatasync shows the floor the disk sets.
 *
 * Each figure is the median of three rounds, taken after a warm-up round
 * that is not counted.
 *
 * Usage: npx tsc -p . && node dist/bench/db.js [--quick] [--json]
 */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { makeDbCapability } from '../capabilities/db.js';
import { Engine } from '../capabilities/db/engine.js';
import { loadSqlJs, type Database } from '../capabilities/db/sql-js.js';
import { DEFAULT_LIMITS } from '../capabilities/limits.js';
import type { CapabilityInstance, PluginEnv } from '../capabilities/types.js';
import { makeCase, printCases, readBenchOptions, type BenchCase, type Goal } from './lib/report.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cliPath = path.join(repoRoot, 'dist/cli/main.js');
const options = readBenchOptions();
const { quick } = options;

/** Inserts timed per round. */
const INSERTS = quick ? 300 : 2000;
/** Selects timed per round. */
const SELECTS = quick ? 2000 : 10_000;
/** Bytes of the body of each filler row. */
const FILLER_ROW_BYTES = 1000;

const SCHEMA = { columns: { title: { type: 'string', required: true }, body: { type: 'string' } } };
const RAW_TABLE = 'CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT) STRICT';

/** Inserts `rows` filler rows of FILLER_ROW_BYTES each, in one statement. */
const fillSql = (rows: number) =>
  `INSERT INTO notes (title, body) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT ${rows}) ` +
  `SELECT 'filler ' || x, printf('%.${FILLER_ROW_BYTES}c', 'x') FROM c`;

const perSecond = (count: number, ms: number) => (count / ms) * 1000;

/** Runs one warm-up round, then three counted rounds, and returns the median rate. */
const medianOfRounds = async (round: () => number | Promise<number>): Promise<number> => {
  await round();
  const rates = [await round(), await round(), await round()].sort((a, b) => a - b);
  return rates[1]!;
};

const cases: BenchCase[] = [];
const record = (name: string, plugrun: number, baseline: number | null, unit: string, goal: Goal = null) =>
  cases.push(
    makeCase({
      case: name,
      unit,
      direction: 'higher',
      plugrun,
      baseline,
      baselineName: baseline === null ? null : 'raw sql.js in this process',
      goal,
    }),
  );

// 1. The capability, as the dispatch gate calls it.
const makeCapability = (folder: string): CapabilityInstance => {
  const env: PluginEnv = {
    plugin: { name: 'bench', version: '1.0.0' },
    paths: { data: path.join(folder, 'data'), db: folder, config: path.join(folder, 'config.json') },
    limits: { ...DEFAULT_LIMITS, callTimeoutMs: 600_000 },
    authorize: () => undefined,
    requireGrant: () => undefined,
    plugins: { call: () => Promise.reject(new Error('no plugins in this benchmark')) },
  };
  return makeDbCapability(env);
};

const call = (db: CapabilityInstance, op: string, ...args: unknown[]) => {
  const operation = db.operations[op]!;
  return operation.perform(operation.check(args, { name: 'bench', version: '1.0.0' }).args);
};

const timeInserts = async (db: CapabilityInstance): Promise<number> => {
  const started = performance.now();
  for (let index = 0; index < INSERTS; index += 1) await call(db, 'insert', 'notes', { title: `timed ${index}`, body: 'y'.repeat(100) });
  return perSecond(INSERTS, performance.now() - started);
};

const timeSelects = async (db: CapabilityInstance, maxId: number): Promise<number> => {
  const started = performance.now();
  for (let index = 0; index < SELECTS; index += 1) await call(db, 'select', 'notes', { id: (index % maxId) + 1 });
  return perSecond(SELECTS, performance.now() - started);
};

// 2. Raw sql.js in this process: the same table and statements, no journal.
const rawInserts = (database: Database): number => {
  const insert = database.prepare('INSERT INTO notes (title, body) VALUES (?, ?) RETURNING id');
  const started = performance.now();
  for (let index = 0; index < INSERTS; index += 1) {
    database.run('BEGIN');
    insert.bind([`timed ${index}`, 'y'.repeat(100)]);
    insert.step();
    insert.reset();
    database.run('COMMIT');
  }
  insert.free();
  return perSecond(INSERTS, performance.now() - started);
};

const rawSelects = (database: Database, maxId: number): number => {
  const select = database.prepare('SELECT id, title, body FROM notes WHERE id = ?');
  const started = performance.now();
  for (let index = 0; index < SELECTS; index += 1) {
    select.bind([(index % maxId) + 1]);
    select.step();
    select.get();
    select.reset();
  }
  select.free();
  return perSecond(SELECTS, performance.now() - started);
};

/** Appends and syncs one 200-byte record at a time: the floor under any insert that is durable when it returns. */
const syncedAppends = (file: string): number => {
  const fd = fs.openSync(file, 'a');
  const record = Buffer.alloc(200, 0x61);
  const started = performance.now();
  for (let index = 0; index < INSERTS; index += 1) {
    fs.writeSync(fd, record);
    fs.fdatasyncSync(fd);
  }
  fs.closeSync(fd);
  return perSecond(INSERTS, performance.now() - started);
};

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-bench-db-'));
try {
  record('append + fdatasync of 200 bytes, no database', await medianOfRounds(() => syncedAppends(path.join(folder, 'appends'))), null, 'appends/s');

  const sqlJs = await loadSqlJs();
  const raw = new sqlJs.Database();
  raw.run(RAW_TABLE);
  const db = makeCapability(path.join(folder, 'db'));
  await call(db, 'createTable', 'notes', SCHEMA);

  // --quick leaves out the ~100 MB database, whose filling takes most of the run.
  const sizes = [
    { label: '~1 MB', rows: 1_000 },
    { label: '~100 MB', rows: 100_000 },
  ].slice(0, quick ? 1 : 2);
  let filled = 0;
  const insertRates: number[] = [];
  for (const size of sizes) {
    await call(db, 'query', fillSql(size.rows - filled));
    raw.run(fillSql(size.rows - filled));
    filled = size.rows;

    const rate = await medianOfRounds(() => timeInserts(db));
    insertRates.push(rate);
    record(`insert, ${size.label} database`, rate, await medianOfRounds(() => rawInserts(raw)), 'inserts/s');
    const selectRate = await medianOfRounds(() => timeSelects(db, filled));
    record(`select by id, ${size.label} database`, selectRate, await medianOfRounds(() => rawSelects(raw, filled)), 'selects/s');
  }
  record('append + fdatasync of 200 bytes, again', await medianOfRounds(() => syncedAppends(path.join(folder, 'appends'))), null, 'appends/s');
  if (insertRates.length === 2) {
    const plugrun = insertRates[1]! / insertRates[0]!;
    cases.push(makeCase({ case: 'insert rate at ~100 MB over ~1 MB', unit: 'x', direction: 'higher', plugrun, goal: { value: 0.5, unit: 'x' } }));
  }
  await db.teardown();
  raw.close();

  // 3. Reopening and compacting the largest database filled above, in this thread.
  let started = performance.now();
  const engine = await Engine.open(path.join(folder, 'db'), 1000);
  const openMs = performance.now() - started;
  started = performance.now();
  const stats = engine.compact();
  const compactMs = performance.now() - started;
  engine.close();
  started = performance.now();
  (await Engine.open(path.join(folder, 'db'), 1000)).close();
  const reopenMs = performance.now() - started;
  const timing = (name: string, ms: number) => cases.push(makeCase({ case: name, unit: 'ms', direction: 'lower', plugrun: ms }));
  // The size is in each name, since --quick compacts the ~1 MB database only.
  const size = `${(stats.databaseBytes / 1e6).toFixed(0)} MB`;
  timing(`open with journal replay (${size})`, openMs);
  timing(`compaction (export, write, fsync, rename), ${size}`, compactMs);
  timing(`open from the new snapshot, ${size}`, reopenMs);

  // 4. From inside a plugin, through the worker, the host and the database worker.
  const project = path.join(folder, 'project');
  const pluginDir = path.join(project, 'plugins', 'bench');
  fs.mkdirSync(pluginDir, { recursive: true });
  fs.writeFileSync(
    path.join(pluginDir, 'plugin.json'),
    JSON.stringify({ name: 'bench', version: '1.0.0', description: 'db benchmark', author: 'bench', license: 'MIT', capabilities: ['db:notes'] }),
  );
  fs.writeFileSync(
    path.join(pluginDir, 'index.js'),
    `export const commands = {
      async run({ inserts, selects }, ctx) {
        await ctx.db.createTable('notes', ${JSON.stringify(SCHEMA)});
        for (let i = 0; i < 200; i += 1) await ctx.db.select('notes', { id: 1 });
        let started = Date.now();
        for (let i = 0; i < inserts; i += 1) await ctx.db.insert('notes', { title: 'timed ' + i, body: 'y'.repeat(100) });
        const insertMs = Date.now() - started;
        started = Date.now();
        for (let i = 0; i < selects; i += 1) await ctx.db.select('notes', { id: (i % inserts) + 1 });
        return { insertMs, selectMs: Date.now() - started };
      },
    };\n`,
  );
  execFileSync(process.execPath, [cliPath, 'lock'], { cwd: project, stdio: 'ignore' });
  execFileSync(process.execPath, [cliPath, 'grant', 'bench', 'db:notes'], { cwd: project, stdio: 'ignore' });
  const output = execFileSync(process.execPath, [cliPath, 'call', 'bench', 'run', JSON.stringify({ inserts: INSERTS, selects: SELECTS })], {
    cwd: project,
    encoding: 'utf8',
  });
  const fromPlugin = JSON.parse(output) as { insertMs: number; selectMs: number };
  const rawDatabase = new sqlJs.Database();
  rawDatabase.run(RAW_TABLE);
  const rawInsertRate = await medianOfRounds(() => rawInserts(rawDatabase));
  record('ctx.db.insert from a plugin, empty database', perSecond(INSERTS, fromPlugin.insertMs), rawInsertRate, 'inserts/s');
  record('ctx.db.select by id from a plugin', perSecond(SELECTS, fromPlugin.selectMs), await medianOfRounds(() => rawSelects(rawDatabase, INSERTS)), 'selects/s', { ratio: 0.7 });
  rawDatabase.close();
} finally {
  fs.rmSync(folder, { recursive: true, force: true });
}

printCases(`Database: ${INSERTS} inserts and ${SELECTS} selects per round, median of 3 rounds after a warm-up`, cases, options);

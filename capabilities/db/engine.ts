/**
 * One plugin's database inside its database worker: sql.js on the last
 * snapshot with the journal replayed over it, and the six `ctx.db`
 * operations on top.
 *
 * Every call that changes rows runs in one transaction. Its statements are
 * appended to the journal and synced before COMMIT, so the call returns only
 * once it is durable, and a call that fails leaves neither rows nor a record
 * behind. The worker runs one call at a time, so reads never see a
 * transaction in progress.
 */

import { debuglog } from 'node:util';

import type { JsonValue } from '../arguments.js';
import type { SqlScalar, TableSchema } from '../db-schema.js';
import { failed, limit, PlugrunError } from '../errors.js';
import { encodeRecord, type JournalRecord, type JournalStatement } from './journal.js';
import type { DbStats, DbWireError } from './protocol.js';
import { analyzeQuery, mapRootPages, ROOT_PAGES_QUERY, type QueryAccess, type RootPages } from './query-access.js';
import { Repeatability, type RecordedInputs } from './repeatable.js';
import { buildDelete, buildInsert, buildSelect, buildUpdate, decodeRow, decodeValue } from './rows.js';
import { loadSqlJs, type BindParams, type Database, type SqliteError, type SqlValue, type Statement } from './sql-js.js';
import { Storage } from './storage.js';
import { defineTable, describeDifference, READ_SCHEMAS, SCHEMA_TABLE, tableFromStored, type TableInfo } from './tables.js';

const debug = debuglog('plugrun-db');

const MiB = 1024 * 1024;

/** Rows `select` returns when its options name no limit (or `dbMaxRows`, when that is lower). */
export const SELECT_DEFAULT_LIMIT = 100;

/** Largest result of one `select` or `query`, in bytes of its values (text as UTF-8). */
export const RESULT_MAX_BYTES = 16 * MiB;

/**
 * Largest database, in bytes; SQLite reports SQLITE_FULL past it. The
 * database is held in the worker's memory, and twice while a snapshot is
 * written, which is what this bounds.
 */
export const DATABASE_MAX_BYTES = 512 * MiB;

/** Memory SQLite may allocate in one worker, in bytes (PRAGMA hard_heap_limit); a statement past it fails with SQLITE_NOMEM. */
export const SQLITE_HEAP_MAX_BYTES = 256 * MiB;

/** A journal larger than this and than the snapshot is compacted. */
const COMPACT_MIN_JOURNAL_BYTES = 8 * MiB;

/** Time a replay of the journal may take before it is compacted, in milliseconds. */
const COMPACT_MIN_REPLAY_MS = 2_000;

/** Prepared statements kept for reuse. */
const STATEMENT_CACHE_SIZE = 256;

/** Arguments of each operation, as the host's checks produced them. */
export interface CreateTableArgs { readonly table: string; readonly schema: TableSchema }
export interface InsertArgs { readonly table: string; readonly row: Readonly<Record<string, JsonValue>> }
export interface SelectArgs {
  readonly table: string;
  readonly where: Readonly<Record<string, SqlScalar>>;
  readonly options: { readonly limit?: number; readonly offset?: number; readonly orderBy?: string; readonly orderDirection?: 'asc' | 'desc' };
}
export interface UpdateArgs { readonly table: string; readonly values: Readonly<Record<string, JsonValue>>; readonly where: Readonly<Record<string, SqlScalar>> }
export interface DeleteArgs { readonly table: string; readonly where: Readonly<Record<string, SqlScalar>> }
export interface QueryArgs { readonly sql: string; readonly params: readonly SqlScalar[] | Readonly<Record<string, SqlScalar>> }
export interface RunQueryArgs extends QueryArgs {
  /** The tables the host authorised for this statement. */
  readonly authorized: readonly string[];
}

/** Thrown when memory and journal may disagree; the worker must exit so that the next call reopens from disk. */
export class FatalEngineError extends PlugrunError {}

/** Limits on the rows of one result. */
interface ResultBudget {
  readonly maxRows: number;
  /** The call, as the limit's message names it. */
  readonly method: string;
  /** True when the caller needs the column names. */
  readonly withColumns?: boolean;
}

/** The rows of a statement and the names of its columns. */
interface StatementResult {
  readonly columns: string[];
  readonly rows: SqlValue[][];
}

/** Runs one statement of a write call. */
type StatementRunner = (statement: JournalStatement, options?: { budget?: ResultBudget; changesSchema?: boolean }) => StatementResult;

const valueBytes = (value: SqlValue): number => {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (value instanceof Uint8Array) return value.byteLength;
  return 8;
};

// Named parameters may be given without their prefix; SQL writes them as :name, @name or $name.
const withPrefixes = (params: QueryArgs['params']): BindParams => {
  const toValue = (value: SqlScalar): SqlValue => {
    if (typeof value === 'boolean') return value ? 1 : 0;
    return value;
  };
  if (Array.isArray(params)) return (params as readonly SqlScalar[]).map(toValue);

  const named: Record<string, SqlValue> = {};
  for (const [name, value] of Object.entries(params as Record<string, SqlScalar>)) {
    if (/^[:@$]/.test(name)) named[name] = toValue(value);
    else for (const prefix of [':', '@', '$']) named[`${prefix}${name}`] = toValue(value);
  }
  return named;
};

/** Turns any error thrown while serving a call into the code and message that reach the plugin. */
export const toWireError = (error: unknown): DbWireError => {
  if (error instanceof PlugrunError) return { code: error.code, message: error.message };

  // sql.js throws a few of its own errors as strings, such as "Nothing to prepare".
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as SqliteError | undefined)?.code ?? '';
  if (code === 'SQLITE_FULL') return { code: 'PLUGRUN_LIMIT', message: `the database reached its maximum size of ${DATABASE_MAX_BYTES / MiB} MiB` };
  if (code === 'SQLITE_NOMEM') return { code: 'PLUGRUN_LIMIT', message: `the statement needed more than the ${SQLITE_HEAP_MAX_BYTES / MiB} MiB of memory a database may use` };
  if (code === 'SQLITE_TOOBIG') return { code: 'PLUGRUN_LIMIT', message: `a value is too large for SQLite: ${message}` };
  return { code: 'PLUGRUN_FAILED', message: `SQL error: ${message}` };
};

/** One plugin's open database. */
export class Engine {
  readonly #database: Database;
  readonly #storage: Storage;
  readonly #repeatability: Repeatability;
  readonly #maxRows: number;
  readonly #tables = new Map<string, TableInfo>();
  readonly #statements = new Map<string, Statement>();
  readonly #access = new Map<string, QueryAccess>();
  #rootPages: RootPages | undefined;
  #replayMs = 0;
  #lastCompactionMs = 0;

  private constructor(database: Database, storage: Storage, repeatability: Repeatability, maxRows: number) {
    this.#database = database;
    this.#storage = storage;
    this.#repeatability = repeatability;
    this.#maxRows = maxRows;
  }

  /**
   * Opens a plugin's database: loads the newest snapshot, replays the
   * journal over it and loads the stored schemas. Throws `PLUGRUN_FAILED`
   * when a record cannot be replayed, rather than open a database that
   * lacks a write that was reported done.
   */
  static async open(folder: string, maxRows: number): Promise<Engine> {
    const sqlJs = await loadSqlJs();
    const opened = Storage.open(folder);
    if (opened.discardedTail !== undefined) debug('cut a torn journal tail in %s, kept as %s', folder, opened.discardedTail);

    let database: Database | undefined;
    try {
      database = new sqlJs.Database(opened.snapshot);
      const engine = new Engine(database, opened.storage, new Repeatability(), maxRows);
      engine.#configure();
      engine.#replay(opened.records);
      engine.#loadTables();
      debug('opened %s: generation %d, %d records replayed in %d ms', folder, opened.storage.generation, opened.records.length, Math.round(engine.#replayMs));
      return engine;
    } catch (error) {
      database?.close();
      opened.storage.close();
      throw error;
    }
  }

  #configure(): void {
    // Loading an extension would run native code in the host process.
    // sql.js leaves it out; this stops a build that does not.
    const options = this.#database.exec('PRAGMA compile_options')[0]?.values.flat() ?? [];
    if (!options.includes('OMIT_LOAD_EXTENSION')) throw failed('this build of sql.js can load SQLite extensions, which plugrun does not allow');

    const pageSize = Number(this.#database.exec('PRAGMA page_size')[0]?.values[0]?.[0] ?? 4096);
    // The journal below is SQLite's rollback journal, kept in memory; plugrun's own journal makes writes durable.
    this.#database.run('PRAGMA journal_mode = MEMORY');
    this.#database.run(`PRAGMA hard_heap_limit = ${SQLITE_HEAP_MAX_BYTES}`);
    this.#database.run(`PRAGMA max_page_count = ${Math.floor(DATABASE_MAX_BYTES / pageSize)}`);
    this.#database.run('PRAGMA trusted_schema = OFF');
    this.#repeatability.install(this.#database);
  }

  #replay(records: readonly JournalRecord[]): void {
    if (records.length === 0) return;
    const started = performance.now();

    // One transaction for the whole replay is faster, and a failure aborts the open anyway.
    this.#execute('BEGIN');
    records.forEach((record, index) => {
      const apply = () => {
        for (const { sql, params } of record.statements) this.#execute(sql, params);
      };
      try {
        if (record.clock !== undefined && record.seed !== undefined) this.#repeatability.run({ clock: record.clock, seed: record.seed }, apply);
        else apply();
      } catch (error) {
        this.#rollback();
        throw failed(
          `cannot replay record ${index + 1} of the database journal in ${this.#storage.folder}: ${toWireError(error).message}`,
          error,
        );
      }
    });
    this.#execute('COMMIT');
    this.#replayMs = performance.now() - started;
  }

  #loadTables(): void {
    this.#tables.clear();
    const exists = this.#execute('SELECT 1 FROM sqlite_schema WHERE type = ? AND name = ?', ['table', SCHEMA_TABLE]).rows.length > 0;
    if (exists) {
      for (const [name, schema] of this.#execute(READ_SCHEMAS).rows) this.#tables.set(name as string, tableFromStored(name as string, schema as string));
    }
    this.#rootPages = undefined;
    this.#access.clear();
  }

  #prepared(sql: string): Statement {
    const cached = this.#statements.get(sql);
    if (cached !== undefined) {
      // Map order is insertion order, so moving a used entry to the end keeps the least recently used one first.
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
      return cached;
    }
    const statement = this.#database.prepare(sql);
    this.#statements.set(sql, statement);
    if (this.#statements.size > STATEMENT_CACHE_SIZE) {
      const [oldestSql, oldest] = this.#statements.entries().next().value as [string, Statement];
      this.#statements.delete(oldestSql);
      oldest.free();
    }
    return statement;
  }

  /** Runs one statement to its end and returns its rows, stopping with `PLUGRUN_LIMIT` when they exceed `budget`. */
  #execute(sql: string, params: BindParams = [], budget?: ResultBudget): StatementResult {
    const statement = this.#prepared(sql);
    try {
      statement.bind(params);
      const rows: SqlValue[][] = [];
      let bytes = 0;
      while (statement.step()) {
        const row = statement.get();
        if (budget !== undefined) {
          if (rows.length >= budget.maxRows) {
            throw limit(`${budget.method} returned more than ${budget.maxRows} rows (limit dbMaxRows); add a LIMIT or raise limits.dbMaxRows in plugin.lock.json`);
          }
          for (const value of row) bytes += valueBytes(value);
          if (bytes > RESULT_MAX_BYTES) throw limit(`${budget.method} returned more than ${RESULT_MAX_BYTES / MiB} MiB; select fewer rows or columns`);
        }
        rows.push(row);
      }
      // Reading the names costs a call into sql.js per column, so only raw queries, which return objects keyed by them, ask.
      return { columns: budget?.withColumns === true ? statement.getColumnNames() : [], rows };
    } finally {
      statement.reset();
    }
  }

  /**
   * Runs `body` as one write call: in a transaction, with every statement it
   * runs appended to the journal and synced before COMMIT. A call that
   * changed no row and created nothing writes no record.
   */
  #write<Result>(body: (run: StatementRunner) => Result, inputs?: RecordedInputs): Result {
    const statements: JournalStatement[] = [];
    let changed = false;
    const run: StatementRunner = (statement, options = {}) => {
      const result = this.#execute(statement.sql, statement.params, options.budget);
      statements.push(statement);
      // sqlite3_changes() keeps its value across a CREATE, so the caller marks a schema change.
      if (options.changesSchema === true || this.#database.getRowsModified() > 0) changed = true;
      return result;
    };

    this.#execute('BEGIN');
    let result: Result;
    try {
      const started = performance.now();
      result = inputs === undefined ? body(run) : this.#repeatability.run(inputs, () => body(run));
      // Replaying a record costs about what running its statements cost, so that time is what compaction weighs.
      if (changed) this.#replayMs += performance.now() - started;
      if (changed) this.#storage.append(encodeRecord({ statements, ...inputs }));
    } catch (error) {
      this.#rollback();
      throw error;
    }

    try {
      this.#execute('COMMIT');
    } catch (error) {
      throw new FatalEngineError(
        'PLUGRUN_FAILED',
        `the write was journaled but could not be committed in memory (${toWireError(error).message}); the database is reopened from disk`,
        { cause: error },
      );
    }
    return result;
  }

  // A statement with ON CONFLICT ROLLBACK may already have ended the
  // transaction, and then ROLLBACK fails with "no transaction is active".
  #rollback(): void {
    try {
      this.#execute('ROLLBACK');
    } catch (error) {
      debug('ROLLBACK in %s failed: %s', this.#storage.folder, toWireError(error).message);
    }
  }

  #table(name: string): TableInfo {
    const table = this.#tables.get(name);
    if (table === undefined) throw failed(`table "${name}" does not exist; create it first with ctx.db.createTable("${name}", schema)`);
    return table;
  }

  /** True when the journal has grown past the point where a new snapshot pays off. */
  get compactionDue(): boolean {
    const bytesDue = this.#storage.journalBytes > Math.max(COMPACT_MIN_JOURNAL_BYTES, this.#storage.snapshotBytes);
    const timeDue = this.#replayMs > Math.max(COMPACT_MIN_REPLAY_MS, 4 * this.#lastCompactionMs);
    return bytesDue || timeDue;
  }

  /** Creates a table, or does nothing when it exists with the same schema. */
  createTable({ table, schema }: CreateTableArgs): { created: boolean } {
    const definition = defineTable(table, schema);
    const existing = this.#tables.get(table);
    if (existing !== undefined) {
      if (existing.canonical === definition.table.canonical) return { created: false };
      throw failed(
        `table "${table}" already exists with a different schema: ${describeDifference(existing, definition.table)}. plugrun does not migrate tables; create the new shape under another table name`,
      );
    }

    this.#write((run) => {
      for (const statement of definition.statements) run(statement, { changesSchema: true });
    });
    this.#tables.set(table, definition.table);
    this.#rootPages = undefined;
    this.#access.clear();
    return { created: true };
  }

  /** Inserts a row and returns its primary key. */
  insert({ table, row }: InsertArgs): { id: JsonValue } {
    const info = this.#table(table);
    const statement = buildInsert(info, row);
    const { rows } = this.#write((run) => run(statement));
    const key = info.byName.get(info.primaryKey)!;
    return { id: decodeValue(key, rows[0]?.[0] ?? null) };
  }

  /** Returns the rows whose columns equal `where`, one page of them. */
  select({ table, where, options }: SelectArgs): Record<string, JsonValue>[] {
    const info = this.#table(table);
    const statement = buildSelect(info, where, {
      limit: options.limit ?? Math.min(SELECT_DEFAULT_LIMIT, this.#maxRows),
      offset: options.offset ?? 0,
      ...(options.orderBy === undefined ? {} : { orderBy: options.orderBy }),
      orderDirection: options.orderDirection ?? 'asc',
    });
    const { rows } = this.#execute(statement.sql, statement.params, { maxRows: this.#maxRows, method: 'ctx.db.select' });
    return rows.map((values) => decodeRow(info, values));
  }

  /** Sets `values` on the rows whose columns equal `where`. */
  update({ table, values, where }: UpdateArgs): { changes: number } {
    const statement = buildUpdate(this.#table(table), values, where);
    return this.#write((run) => {
      run(statement);
      return { changes: this.#database.getRowsModified() };
    });
  }

  /** Deletes the rows whose columns equal `where`. */
  delete({ table, where }: DeleteArgs): { changes: number } {
    const statement = buildDelete(this.#table(table), where);
    return this.#write((run) => {
      run(statement);
      return { changes: this.#database.getRowsModified() };
    });
  }

  /** Decides which tables a raw statement touches; see query-access.ts. */
  analyzeQuery({ sql }: Pick<QueryArgs, 'sql'>): QueryAccess {
    const cached = this.#access.get(sql);
    if (cached !== undefined) return cached;

    this.#rootPages ??= mapRootPages(this.#execute(ROOT_PAGES_QUERY).rows);
    const access = analyzeQuery(this.#database, sql, this.#rootPages);
    if (this.#access.size >= STATEMENT_CACHE_SIZE) this.#access.clear();
    this.#access.set(sql, access);
    return access;
  }

  /** Runs a raw statement whose tables the host has authorised, and returns its rows as objects. */
  runQuery({ sql, params, authorized }: RunQueryArgs): Record<string, SqlValue>[] {
    const access = this.analyzeQuery({ sql });
    if (access.tables.some((table) => !authorized.includes(table))) {
      throw failed('the tables this statement touches changed after it was authorised; send the call again');
    }

    const bound: JournalStatement = { sql, params: withPrefixes(params) };
    const budget: ResultBudget = { maxRows: this.#maxRows, method: 'ctx.db.query', withColumns: true };
    const { columns, rows } = access.writes
      ? this.#write((run) => run(bound, { budget }), Repeatability.freshInputs())
      : this.#execute(bound.sql, bound.params, budget);

    return rows.map((values) => Object.fromEntries(columns.map((column, index) => [column, values[index] ?? null])));
  }

  /** Writes a new snapshot and starts an empty journal. */
  compact(): DbStats {
    const started = performance.now();
    this.#storage.compact(this.#database.export());
    this.#lastCompactionMs = performance.now() - started;
    this.#replayMs = 0;
    debug('compacted %s to generation %d in %d ms', this.#storage.folder, this.#storage.generation, Math.round(this.#lastCompactionMs));
    return this.stats();
  }

  /** Closes the database and the journal. The worker never needs this, since terminating it releases both. */
  close(): void {
    for (const statement of this.#statements.values()) statement.free();
    this.#statements.clear();
    this.#database.close();
    this.#storage.close();
  }

  /** Returns sizes of the snapshot, the journal and the database in memory. */
  stats(): DbStats {
    const pages = Number(this.#execute('PRAGMA page_count').rows[0]?.[0] ?? 0);
    const pageSize = Number(this.#execute('PRAGMA page_size').rows[0]?.[0] ?? 0);
    return {
      generation: this.#storage.generation,
      snapshotBytes: this.#storage.snapshotBytes,
      journalBytes: this.#storage.journalBytes,
      databaseBytes: pages * pageSize,
    };
  }
}

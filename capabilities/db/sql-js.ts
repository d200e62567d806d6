/**
 * The part of sql.js that the database worker uses, with types. sql.js ships
 * no type declarations and plugrun adds no package for them, so the shapes
 * below are written from sql.js 1.17's API documentation and its
 * `dist/sql-wasm.js`, and cover only what plugrun calls.
 */

import { createRequire } from 'node:module';

/** A value SQLite stores or binds: sql.js maps INTEGER and REAL to number, BLOB to Uint8Array. */
export type SqlValue = string | number | null | Uint8Array;

/** Parameters of a statement: positional, or named with their `:`, `@` or `$` prefix. */
export type BindParams = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;

/** A prepared statement. */
export interface Statement {
  bind(params?: BindParams): boolean;
  /** Runs to the next row; returns false when the statement is done. Throws on an SQL error. */
  step(): boolean;
  /** The values of the current row, in column order. */
  get(): SqlValue[];
  getColumnNames(): string[];
  /** The SQL text the statement was prepared from, up to the end of its first statement. */
  getSQL(): string;
  /** Resets the statement and frees its bound values, so it can be bound and stepped again. */
  reset(): boolean;
  /** Finalizes the statement; it cannot be used afterwards. */
  free(): boolean;
}

/** Prepares the statements of an SQL text one at a time. */
export interface StatementIterator extends Iterator<Statement> {
  /** The text after the statement returned last, unparsed. */
  getRemainingSQL(): string;
}

/** The result of `exec`: one entry per statement that returned rows. */
export interface ExecResult {
  readonly columns: string[];
  readonly values: SqlValue[][];
}

/** One open SQLite connection on a database held in memory. */
export interface Database {
  /** Runs SQL without returning rows; with params, only its first statement. */
  run(sql: string, params?: BindParams): Database;
  exec(sql: string, params?: BindParams): ExecResult[];
  prepare(sql: string, params?: BindParams): Statement;
  iterateStatements(sql: string): StatementIterator;
  /** Rows changed by the last INSERT, UPDATE or DELETE (`sqlite3_changes`). */
  getRowsModified(): number;
  /** The database file's bytes, copied with SQLite's backup API. */
  export(): Uint8Array;
  close(): void;
  /**
   * Registers an SQL function that overrides a built-in of the same name.
   * sql.js registers it with as many arguments as `fn.length`.
   */
  create_function(name: string, fn: (...args: SqlValue[]) => SqlValue | boolean): Database;
}

/** The loaded sql.js module. */
export interface SqlJs {
  Database: new (data?: Uint8Array) => Database;
}

/** An error thrown by sql.js for a failed SQLite call; `code` is the extended result code name, such as `SQLITE_CONSTRAINT_UNIQUE`. */
export interface SqliteError extends Error {
  readonly code?: string;
}

const require = createRequire(import.meta.url);

/** Loads sql.js and its WebAssembly module; sql.js returns the same module to every call in a thread. */
export const loadSqlJs = async (): Promise<SqlJs> => {
  const initSqlJs = require('sql.js') as () => Promise<SqlJs>;
  return initSqlJs();
};

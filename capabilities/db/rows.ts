/**
 * The SQL of insert, select, update and delete, and the conversion of each
 * value between its JSON form and the form its column stores.
 *
 * Only names from the stored schema are written into SQL text, quoted. Every
 * value, including a `where` value, a default, a limit and an offset, is a
 * bound parameter. A value whose type does not match its column is rejected
 * with `PLUGRUN_INVALID` before any SQL runs.
 *
 * Stored forms: string and number as themselves, boolean as 0 or 1, date as
 * given (an ISO 8601 text or milliseconds), json as its JSON text. SQL NULL
 * stands for `null` in every type.
 */

import { quote, type JsonValue } from '../arguments.js';
import { countCharacters, isDateValue, type SqlScalar } from '../db-schema.js';
import { invalid } from '../errors.js';
import type { SqlValue } from './sql-js.js';
import { quoteIdentifier, type ColumnInfo, type TableInfo } from './tables.js';

/** One statement to run: SQL text with only quoted names in it, and its parameters. */
export interface BoundStatement {
  readonly sql: string;
  readonly params: SqlValue[];
}

/** Options of `select` after checking, with the limit resolved. */
export interface SelectPlan {
  readonly limit: number;
  readonly offset: number;
  readonly orderBy?: string;
  readonly orderDirection: 'asc' | 'desc';
}

const columnOf = (table: TableInfo, name: string, label: string): ColumnInfo => {
  const column = table.byName.get(name);
  if (column !== undefined) return column;
  const known = table.columns.map((entry) => entry.name).join(', ');
  throw invalid(`${label} names the column ${quote(name)}, which table "${table.name}" does not have; its columns: ${known}`);
};

const typeMismatch = (label: string, column: ColumnInfo, value: unknown): never => {
  const expected: Record<ColumnInfo['type'], string> = {
    string: 'a string',
    number: column.rowId ? 'an integer' : 'a finite number',
    boolean: 'a boolean',
    date: 'an ISO 8601 date text or milliseconds since the epoch',
    json: 'a JSON value',
  };
  throw invalid(`${label} must be ${expected[column.type]} for the ${column.type} column "${column.name}", got ${JSON.stringify(value)?.slice(0, 60) ?? typeof value}`);
};

/** Converts a value to the form its column stores. `null` is checked against NOT NULL unless the value is compared rather than stored. */
export const encodeValue = (column: ColumnInfo, value: JsonValue, label: string, { comparing = false } = {}): SqlValue => {
  if (value === null) {
    if (column.notNull && !comparing) throw invalid(`${label} is null, but column "${column.name}" is required`);
    return null;
  }

  switch (column.type) {
    case 'string':
      if (typeof value !== 'string') return typeMismatch(label, column, value);
      if (!comparing && column.maxLength !== undefined && countCharacters(value) > column.maxLength) {
        throw invalid(`${label} has ${countCharacters(value)} characters, over the maxLength of ${column.maxLength} of column "${column.name}"`);
      }
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return typeMismatch(label, column, value);
      // The row id column is SQLite's 64-bit integer key, and JavaScript numbers are exact integers only up to 2^53.
      if (column.rowId && !Number.isSafeInteger(value)) return typeMismatch(label, column, value);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') return typeMismatch(label, column, value);
      return value ? 1 : 0;
    case 'date':
      if (!isDateValue(value)) return typeMismatch(label, column, value);
      return value;
    case 'json':
      return JSON.stringify(value);
  }
};

/** Converts a stored value back to its JSON form. */
export const decodeValue = (column: ColumnInfo, value: SqlValue): JsonValue => {
  if (value === null) return null;
  if (column.type === 'boolean') return value === 1;
  if (column.type === 'json') return JSON.parse(value as string) as JsonValue;
  // CHECK constraints keep blobs out of every column, so what remains is a string or a number.
  return value as string | number;
};

/** Turns a row of stored values, in table column order, into an object keyed by column. */
export const decodeRow = (table: TableInfo, values: readonly SqlValue[]): Record<string, JsonValue> => {
  const row: Record<string, JsonValue> = {};
  table.columns.forEach((column, index) => {
    row[column.name] = decodeValue(column, values[index] ?? null);
  });
  return row;
};

const whereClause = (table: TableInfo, where: Readonly<Record<string, SqlScalar>>, label: string, params: SqlValue[]): string => {
  const conditions = Object.entries(where).map(([name, value]) => {
    const column = columnOf(table, name, label);
    if (value === null) return `${quoteIdentifier(column.name)} IS NULL`;
    params.push(encodeValue(column, value as JsonValue, `${label}.${name}`, { comparing: true }));
    return `${quoteIdentifier(column.name)} = ?`;
  });
  return conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
};

const columnList = (table: TableInfo): string => table.columns.map((column) => quoteIdentifier(column.name)).join(', ');

/**
 * Builds the INSERT of a row: defaults fill the columns it leaves out, and
 * the statement returns the primary key, which becomes the call's `{ id }`.
 */
export const buildInsert = (table: TableInfo, row: Readonly<Record<string, JsonValue>>): BoundStatement => {
  for (const name of Object.keys(row)) columnOf(table, name, 'ctx.db.insert row');

  const names: string[] = [];
  const params: SqlValue[] = [];
  for (const column of table.columns) {
    const supplied = Object.hasOwn(row, column.name) ? row[column.name] : undefined;
    const value = supplied === undefined ? column.default : supplied;
    if (value === undefined) {
      if (column.notNull) throw invalid(`ctx.db.insert row has no value for the required column "${column.name}", and the column has no default`);
      continue;
    }
    names.push(quoteIdentifier(column.name));
    params.push(encodeValue(column, value, `ctx.db.insert row.${column.name}`));
  }

  const key = quoteIdentifier(table.primaryKey);
  const sql =
    names.length === 0
      ? `INSERT INTO ${quoteIdentifier(table.name)} DEFAULT VALUES RETURNING ${key}`
      : `INSERT INTO ${quoteIdentifier(table.name)} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')}) RETURNING ${key}`;
  return { sql, params };
};

/** Builds the SELECT of `select`: equality conditions, an order and a page. */
export const buildSelect = (table: TableInfo, where: Readonly<Record<string, SqlScalar>>, plan: SelectPlan): BoundStatement => {
  const params: SqlValue[] = [];
  const conditions = whereClause(table, where, 'ctx.db.select where', params);

  // Without orderBy, rows come in insertion order, which the row id keeps.
  let order = ' ORDER BY rowid';
  if (plan.orderBy !== undefined) {
    const column = columnOf(table, plan.orderBy, 'ctx.db.select options.orderBy');
    order = ` ORDER BY ${quoteIdentifier(column.name)} ${plan.orderDirection === 'desc' ? 'DESC' : 'ASC'}, rowid`;
  }
  params.push(plan.limit, plan.offset);
  return { sql: `SELECT ${columnList(table)} FROM ${quoteIdentifier(table.name)}${conditions}${order} LIMIT ? OFFSET ?`, params };
};

/** Builds the UPDATE of `update`; an empty `where` changes every row, as SQL's UPDATE does. */
export const buildUpdate = (
  table: TableInfo,
  values: Readonly<Record<string, JsonValue>>,
  where: Readonly<Record<string, SqlScalar>>,
): BoundStatement => {
  const params: SqlValue[] = [];
  const assignments = Object.entries(values).map(([name, value]) => {
    const column = columnOf(table, name, 'ctx.db.update values');
    params.push(encodeValue(column, value, `ctx.db.update values.${name}`));
    return `${quoteIdentifier(column.name)} = ?`;
  });
  const conditions = whereClause(table, where, 'ctx.db.update where', params);
  return { sql: `UPDATE ${quoteIdentifier(table.name)} SET ${assignments.join(', ')}${conditions}`, params };
};

/** Builds the DELETE of `delete`; the check has already rejected an empty `where`. */
export const buildDelete = (table: TableInfo, where: Readonly<Record<string, SqlScalar>>): BoundStatement => {
  const params: SqlValue[] = [];
  const conditions = whereClause(table, where, 'ctx.db.delete where', params);
  return { sql: `DELETE FROM ${quoteIdentifier(table.name)}${conditions}`, params };
};

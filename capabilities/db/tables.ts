/**
 * The parts of a table. This module builds the SQL that `createTable` runs
 * for a checked schema and the schema stored next to the table, which a
 * second `createTable` is compared with. It also describes the columns that
 * insert, select, update and delete encode values for.
 *
 * Tables are STRICT, and CHECK constraints hold each column to its declared
 * type, so a raw query cannot store a value that `select` could not decode.
 * Defaults are applied by `insert` rather than written into the table's SQL,
 * because SQL text must never contain a plugin's values.
 */

import type { JsonValue } from '../arguments.js';
import { IMPLICIT_ID_COLUMN, type COLUMN_TYPES, type TableSchema } from '../db-schema.js';
import type { JournalStatement } from './journal.js';

/** Name of the table that stores each table's schema. Table names a plugin may use cannot contain `-`, so it never collides. */
export const SCHEMA_TABLE = 'plugrun-tables';

/** A column type of a schema. */
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** One column as the row code needs it. */
export interface ColumnInfo {
  readonly name: string;
  readonly type: ColumnType;
  /** NOT NULL: set for required columns and for a primary key that is not the row id. */
  readonly notNull: boolean;
  readonly default?: JsonValue;
  readonly maxLength?: number;
  /** True for the `INTEGER PRIMARY KEY` column, which SQLite assigns when an insert leaves it out. */
  readonly rowId: boolean;
}

/** A table of the plugin's database, as stored. */
export interface TableInfo {
  /** Lowercased table name. */
  readonly name: string;
  /** The columns in table order, the implicit `id` first when there is one. */
  readonly columns: readonly ColumnInfo[];
  readonly byName: ReadonlyMap<string, ColumnInfo>;
  readonly primaryKey: string;
  /** The schema's canonical JSON, compared by a later `createTable`. */
  readonly canonical: string;
}

/** A schema in the form it is stored and compared in. */
interface StoredSchema {
  readonly columns: Readonly<Record<string, Readonly<Record<string, JsonValue>>>>;
  readonly primaryKey?: string;
  readonly indexes?: readonly (readonly string[])[];
}

const SQL_TYPES: Readonly<Record<ColumnType, string>> = {
  string: 'TEXT',
  number: 'REAL',
  boolean: 'INTEGER',
  // A date is kept as given, an ISO 8601 text or milliseconds, so it reads back as the same JSON value.
  date: 'ANY',
  json: 'TEXT',
};

/** Quotes an identifier for SQL. Names were checked against the identifier rule; doubling quotes keeps the quoting right regardless. */
export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

const sortKeys = (value: JsonValue): JsonValue => {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, JsonValue> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key]!);
  return sorted;
};

/**
 * Brings a checked schema into its stored form: columns in declared order,
 * options that are false or absent left out, and every index as a list of
 * columns.
 */
const toStoredSchema = (schema: TableSchema): StoredSchema => {
  const columns: Record<string, Record<string, JsonValue>> = {};
  for (const [name, column] of Object.entries(schema.columns)) {
    const stored: Record<string, JsonValue> = { type: column.type };
    if (column.required === true) stored.required = true;
    if (column.unique === true) stored.unique = true;
    if (column.default !== undefined) stored.default = column.default as JsonValue;
    if (column.maxLength !== undefined) stored.maxLength = column.maxLength;
    columns[name] = stored;
  }
  return {
    columns,
    ...(schema.primaryKey === undefined ? {} : { primaryKey: schema.primaryKey }),
    ...(schema.indexes === undefined || schema.indexes.length === 0
      ? {}
      : { indexes: schema.indexes.map((index) => (typeof index === 'string' ? [index] : index)) }),
  };
};

// Key order does not change a schema, so the comparison uses sorted keys.
// The order of columns inside an index does matter, so arrays keep theirs.
const canonicalJson = (stored: StoredSchema): string => JSON.stringify(sortKeys(stored as unknown as JsonValue));

/** Builds the column facts of a stored schema. */
const describeTable = (name: string, stored: StoredSchema): TableInfo => {
  const columns: ColumnInfo[] = [];
  const primaryKey = stored.primaryKey ?? IMPLICIT_ID_COLUMN;
  if (stored.primaryKey === undefined) columns.push({ name: IMPLICIT_ID_COLUMN, type: 'number', notNull: false, rowId: true });

  for (const [columnName, column] of Object.entries(stored.columns)) {
    const type = column.type as ColumnType;
    const isKey = columnName === primaryKey;
    const rowId = isKey && type === 'number';
    columns.push({
      name: columnName,
      type,
      notNull: column.required === true || (isKey && !rowId),
      rowId,
      ...(column.default === undefined ? {} : { default: column.default }),
      ...(typeof column.maxLength === 'number' ? { maxLength: column.maxLength } : {}),
    });
  }
  return {
    name,
    columns,
    byName: new Map(columns.map((column) => [column.name, column])),
    primaryKey,
    canonical: canonicalJson(stored),
  };
};

const columnDefinition = (column: ColumnInfo, stored: StoredSchema, primaryKey: string): string => {
  const name = quoteIdentifier(column.name);
  if (column.rowId) return `${name} INTEGER PRIMARY KEY`;

  const parts = [name, SQL_TYPES[column.type]];
  if (column.name === primaryKey) parts.push('PRIMARY KEY');
  if (column.notNull) parts.push('NOT NULL');
  if (stored.columns[column.name]?.unique === true) parts.push('UNIQUE');

  // The numbers below come from the checked schema, never from a row.
  if (column.type === 'boolean') parts.push(`CHECK (${name} IN (0, 1))`);
  if (column.type === 'json') parts.push(`CHECK (json_valid(${name}))`);
  if (column.type === 'date') parts.push(`CHECK (typeof(${name}) IN ('text', 'integer', 'real', 'null'))`);
  if (column.maxLength !== undefined) parts.push(`CHECK (length(${name}) <= ${column.maxLength})`);
  return parts.join(' ');
};

/** The SQL that creates the schema table when it does not exist yet. */
export const SCHEMA_TABLE_DEFINITION = `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(SCHEMA_TABLE)} (name TEXT PRIMARY KEY NOT NULL, schema TEXT NOT NULL) STRICT`;

/** The SQL that reads every stored schema. */
export const READ_SCHEMAS = `SELECT name, schema FROM ${quoteIdentifier(SCHEMA_TABLE)}`;

/** Describes a table from the JSON its schema is stored as. */
export const tableFromStored = (name: string, json: string): TableInfo => describeTable(name, JSON.parse(json) as StoredSchema);

/** The table a `createTable` call requests: its column facts, and the statements that create and record it. */
export interface TableDefinition {
  readonly table: TableInfo;
  readonly statements: readonly JournalStatement[];
}

/** Builds the statements that create a table, its indexes and its stored schema. */
export const defineTable = (name: string, schema: TableSchema): TableDefinition => {
  const stored = toStoredSchema(schema);
  const table = describeTable(name, stored);
  const columns = table.columns.map((column) => columnDefinition(column, stored, table.primaryKey));

  const statements: JournalStatement[] = [
    { sql: SCHEMA_TABLE_DEFINITION, params: [] },
    { sql: `CREATE TABLE ${quoteIdentifier(name)} (${columns.join(', ')}) STRICT`, params: [] },
  ];
  // Index names contain ":", which table names cannot, since tables and indexes share one namespace in SQLite.
  for (const index of stored.indexes ?? []) {
    const indexName = quoteIdentifier(`idx:${name}:${index.join(',')}`);
    statements.push({ sql: `CREATE INDEX ${indexName} ON ${quoteIdentifier(name)} (${index.map(quoteIdentifier).join(', ')})`, params: [] });
  }
  statements.push({ sql: `INSERT INTO ${quoteIdentifier(SCHEMA_TABLE)} (name, schema) VALUES (?, ?)`, params: [name, JSON.stringify(stored)] });
  return { table, statements };
};

/** Says how a requested schema differs from the stored one, part by part, for the error of a conflicting `createTable`. */
export const describeDifference = (stored: TableInfo, requested: TableInfo): string => {
  const storedSchema = JSON.parse(stored.canonical) as StoredSchema;
  const requestedSchema = JSON.parse(requested.canonical) as StoredSchema;
  const differences: string[] = [];

  const names = new Set([...Object.keys(storedSchema.columns), ...Object.keys(requestedSchema.columns)]);
  for (const column of names) {
    const before = storedSchema.columns[column];
    const after = requestedSchema.columns[column];
    if (before === undefined) differences.push(`column "${column}" is new`);
    else if (after === undefined) differences.push(`column "${column}" is missing`);
    else if (JSON.stringify(before) !== JSON.stringify(after)) {
      differences.push(`column "${column}" is ${JSON.stringify(before)} but the new schema has ${JSON.stringify(after)}`);
    }
  }
  if (storedSchema.primaryKey !== requestedSchema.primaryKey) {
    differences.push(`primaryKey is ${JSON.stringify(storedSchema.primaryKey ?? null)} but the new schema has ${JSON.stringify(requestedSchema.primaryKey ?? null)}`);
  }
  if (JSON.stringify(storedSchema.indexes ?? []) !== JSON.stringify(requestedSchema.indexes ?? [])) {
    differences.push(`indexes are ${JSON.stringify(storedSchema.indexes ?? [])} but the new schema has ${JSON.stringify(requestedSchema.indexes ?? [])}`);
  }
  return differences.join('; ');
};

/**
 * Checks of table and column names, of the schema a plugin passes to
 * `ctx.db.createTable`, and of rows and `where` objects.
 *
 * Names are validated here so that the code that builds SQL can quote them
 * without further thought. Values are never spliced into SQL; they are bound
 * as parameters. SQLite compares table and column names without regard to
 * case, so table names are lowercased where they are compared.
 */

import { z } from 'zod';
import { describeType, expectJsonValue, expectPlainObject, isBytes, quote, type JsonValue } from './arguments.js';
import { invalid } from './errors.js';

/** Maximum length of a table or column name, in characters. */
export const IDENTIFIER_MAX_CHARS = 64;

/** Rule for table and column names: an SQL identifier that never needs quoting. */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Returns a sentence saying what is wrong with a table or column name, or undefined when it is valid. */
export const findIdentifierProblem = (name: string): string | undefined => {
  if (name.length > IDENTIFIER_MAX_CHARS) return `is longer than ${IDENTIFIER_MAX_CHARS} characters`;
  if (!IDENTIFIER_PATTERN.test(name)) return 'must start with a letter or "_" and contain only letters, digits and "_"';
  // Rows are JavaScript objects keyed by column, where this key sets the prototype.
  if (name === '__proto__') return 'is reserved by JavaScript';
  return undefined;
};

/** Returns a sentence saying what is wrong with a table name, or undefined when it is valid. */
export const findTableNameProblem = (name: string): string | undefined => {
  const problem = findIdentifierProblem(name);
  if (problem !== undefined) return problem;
  if (name.toLowerCase().startsWith('sqlite_')) return 'starts with "sqlite_", which SQLite reserves for its own tables';
  return undefined;
};

/** Maximum number of columns in one table, far below SQLite's own limit, so that schemas stay small. */
export const COLUMNS_MAX_COUNT = 50;

/** Largest `maxLength` a string column may declare, in characters (Unicode code points, as SQLite's `length()` counts). */
export const STRING_MAX_LENGTH_LIMIT = 10_000;

/** Name of the column a table gets as its primary key when its schema names none. */
export const IMPLICIT_ID_COLUMN = 'id';

/** Column names that SQLite reserves for the row id of every table, compared without regard to case. */
const ROWID_NAMES = new Set(['rowid', 'oid', '_rowid_']);

/** Maximum size of one row, `values` or `where` object as JSON, in bytes. */
export const ROW_MAX_BYTES = 1024 * 1024;

/** Column types a schema may use. */
export const COLUMN_TYPES = ['string', 'number', 'boolean', 'date', 'json'] as const;

const IdentifierStruct = z
  .string()
  .max(IDENTIFIER_MAX_CHARS)
  .regex(IDENTIFIER_PATTERN, 'must start with a letter or "_" and contain only letters, digits and "_"')
  .refine((name) => name !== '__proto__', 'is reserved by JavaScript');

const ColumnStruct = z.strictObject({
  type: z.enum(COLUMN_TYPES),
  required: z.boolean().optional(),
  unique: z.boolean().optional(),
  default: z.json().optional(),
  maxLength: z.int().min(1).max(STRING_MAX_LENGTH_LIMIT).optional(),
});

const isoDate = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Checks whether a value is a date as a `date` column stores it: an ISO 8601 text or finite milliseconds since the epoch. */
export const isDateValue = (value: unknown): value is string | number =>
  (typeof value === 'number' && Number.isFinite(value)) ||
  (typeof value === 'string' && isoDate.test(value) && !Number.isNaN(Date.parse(value)));

/** Counts the characters of a text as SQLite's `length()` does: Unicode code points, not UTF-16 units. */
export const countCharacters = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

const defaultMatchesType = (type: (typeof COLUMN_TYPES)[number], value: unknown): boolean => {
  if (value === null || type === 'json') return true;
  if (type === 'string') return typeof value === 'string';
  if (type === 'number') return typeof value === 'number';
  if (type === 'boolean') return typeof value === 'boolean';
  return isDateValue(value);
};

/** Schema of `ctx.db.createTable`'s second argument. */
export const TableSchemaStruct = z
  .strictObject({
    columns: z.record(IdentifierStruct, ColumnStruct),
    primaryKey: IdentifierStruct.optional(),
    indexes: z.array(z.union([IdentifierStruct, z.array(IdentifierStruct).min(1).max(16)])).max(32).optional(),
  })
  .superRefine((schema, context) => {
    const names = Object.keys(schema.columns);
    if (names.length === 0) context.addIssue({ code: 'custom', path: ['columns'], message: 'must name at least one column' });
    if (names.length > COLUMNS_MAX_COUNT) {
      context.addIssue({ code: 'custom', path: ['columns'], message: `has more than ${COLUMNS_MAX_COUNT} columns` });
    }

    // SQLite compares column names without regard to case.
    const lowercased = new Set<string>();
    for (const name of names) {
      if (lowercased.has(name.toLowerCase())) {
        context.addIssue({ code: 'custom', path: ['columns', name], message: 'differs from another column only in case' });
      }
      lowercased.add(name.toLowerCase());

      if (ROWID_NAMES.has(name.toLowerCase())) {
        context.addIssue({ code: 'custom', path: ['columns', name], message: 'is reserved by SQLite for the row id' });
      }
      if (schema.primaryKey === undefined && name.toLowerCase() === IMPLICIT_ID_COLUMN) {
        context.addIssue({
          code: 'custom',
          path: ['columns', name],
          message: `is the implicit primary key of a table without primaryKey; set primaryKey to "${name}" or rename the column`,
        });
      }

      const column = schema.columns[name];
      if (column === undefined) continue;
      if (column.default !== undefined && !defaultMatchesType(column.type, column.default)) {
        context.addIssue({ code: 'custom', path: ['columns', name, 'default'], message: `does not match type ${column.type}` });
      }
      if (column.maxLength !== undefined && column.type !== 'string') {
        context.addIssue({ code: 'custom', path: ['columns', name, 'maxLength'], message: 'applies only to string columns' });
      }
      if (column.maxLength !== undefined && typeof column.default === 'string' && countCharacters(column.default) > column.maxLength) {
        context.addIssue({ code: 'custom', path: ['columns', name, 'default'], message: `is longer than maxLength ${column.maxLength}` });
      }
    }

    // Rows are objects keyed by the declared names, so references must match them exactly.
    const known = (name: string) => Object.hasOwn(schema.columns, name);
    if (schema.primaryKey !== undefined && !known(schema.primaryKey)) {
      context.addIssue({ code: 'custom', path: ['primaryKey'], message: 'names no column of the table' });
    }
    (schema.indexes ?? []).forEach((index, position) => {
      const columns = typeof index === 'string' ? [index] : index;
      if (!columns.every(known)) {
        context.addIssue({ code: 'custom', path: ['indexes', position], message: 'names a column the table does not have' });
      }
    });
  });

/** A table schema after checking. */
export type TableSchema = z.output<typeof TableSchemaStruct>;

/** A value a `where` object or a query parameter may hold: SQL compares and binds scalars only. */
export type SqlScalar = string | number | boolean | null | Uint8Array;

const checkColumnNames = (object: Record<string, unknown>, label: string): void => {
  for (const name of Object.keys(object)) {
    const problem = findIdentifierProblem(name);
    if (problem !== undefined) throw invalid(`${label} has the column name ${quote(name)}, which ${problem}`);
  }
};

/** Checks a row or the `values` of an update: column names mapped to JSON values. */
export const checkRow = (alleged: unknown, label: string, { allowEmpty }: { allowEmpty: boolean }): Record<string, JsonValue> => {
  const row = expectPlainObject(alleged, label);
  checkColumnNames(row, label);
  if (!allowEmpty && Object.keys(row).length === 0) throw invalid(`${label} must name at least one column`);

  return expectJsonValue(row, label, ROW_MAX_BYTES) as Record<string, JsonValue>;
};

const isWhereValue = (value: unknown): value is Exclude<SqlScalar, Uint8Array> =>
  value === null ||
  typeof value === 'string' ||
  typeof value === 'boolean' ||
  (typeof value === 'number' && Number.isFinite(value));

/** Checks whether a value can be bound as an SQL parameter. */
export const isSqlScalar = (value: unknown): value is SqlScalar => isWhereValue(value) || isBytes(value);

/** Checks a `where` object: column names mapped to scalars, compared for equality. */
export const checkWhere = (alleged: unknown, label: string, { allowEmpty }: { allowEmpty: boolean }): Record<string, SqlScalar> => {
  const where = expectPlainObject(alleged, label);
  checkColumnNames(where, label);
  if (!allowEmpty && Object.keys(where).length === 0) {
    throw invalid(`${label} is empty, which would match every row. Name at least one column`);
  }

  for (const [name, value] of Object.entries(where)) {
    if (!isWhereValue(value)) {
      const got = typeof value === 'number' ? String(value) : describeType(value);
      throw invalid(`${label}.${name} must be a string, a finite number, a boolean or null, got ${got}`);
    }
  }
  expectJsonValue(where, label, ROW_MAX_BYTES);
  return where as Record<string, SqlScalar>;
};

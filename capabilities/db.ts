/**
 * `db:<table>` and `db:*` grants and `ctx.db`: the canonical text of a grant,
 * whether it covers the table a call needs, the checks of each call, and the
 * capability that sends checked calls to the plugin's database worker.
 *
 * Each plugin has a database of its own in `.plugrun/db/<plugin>/`, so no
 * call can name another plugin's tables: they are not in the database it
 * reaches. Within that database, grants name tables. Table names are
 * lowercased before they are stored or compared, because SQLite compares
 * them without regard to case: `db:Notes` and `db:notes` grant the same
 * table.
 *
 * Storage, durability and the worker are in `db/`; docs/db.md describes the
 * design.
 */

import { z } from 'zod';
import {
  assertArgumentCount,
  assertWithinLimit,
  describeType,
  expectString,
  isPlainObject,
  parseArgument,
  quote,
  type JsonValue,
} from './arguments.js';
import type { KindParseResult } from './capability-string.js';
import {
  checkRow,
  checkWhere,
  findTableNameProblem,
  IDENTIFIER_MAX_CHARS,
  IDENTIFIER_PATTERN,
  isSqlScalar,
  ROW_MAX_BYTES,
  TableSchemaStruct,
  type SqlScalar,
  type TableSchema,
} from './db-schema.js';
import { DbClient } from './db/client.js';
import type { QueryAccess } from './db/query-access.js';
import { invalid, limit } from './errors.js';
import type { CapabilityFactory, CheckedCall, DbCapability, Need, Operation, PluginEnv } from './types.js';

/** The need of a `ctx.db` call: the lowercased name of a table it touches. A raw query has one need per table. */
export type DbNeed = Extract<Need, { kind: 'db' }>;

/** Table `*`: every table of the plugin's own database. */
export const ALL_TABLES = '*';

/** Parses the part after `db:`. */
export const parseDbCapability = (body: string): KindParseResult<DbCapability> => {
  if (body === ALL_TABLES) return { capability: { kind: 'db', table: ALL_TABLES } };
  if (body === '') return { problem: 'the table is missing; name one, as in db:notes, or use db:* for all tables' };

  const problem = findTableNameProblem(body);
  if (problem !== undefined) return { problem: `the table name ${quote(body)} ${problem}` };

  return { capability: { kind: 'db', table: body.toLowerCase() } };
};

/** Returns the canonical text of a db capability, such as `db:notes`. */
export const formatDbCapability = (capability: DbCapability): string => `db:${capability.table}`;

/** Checks whether a db grant covers a db need: `db:*` covers every need, a table grant only that table. */
export const dbGrantCovers = (grant: DbCapability, need: DbNeed): boolean =>
  grant.table === ALL_TABLES || grant.table === need.table.toLowerCase();

/** Returns the capability string that would allow a db need, such as `db:notes` or `db:*`. */
export const neededDbCapability = (need: DbNeed): string =>
  formatDbCapability({ kind: 'db', table: need.table === ALL_TABLES ? ALL_TABLES : need.table.toLowerCase() });

/** Arguments of every `ctx.db` method after checking. Each method sets only the fields it takes. */
export interface DbArgs {
  /** Lowercased table name, absent for `query`. */
  readonly table?: string;
  readonly schema?: TableSchema;
  readonly row?: Record<string, JsonValue>;
  readonly values?: Record<string, JsonValue>;
  readonly where?: Record<string, SqlScalar>;
  readonly options?: SelectOptions;
  readonly sql?: string;
  readonly params?: readonly SqlScalar[] | Readonly<Record<string, SqlScalar>>;
}

/** Options of `select` after checking. */
export interface SelectOptions {
  readonly limit?: number;
  readonly offset?: number;
  readonly orderBy?: string;
  readonly orderDirection?: 'asc' | 'desc';
}

/** Maximum length of the SQL text of one query, in characters. */
const SQL_MAX_CHARS = 100_000;

/** Maximum length of the SQL excerpt an audit event shows, in characters. */
const SQL_EXCERPT_MAX_CHARS = 200;

const namedParameter = /^[:@$]?[A-Za-z_][A-Za-z0-9_]*$/;

const makeSelectOptionsStruct = (env: PluginEnv) =>
  z
    .strictObject({
      limit: z.int().min(1).max(env.limits.dbMaxRows).optional(),
      offset: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      orderBy: z.string().max(IDENTIFIER_MAX_CHARS).regex(IDENTIFIER_PATTERN, 'is not a valid column name').optional(),
      orderDirection: z.enum(['asc', 'desc']).optional(),
    })
    .optional();

/** Checks a table name and returns it lowercased. */
const checkTable = (alleged: unknown, label: string): string => {
  const table = expectString(alleged, label);
  const problem = findTableNameProblem(table);
  if (problem !== undefined) throw invalid(`${label} ${quote(table)} ${problem}`);
  return table.toLowerCase();
};

const tableCall = (table: string, args: DbArgs): CheckedCall<DbArgs> => ({
  need: { kind: 'db', table },
  target: table,
  args,
});

const scalarBytes = (value: SqlScalar): number => {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (value instanceof Uint8Array) return value.byteLength;
  return 8;
};

// The parameters go into the journal record of a write, which is held to the size of one row.
const assertParamsSize = (values: readonly SqlScalar[], label: string): void => {
  const bytes = values.reduce<number>((total, value) => total + scalarBytes(value), 0);
  if (bytes > ROW_MAX_BYTES) throw limit(`${label} are ${bytes} bytes, over the maximum of ${ROW_MAX_BYTES} bytes`);
};

const checkParams = (alleged: unknown, label: string): DbArgs['params'] => {
  if (alleged === undefined) return [];

  if (Array.isArray(alleged)) {
    alleged.forEach((value, index) => {
      if (!isSqlScalar(value)) throw invalid(`${label}[${index}] must be a string, a finite number, a boolean, null or a Uint8Array`);
    });
    assertParamsSize(alleged as SqlScalar[], label);
    return alleged as SqlScalar[];
  }

  if (!isPlainObject(alleged)) {
    throw invalid(`${label} must be an array or a plain object of named parameters, got ${describeType(alleged)}`);
  }
  for (const [name, value] of Object.entries(alleged)) {
    if (!namedParameter.test(name) || name === '__proto__') {
      throw invalid(`${label} has the parameter name ${quote(name)}, but names look like :name, @name, $name or name`);
    }
    if (!isSqlScalar(value)) throw invalid(`${label}.${name} must be a string, a finite number, a boolean, null or a Uint8Array`);
  }
  assertParamsSize(Object.values(alleged) as SqlScalar[], label);
  return alleged as Record<string, SqlScalar>;
};

const sqlExcerpt = (sql: string): string => {
  const oneLine = sql.replace(/\s+/g, ' ').trim();
  return oneLine.length > SQL_EXCERPT_MAX_CHARS ? `${oneLine.slice(0, SQL_EXCERPT_MAX_CHARS)}...` : oneLine;
};

/** Makes `ctx.db` for one plugin: createTable, insert, select, update, delete and query. */
export const makeDbCapability: CapabilityFactory = (env) => {
  const selectOptionsStruct = makeSelectOptionsStruct(env);
  const client = new DbClient({
    plugin: env.plugin.name,
    folder: env.paths.db,
    maxRows: env.limits.dbMaxRows,
    callTimeoutMs: env.limits.callTimeoutMs,
  });

  // The table methods hand their checked arguments to the worker unchanged.
  const operation = (method: 'createTable' | 'insert' | 'select' | 'update' | 'delete', check: Operation<DbArgs>['check']): Operation<DbArgs> => ({
    check,
    perform: (args) => client.request(method, args, `ctx.db.${method}`),
  });

  const createTable = operation('createTable', (alleged) => {
    assertArgumentCount(alleged, 2, 'ctx.db.createTable');
    const table = checkTable(alleged[0], 'ctx.db.createTable table');
    const schema = parseArgument(TableSchemaStruct, alleged[1], 'ctx.db.createTable schema');
    return tableCall(table, { table, schema });
  });

  const insert = operation('insert', (alleged) => {
    assertArgumentCount(alleged, 2, 'ctx.db.insert');
    const table = checkTable(alleged[0], 'ctx.db.insert table');
    const row = checkRow(alleged[1], 'ctx.db.insert row', { allowEmpty: true });
    return tableCall(table, { table, row });
  });

  const select = operation('select', (alleged) => {
    assertArgumentCount(alleged, 3, 'ctx.db.select');
    const table = checkTable(alleged[0], 'ctx.db.select table');
    const where = alleged[1] === undefined ? {} : checkWhere(alleged[1], 'ctx.db.select where', { allowEmpty: true });
    assertWithinLimit(alleged[2], 'limit', env.limits.dbMaxRows, 'dbMaxRows', 'ctx.db.select options');
    const options = parseArgument(selectOptionsStruct, alleged[2], 'ctx.db.select options') ?? {};
    return tableCall(table, { table, where, options });
  });

  // An update without conditions changes every row, as SQL's UPDATE does.
  // Only delete rejects an empty where.
  const update = operation('update', (alleged) => {
    assertArgumentCount(alleged, 3, 'ctx.db.update');
    const table = checkTable(alleged[0], 'ctx.db.update table');
    const values = checkRow(alleged[1], 'ctx.db.update values', { allowEmpty: false });
    const where = checkWhere(alleged[2], 'ctx.db.update where', { allowEmpty: true });
    return tableCall(table, { table, values, where });
  });

  const deleteRows = operation('delete', (alleged) => {
    assertArgumentCount(alleged, 2, 'ctx.db.delete');
    const table = checkTable(alleged[0], 'ctx.db.delete table');
    const where = checkWhere(alleged[1], 'ctx.db.delete where', { allowEmpty: false });
    return tableCall(table, { table, where });
  });

  // Which tables a raw statement touches is known only once SQLite has
  // compiled it, which check() cannot do without I/O. So check() returns no
  // need. perform() gets the tables from the worker and authorises each one
  // through env.requireGrant before the statement runs. A table no grant
  // covers throws PLUGRUN_DENIED, which the gate records as the call's one
  // `denied` event.
  const query: Operation<DbArgs> = {
    check(alleged) {
      assertArgumentCount(alleged, 2, 'ctx.db.query');
      const sql = expectString(alleged[0], 'ctx.db.query sql');
      if (sql.trim() === '') throw invalid('ctx.db.query sql is empty');
      if (sql.length > SQL_MAX_CHARS) throw invalid(`ctx.db.query sql is longer than ${SQL_MAX_CHARS} characters`);
      const params = checkParams(alleged[1], 'ctx.db.query params');
      return { need: null, target: sqlExcerpt(sql), args: { sql, params } };
    },
    async perform({ sql, params }) {
      let access: QueryAccess;
      try {
        access = await client.request<QueryAccess>('analyzeQuery', { sql }, 'ctx.db.query');
      } catch (error) {
        // SQLite cannot compile a statement that names a missing table. An
        // ungranted name is denied like an existing one, so a plugin cannot
        // learn which of its tables exist without the grant.
        const missing = /no such table: (?:main\.)?([A-Za-z_][A-Za-z0-9_]*)/.exec(error instanceof Error ? error.message : '');
        if (missing) env.requireGrant({ kind: 'db', table: missing[1]!.toLowerCase() });
        throw error;
      }
      for (const table of access.tables) env.requireGrant({ kind: 'db', table });
      return client.request('runQuery', { sql, params, authorized: access.tables }, 'ctx.db.query');
    },
  };

  return {
    operations: { createTable, insert, select, update, delete: deleteRows, query },
    teardown: () => client.close(),
  };
};

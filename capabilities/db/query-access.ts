/**
 * Decides what a raw `ctx.db.query` statement may do, from what SQLite
 * compiled it to rather than from its text, so that quoting, `main.`
 * prefixes, comments, subqueries and CTEs change nothing.
 *
 * Threat: a plugin granted `db:notes` writes SQL that reads or changes
 * another of its tables, the schema, or the connection itself (ATTACH,
 * PRAGMA, VACUUM INTO, virtual tables such as `pragma_table_info`).
 *
 * Phases:
 *   1. The first keyword must start a SELECT, INSERT, UPDATE, DELETE,
 *      REPLACE, WITH or VALUES statement. This check runs before SQLite
 *      parses the text, because preparing a PRAGMA already applies it.
 *   2. SQLite prepares the text; what follows its first statement may only
 *      be spaces, comments and semicolons.
 *   3. `EXPLAIN` lists the statement's bytecode. Every b-tree it opens or
 *      clears (`OpenRead`, `OpenWrite`, `ReopenIdx`, `Clear`) is mapped
 *      through `sqlite_schema.rootpage` to the table it belongs to. The
 *      schema table, internal tables and any database but `main` are
 *      rejected. So is every opcode that changes the schema or the
 *      connection, and every virtual table but `json_each` and `json_tree`.
 *
 * The tables found are then authorised against the plugin's grants by the
 * caller of this module.
 */

import { quote } from '../arguments.js';
import { invalid } from '../errors.js';
import type { Database, SqlValue, Statement } from './sql-js.js';
import { SCHEMA_TABLE } from './tables.js';

/** The tables a statement touches, as SQLite compiled it. */
export interface QueryAccess {
  /** Lowercased names of the plugin's tables the statement reads or writes, sorted. */
  readonly tables: readonly string[];
  /** True when the statement writes: it opens a table for writing or clears one. */
  readonly writes: boolean;
}

/** Map from b-tree root page to the table it belongs to; `internal` marks SQLite's and plugrun's own tables. */
export type RootPages = ReadonlyMap<number, { readonly table: string; readonly internal: boolean }>;

const ALLOWED_KEYWORDS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'WITH', 'VALUES']);

const KEYWORD_ADVICE: Readonly<Record<string, string>> = {
  CREATE: 'create tables with ctx.db.createTable; views, triggers and virtual tables are not allowed',
  PRAGMA: 'PRAGMA statements are not allowed, because several of them change the connection as soon as they are prepared',
  ATTACH: 'other database files are not reachable',
  DETACH: 'other database files are not reachable',
  VACUUM: 'plugrun compacts the database itself',
};

/** The opcodes that change the schema, the connection or the file, none of which a row statement needs. */
const FORBIDDEN_OPCODES = new Set([
  'AutoCommit', 'Checkpoint', 'CreateBtree', 'Destroy', 'DropIndex', 'DropTable', 'DropTrigger', 'Expire',
  'IncrVacuum', 'IntegrityCk', 'JournalMode', 'LoadAnalysis', 'MaxPgcnt', 'Pagecount', 'ParseSchema',
  // Program runs a trigger's bytecode, which EXPLAIN does not list; plugrun creates no triggers.
  'Program', 'Savepoint', 'SetCookie', 'SqlExec', 'TableLock', 'Vacuum',
  'VBegin', 'VCheck', 'VCreate', 'VDestroy', 'VRename', 'VUpdate',
]);

/** Eponymous virtual tables a query may read: they only parse JSON they are given. */
const ALLOWED_VIRTUAL_TABLES = ["SELECT * FROM json_each('[]')", "SELECT * FROM json_tree('[]')"];

/**
 * P5 bit of `OpenWrite` and friends that makes P2 a register rather than a
 * root page: OPFLAG_P2ISREG in SQLite's sqliteInt.h. Its value has changed
 * between SQLite releases. In the SQLite 3.54.1 of sql.js 1.17, EXPLAIN of
 * CREATE INDEX shows P5 = 0x11 on the OpenWrite of the new index.
 */
const OPFLAG_P2ISREG = 0x10;

// SQLite's own character classes: spaces are 0x09-0x0d and 0x20, and any
// character from 0x80 up may be part of an identifier.
const isSpace = (code: number) => code === 0x20 || (code >= 0x09 && code <= 0x0d);
const isIdentifierCharacter = (code: number) =>
  (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code === 0x24 || code >= 0x80;

/** Returns the index of the first character that is not a space, a comment or (when `semicolons`) a semicolon. */
const skipInert = (sql: string, from: number, semicolons: boolean): number => {
  let index = from;
  while (index < sql.length) {
    const code = sql.charCodeAt(index);
    if (isSpace(code) || (semicolons && code === 0x3b)) {
      index += 1;
    } else if (sql.startsWith('--', index)) {
      const end = sql.indexOf('\n', index);
      index = end === -1 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', index)) {
      // An unterminated block comment runs to the end of the text, as in SQLite.
      const end = sql.indexOf('*/', index + 2);
      index = end === -1 ? sql.length : end + 2;
    } else {
      break;
    }
  }
  return index;
};

/** Returns the statement's first keyword in upper case, or undefined when the text does not start with a word. */
export const firstKeyword = (sql: string): string | undefined => {
  const start = skipInert(sql, 0, true);
  let end = start;
  while (end < sql.length && isIdentifierCharacter(sql.charCodeAt(end))) end += 1;
  return end === start ? undefined : sql.slice(start, end).toUpperCase();
};

const reject = (reason: string) => invalid(`ctx.db.query rejected the statement: ${reason}`);

// Phase 1.
const assertRowStatement = (sql: string): void => {
  const keyword = firstKeyword(sql);
  if (keyword !== undefined && ALLOWED_KEYWORDS.has(keyword)) return;

  const found = keyword === undefined ? 'it does not start with a keyword' : `it is a statement of kind ${quote(keyword.slice(0, 40))}`;
  const advice = keyword === undefined ? undefined : KEYWORD_ADVICE[keyword];
  throw reject(`${found}, but only SELECT, INSERT, UPDATE, DELETE, REPLACE, WITH and VALUES statements may run${advice === undefined ? '' : `; ${advice}`}`);
};

// Phase 2. Only the first statement is prepared: preparing the rest could apply a PRAGMA hidden there.
const prepareSingleStatement = (database: Database, sql: string): string => {
  const statements = database.iterateStatements(sql);
  try {
    const first = statements.next();
    if (first.done === true) throw reject('it contains no statement');
    const text = first.value.getSQL();
    const rest = statements.getRemainingSQL();
    if (skipInert(rest, 0, true) < rest.length) throw reject('it contains more than one statement; send each statement in its own call');
    return text;
  } finally {
    statements.return?.();
  }
};

/** One row of EXPLAIN output: addr, opcode, p1, p2, p3, p4, p5, comment. */
type Instruction = readonly [number, string, number, number, number, SqlValue, number, SqlValue];

const readProgram = (statement: Statement): Instruction[] => {
  const program: Instruction[] = [];
  while (statement.step()) program.push(statement.get() as unknown as Instruction);
  return program;
};

const openedVirtualTables = (database: Database, sql: string): Set<SqlValue> => {
  const explained = database.prepare(`EXPLAIN ${sql}`);
  try {
    return new Set(readProgram(explained).filter(([, opcode]) => opcode === 'VOpen').map((instruction) => instruction[5]));
  } finally {
    explained.free();
  }
};

/**
 * Finds what a statement touches, or throws `PLUGRUN_INVALID` naming the
 * first thing a raw query may not do. SQL errors (a syntax error, an unknown
 * table) come up from sql.js unchanged.
 */
export const analyzeQuery = (database: Database, sql: string, rootPages: RootPages): QueryAccess => {
  assertRowStatement(sql);
  const text = prepareSingleStatement(database, sql);

  // Phase 3. The EXPLAIN statement stays prepared until the virtual tables
  // are compared, so the virtual table objects it refers to stay alive and
  // their addresses cannot be reused by another.
  const explained = database.prepare(`EXPLAIN ${text}`);
  try {
    const tables = new Set<string>();
    const virtualTables = new Set<SqlValue>();
    let writes = false;

    const touch = (root: number, databaseIndex: number, opcode: string) => {
      if (databaseIndex !== 0) throw reject('it reaches the temp database or an attached one');
      if (root === 1) throw reject('it reaches the schema table (sqlite_schema, sqlite_master)');
      const owner = rootPages.get(root);
      if (owner === undefined) throw reject(`it reaches b-tree ${root}, which belongs to none of the plugin's tables (${opcode})`);
      if (owner.internal) throw reject(`it reaches the internal table ${quote(owner.table)}`);
      tables.add(owner.table);
    };

    for (const [, opcode, p1, p2, p3, p4, p5] of readProgram(explained)) {
      if (FORBIDDEN_OPCODES.has(opcode)) throw reject(`it compiles to ${opcode}, which changes the schema, the connection or the file`);

      switch (opcode) {
        case 'OpenRead':
        case 'OpenWrite':
        case 'ReopenIdx':
          if ((p5 & OPFLAG_P2ISREG) !== 0) throw reject(`it opens a b-tree chosen at run time (${opcode})`);
          touch(p2, p3, opcode);
          if (opcode === 'OpenWrite') writes = true;
          break;
        case 'Clear':
          touch(p1, p2, opcode);
          writes = true;
          break;
        case 'Transaction':
          if (p1 !== 0) throw reject('it reaches the temp database or an attached one');
          if (p2 !== 0) writes = true;
          break;
        case 'VOpen':
          virtualTables.add(p4);
          break;
      }
    }

    if (virtualTables.size > 0) {
      const allowed = new Set(ALLOWED_VIRTUAL_TABLES.flatMap((reference) => [...openedVirtualTables(database, reference)]));
      for (const table of virtualTables) {
        if (!allowed.has(table)) throw reject('it reads a virtual table, such as a pragma_* function; only json_each and json_tree are allowed');
      }
    }

    return { tables: [...tables].sort(), writes };
  } finally {
    explained.free();
  }
};

/** Builds the root page map from `sqlite_schema` rows of type, name, tbl_name and rootpage. */
export const mapRootPages = (rows: readonly (readonly SqlValue[])[]): RootPages => {
  const pages = new Map<number, { table: string; internal: boolean }>();
  for (const [, , owner, rootpage] of rows) {
    if (typeof rootpage !== 'number' || rootpage <= 0 || typeof owner !== 'string') continue;
    const table = owner.toLowerCase();
    pages.set(rootpage, { table, internal: table === SCHEMA_TABLE || table.startsWith('sqlite_') });
  }
  return pages;
};

/** The query that `mapRootPages` reads. */
export const ROOT_PAGES_QUERY = 'SELECT type, name, tbl_name, rootpage FROM sqlite_schema';

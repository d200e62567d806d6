/**
 * A read-only look at one plugin's database for `plugrun ls`: its tables,
 * their row counts and its size on disk.
 *
 * A running `plugrun start` may hold the database's lock, keep the database
 * in its worker's memory and append to the journal at any moment. So this
 * module never takes the lock, never creates, cuts or deletes a file, and
 * never compacts. It reads the newest snapshot and its journal and replays
 * the journal in a throwaway sql.js database in memory, as the engine would
 * on opening. The engine writes files in an order that a reader can follow:
 * a snapshot appears by rename, a journal grows by appends and is cut back
 * only at open or after a failed append, and a generation's files are
 * deleted after the next one exists. A reader that loses a file
 * to a compaction, or finds an append in progress, therefore reads again.
 *
 * A damaged database is returned as a `problem`, never thrown.
 */

import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { debuglog } from 'node:util';

import { failed, messageOf } from '../errors.js';
import { DATABASE_MAX_BYTES, SQLITE_HEAP_MAX_BYTES } from './engine.js';
import { readJournal, type JournalContents, type JournalRecord } from './journal.js';
import { Repeatability } from './repeatable.js';
import { loadSqlJs, type BindParams, type Database } from './sql-js.js';
import { generationsOf, JOURNAL_FILE, journalName, SNAPSHOT_FILE, snapshotName } from './storage.js';
import { quoteIdentifier, SCHEMA_TABLE } from './tables.js';

/** One table of a plugin's database. */
export interface TableSummary {
  readonly name: string;
  readonly rows: number;
}

/** A plugin's database as `plugrun ls` shows it. */
export interface DatabaseSummary {
  /**
   * Bytes on disk of the current snapshot and journal together. When they
   * cannot be read, the bytes of every snapshot and journal in the folder.
   */
  readonly bytes: number;
  readonly snapshotBytes: number;
  readonly journalBytes: number;
  /** The plugin's own tables by name, without SQLite's and plugrun's internal tables; null when the database cannot be read. */
  readonly tables: readonly TableSummary[] | null;
  /** The damage found, with what to do about it; absent when the database is sound. */
  readonly problem?: string;
}

const debug = debuglog('plugrun-db');

/** Maximum reads of the folder. A file lost to a compaction, or a torn tail, on the last read is reported as a problem. */
const READ_ATTEMPTS = 5;

/** Pause between reads, in milliseconds: an append in progress is one `write` and one `fdatasync`. */
const RETRY_DELAY_MS = 25;

/** The files of the newest generation as they were read. */
interface GenerationFiles {
  readonly generation: number;
  /** Undefined for generation 0, the empty database. */
  readonly snapshot: Uint8Array | undefined;
  readonly journalFile: string;
  /** Undefined when the journal does not exist yet, which the engine reads as an empty journal. */
  readonly journal: JournalContents | undefined;
}

/** Thrown by a read that may succeed if repeated, because another process changed the folder while it ran. */
class FolderChanged extends Error {}

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';

/**
 * Phase 1: reads the newest snapshot and its journal, following the choice
 * `Storage.open` makes but without its repairs. Returns undefined when the
 * folder contains no database files.
 */
const readNewestGeneration = (folder: string, names: readonly string[]): GenerationFiles | undefined => {
  const snapshots = generationsOf(names, SNAPSHOT_FILE);
  const journals = generationsOf(names, JOURNAL_FILE);
  if (snapshots.length === 0 && journals.length === 0) return undefined;

  const generation = Math.max(0, ...snapshots);
  const orphan = journals.find((journal) => journal > generation);
  if (orphan !== undefined) {
    throw failed(
      `the database folder ${folder} has ${journalName(orphan)} but not ${snapshotName(orphan)}, so its records cannot be applied; restore the snapshot or move the folder away`,
    );
  }

  const journalFile = path.join(folder, journalName(generation));
  try {
    const snapshot = generation === 0 ? undefined : new Uint8Array(fs.readFileSync(path.join(folder, snapshotName(generation))));
    let journal: JournalContents | undefined;
    try {
      journal = readJournal(journalFile, generation);
    } catch (error) {
      // Between the rename of a new snapshot and the creation of its journal, the snapshot alone is the database.
      if (!isMissing(error) || journals.includes(generation)) throw error;
    }
    return { generation, snapshot, journalFile, journal };
  } catch (error) {
    if (isMissing(error)) throw new FolderChanged(`a file of generation ${generation} in ${folder} was removed while it was read; run the command again`);
    throw error;
  }
};

/** Sizes of every snapshot and journal in the folder, for a database whose current generation cannot be read. */
const sizeOfAllFiles = (folder: string, names: readonly string[]): Pick<DatabaseSummary, 'bytes' | 'snapshotBytes' | 'journalBytes'> => {
  const total = (pattern: RegExp) =>
    names
      .filter((name) => pattern.test(name))
      .reduce((sum, name) => {
        try {
          return sum + fs.statSync(path.join(folder, name)).size;
        } catch {
          // A file that a compaction removed meanwhile no longer takes space.
          return sum;
        }
      }, 0);
  const snapshotBytes = total(SNAPSHOT_FILE);
  const journalBytes = total(JOURNAL_FILE);
  return { bytes: snapshotBytes + journalBytes, snapshotBytes, journalBytes };
};

/** Describes a journal tail that is not a whole record, or returns undefined when there is none. */
const describeTornTail = (files: GenerationFiles): string | undefined => {
  const journal = files.journal;
  if (journal === undefined || journal.fileBytes === journal.validBytes) return undefined;
  const tail = journal.fileBytes - journal.validBytes;
  return `the database journal ${files.journalFile} ends with ${tail} bytes that are not a whole record, which a crash during a write or damage to the file leaves; the next open of the database cuts them off and keeps them in ${files.journalFile}.${journal.validBytes}.discarded`;
};

/** Runs one statement to its end, as the engine does, so that every row it writes is written. */
const runToEnd = (database: Database, sql: string, params: BindParams): void => {
  const statement = database.prepare(sql);
  try {
    statement.bind(params);
    while (statement.step()) {
      // The rows a RETURNING clause produces are not needed.
    }
  } finally {
    statement.free();
  }
};

/**
 * Phase 2: opens the snapshot in memory with the settings the engine uses
 * and checks that SQLite can read it. sql.js copies the bytes into its own
 * in-memory file system, so nothing reaches the file on disk.
 */
const openSnapshot = async (files: GenerationFiles, folder: string): Promise<Database> => {
  const sqlJs = await loadSqlJs();
  let database: Database | undefined;
  try {
    database = new sqlJs.Database(files.snapshot);
    const pageSize = Number(database.exec('PRAGMA page_size')[0]?.values[0]?.[0] ?? 4096);
    database.run('PRAGMA journal_mode = MEMORY');
    database.run(`PRAGMA hard_heap_limit = ${SQLITE_HEAP_MAX_BYTES}`);
    database.run(`PRAGMA max_page_count = ${Math.floor(DATABASE_MAX_BYTES / pageSize)}`);
    database.run('PRAGMA trusted_schema = OFF');
    database.exec('SELECT count(*) FROM sqlite_schema');
  } catch (error) {
    database?.close();
    if (files.snapshot === undefined) throw failed(`cannot open the database of ${folder} in memory: ${messageOf(error)}`, error);
    const file = path.join(folder, snapshotName(files.generation));
    throw failed(`the database snapshot ${file} cannot be read (${messageOf(error)}); restore it from a backup or move the folder ${folder} away`, error);
  }
  return database;
};

/**
 * Phase 3: replays the journal's records in one transaction, with the clock
 * and random seed each raw query recorded, as the engine's open does.
 *
 * NOTE: `Repeatability.install` replaces `Date.now` in the calling thread.
 * The replacement returns the real time except while a recorded write
 * replays, which is synchronous, so no other code of the thread sees the
 * frozen clock.
 */
const replay = (database: Database, records: readonly JournalRecord[], files: GenerationFiles): void => {
  if (records.length === 0) return;
  const repeatability = new Repeatability();
  repeatability.install(database);

  database.run('BEGIN');
  records.forEach((record, index) => {
    const apply = () => {
      for (const { sql, params } of record.statements) runToEnd(database, sql, params);
    };
    try {
      if (record.clock !== undefined && record.seed !== undefined) repeatability.run({ clock: record.clock, seed: record.seed }, apply);
      else apply();
    } catch (error) {
      throw failed(
        `record ${index + 1} of the database journal ${files.journalFile} cannot be replayed (${messageOf(error)}), so plugrun cannot open this database; restore the folder from a backup or move it away`,
        error,
      );
    }
  });
  database.run('COMMIT');
};

/** Phase 4: counts the rows of each table the plugin created. */
const countTables = (database: Database, folder: string): TableSummary[] => {
  const listed = database.exec(
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ? ORDER BY name",
    [SCHEMA_TABLE],
  );
  const names = (listed[0]?.values ?? []).map(([name]) => String(name));
  return names.map((name) => {
    try {
      const rows = Number(database.exec(`SELECT count(*) FROM ${quoteIdentifier(name)}`)[0]?.values[0]?.[0] ?? 0);
      return { name, rows };
    } catch (error) {
      throw failed(`cannot count the rows of table "${name}" in the database in ${folder} (${messageOf(error)}); restore the folder from a backup or move it away`, error);
    }
  });
};

/** Phases 2 to 4 on files that were read in full. */
const summarize = async (files: GenerationFiles, folder: string, tornTail: string | undefined): Promise<DatabaseSummary> => {
  const snapshotBytes = files.snapshot?.length ?? 0;
  const journalBytes = files.journal?.fileBytes ?? 0;
  const sizes = { bytes: snapshotBytes + journalBytes, snapshotBytes, journalBytes };

  let database: Database | undefined;
  try {
    database = await openSnapshot(files, folder);
    replay(database, files.journal?.records ?? [], files);
    const tables = countTables(database, folder);
    return { ...sizes, tables, ...(tornTail === undefined ? {} : { problem: tornTail }) };
  } catch (error) {
    return { ...sizes, tables: null, problem: messageOf(error) };
  } finally {
    database?.close();
  }
};

/**
 * Reads the database in `folder` without changing it or taking its lock,
 * and returns its tables, row counts and size. Returns undefined when the
 * folder does not exist or contains no database yet, without loading sql.js.
 */
export const inspectDatabase = async (folder: string): Promise<DatabaseSummary | undefined> => {
  for (let attempt = 1; ; attempt += 1) {
    let names: string[];
    try {
      names = fs.readdirSync(folder);
    } catch (error) {
      if (isMissing(error)) return undefined;
      return { bytes: 0, snapshotBytes: 0, journalBytes: 0, tables: null, problem: `cannot read the database folder ${folder}: ${messageOf(error)}` };
    }

    let files: GenerationFiles | undefined;
    try {
      files = readNewestGeneration(folder, names);
    } catch (error) {
      if (error instanceof FolderChanged && attempt < READ_ATTEMPTS) {
        debug('reading %s again: %s', folder, error.message);
        await sleep(RETRY_DELAY_MS);
        continue;
      }
      return { ...sizeOfAllFiles(folder, names), tables: null, problem: messageOf(error) };
    }
    if (files === undefined) return undefined;

    // A torn tail may be an append that another process is making right now.
    const tornTail = describeTornTail(files);
    if (tornTail !== undefined && attempt < READ_ATTEMPTS) {
      debug('reading %s again: %s', folder, tornTail);
      await sleep(RETRY_DELAY_MS);
      continue;
    }
    return summarize(files, folder, tornTail);
  }
};

/**
 * The files that hold one plugin's database on disk: the last snapshot and
 * the journal of write calls applied since, both named by a generation.
 *
 *   snapshot-<g>.sqlite   the whole database as SQLite wrote it (absent for generation 0, the empty database)
 *   journal-<g>.log       records to replay over snapshot-<g>, see journal.ts
 *
 * Compaction writes snapshot-<g+1> to a temporary file, syncs it, renames it
 * into place and syncs the folder, then creates journal-<g+1>, and only then
 * deletes the files of generation g. Opening takes the highest snapshot, so
 * a crash at any point leaves either the old pair or a new snapshot that
 * already contains every record of the old journal: no record is lost and
 * none is applied twice.
 */

import fs from 'node:fs';
import path from 'node:path';

import { failed, messageOf } from '../errors.js';
import { createJournal, cutJournal, JournalWriter, readJournal, syncFolder, type JournalRecord } from './journal.js';

/** File name of a generation's snapshot. */
export const snapshotName = (generation: number) => `snapshot-${generation}.sqlite`;
/** File name of a generation's journal. */
export const journalName = (generation: number) => `journal-${generation}.log`;
/** Matches a snapshot's file name; the group is its generation. */
export const SNAPSHOT_FILE = /^snapshot-(\d+)\.sqlite$/;
/** Matches a journal's file name; the group is its generation. */
export const JOURNAL_FILE = /^journal-(\d+)\.log$/;
const TEMPORARY_SUFFIX = '.tmp';

/** Result of opening the storage: the snapshot to load and the records to replay over it. */
export interface OpenedStorage {
  readonly storage: Storage;
  /** The snapshot's bytes, or undefined for the empty database of generation 0. */
  readonly snapshot: Uint8Array | undefined;
  readonly records: JournalRecord[];
  /** File that keeps the cut-off tail of a damaged journal, when there was one. */
  readonly discardedTail: string | undefined;
}

/** The generations of the file names that match `pattern`. */
export const generationsOf = (names: readonly string[], pattern: RegExp): number[] =>
  names.flatMap((name) => {
    const match = pattern.exec(name);
    return match === null ? [] : [Number(match[1])];
  });

const removeQuietly = (file: string): void => {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // A leftover file of an older generation is ignored at the next open.
  }
};

/** The snapshot and journal of one plugin's database folder. */
export class Storage {
  readonly folder: string;
  #generation: number;
  #snapshotBytes: number;
  #journal: JournalWriter;

  private constructor(folder: string, generation: number, snapshotBytes: number, journal: JournalWriter) {
    this.folder = folder;
    this.#generation = generation;
    this.#snapshotBytes = snapshotBytes;
    this.#journal = journal;
  }

  /**
   * Opens the folder, creating it when missing: picks the newest snapshot,
   * removes files of older generations and temporary files, reads the
   * journal and cuts off a torn tail. Throws `PLUGRUN_FAILED` when a journal
   * has no snapshot to apply to.
   */
  static open(folder: string): OpenedStorage {
    fs.mkdirSync(folder, { recursive: true });
    const names = fs.readdirSync(folder);

    // 1. Temporary files are snapshots whose compaction did not finish.
    for (const name of names.filter((entry) => entry.endsWith(TEMPORARY_SUFFIX))) removeQuietly(path.join(folder, name));

    // 2. The newest snapshot wins; a journal newer than it means a snapshot went missing.
    const generation = Math.max(0, ...generationsOf(names, SNAPSHOT_FILE));
    const orphan = generationsOf(names, JOURNAL_FILE).find((journal) => journal > generation);
    if (orphan !== undefined) {
      throw failed(
        `the database folder ${folder} has ${journalName(orphan)} but not ${snapshotName(orphan)}, so its records cannot be applied; restore the snapshot or move the folder away`,
      );
    }

    // 3. Older generations are fully contained in the newest snapshot.
    for (const old of generationsOf(names, SNAPSHOT_FILE).filter((value) => value < generation)) removeQuietly(path.join(folder, snapshotName(old)));
    for (const old of generationsOf(names, JOURNAL_FILE).filter((value) => value < generation)) removeQuietly(path.join(folder, journalName(old)));

    // 4. Load the snapshot and the journal, cutting off a torn last append.
    const snapshot = generation === 0 ? undefined : new Uint8Array(fs.readFileSync(path.join(folder, snapshotName(generation))));
    const journalFile = path.join(folder, journalName(generation));
    if (!fs.existsSync(journalFile)) createJournal(journalFile, generation);
    const contents = readJournal(journalFile, generation);
    const discardedTail = contents.fileBytes > contents.validBytes ? cutJournal(journalFile, contents.validBytes) : undefined;

    const storage = new Storage(folder, generation, snapshot?.length ?? 0, new JournalWriter(journalFile));
    return { storage, snapshot, records: contents.records, discardedTail };
  }

  /** The generation of the current snapshot and journal. */
  get generation(): number {
    return this.#generation;
  }

  /** Size of the current snapshot in bytes; 0 for generation 0. */
  get snapshotBytes(): number {
    return this.#snapshotBytes;
  }

  /** Size of the current journal in bytes. */
  get journalBytes(): number {
    return this.#journal.bytes;
  }

  /** Appends a framed record and waits until it is durable. */
  append(frame: Buffer): void {
    this.#journal.append(frame);
  }

  /**
   * Replaces snapshot and journal with a new snapshot of `database` and an
   * empty journal, in an order that survives a crash at any step.
   */
  compact(database: Uint8Array): void {
    const next = this.#generation + 1;
    const snapshotFile = path.join(this.folder, snapshotName(next));
    const temporary = `${snapshotFile}${TEMPORARY_SUFFIX}`;

    let renamed = false;
    try {
      const fd = fs.openSync(temporary, 'w');
      try {
        let written = 0;
        while (written < database.length) written += fs.writeSync(fd, database, written, database.length - written);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temporary, snapshotFile);
      renamed = true;
      syncFolder(this.folder);
      createJournal(path.join(this.folder, journalName(next)), next);
    } catch (error) {
      removeQuietly(temporary);
      // A new snapshot left in place would win at the next open and hide
      // every record appended to the current journal from now on.
      if (renamed) this.#withdrawSnapshot(snapshotFile, next);
      throw failed(`cannot write a snapshot of the database in ${this.folder}: ${messageOf(error)}`, error);
    }

    const previous = this.#generation;
    this.#journal.close();
    this.#journal = new JournalWriter(path.join(this.folder, journalName(next)));
    this.#generation = next;
    this.#snapshotBytes = database.length;
    removeQuietly(path.join(this.folder, journalName(previous)));
    if (previous > 0) removeQuietly(path.join(this.folder, snapshotName(previous)));
  }

  #withdrawSnapshot(snapshotFile: string, generation: number): void {
    try {
      fs.rmSync(path.join(this.folder, journalName(generation)), { force: true });
      fs.rmSync(snapshotFile, { force: true });
      syncFolder(this.folder);
    } catch {
      // Appending now could lose records at the next open, so the journal is closed and every later write fails.
      this.#journal.close();
    }
  }

  /** Closes the journal. */
  close(): void {
    this.#journal.close();
  }
}

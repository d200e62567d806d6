/**
 * The journal file: an append-only list of the write calls applied since the
 * last snapshot, each one a framed record of SQL statements with their
 * parameters.
 *
 * A record is appended with one `write` and made durable with `fdatasync`
 * before the call's result is returned, so a resolved write survives a crash
 * of the whole process. A crash in the middle of an append leaves a torn
 * record at the end of the file. Every record carries its length and a CRC-32
 * of its payload, so reading stops at the first record that is incomplete or
 * does not match its checksum, and everything after it is cut off.
 *
 * Layout: a 16-byte header (`PLUGRUNJ`, format version and generation as
 * little-endian u32), then records of [payload length u32][CRC-32 u32][payload],
 * where the payload is UTF-8 JSON.
 */

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { failed } from '../errors.js';
import type { BindParams, SqlValue } from './sql-js.js';

/** Version of the journal layout, stored in the header. */
export const JOURNAL_FORMAT_VERSION = 1;

const MAGIC = Buffer.from('PLUGRUNJ', 'latin1');
const HEADER_BYTES = 16;
const FRAME_BYTES = 8;

/** Largest payload a record may declare; a larger length can only come from a torn or damaged header. */
const RECORD_MAX_BYTES = 256 * 1024 * 1024;

/** One SQL statement of a record. */
export interface JournalStatement {
  readonly sql: string;
  readonly params: BindParams;
}

/** One write call: statements applied in one transaction, with the inputs that make a raw query repeatable. */
export interface JournalRecord {
  readonly statements: readonly JournalStatement[];
  /** Milliseconds since the epoch that SQLite's `'now'` returned while the call ran; set for raw queries only. */
  readonly clock?: number;
  /** Hex seed of the values `random()` and `randomblob()` returned; set for raw queries only. */
  readonly seed?: string;
}

/** The records of a journal file and where its valid part ends. */
export interface JournalContents {
  readonly records: JournalRecord[];
  /** Bytes from the start of the file to the end of the last valid record. */
  readonly validBytes: number;
  /** Size of the file; larger than `validBytes` when a torn or damaged tail follows. */
  readonly fileBytes: number;
}

// JSON has no bytes, so a Uint8Array parameter is written as { "$bytes": base64 }.
// Parameters are scalars, so an object in a parameter's place is always this tag.
const encodeValue = (value: SqlValue): unknown =>
  value instanceof Uint8Array ? { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') } : value;

const decodeValue = (value: unknown): SqlValue => {
  if (value !== null && typeof value === 'object') {
    return new Uint8Array(Buffer.from((value as { $bytes: string }).$bytes, 'base64'));
  }
  return value as SqlValue;
};

const mapParams = <From, To>(params: readonly From[] | Readonly<Record<string, From>>, map: (value: From) => To) =>
  Array.isArray(params)
    ? (params as readonly From[]).map(map)
    : Object.fromEntries(Object.entries(params as Record<string, From>).map(([name, value]) => [name, map(value)]));

/** Frames a record: length, CRC-32 and JSON payload, ready to append. */
export const encodeRecord = (record: JournalRecord): Buffer => {
  const payload = Buffer.from(
    JSON.stringify({
      ...record,
      statements: record.statements.map(({ sql, params }) => ({ sql, params: mapParams(params, encodeValue) })),
    }),
    'utf8',
  );
  const frame = Buffer.allocUnsafe(FRAME_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(zlib.crc32(payload), 4);
  payload.copy(frame, FRAME_BYTES);
  return frame;
};

const decodePayload = (payload: Buffer): JournalRecord => {
  const parsed = JSON.parse(payload.toString('utf8')) as {
    statements: Array<{ sql: string; params: unknown[] | Record<string, unknown> }>;
    clock?: number;
    seed?: string;
  };
  return {
    ...parsed,
    statements: parsed.statements.map(({ sql, params }) => ({ sql, params: mapParams(params, decodeValue) as BindParams })),
  };
};

const makeHeader = (generation: number): Buffer => {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(JOURNAL_FORMAT_VERSION, 8);
  header.writeUInt32LE(generation, 12);
  return header;
};

/** Flushes a folder's entries to disk, so that a file created or renamed in it survives a crash. */
export const syncFolder = (folder: string): void => {
  const fd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
};

/** Creates an empty journal for a generation and makes the file and its name durable. */
export const createJournal = (file: string, generation: number): void => {
  const fd = fs.openSync(file, 'wx');
  try {
    fs.writeSync(fd, makeHeader(generation));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  syncFolder(path.dirname(file));
};

/**
 * Reads a journal file. Throws `PLUGRUN_FAILED` when the header is not a
 * plugrun journal of this generation, because replaying a foreign file would
 * corrupt the database. A tail that is not a whole, valid record is left out
 * of `records` and shows as `fileBytes > validBytes`.
 */
export const readJournal = (file: string, generation: number): JournalContents => {
  const bytes = fs.readFileSync(file);
  const header = bytes.subarray(0, HEADER_BYTES);
  if (header.length < HEADER_BYTES || !header.subarray(0, 8).equals(MAGIC)) {
    throw failed(`the database journal ${file} is not a plugrun journal; move it away to open the database from its snapshot`);
  }
  const version = header.readUInt32LE(8);
  if (version !== JOURNAL_FORMAT_VERSION) {
    throw failed(`the database journal ${file} has format version ${version}, but this plugrun reads version ${JOURNAL_FORMAT_VERSION}`);
  }
  if (header.readUInt32LE(12) !== generation) {
    throw failed(`the database journal ${file} belongs to generation ${header.readUInt32LE(12)}, not ${generation}`);
  }

  const records: JournalRecord[] = [];
  let offset = HEADER_BYTES;
  while (offset + FRAME_BYTES <= bytes.length) {
    const length = bytes.readUInt32LE(offset);
    const end = offset + FRAME_BYTES + length;
    if (length > RECORD_MAX_BYTES || end > bytes.length) break;

    const payload = bytes.subarray(offset + FRAME_BYTES, end);
    if (zlib.crc32(payload) !== bytes.readUInt32LE(offset + 4)) break;

    let record: JournalRecord;
    try {
      record = decodePayload(payload);
    } catch {
      break;
    }
    records.push(record);
    offset = end;
  }
  return { records, validBytes: offset, fileBytes: bytes.length };
};

/**
 * Cuts a journal back to its valid part. The cut bytes are kept next to it
 * as `<journal>.<offset>.discarded`, because damage in the middle of a file
 * (rather than a torn last append) would otherwise lose records silently.
 */
export const cutJournal = (file: string, validBytes: number): string => {
  const fd = fs.openSync(file, 'r+');
  try {
    const size = fs.fstatSync(fd).size;
    const tail = Buffer.alloc(size - validBytes);
    fs.readSync(fd, tail, 0, tail.length, validBytes);
    const discarded = `${file}.${validBytes}.discarded`;
    fs.writeFileSync(discarded, tail);
    fs.ftruncateSync(fd, validBytes);
    fs.fsyncSync(fd);
    return discarded;
  } finally {
    fs.closeSync(fd);
  }
};

/** An open journal that records are appended to. */
export class JournalWriter {
  readonly file: string;
  #fd: number;
  #bytes: number;

  /** Opens an existing journal for appending at its end. */
  constructor(file: string) {
    this.file = file;
    this.#fd = fs.openSync(file, 'a');
    this.#bytes = fs.fstatSync(this.#fd).size;
  }

  /** Size of the journal file in bytes, header included. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends one framed record and waits until it is on disk. `fdatasync`
   * suffices because appending changes the file size, which it flushes too.
   */
  append(frame: Buffer): void {
    if (this.#fd === -1) throw failed(`the database journal ${this.file} is closed`);
    try {
      let written = 0;
      while (written < frame.length) written += fs.writeSync(this.#fd, frame, written, frame.length - written);
      fs.fdatasyncSync(this.#fd);
    } catch (error) {
      // A partial record left in place would hide every later record from
      // the reader, so the file is cut back before the error goes up. If
      // even that fails, the writer refuses further appends.
      try {
        fs.ftruncateSync(this.#fd, this.#bytes);
      } catch {
        this.close();
      }
      throw error;
    }
    this.#bytes += frame.length;
  }

  /** Closes the file. */
  close(): void {
    if (this.#fd === -1) return;
    fs.closeSync(this.#fd);
    this.#fd = -1;
  }
}

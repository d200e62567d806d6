/**
 * Makes a raw query repeatable, so that replaying its journal record gives
 * the rows it gave when it ran.
 *
 * A raw query may call SQL functions whose result is not a function of the
 * database: `random()`, `randomblob()`, and `'now'` in the date and time
 * functions and `CURRENT_TIMESTAMP`. While a write call runs, the clock that
 * SQLite reads is frozen at a recorded time and the random functions draw
 * from a generator seeded by a recorded seed. Both go into the journal
 * record, and replay sets them again. `changes()`, `total_changes()` and
 * `last_insert_rowid()` report on the connection, which a restart replaces,
 * so they raise an error instead.
 *
 * NOTE: the `localtime` modifier converts with the time zone of the machine
 * that runs the statement, so a write that uses it and is replayed under
 * another time zone stores another value.
 */

import crypto from 'node:crypto';

import type { Database, SqlValue } from './sql-js.js';

/** Inputs of a repeatable call, kept in its journal record. */
export interface RecordedInputs {
  /** Milliseconds since the epoch. */
  readonly clock: number;
  /** 32 hex digits. */
  readonly seed: string;
}

/** Largest `randomblob()` in bytes; SQLite's own limit is 1e9, which would exhaust the worker's memory. */
const RANDOMBLOB_MAX_BYTES = 16 * 1024 * 1024;

const CONNECTION_FUNCTIONS = ['changes', 'total_changes', 'last_insert_rowid'];

/** Draws bytes from SHA-256 of the seed and a block counter, so the same seed gives the same bytes. */
class SeededBytes {
  readonly #seed: Buffer;
  #block = 0;

  constructor(seed: string) {
    this.#seed = Buffer.from(seed, 'hex');
  }

  next(count: number): Buffer {
    const blocks: Buffer[] = [];
    let collected = 0;
    while (collected < count) {
      const counter = Buffer.alloc(8);
      counter.writeUInt32LE(this.#block, 0);
      this.#block += 1;
      const block = crypto.createHash('sha256').update(this.#seed).update(counter).digest();
      blocks.push(block);
      collected += block.length;
    }
    return Buffer.concat(blocks).subarray(0, count);
  }
}

// SQLite's random() is a 64-bit integer, but sql.js returns a JavaScript
// function's number as a REAL, so the value stays within the integers a
// double represents exactly: a sign and 53 bits.
const toSafeInteger = (bytes: Buffer): number => {
  const magnitude = (bytes.readUInt32LE(0) & 0x1f_ffff) * 2 ** 32 + bytes.readUInt32LE(4);
  return (bytes[8]! & 1) === 1 ? -magnitude : magnitude;
};

const blobLength = (alleged: SqlValue): number => {
  const length = typeof alleged === 'number' ? Math.floor(alleged) : Number(alleged);
  return Number.isFinite(length) && length >= 1 ? length : 1;
};

/** The time every connection of this thread reads while a recorded call runs. */
let frozenClock: number | undefined;
let clockPatched = false;

// SQLite's 'now' comes from sql.js's clock import, which calls Date.now().
// The patch is global to the thread. That is safe in a database worker
// because it runs no other code, and the patch returns the real time unless
// a recorded call has frozen it.
const patchClock = (): void => {
  if (clockPatched) return;
  const realNow = Date.now.bind(Date);
  Date.now = () => frozenClock ?? realNow();
  clockPatched = true;
};

/** The clock and random source of one database connection. */
export class Repeatability {
  #recorded: { clock: number; bytes: SeededBytes } | undefined;

  /** Installs the frozen clock in this thread and the overriding SQL functions on `database`. */
  install(database: Database): void {
    patchClock();

    const draw = (count: number): Buffer => this.#recorded?.bytes.next(count) ?? crypto.randomBytes(count);
    database.create_function('random', () => toSafeInteger(draw(9)));
    database.create_function('randomblob', (length: SqlValue) => {
      const count = blobLength(length);
      if (count > RANDOMBLOB_MAX_BYTES) throw new Error(`randomblob(${count}) is over the maximum of ${RANDOMBLOB_MAX_BYTES} bytes`);
      return new Uint8Array(draw(count));
    });

    for (const name of CONNECTION_FUNCTIONS) {
      database.create_function(name, () => {
        throw new Error(`${name}() is not available in ctx.db.query, because it reports on the connection, which plugrun may replace between calls`);
      });
    }
  }

  /** Returns fresh inputs for a call about to be recorded. */
  static freshInputs(): RecordedInputs {
    return { clock: Date.now(), seed: crypto.randomBytes(16).toString('hex') };
  }

  /** Runs `body` with the clock and random source fixed by `inputs`. */
  run<Result>(inputs: RecordedInputs, body: () => Result): Result {
    this.#recorded = { clock: inputs.clock, bytes: new SeededBytes(inputs.seed) };
    frozenClock = inputs.clock;
    try {
      return body();
    } finally {
      this.#recorded = undefined;
      frozenClock = undefined;
    }
  }
}

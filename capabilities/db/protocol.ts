/**
 * Messages between a plugin's db capability on the host and its database
 * worker. Each request gets exactly one reply with the same id. The host
 * sends the next request only after that reply, so the worker never has a
 * queue of its own.
 */

import type { ErrorCode } from '../errors.js';

/** Settings of a database worker, passed as its `workerData`. */
export interface DbWorkerData {
  /** The plugin's database folder. */
  readonly folder: string;
  /** Most rows one `select` or `query` returns. */
  readonly maxRows: number;
}

/** The operations the worker performs. */
export type DbRequestOp = 'createTable' | 'insert' | 'select' | 'update' | 'delete' | 'analyzeQuery' | 'runQuery' | 'compact' | 'stats';

/** A request from the host. */
export interface DbRequest {
  readonly id: number;
  readonly op: DbRequestOp;
  readonly args: unknown;
}

/** A failure as it crosses the thread boundary. */
export interface DbWireError {
  readonly code: ErrorCode;
  readonly message: string;
}

/** A message from the worker. */
export type DbWorkerMessage =
  | { readonly type: 'ready'; readonly compactionDue: boolean }
  | { readonly type: 'open-failed'; readonly error: DbWireError }
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown; readonly compactionDue: boolean }
  | {
      readonly type: 'reply';
      readonly id: number;
      readonly ok: false;
      readonly error: DbWireError;
      /** True when the worker's memory may disagree with the journal, so it must be replaced before the next call. */
      readonly restart: boolean;
    };

/** Facts about the storage, for tests and the benchmark. */
export interface DbStats {
  readonly generation: number;
  readonly snapshotBytes: number;
  readonly journalBytes: number;
  /** Size of the database in memory: page count times page size. */
  readonly databaseBytes: number;
}

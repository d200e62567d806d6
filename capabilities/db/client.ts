/**
 * The host's side of one plugin's database: the worker thread that runs it,
 * started on the first call and replaced when it has to be stopped, and the
 * queue that hands it one request at a time.
 *
 * Threat: a statement that never ends (a recursive CTE, a cross join of
 * large tables). sql.js runs it synchronously, so nothing inside the worker
 * can interrupt it. Each request therefore gets the plugin's call timeout.
 * When it passes, the worker is terminated and the call fails with
 * `PLUGRUN_LIMIT`. The next request starts a new worker, which reopens the
 * database from its snapshot and journal. The host's thread and the
 * other plugins never wait for a statement.
 *
 * The timer of a request starts when the request is sent, not when it is
 * queued, and opening the database and compacting it are not timed, so a
 * short call timeout cannot stop the work that every later call needs.
 */

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { debuglog } from 'node:util';
import { Worker } from 'node:worker_threads';

import { failed, limit, messageOf, PlugrunError } from '../errors.js';
import { acquireLock, type HeldLock } from './lock.js';
import type { DbRequestOp, DbWorkerData, DbWorkerMessage } from './protocol.js';

const debug = debuglog('plugrun-db');

const workerUrl = new URL('./worker.js', import.meta.url);

/** Heap of a database worker's JavaScript, in MiB. SQLite's memory is limited separately, see engine.ts. */
const WORKER_HEAP_MB = 256;

/** Pause after a failed compaction before the next attempt, in milliseconds, so a full disk does not slow every write. */
const COMPACTION_RETRY_MS = 60_000;

/** Settings of a client: its plugin and that plugin's limits. */
export interface DbClientOptions {
  /** Plugin name, for messages. */
  readonly plugin: string;
  /** The plugin's database folder. */
  readonly folder: string;
  readonly maxRows: number;
  readonly callTimeoutMs: number;
}

/** One queued request. */
interface Job {
  readonly op: DbRequestOp;
  readonly args: unknown;
  /** The ctx method, as messages name it. */
  readonly method: string;
  readonly timed: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** A running database worker and the one request it may be serving. */
class WorkerConnection {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  #pending: { id: number; resolve(message: DbWorkerMessage): void; reject(error: Error): void } | undefined;
  #nextId = 1;
  #gone: Error | undefined;

  constructor(data: DbWorkerData, plugin: string, onCompactionDue: () => void) {
    this.worker = new Worker(workerUrl, {
      name: `plugrun-db:${plugin}`,
      workerData: data,
      // sql.js may print through console; stdout carries audit events, so the worker's goes to stderr.
      stdout: true,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    this.worker.stdout.pipe(process.stderr, { end: false });

    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (message: DbWorkerMessage) => {
        if (message.type === 'ready') {
          if (message.compactionDue) onCompactionDue();
          resolve();
        } else if (message.type === 'open-failed') {
          reject(new PlugrunError(message.error.code, message.error.message));
          void this.worker.terminate();
        } else if (this.#pending?.id === message.id) {
          const pending = this.#pending;
          this.#pending = undefined;
          pending.resolve(message);
        }
      });
      const stop = (error: Error) => {
        this.#gone ??= error;
        reject(error);
        this.#pending?.reject(error);
        this.#pending = undefined;
      };
      this.worker.on('error', (error) => stop(failed(`the database worker of plugin "${plugin}" failed: ${messageOf(error)}`, error)));
      this.worker.on('exit', (code) => stop(failed(`the database worker of plugin "${plugin}" stopped (exit code ${code})`)));
    });
    // A worker that fails before anyone waits for it must not count as an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** The error that ended the worker, once it has ended. */
  get gone(): Error | undefined {
    return this.#gone;
  }

  /** Sends one request and resolves with its reply. */
  send(op: DbRequestOp, args: unknown): Promise<DbWorkerMessage> {
    if (this.#gone !== undefined) return Promise.reject(this.#gone);
    const id = this.#nextId++;
    // An idle worker does not keep the process alive; one serving a request does.
    this.worker.ref();
    return new Promise<DbWorkerMessage>((resolve, reject) => {
      this.#pending = { id, resolve, reject };
      this.worker.postMessage({ id, op, args });
    }).finally(() => this.worker.unref());
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/** The database of one plugin, as its db capability reaches it. */
export class DbClient {
  readonly #options: DbClientOptions;
  readonly #queue: Job[] = [];
  #busy = false;
  #connection: WorkerConnection | undefined;
  #lock: Promise<HeldLock> | undefined;
  #closed = false;
  #compactionBlockedUntil = 0;
  /** The timed request in flight: when it must end, and what stops it. */
  #current: { readonly deadline: number; expire(): void } | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(options: DbClientOptions) {
    this.#options = options;
  }

  /**
   * Queues a request and resolves with the worker's result. A timed request
   * that runs past the call timeout fails with `PLUGRUN_LIMIT` and stops
   * the worker.
   */
  request<Result>(op: DbRequestOp, args: unknown, method: string, { timed = true } = {}): Promise<Result> {
    if (this.#closed) return Promise.reject(failed(`${method}: plugin "${this.#options.plugin}" has stopped`));
    return new Promise<Result>((resolve, reject) => {
      this.#queue.push({ op, args, method, timed, resolve: resolve as (value: unknown) => void, reject });
      this.#pump();
    });
  }

  /** Fails the queued requests, stops the worker and releases the lock. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(failed(`${job.method}: plugin "${this.#options.plugin}" has stopped`));
    await this.#connection?.terminate();
    this.#connection = undefined;
    const lock = this.#lock;
    this.#lock = undefined;
    if (lock !== undefined) await lock.then((held) => held.release(), () => undefined);
  }

  #pump(): void {
    if (this.#busy) return;
    const job = this.#queue.shift();
    if (job === undefined) return;

    this.#busy = true;
    void this.#run(job).finally(() => {
      this.#busy = false;
      this.#pump();
    });
  }

  async #run(job: Job): Promise<void> {
    try {
      const connection = await this.#connect();
      const message = await this.#send(connection, job);
      if (message.type !== 'reply') throw failed(`${job.method}: unexpected message from the database worker`);

      if (message.ok) {
        if (message.compactionDue) this.#scheduleCompaction();
        job.resolve(message.value);
        return;
      }
      if (message.restart) await this.#dropConnection(connection);
      job.reject(new PlugrunError(message.error.code, message.error.message));
    } catch (error) {
      job.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #send(connection: WorkerConnection, job: Job): Promise<DbWorkerMessage> {
    const reply = connection.send(job.op, job.args);
    if (!job.timed) return reply;

    const ms = this.#options.callTimeoutMs;
    return new Promise((resolve, reject) => {
      const current = {
        deadline: performance.now() + ms,
        expire: () => {
          debug('stopping the database worker of %s: %s ran past %d ms', this.#options.plugin, job.method, ms);
          void this.#dropConnection(connection);
          reject(limit(`${job.method} ran longer than the call timeout of ${ms} ms (limit callTimeoutMs) and was stopped`));
        },
      };
      this.#current = current;
      if (this.#watchdog === undefined) this.#armWatchdog(ms);

      // The reply of a stopped request settles after the next request has
      // started, so it may only clear its own deadline.
      const settle = () => {
        if (this.#current === current) this.#current = undefined;
      };
      reply.then(
        (message) => {
          settle();
          resolve(message);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    });
  }

  // One timer serves all requests: when it fires it stops the request in
  // flight if that one is past its deadline, and otherwise waits for the
  // rest of it. Starting and clearing a timer for each request cost about
  // as much as the request itself.
  #armWatchdog(ms: number): void {
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      const current = this.#current;
      if (current === undefined) return;

      const left = current.deadline - performance.now();
      if (left > 0) {
        this.#armWatchdog(left);
        return;
      }
      this.#current = undefined;
      current.expire();
    }, Math.max(1, Math.ceil(ms)));
    // The worker keeps the process alive while a request runs; the timer alone must not.
    this.#watchdog.unref();
  }

  async #connect(): Promise<WorkerConnection> {
    if (this.#connection !== undefined && this.#connection.gone === undefined) {
      await this.#connection.ready;
      return this.#connection;
    }

    // The lock is taken once and kept across worker restarts; a failed attempt is retried on the next call.
    this.#lock ??= mkdir(this.#options.folder, { recursive: true }).then(() => acquireLock(path.join(this.#options.folder, 'lock')));
    try {
      await this.#lock;
    } catch (error) {
      this.#lock = undefined;
      throw error;
    }

    // close() may have run while the lock was being taken.
    if (this.#closed) throw failed(`plugin "${this.#options.plugin}" has stopped`);

    const data: DbWorkerData = { folder: this.#options.folder, maxRows: this.#options.maxRows };
    const connection = new WorkerConnection(data, this.#options.plugin, () => this.#scheduleCompaction());
    this.#connection = connection;
    debug('started the database worker of %s', this.#options.plugin);
    try {
      await connection.ready;
    } catch (error) {
      this.#connection = undefined;
      throw error;
    }
    // From here on only a request in flight keeps the process alive, see send().
    connection.worker.unref();
    return connection;
  }

  async #dropConnection(connection: WorkerConnection): Promise<void> {
    if (this.#connection === connection) this.#connection = undefined;
    await connection.terminate();
  }

  // Compaction goes first in the queue and is not timed.
  #scheduleCompaction(): void {
    if (Date.now() < this.#compactionBlockedUntil || this.#queue.some((job) => job.op === 'compact')) return;

    this.#queue.unshift({
      op: 'compact',
      args: undefined,
      method: 'compaction',
      timed: false,
      resolve: () => undefined,
      reject: (error) => {
        debug('compaction of %s failed: %s', this.#options.plugin, error.message);
        this.#compactionBlockedUntil = Date.now() + COMPACTION_RETRY_MS;
      },
    });
  }
}

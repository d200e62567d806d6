/**
 * A short inter-process lock around each append to the audit log, so that
 * `plugrun start`, `call`, `grant` and `revoke` running at once each read the
 * chain's last hash and append after it without forking the chain.
 *
 * Each process has an owner file, `<log>.lock.<pid>`, that contains its
 * process id. Taking the lock is one hard link from the owner file to
 * `<log>.lock`, which fails when the name exists. So the lock is taken and
 * names its holder in one atomic step. Releasing it is one unlink. On the
 * ext4 disk of the benchmark machine that pair costs about 15 µs, against
 * about 45 µs for creating and deleting a file.
 *
 * A process keeps the lock between its batches while no other process
 * waits, so a busy host pays for the link and unlink once per idle period,
 * not once per `ctx` call. A process that finds the lock taken creates
 * `<log>.lock.wait`. The holder checks for that file after a batch, at most
 * once every `WAIT_CHECK_MS`, and gives the lock up at once when it exists.
 * Otherwise it gives the lock up after `LEASE_IDLE_MS` without a batch. A lock
 * left behind by a process that died while holding it is broken once its
 * process id no longer runs. Breaking happens under a second lock,
 * `<log>.lock.break`, where the holder is checked again, so two processes
 * that both found the lock stale cannot both take it. The methods are
 * synchronous because an event must be on disk before the result of a ctx
 * call is sent back.
 *
 * Process ids are only meaningful on one machine: the log must not be shared
 * by plugrun processes on different hosts through a network file system.
 */

import fs from 'node:fs';
import path from 'node:path';

import { PlugrunError } from '../capabilities/errors.js';

/** How long `acquire` waits for a live holder before it fails. */
const ACQUIRE_TIMEOUT_MS = 10_000;

/** How long a process keeps the lock after a batch while no other process waits for it. */
export const LEASE_IDLE_MS = 20;

/**
 * Shortest time between two checks for a waiting process. One check is a
 * stat call of a few microseconds, paid once per ctx call when each call is
 * a batch (bench/plugins.ts). A waiter polls every 5 ms at most anyway.
 */
const WAIT_CHECK_MS = 2;

/** Age after which a leftover break lock (its holder died while breaking) is removed. */
const STALE_BREAK_LOCK_MS = 5_000;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * The lock in this process that holds each lock file. A second log of the
 * same file in this process waits synchronously, so no timer of the holder
 * could run: it takes an idle holder's lock over directly.
 */
const holders = new Map<string, AppendLock>();

/** Blocks the thread for `ms` milliseconds; a lock holder releases within microseconds. */
const sleepSync = (ms: number): void => {
  Atomics.wait(sleepCell, 0, 0, ms);
};

const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code;

/** Returns whether a process with this id exists on this machine. */
const isRunning = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return errorCode(error) === 'EPERM';
  }
};

/** Reads the process id in a lock or owner file, or undefined when it is gone or unreadable. */
const readPid = (file: string): number | undefined => {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
};

/** The append lock of one audit log file. */
export class AppendLock {
  readonly lockPath: string;
  readonly #ownerPath: string;
  readonly #waitPath: string;
  /** The lock file is this process's (a batch may or may not be in progress). */
  #held = false;
  /** Between `acquire` and `release`. */
  #inUse = false;
  #idleRelease: NodeJS.Timeout | undefined;
  #lastWaitCheck = Number.NEGATIVE_INFINITY;

  /** Makes the lock that guards `logPath`, and removes owner files that dead processes left. */
  constructor(logPath: string) {
    this.lockPath = `${logPath}.lock`;
    this.#ownerPath = `${this.lockPath}.${process.pid}`;
    this.#waitPath = `${this.lockPath}.wait`;
    this.#removeDeadOwners();
  }

  /**
   * Takes the lock, waiting while a live process holds it; throws
   * `PLUGRUN_FAILED` after 10 s. Returns true when this process kept the
   * lock since its last use, so no other process can have written since.
   */
  acquire(): boolean {
    if (this.#inUse) throw new Error(`${this.lockPath} is already held by this process`);
    if (this.#held) {
      this.#inUse = true;
      return true;
    }
    const deadline = Date.now() + ACQUIRE_TIMEOUT_MS;
    let waitMs = 0.05;
    for (;;) {
      const sameProcess = holders.get(this.lockPath);
      if (sameProcess !== undefined && sameProcess !== this && !sameProcess.#inUse) sameProcess.#unlink();
      if (this.#tryLink()) {
        this.#held = true;
        this.#inUse = true;
        holders.set(this.lockPath, this);
        fs.rmSync(this.#waitPath, { force: true });
        return false;
      }
      const holder = readPid(this.lockPath);
      if (holder !== undefined && !isRunning(holder)) {
        this.#breakStale(holder);
        continue;
      }
      if (Date.now() > deadline) {
        throw new PlugrunError(
          'PLUGRUN_FAILED',
          `the audit log lock ${this.lockPath} has been held by process ${holder ?? 'unknown'} for over ${ACQUIRE_TIMEOUT_MS / 1000} s; ` +
            'if that process is not a running plugrun, delete the file',
        );
      }
      // Asks the holder to give the lock up after its current batch.
      fs.writeFileSync(this.#waitPath, '');
      sleepSync(waitMs);
      waitMs = Math.min(waitMs * 2, 5);
    }
  }

  /**
   * Ends this process's use of the lock. The lock file goes at once when
   * another process waits for it, and otherwise after `LEASE_IDLE_MS`
   * unless a new batch takes it first.
   */
  release(): void {
    if (!this.#inUse) return;
    this.#inUse = false;
    const now = performance.now();
    if (now - this.#lastWaitCheck >= WAIT_CHECK_MS) {
      this.#lastWaitCheck = now;
      if (fs.existsSync(this.#waitPath)) {
        this.#unlink();
        return;
      }
    }
    this.#idleRelease ??= setTimeout(() => {
      this.#idleRelease = undefined;
      if (this.#inUse) return;
      try {
        this.#unlink();
      } catch (error) {
        // A timer has no caller to report to, so it warns. The next acquire finds the lock file as it is.
        process.emitWarning(`could not release the audit log lock ${this.lockPath}: ${(error as Error).message}`);
      }
    }, LEASE_IDLE_MS).unref();
  }

  /** Gives the lock up now and removes this process's owner file; a later `acquire` makes it again. */
  dispose(): void {
    this.#inUse = false;
    this.#unlink();
    fs.rmSync(this.#ownerPath, { force: true });
  }

  #unlink(): void {
    if (this.#idleRelease !== undefined) {
      clearTimeout(this.#idleRelease);
      this.#idleRelease = undefined;
    }
    if (!this.#held) return;
    this.#held = false;
    if (holders.get(this.lockPath) === this) holders.delete(this.lockPath);
    // Gone already when the state folder was removed while the lock was kept.
    fs.rmSync(this.lockPath, { force: true });
  }

  #tryLink(): boolean {
    for (let attempt = 0; ; attempt += 1) {
      try {
        fs.linkSync(this.#ownerPath, this.lockPath);
        return true;
      } catch (error) {
        if (errorCode(error) === 'EEXIST') return false;
        // No owner file yet, or another log of this process disposed of it.
        if (errorCode(error) !== 'ENOENT' || attempt > 0) throw error;
        fs.writeFileSync(this.#ownerPath, String(process.pid));
      }
    }
  }

  /** Removes the lock of a dead holder, under the break lock so that only one process does it. */
  #breakStale(deadHolder: number): void {
    const breakPath = `${this.lockPath}.break`;
    try {
      fs.mkdirSync(breakPath);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
      const age = Date.now() - (fs.statSync(breakPath, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_BREAK_LOCK_MS) fs.rmSync(breakPath, { recursive: true, force: true });
      else sleepSync(1);
      return;
    }
    try {
      // Checked again here: another process may have broken it and taken it since.
      if (readPid(this.lockPath) === deadHolder) {
        fs.rmSync(this.lockPath, { force: true });
        fs.rmSync(`${this.lockPath}.${deadHolder}`, { force: true });
      }
    } finally {
      fs.rmSync(breakPath, { recursive: true, force: true });
    }
  }

  #removeDeadOwners(): void {
    const directory = path.dirname(this.lockPath);
    const prefix = `${path.basename(this.lockPath)}.`;
    let names: string[];
    try {
      names = fs.readdirSync(directory);
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.startsWith(prefix) || !/^[0-9]+$/.test(name.slice(prefix.length))) continue;
      const pid = Number(name.slice(prefix.length));
      // The lock itself links to the owner file of its holder; a dead holder's lock is broken in acquire.
      if (!isRunning(pid) && readPid(this.lockPath) !== pid) fs.rmSync(path.join(directory, name), { force: true });
    }
  }
}

/**
 * The lock that keeps two plugrun processes from opening one plugin's
 * database at once: each would replay the journal into its own memory and
 * append to it, and the records of one would be missing from the other.
 *
 * The lock is a file created with O_EXCL that names the process holding it.
 * A lock left by a process that no longer runs on this host (after
 * `kill -9`, say) is taken over. A lock held by a live process fails the
 * call.
 *
 * NOTE: a process id reused by an unrelated process keeps a stale lock in
 * force until the file is deleted, and two processes taking over the same
 * stale lock at the same moment may both succeed. A lock held by another
 * host on a shared folder is never taken over.
 */

import { randomUUID } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';

import { failed, messageOf } from '../errors.js';

/** Contents of the lock file. */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** Distinguishes two holders in one process, and this holder from a later one. */
  readonly token: string;
}

/** A held lock. */
export interface HeldLock {
  /** Deletes the lock file if it is still this holder's. */
  release(): Promise<void>;
}

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process runs under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const readOwner = async (file: string): Promise<LockOwner | undefined> => {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.token === 'string') return parsed as LockOwner;
  } catch {
    // Unreadable or half-written: treated as held, since its writer may still be running.
  }
  return undefined;
};

const tryCreate = async (file: string, owner: LockOwner): Promise<boolean> => {
  let handle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw failed(`cannot create the database lock ${file}: ${messageOf(error)}`, error);
  }
  try {
    await handle.writeFile(JSON.stringify(owner));
  } finally {
    await handle.close();
  }
  return true;
};

/** Takes the lock file `file`, taking over one left by a process that has exited. Throws `PLUGRUN_FAILED` when a running process has it. */
export const acquireLock = async (file: string): Promise<HeldLock> => {
  const owner: LockOwner = { pid: process.pid, host: os.hostname(), token: randomUUID() };

  for (let attempt = 0; attempt < 2; attempt += 1) {
    if (await tryCreate(file, owner)) {
      return {
        async release() {
          const current = await readOwner(file);
          if (current?.token === owner.token) await rm(file, { force: true });
        },
      };
    }

    const holder = await readOwner(file);
    const stale = holder !== undefined && holder.host === owner.host && holder.pid !== process.pid && !isRunning(holder.pid);
    if (!stale) {
      let who = 'another process';
      if (holder?.pid === process.pid) who = 'this process';
      else if (holder !== undefined) who = `process ${holder.pid} on ${holder.host}`;
      throw failed(
        `the database is in use by ${who} (lock file ${file}); stop the other plugrun run, or delete the lock file if none is running`,
      );
    }
    await rm(file, { force: true });
  }
  throw failed(`cannot take the database lock ${file}: another process took it over at the same time; try again`);
};

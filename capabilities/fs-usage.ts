/**
 * The bytes a plugin keeps under its data folder, checked against the
 * fsQuotaBytes limit, and the queue that runs the plugin's writes one at a
 * time.
 *
 * The total is measured once, by walking the data folder before the first
 * write or delete, and is then updated by each write and delete. Writes and
 * deletes of one plugin run one at a time, so two concurrent writes cannot
 * both pass the quota check against the same total.
 *
 * NOTE: changes made by anything other than this instance (the user, or a
 * second plugrun process such as `plugrun call` next to `plugrun start`) are
 * not counted until the total is measured again, when the plugin restarts.
 */

import { unlink, readdir } from 'node:fs/promises';
import { PlugrunError } from './errors.js';
import { describeFsError, errnoOf } from './fs-errors.js';
import type { DataFolder, HeldFolder } from './fs-folder.js';
import { TEMP_FILE_PREFIX } from './fs-path.js';

/**
 * Age after which a temporary file of an atomic write is treated as left over
 * by an interrupted write and removed, in milliseconds. It is chosen far
 * above the time a write of 10 MiB (the default fsMaxFileBytes) takes on a
 * local disk.
 */
export const STALE_TEMP_MS = 10 * 60 * 1000;

/** The running byte total of one plugin's data folder, and its write queue. */
export class FsUsage {
  readonly #data: DataFolder;
  #total: number | undefined;
  #queue: Promise<void> = Promise.resolve();

  constructor(data: DataFolder) {
    this.#data = data;
  }

  /** Runs `body` once every write queued before it has settled, and returns its result. */
  exclusive<T>(body: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(body);
    this.#queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Settles when every queued write has settled. */
  idle(): Promise<void> {
    return this.#queue;
  }

  /** Returns the total in bytes, walking the data folder the first time. Call it inside `exclusive`. */
  async total(method: string): Promise<number> {
    this.#total ??= await measureDataFolder(this.#data, method);
    return this.#total;
  }

  /** Records the total after a write or delete, in bytes. */
  set(total: number): void {
    this.#total = Math.max(0, total);
  }
}

/**
 * Adds up the sizes of the regular files under the data folder, never
 * following a link, and removes stale temporary files of atomic writes.
 */
const measureDataFolder = async (data: DataFolder, method: string): Promise<number> => {
  let total = 0;
  const pending: string[][] = [[]];

  for (let segments = pending.pop(); segments !== undefined; segments = pending.pop()) {
    let folder: HeldFolder;
    try {
      folder = data.openFolder(segments, { method });
    } catch (error) {
      // A folder removed or replaced by a link since it was listed contains nothing to count.
      if (segments.length > 0 && error instanceof PlugrunError) continue;
      throw error;
    }

    try {
      total += await measureFolder(data, folder, segments, pending, method);
    } catch (error) {
      if (error instanceof PlugrunError) throw error;
      throw describeFsError(error, method, folder.path === '' ? '.' : folder.path);
    } finally {
      data.release(folder);
    }
  }

  return total;
};

const measureFolder = async (
  data: DataFolder,
  folder: HeldFolder,
  segments: readonly string[],
  pending: string[][],
  method: string,
): Promise<number> => {
  let total = 0;
  const now = Date.now();

  for (const entry of await readdir(data.folderPath(folder), { withFileTypes: true })) {
    if (entry.isDirectory()) {
      pending.push([...segments, entry.name]);
      continue;
    }
    if (!entry.isFile()) continue;

    const stats = data.lstatChild(folder, entry.name, method);
    if (stats === undefined || !stats.isFile()) continue;

    if (entry.name.startsWith(TEMP_FILE_PREFIX) && now - stats.mtimeMs > STALE_TEMP_MS) {
      await unlink(data.childPath(folder, entry.name)).catch((error: unknown) => {
        if (errnoOf(error) !== 'ENOENT') throw error;
      });
      continue;
    }
    total += stats.size;
  }

  return total;
};

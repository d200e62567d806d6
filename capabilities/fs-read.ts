/**
 * The reading side of `ctx.fs`: readFile, list and stat, performed on paths
 * that `check` has validated and the grants cover.
 *
 * Every path is reached through `DataFolder`, so no symbolic link is followed
 * (fs-folder.ts explains how). Small files are read with synchronous calls:
 * each costs a few microseconds, less than a trip through libuv's thread
 * pool, and the host already writes its audit log synchronously. Files over
 * SYNC_READ_MAX_BYTES are read asynchronously, so that a large read does not
 * hold up the other plugins.
 */

import fs from 'node:fs';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { quote } from './arguments.js';
import { limit, PlugrunError } from './errors.js';
import { describeFsError, notFoundError, symbolicLinkError } from './fs-errors.js';
import { splitCheckedPath, type DataFolder, type OpenedFile } from './fs-folder.js';
import { TEMP_FILE_PREFIX, type CheckedPath } from './fs-path.js';

/** Largest file read with synchronous calls, in bytes. */
export const SYNC_READ_MAX_BYTES = 64 * 1024;

const readAsync = promisify(fs.read);

/** Result of `ctx.fs.stat`. */
export interface FsStat {
  readonly size: number;
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly mtimeMs: number;
}

/**
 * Reads up to `size` bytes from the start of a file into a Uint8Array of its
 * own. A Buffer is not returned, because a small Buffer shares Node's pool,
 * and posting it to a worker would copy the whole pool, with other data in it.
 */
export const readBytes = async (fd: number, size: number): Promise<Uint8Array> => {
  const bytes = new Uint8Array(size);
  let offset = 0;

  while (offset < size) {
    const count =
      size <= SYNC_READ_MAX_BYTES
        ? fs.readSync(fd, bytes, offset, size - offset, offset)
        : (await readAsync(fd, bytes, offset, size - offset, offset)).bytesRead;
    if (count === 0) break;
    offset += count;
  }

  // A file that shrank since fstat is returned at its new length.
  return offset === size ? bytes : bytes.slice(0, offset);
};

/**
 * Reads a file as UTF-8 text or as bytes. A file over fsMaxFileBytes is
 * rejected with `PLUGRUN_LIMIT` before it is read, so a large file put in the
 * data folder by someone else cannot exhaust the host's memory.
 */
export const readFileAt = async (
  data: DataFolder,
  checked: CheckedPath,
  encoding: 'utf8' | 'bytes',
  maxBytes: number,
): Promise<string | Uint8Array> => {
  const method = 'ctx.fs.readFile';
  const { folder: segments, name } = splitCheckedPath(checked);

  const folder = data.openFolder(segments, { method });
  let opened: OpenedFile;
  try {
    opened = data.openFileForRead(folder, name, method);
  } finally {
    data.release(folder);
  }

  try {
    const { size } = opened.stats;
    if (size > maxBytes) {
      throw limit(`${method}: ${quote(checked)} is ${size} bytes, over the fsMaxFileBytes limit of ${maxBytes} bytes`);
    }

    const bytes = await readBytes(opened.fd, size);
    return encoding === 'bytes' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  } catch (error) {
    throw error instanceof PlugrunError ? error : describeFsError(error, method, checked);
  } finally {
    fs.closeSync(opened.fd);
  }
};

/**
 * Lists a folder: the names of its regular files, and of its folders with a
 * trailing `/`, sorted. Symbolic links, FIFOs, sockets, devices and the
 * temporary files of writes in flight are left out, because no ctx.fs call
 * can use them.
 */
export const listAt = async (data: DataFolder, checked: CheckedPath): Promise<string[]> => {
  const method = 'ctx.fs.list';
  const folder = data.openFolder(checked.split('/'), { method });

  try {
    const names: string[] = [];
    for (const entry of await readdir(data.folderPath(folder), { withFileTypes: true })) {
      if (entry.name.startsWith(TEMP_FILE_PREFIX)) continue;
      if (entry.isDirectory()) names.push(`${entry.name}/`);
      else if (entry.isFile()) names.push(entry.name);
    }
    return names.sort();
  } catch (error) {
    throw describeFsError(error, method, checked);
  } finally {
    data.release(folder);
  }
};

/** Returns the size, type and modification time of a file or folder, without following a link. */
export const statAt = (data: DataFolder, checked: CheckedPath): FsStat => {
  const method = 'ctx.fs.stat';
  const { folder: segments, name } = splitCheckedPath(checked);

  const folder = data.openFolder(segments, { method });
  let stats: fs.Stats | undefined;
  try {
    stats = data.lstatChild(folder, name, method);
  } finally {
    data.release(folder);
  }

  if (stats === undefined) throw notFoundError(method, checked);
  if (stats.isSymbolicLink()) throw symbolicLinkError(method, checked);

  return { size: stats.size, isFile: stats.isFile(), isDirectory: stats.isDirectory(), mtimeMs: stats.mtimeMs };
};

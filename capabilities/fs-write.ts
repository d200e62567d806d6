/**
 * The writing side of `ctx.fs`: writeFile, appendFile and deleteFile,
 * performed on paths that `check` has validated and the grants cover.
 *
 * Writes are atomic. The new content goes to a temporary file in the
 * target's folder, which is flushed with fsync and renamed over the target,
 * and the folder is then flushed so that the rename survives a crash. A write
 * that fails or is interrupted before the rename leaves the old content; a
 * crash can leave a temporary file, which fs-usage.ts removes later. An
 * append writes the old content followed by the new in the same way, so it
 * is never half done either, at the cost of copying the file (at most
 * fsMaxFileBytes).
 *
 * Limits are checked before anything is written: the size of the file after
 * the write against fsMaxFileBytes, and the plugin's total after the write
 * against fsQuotaBytes.
 */

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { quote } from './arguments.js';
import { failed, limit, PlugrunError } from './errors.js';
import { describeFsError, notFoundError, notRegularError, isFolderError, symbolicLinkError } from './fs-errors.js';
import { splitCheckedPath, type DataFolder, type HeldFolder } from './fs-folder.js';
import { TEMP_FILE_PREFIX, type CheckedPath } from './fs-path.js';
import { readBytes } from './fs-read.js';
import type { FsUsage } from './fs-usage.js';
import type { Limits } from './limits.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

// O_EXCL already rejects any existing name, a link included, and O_NOFOLLOW makes the intent explicit.
const TEMP_FLAGS = O_WRONLY | O_CREAT | O_EXCL | (O_NOFOLLOW ?? 0);

const fsync = promisify(fs.fsync);

/** State shared by the write operations of one plugin. */
export interface WriteContext {
  readonly data: DataFolder;
  readonly usage: FsUsage;
  readonly limits: Pick<Limits, 'fsMaxFileBytes' | 'fsQuotaBytes'>;
}

/** Returns the size of the regular file that a write would replace, 0 when there is none. */
const sizeOfTarget = (data: DataFolder, folder: HeldFolder, name: string, method: string, checked: CheckedPath): number => {
  const stats = data.lstatChild(folder, name, method);
  if (stats === undefined) return 0;
  if (stats.isSymbolicLink()) throw symbolicLinkError(method, checked);
  if (stats.isDirectory()) throw isFolderError(method, checked);
  if (!stats.isFile()) throw notRegularError(method, checked);
  return stats.size;
};

/** Writes `content` to a temporary file next to `name`, flushes it, and renames it over `name`. */
const replaceAtomically = async (data: DataFolder, folder: HeldFolder, name: string, content: Uint8Array): Promise<void> => {
  const tempPath = data.childPath(folder, `${TEMP_FILE_PREFIX}${randomBytes(8).toString('hex')}`);
  const handle = await open(tempPath, TEMP_FLAGS, 0o666);

  let renamed = false;
  try {
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, data.childPath(folder, name));
    renamed = true;
  } finally {
    // A temporary file that cannot be removed now is removed as stale later.
    if (!renamed) await unlink(tempPath).catch(() => undefined);
  }
};

/** The file a write replaces: its size, and for an append its content. */
interface Target {
  readonly oldSize: number;
  readonly previous?: Uint8Array;
}

const inspectTarget = async (
  context: WriteContext,
  folder: HeldFolder,
  name: string,
  appendBytes: number | undefined,
  method: string,
  checked: CheckedPath,
): Promise<Target> => {
  if (appendBytes === undefined) return { oldSize: sizeOfTarget(context.data, folder, name, method, checked) };

  const opened = context.data.openFileForRead(folder, name, method, 'undefined');
  if (opened === undefined) return { oldSize: 0 };
  try {
    const oldSize = opened.stats.size;
    // Content that could not be written anyway is not read, because the size check rejects the write.
    if (oldSize + appendBytes > context.limits.fsMaxFileBytes) return { oldSize };
    return { oldSize, previous: await readBytes(opened.fd, oldSize) };
  } finally {
    fs.closeSync(opened.fd);
  }
};

/**
 * Writes a file atomically, or appends to it (`mode` `append`), creating its
 * missing folders. Throws `PLUGRUN_LIMIT` naming fsMaxFileBytes or
 * fsQuotaBytes when the write would exceed one, before writing anything or
 * creating any folder.
 */
export const writeFileAt = (
  context: WriteContext,
  checked: CheckedPath,
  data: string | Uint8Array,
  mode: 'replace' | 'append',
): Promise<void> => {
  const method = mode === 'append' ? 'ctx.fs.appendFile' : 'ctx.fs.writeFile';
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const { fsMaxFileBytes, fsQuotaBytes } = context.limits;

  return context.usage.exclusive(async () => {
    const { folder: segments, name } = splitCheckedPath(checked);
    let folder = context.data.openFolder(segments, { missing: 'undefined', method });

    try {
      // 1. What the write replaces. A missing folder means there is no old file.
      const appendBytes = mode === 'append' ? bytes.byteLength : undefined;
      const { oldSize, previous } =
        folder === undefined ? { oldSize: 0, previous: undefined } : await inspectTarget(context, folder, name, appendBytes, method, checked);

      // 2. Limits, before anything is written.
      const newSize = (mode === 'append' ? oldSize : 0) + bytes.byteLength;
      if (newSize > fsMaxFileBytes) {
        throw limit(
          `${method}: ${quote(checked)} would be ${newSize} bytes after the write, over the fsMaxFileBytes limit of ${fsMaxFileBytes} bytes`,
        );
      }
      const total = await context.usage.total(method);
      const nextTotal = total - oldSize + newSize;
      if (nextTotal > fsQuotaBytes) {
        throw limit(
          `${method}: writing ${quote(checked)} would bring the plugin's files to ${nextTotal} bytes,` +
            ` over the fsQuotaBytes limit of ${fsQuotaBytes} bytes. Delete files, or raise fsQuotaBytes in plugin.lock.json`,
        );
      }

      // 3. The missing folders, then the new content through a temporary file.
      folder ??= context.data.openFolder(segments, { missing: 'create', method });
      const content = previous === undefined || previous.byteLength === 0 ? bytes : Buffer.concat([previous, bytes]);
      await replaceAtomically(context.data, folder, name, content);
      context.usage.set(nextTotal);
      await fsync(folder.fd);
    } catch (error) {
      throw error instanceof PlugrunError ? error : describeFsError(error, method, checked);
    } finally {
      if (folder !== undefined) context.data.release(folder);
    }
  });
};

/**
 * Deletes a file. Folders are never removed, so neither a granted folder nor
 * a folder above it can be deleted, and a symbolic link is rejected rather
 * than removed.
 */
export const deleteFileAt = (context: WriteContext, checked: CheckedPath): Promise<void> => {
  const method = 'ctx.fs.deleteFile';

  return context.usage.exclusive(async () => {
    const { folder: segments, name } = splitCheckedPath(checked);
    const folder = context.data.openFolder(segments, { method });

    try {
      const stats = context.data.lstatChild(folder, name, method);
      if (stats === undefined) throw notFoundError(method, checked);
      if (stats.isSymbolicLink()) throw symbolicLinkError(method, checked);
      if (stats.isDirectory()) {
        throw failed(`${method}: ${quote(checked)} is a folder, and ctx.fs.deleteFile removes only files`);
      }
      if (!stats.isFile()) throw notRegularError(method, checked);

      const total = await context.usage.total(method);
      await unlink(context.data.childPath(folder, name));
      context.usage.set(total - stats.size);
      await fsync(folder.fd);
    } catch (error) {
      throw error instanceof PlugrunError ? error : describeFsError(error, method, checked);
    } finally {
      context.data.release(folder);
    }
  });
};

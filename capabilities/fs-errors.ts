/**
 * Turns the errors of Node's file system calls into the errors a plugin receives.
 *
 * Node's messages name the path it was given: an absolute path, which reveals
 * the host's layout, or a `/proc/self/fd/<n>/...` path, which means nothing
 * to the plugin. So no Node message is passed on. Each message is rebuilt from
 * the error code and the path relative to the plugin's data folder, and the
 * Node error stays attached as `cause`, which never leaves the host.
 */

import { quote } from './arguments.js';
import { failed, invalid, type PlugrunError } from './errors.js';

/** Returns the `code` of a Node system error, such as `ENOENT`, or undefined for any other value. */
export const errnoOf = (error: unknown): string | undefined => {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code } = error as { code: unknown };
  return typeof code === 'string' ? code : undefined;
};

/** Builds the `PLUGRUN_INVALID` error for a path that meets a symbolic link. */
export const symbolicLinkError = (method: string, relative: string): PlugrunError =>
  invalid(
    `${method}: ${quote(relative)} is a symbolic link, and ctx.fs never follows symbolic links.` +
      ' Replace the link with the file or folder itself',
  );

/** Builds the error for a path that does not exist. */
export const notFoundError = (method: string, relative: string, cause?: unknown): PlugrunError =>
  failed(`${method}: ${quote(relative)} was not found`, cause);

/** Builds the error for a path that names a folder where a file is expected. */
export const isFolderError = (method: string, relative: string, cause?: unknown): PlugrunError =>
  failed(`${method}: ${quote(relative)} is a folder, not a file. Use ctx.fs.list to see what it contains`, cause);

/** Builds the error for a path with a file where a folder is expected. */
export const notFolderError = (method: string, relative: string, cause?: unknown): PlugrunError =>
  failed(`${method}: ${quote(relative)} is a file, not a folder`, cause);

/** Builds the error for an entry that is neither a regular file nor a folder (a FIFO, a socket, a device). */
export const notRegularError = (method: string, relative: string): PlugrunError =>
  failed(`${method}: ${quote(relative)} is not a regular file, and ctx.fs reads and writes only regular files`);

/**
 * Maps a Node file system error on `relative` to a `PlugrunError`. ENOTDIR
 * and ELOOP are mapped too, but the walk in fs-folder.ts first checks
 * whether a symbolic link caused them, because Linux reports a link opened
 * with O_NOFOLLOW | O_DIRECTORY as ENOTDIR.
 */
export const describeFsError = (error: unknown, method: string, relative: string): PlugrunError => {
  const code = errnoOf(error);
  const name = quote(relative);

  switch (code) {
    case 'ENOENT':
      return notFoundError(method, relative, error);
    case 'EISDIR':
      return isFolderError(method, relative, error);
    case 'ENOTDIR':
      return failed(`${method}: a part of ${name} is a file, not a folder`, error);
    case 'ELOOP':
    case 'EMLINK':
      // FreeBSD reports a symbolic link opened with O_NOFOLLOW as EMLINK.
      return symbolicLinkError(method, relative);
    case 'EEXIST':
      return failed(`${method}: ${name} already exists`, error);
    case 'EACCES':
    case 'EPERM':
      return failed(`${method}: permission denied on ${name}. The host user of plugrun cannot access it`, error);
    case 'ENOSPC':
    case 'EDQUOT':
      return failed(`${method}: no space left on the disk for ${name}, so the file was left as it was`, error);
    case 'ENAMETOOLONG':
      return invalid(`${method}: ${name} is too long for the host file system`, error);
    case 'EMFILE':
    case 'ENFILE':
      return failed(`${method}: the host has too many open files to open ${name}. Try again later`, error);
    default:
      return failed(`${method}: the operation on ${name} failed (${code ?? 'unknown error'})`, error);
  }
};

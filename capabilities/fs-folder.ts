/**
 * A plugin's data folder and the folders under it, opened one name at a time
 * without following symbolic links.
 *
 * Threat model: anyone with write access to the data folder can put a
 * symbolic link there, and can swap a folder for a link while a call runs.
 * That is the user, a script or another process, but not the plugin, which
 * has no call that makes a link. A call whose path was checked as
 * `exports/a.txt` must still never reach a file outside `exports/`.
 *
 * Design: the folders of a path are opened one after the other with
 * O_DIRECTORY | O_NOFOLLOW, starting at the data folder, and each name is
 * looked up inside the descriptor of the folder opened before it. Node has no
 * openat(2), so the lookup goes through `/proc/self/fd/<fd>/<name>`: Linux
 * resolves the `/proc/self/fd/<fd>` magic link to the open folder itself,
 * wherever it is now, and looks `<name>` up in it. The last name is used by a
 * call that does not follow links either (open with O_NOFOLLOW, lstat,
 * rename, unlink). So no symbolic link is ever followed, wherever it points,
 * and a link swapped in after a folder was opened is never consulted. This
 * closes the window between checking a path and using it.
 *
 * NOTE: without /proc/self/fd (macOS, the BSDs) names are looked up by
 * absolute path. Every folder is still opened with O_NOFOLLOW, so a link that
 * exists when the call starts is rejected, but a folder swapped for a link
 * between the walk and the use of the last name is followed. Windows lacks
 * O_NOFOLLOW, so ctx.fs fails closed there.
 */

import fs from 'node:fs';
import path from 'node:path';
import { quote } from './arguments.js';
import { failed, type PlugrunError } from './errors.js';
import { describeFsError, errnoOf, isFolderError, notFolderError, notRegularError, symbolicLinkError } from './fs-errors.js';
import type { CheckedPath } from './fs-path.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

// Both are undefined on Windows, where the walk cannot be made safe.
const FOLDER_FLAGS = O_DIRECTORY === undefined || O_NOFOLLOW === undefined ? undefined : O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

// O_NONBLOCK keeps the open of a FIFO from waiting for a writer. Regular files ignore it.
const READ_FLAGS = O_RDONLY | (O_NOFOLLOW ?? 0) | (O_NONBLOCK ?? 0);

/** Lookup of a name inside an open folder: through `/proc/self/fd/<fd>`, or by absolute path. */
export type LookupMode = 'proc-fd' | 'absolute';

/** Picks `proc-fd` on Linux with /proc mounted, `absolute` elsewhere, and undefined where ctx.fs cannot be safe. */
export const detectLookupMode = (): LookupMode | undefined => {
  if (FOLDER_FLAGS === undefined) return undefined;
  if (process.platform === 'linux' && fs.existsSync('/proc/self/fd')) return 'proc-fd';
  return 'absolute';
};

/** A folder under the data folder, open without having followed a link, and its path relative to the data folder. */
export interface HeldFolder {
  readonly fd: number;
  /** `''` for the data folder itself, otherwise `a/b` with no trailing `/`. */
  readonly path: string;
}

/** A regular file open for reading, and its fstat. */
export interface OpenedFile {
  readonly fd: number;
  readonly stats: fs.Stats;
}

/** Splits a checked path into the segments of its folder and its last name. */
export const splitCheckedPath = (checked: CheckedPath): { folder: string[]; name: string } => {
  const segments = checked.split('/');
  const name = segments.pop() ?? '';
  return { folder: segments, name };
};

/** Options of `DataFolder.openFolder`. */
export interface OpenFolderOptions {
  /**
   * The handling of a missing folder: `fail` (the default) throws
   * `PLUGRUN_FAILED`, `create` makes it, as writes do, and `undefined` makes
   * `openFolder` return undefined.
   */
  readonly missing?: 'fail' | 'create' | 'undefined';
  /** The `ctx` method, such as `ctx.fs.readFile`, for error messages. */
  readonly method: string;
}

/** The data folder of one plugin, `.plugrun/data/<plugin>/`, created on first use. */
export class DataFolder {
  readonly #root: string;
  readonly #plugin: string;
  readonly #mode: LookupMode | undefined;

  /** Undefined `mode` disables every call, for platforms where `detectLookupMode` finds no safe way. */
  constructor(root: string, plugin: string, mode: LookupMode | undefined) {
    this.#root = root;
    this.#plugin = plugin;
    this.#mode = mode;
  }

  /** Returns the path that names `name` inside an open folder, resolved through the folder's descriptor in `proc-fd` mode. */
  childPath(folder: HeldFolder, name: string): string {
    if (this.#mode === 'proc-fd') return `/proc/self/fd/${folder.fd}/${name}`;
    return path.join(this.#root, folder.path, name);
  }

  /** Returns the path that names an open folder itself, for readdir. */
  folderPath(folder: HeldFolder): string {
    if (this.#mode === 'proc-fd') return `/proc/self/fd/${folder.fd}`;
    return path.join(this.#root, folder.path);
  }

  /**
   * Opens the folders of `segments` one by one from the data folder, never
   * following a link, and returns the last one open. The caller closes it
   * with `release`. Throws `PLUGRUN_INVALID` at a symbolic link and
   * `PLUGRUN_FAILED` at a file, or at a missing folder as `missing` sets.
   */
  openFolder(segments: readonly string[], options: OpenFolderOptions & { missing: 'undefined' }): HeldFolder | undefined;
  openFolder(segments: readonly string[], options: OpenFolderOptions): HeldFolder;
  openFolder(segments: readonly string[], options: OpenFolderOptions): HeldFolder | undefined {
    let folder: HeldFolder = { fd: this.#openRoot(options.method), path: '' };
    try {
      for (const name of segments) {
        const child = this.#openChild(folder, name, options);
        fs.closeSync(folder.fd);
        if (child === undefined) return undefined;
        folder = child;
      }
    } catch (error) {
      fs.closeSync(folder.fd);
      throw error;
    }
    return folder;
  }

  /** Closes a folder opened by `openFolder`. */
  release(folder: HeldFolder): void {
    fs.closeSync(folder.fd);
  }

  /** Returns the lstat of `name` in an open folder (never following a link), or undefined when it does not exist. */
  lstatChild(folder: HeldFolder, name: string, method: string): fs.Stats | undefined {
    try {
      return fs.lstatSync(this.childPath(folder, name));
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return undefined;
      throw describeFsError(error, method, relativeTo(folder, name));
    }
  }

  /**
   * Opens the regular file `name` of an open folder for reading, without
   * following a link. Rejects folders, FIFOs, sockets and devices, and files
   * with more than one hard link, because another name of the same file may
   * sit outside the grant.
   */
  openFileForRead(folder: HeldFolder, name: string, method: string): OpenedFile;
  /** With `missing: 'undefined'`, returns undefined when the file does not exist. */
  openFileForRead(folder: HeldFolder, name: string, method: string, missing: 'undefined'): OpenedFile | undefined;
  openFileForRead(folder: HeldFolder, name: string, method: string, missing?: 'undefined'): OpenedFile | undefined {
    const relative = relativeTo(folder, name);
    let fd: number;
    try {
      fd = fs.openSync(this.childPath(folder, name), READ_FLAGS);
    } catch (error) {
      if (missing === 'undefined' && errnoOf(error) === 'ENOENT') return undefined;
      throw describeFsError(error, method, relative);
    }

    try {
      const stats = fs.fstatSync(fd);
      if (stats.isDirectory()) throw isFolderError(method, relative);
      if (!stats.isFile()) throw notRegularError(method, relative);
      if (stats.nlink > 1) {
        throw failed(
          `${method}: ${quote(relative)} has ${stats.nlink} hard links, and ctx.fs opens only files with one name,` +
            ' because another name may lie outside the grant. Copy the file instead of linking it',
        );
      }
      return { fd, stats };
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  #openRoot(method: string): number {
    if (this.#mode === undefined || FOLDER_FLAGS === undefined) {
      throw failed(
        `${method}: ctx.fs is disabled on ${process.platform}, because the platform lacks O_NOFOLLOW and O_DIRECTORY` +
          ' and a symbolic link could not be kept from being followed',
      );
    }

    // The data folder itself is opened with O_NOFOLLOW too. The folders above
    // it (.plugrun/, the project) belong to the user, who may link them.
    try {
      return fs.openSync(this.#root, FOLDER_FLAGS);
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw this.#rootError(error, method);
    }

    try {
      fs.mkdirSync(this.#root, { recursive: true });
      return fs.openSync(this.#root, FOLDER_FLAGS);
    } catch (error) {
      throw this.#rootError(error, method);
    }
  }

  #rootError(error: unknown, method: string): PlugrunError {
    const code = errnoOf(error);
    const folder = `the data folder of plugin "${this.#plugin}"`;
    if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'EMLINK') {
      return failed(`${method}: ${folder} is a symbolic link or a file. Replace it with a folder`, error);
    }
    return failed(`${method}: ${folder} cannot be opened (${code ?? 'unknown error'})`, error);
  }

  #openChild(folder: HeldFolder, name: string, options: OpenFolderOptions): HeldFolder | undefined {
    const target = this.childPath(folder, name);
    const relative = relativeTo(folder, name);
    try {
      return { fd: fs.openSync(target, FOLDER_FLAGS!), path: relative };
    } catch (error) {
      const missing = errnoOf(error) === 'ENOENT';
      if (missing && options.missing === 'undefined') return undefined;
      if (!missing || options.missing !== 'create') throw this.#folderError(error, folder, name, options.method);
    }

    // A concurrent call may create the same folder first, which is fine. A
    // link put in its place before the open below is still rejected.
    try {
      fs.mkdirSync(target);
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw describeFsError(error, options.method, relative);
    }
    try {
      return { fd: fs.openSync(target, FOLDER_FLAGS!), path: relative };
    } catch (error) {
      throw this.#folderError(error, folder, name, options.method);
    }
  }

  // Linux reports a link opened with O_DIRECTORY | O_NOFOLLOW as ENOTDIR, the
  // same as a file, so an lstat distinguishes the two.
  #folderError(error: unknown, folder: HeldFolder, name: string, method: string): PlugrunError {
    const relative = relativeTo(folder, name);
    const code = errnoOf(error);
    if (code !== 'ENOTDIR' && code !== 'ELOOP' && code !== 'EMLINK') return describeFsError(error, method, relative);

    let stats: fs.Stats | undefined;
    try {
      stats = fs.lstatSync(this.childPath(folder, name));
    } catch {
      return describeFsError(error, method, relative);
    }
    if (stats.isSymbolicLink()) return symbolicLinkError(method, relative);
    return notFolderError(method, relative, error);
  }
}

/** Returns the path of `name` inside a folder, relative to the data folder. */
export const relativeTo = (folder: HeldFolder, name: string): string => (folder.path === '' ? name : `${folder.path}/${name}`);

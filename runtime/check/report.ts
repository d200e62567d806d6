/**
 * The two forms of a `plugrun check` report: one line per diagnostic for
 * people, in the `file:line:column  severity  message` form that editors
 * and CI annotations pick up, and a JSON object for scripts.
 */

import path from 'node:path';

import type { CheckResult } from './check-plugins.js';
import type { Diagnostic } from './diagnostic.js';

/** Shows a path relative to `cwd` when it lies inside it, else absolute, as compilers do. */
const displayPath = (file: string, cwd: string): string => {
  const relative = path.relative(cwd, file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
};

/**
 * Formats one diagnostic as `file:line:column  severity  message; fix  [rule]`.
 * A diagnostic about a whole file has no line and column. The text is not
 * escaped here: the caller escapes it for the terminal.
 */
export const formatDiagnostic = (diagnostic: Diagnostic, cwd: string): string => {
  const place = diagnostic.line === undefined ? displayPath(diagnostic.file, cwd) : `${displayPath(diagnostic.file, cwd)}:${diagnostic.line}:${diagnostic.column}`;
  // A multi-line message, such as an archive build failure, is kept readable with its later lines indented.
  const message = `${diagnostic.message}; ${diagnostic.fix}`.replace(/\n/g, '\n    ');
  return `${place}  ${diagnostic.severity}  ${message}  [${diagnostic.rule}]`;
};

/** Formats the closing summary, such as `2 errors and 1 warning in 3 plugins`. */
export const formatSummary = (result: CheckResult): string => {
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const plugins = count(result.plugins.length, 'plugin');
  if (result.errors === 0 && result.warnings === 0) return `checked ${plugins}: no problems found`;
  return `checked ${plugins}: ${count(result.errors, 'error')} and ${count(result.warnings, 'warning')}`;
};

/** The JSON form of a report, as `plugrun check --json` prints it. */
export const reportAsJson = (result: CheckResult) => ({
  ok: result.errors === 0,
  errors: result.errors,
  warnings: result.warnings,
  plugins: result.plugins,
  diagnostics: result.diagnostics,
});

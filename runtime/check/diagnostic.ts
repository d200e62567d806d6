/**
 * The findings of `plugrun check`: one diagnostic per problem, each with the
 * file, a position when the problem sits in code, a severity and what to do.
 */

import { compareText } from '../../capabilities/compare.js';

/** Severity of a finding: an `error` makes `plugrun check` exit with status 1, a `warning` does not. */
export type Severity = 'error' | 'warning';

/** One problem that `plugrun check` found. */
export interface Diagnostic {
  /** The plugin concerned, or null for a problem of the project, such as an invalid lockfile. */
  readonly plugin: string | null;
  /** Absolute path of the file concerned. */
  readonly file: string;
  /** 1-based line, when the problem sits at a place in a module. */
  readonly line?: number;
  /** 1-based column, counted in UTF-16 code units as editors do. */
  readonly column?: number;
  readonly severity: Severity;
  /** Stable name of the rule, such as `builtin-import` or `host-global`. */
  readonly rule: string;
  /** Description of the fault, quoting the code or value concerned. */
  readonly message: string;
  /** Next step: the `ctx` alternative, an edit, or the command that fixes it. */
  readonly fix: string;
}

/** A place in a module, 1-based line and column. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** Sorts diagnostics by plugin, file, line and column, so the output is stable. */
export const sortDiagnostics = (diagnostics: readonly Diagnostic[]): Diagnostic[] =>
  [...diagnostics].sort(
    (a, b) =>
      compareText(a.plugin ?? '', b.plugin ?? '') ||
      compareText(a.file, b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      compareText(a.rule, b.rule),
  );

/**
 * Parsing and splicing for the lock-time source rewrites. Rewrites replace
 * exact character ranges of the original text, so every byte they do not
 * touch stays as the author wrote it, with its line and column.
 */

import { parse, type ParseResult } from '@babel/parser';
import traverseModule from '@babel/traverse';
import type { File } from '@babel/types';

/** One replacement of the character range [start, end) by `text`. */
export interface SourceEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/**
 * Parses a module as SES will evaluate it: an ES module, or a CommonJS body,
 * which may `return` at top level because it runs inside a function. Returns
 * undefined for text Babel cannot parse, which the module parser reports later.
 */
export const parseModuleSource = (source: string, language: 'mjs' | 'cjs'): ParseResult<File> | undefined => {
  try {
    return parse(source, {
      sourceType: language === 'mjs' ? 'module' : 'script',
      allowReturnOutsideFunction: language === 'cjs',
      errorRecovery: false,
    });
  } catch {
    return undefined;
  }
};

/** Applies non-overlapping edits to `source`, in any order. */
export const applySourceEdits = (source: string, edits: readonly SourceEdit[]): string => {
  if (edits.length === 0) return source;
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  let result = '';
  let position = 0;
  for (const edit of sorted) {
    if (edit.start < position) continue;
    result += source.slice(position, edit.start) + edit.text;
    position = edit.end;
  }
  return result + source.slice(position);
};

/**
 * @babel/traverse's walker. The package is CommonJS with the function on
 * `exports.default`, which an ES module import sees as a property.
 */
export const traverse: typeof traverseModule.default =
  (traverseModule as unknown as { default?: typeof traverseModule.default }).default ??
  (traverseModule as unknown as typeof traverseModule.default);

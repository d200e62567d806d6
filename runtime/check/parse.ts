/**
 * Parses one module of a plugin with acorn into an ESTree syntax tree, with
 * line and column on every node, for the rules of `plugrun check`.
 *
 * ES modules are parsed as modules, which are strict code. Strict mode makes
 * a `with` statement a syntax error, which would hide every other finding
 * in the file, so when that is why parsing fails, the file is parsed again
 * in sloppy mode and the `with` rule reports each statement. CommonJS files
 * are parsed as scripts.
 */

import { parse, type Options } from 'acorn';
import type { Program } from 'estree';

import type { Position } from './diagnostic.js';

/** Module format: an ES module or a CommonJS module. */
export type ModuleLanguage = 'mjs' | 'cjs';

/** Result of parsing one module. */
export type ParseResult =
  | {
      readonly ok: true;
      readonly program: Program;
    }
  | { readonly ok: false; readonly message: string; readonly position: Position };

const BASE_OPTIONS: Options = {
  ecmaVersion: 'latest',
  locations: true,
  // eslint-scope reads node.range to tell default parameters from the function body.
  ranges: true,
  allowHashBang: true,
};

/** acorn's message for `with` in strict code, as of acorn 8.19. */
const WITH_IN_STRICT = /^'with' in strict mode/;

/** acorn's error, with the location it adds to syntax errors. */
interface AcornSyntaxError extends SyntaxError {
  readonly loc?: { readonly line: number; readonly column: number };
}

/** Parses a module's source text. A syntax error is returned with its 1-based position, not thrown. */
export const parseModule = (source: string, language: ModuleLanguage): ParseResult => {
  const options: Options =
    language === 'mjs'
      ? { ...BASE_OPTIONS, sourceType: 'module' }
      : { ...BASE_OPTIONS, sourceType: 'script', allowReturnOutsideFunction: true };

  try {
    return { ok: true, program: parse(source, options) as unknown as Program };
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    const syntaxError = error as AcornSyntaxError;
    if (language === 'mjs' && WITH_IN_STRICT.test(syntaxError.message)) {
      const sloppy = parseSloppy(source);
      if (sloppy !== undefined) return { ok: true, program: sloppy };
    }
    return { ok: false, message: withoutPosition(syntaxError.message), position: positionOf(syntaxError) };
  }
};

/** Parses in sloppy mode, imports and exports allowed anywhere; undefined when that fails too. */
const parseSloppy = (source: string): Program | undefined => {
  try {
    const options: Options = {
      ...BASE_OPTIONS,
      sourceType: 'script',
      allowImportExportEverywhere: true,
      allowAwaitOutsideFunction: true,
      allowReturnOutsideFunction: true,
    };
    return parse(source, options) as unknown as Program;
  } catch {
    return undefined;
  }
};

/** acorn ends its messages with ` (line:column)`; the diagnostic carries the position on its own. */
const withoutPosition = (message: string): string => message.replace(/ \(\d+:\d+\)$/, '');

const positionOf = (error: AcornSyntaxError): Position =>
  error.loc === undefined ? { line: 1, column: 1 } : { line: error.loc.line, column: error.loc.column + 1 };

/** Converts acorn's location (1-based line, 0-based column) to a 1-based position. */
export const positionOfNode = (node: { readonly loc?: { readonly start: { readonly line: number; readonly column: number } } | null }): Position => {
  const start = node.loc?.start;
  return start === undefined ? { line: 1, column: 1 } : { line: start.line, column: start.column + 1 };
};

/**
 * Finds source text that SES will refuse to evaluate, so a plugin author gets
 * file:line:column and the offending text when the plugin is locked or
 * started, instead of a bare rejection from inside a worker.
 *
 * SES rejects, anywhere in a module's text (comments and strings included),
 * anything that looks like a dynamic `import(`, the HTML comment tokens
 * `<!--` and `-->`, and what looks like a direct `eval(` call. No shim can
 * intercept a dynamic import, parsers disagree on HTML comments, and a shim
 * can only run direct eval as indirect eval. The patterns below mirror the
 * ones in ses/src/transforms.js (ses 2.3.0).
 */

/** One piece of source text that will make SES reject its module. */
export interface SourceFinding {
  /** Path of the module relative to the plugin folder. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly kind: 'dynamic-import' | 'html-comment' | 'direct-eval' | 'require-in-module';
  /** The imported or required specifier, when the text names one. */
  readonly specifier?: string;
  /** A description of the finding for a person. */
  readonly message: string;
}

const importPattern = /(^|[^.]|\.\.\.)\bimport(\s*(?:\(|\/[/*]))/g;
const htmlCommentPattern = /<!--|-->/g;
const directEvalPattern = /(^|[^.])\beval(\s*\()/g;
const requirePattern = /(^|[^.\w$])require\s*\(\s*(['"`])([^'"`]+)\2/g;
const specifierAfterImport = /^\s*\(\s*(['"`])([^'"`]+)\1/;

const positionOf = (source: string, index: number): { line: number; column: number } => {
  const before = source.slice(0, index);
  const line = before.split('\n').length;
  const column = index - before.lastIndexOf('\n');
  return { line, column };
};

/**
 * Lists the text in one module that SES will reject, and in an ES module the
 * `require()` calls that will fail because ES modules have no `require`.
 */
export const scanModuleSource = (source: string, file: string, language: 'mjs' | 'cjs'): SourceFinding[] => {
  const findings: SourceFinding[] = [];

  for (const match of source.matchAll(importPattern)) {
    const index = match.index + match[1]!.length;
    const specifier = specifierAfterImport.exec(source.slice(index + 'import'.length))?.[2];
    const what = specifier === undefined ? 'text that looks like a dynamic import(' : `dynamic import("${specifier}")`;
    findings.push({
      file,
      ...positionOf(source, index),
      kind: 'dynamic-import',
      ...(specifier === undefined ? {} : { specifier }),
      message: `${what}: plugins cannot import modules at run time, and SES rejects import( in code`,
    });
  }

  for (const match of source.matchAll(htmlCommentPattern)) {
    findings.push({
      file,
      ...positionOf(source, match.index),
      kind: 'html-comment',
      message: `"${match[0]}": SES rejects HTML comment tokens anywhere in source text; write "< !--" or "-- >" instead`,
    });
  }

  for (const match of source.matchAll(directEvalPattern)) {
    findings.push({
      file,
      ...positionOf(source, match.index + match[1]!.length),
      kind: 'direct-eval',
      message: 'eval(...): SES rejects a direct eval call, and any code that reads like one, such as a method named eval; call it as (0, eval)(...) for an indirect eval, or avoid eval',
    });
  }

  if (language === 'mjs') {
    for (const match of source.matchAll(requirePattern)) {
      const specifier = match[3]!;
      findings.push({
        file,
        ...positionOf(source, match.index + match[1]!.length),
        kind: 'require-in-module',
        specifier,
        message: `require("${specifier}"): ES modules have no require, and plugins cannot reach Node built-ins or modules outside their folder`,
      });
    }
  }

  return findings;
};

/** Formats a finding as `file:line:column: message`. */
export const formatFinding = (finding: SourceFinding): string =>
  `${finding.file}:${finding.line}:${finding.column}: ${finding.message}`;

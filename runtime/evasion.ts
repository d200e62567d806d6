/**
 * Rewrites harmless text that SES would reject, at lock time, so that
 * libraries whose comments or strings mention `import(`, `eval(` or `<!--`
 * load inside a compartment. Only the archive builder uses it: Babel, which
 * the rewrite needs, never loads in a plugin's worker.
 */

import { evadeCensorSync } from '@endo/evasive-transform';

import { applySourceEdits, parseModuleSource, traverse, type SourceEdit } from './source-parse.js';

/** Text that SES rejects and @endo/evasive-transform can rewrite when it sits in a comment, string or regular expression. */
const evadablePattern = /(^|[^.]|\.\.\.)\bimport(\s*(?:\(|\/[/*]))|<!--|-->/;

/**
 * What SES 2.3.0 takes for a direct eval call (ses/src/transforms.js). SES
 * tests it on the whole text, comments and strings included.
 */
const directEvalPattern = /(^|[^.])\beval(\s*\()/g;

/**
 * Rewrites `import(`, `<!--` and `-->` inside comments, strings, template
 * text and regular expressions so SES accepts the module, without changing
 * what it does (for example `"<!--"` becomes `"<!" + "--"`). A real dynamic
 * `import()` call is left as it is, so the scan still reports it. Source that
 * Babel cannot parse is returned unchanged, for the module parser to report.
 */
export const evadeCensorship = (source: string, language: 'mjs' | 'cjs'): string => {
  if (!evadablePattern.test(source)) return source;
  try {
    return evadeCensorSync(source, { sourceType: language === 'mjs' ? 'module' : 'script' }).code;
  } catch {
    return source;
  }
};

/**
 * Escapes each `eval(` in the raw text of a string literal or regular
 * expression as `\x65val(`, which denotes the same characters. An `e` that
 * is already escaped by an odd run of backslashes (`\e`) has its backslash
 * taken into the new escape, so the value stays the same.
 */
const escapeEvalInRaw = (raw: string): string =>
  raw.replace(directEvalPattern, (match: string, before: string, after: string, offset: number) => {
    let backslashes = 0;
    for (let index = offset + before.length - 1; index >= 0 && raw[index] === '\\'; index -= 1) backslashes += 1;
    if (backslashes % 2 === 1) return `${before.slice(0, -1)}\\x65val${after}`;
    return `${before}\\x65val${after}`;
  });

/**
 * Lists the edits that hide `eval(` text from SES where it is not a call.
 * In comments it becomes `EVAL(`. In string literals, untagged template
 * text and regular expressions the `e` is written as the escape `\x65`.
 * A real `eval(...)` call gets no edit, so the scan still reports it,
 * because SES cannot run direct eval. Source that Babel cannot parse gets
 * no edits.
 */
export const findEvalTextEdits = (source: string, language: 'mjs' | 'cjs'): SourceEdit[] => {
  directEvalPattern.lastIndex = 0;
  if (!directEvalPattern.test(source)) return [];
  const ast = parseModuleSource(source, language);
  if (ast === undefined) return [];

  const edits: SourceEdit[] = [];
  const escapeRange = (start: number | null | undefined, end: number | null | undefined, rewrite: (text: string) => string) => {
    if (start == null || end == null) return;
    const text = source.slice(start, end);
    const rewritten = rewrite(text);
    if (rewritten !== text) edits.push({ start, end, text: rewritten });
  };

  for (const comment of ast.comments ?? []) {
    escapeRange(comment.start, comment.end, (text) => text.replace(directEvalPattern, (_match, before: string, after: string) => `${before}EVAL${after}`));
  }
  traverse(ast, {
    StringLiteral({ node }) {
      escapeRange(node.start, node.end, escapeEvalInRaw);
    },
    RegExpLiteral({ node }) {
      escapeRange(node.start, node.end, escapeEvalInRaw);
    },
    TemplateLiteral(path) {
      // A tag receives the raw text too, so rewriting it would change what the tag sees.
      if (path.parent.type === 'TaggedTemplateExpression') return;
      for (const quasi of path.node.quasis) escapeRange(quasi.start, quasi.end, escapeEvalInRaw);
    },
  });
  return edits;
};

/**
 * Rewrites text that SES takes for a direct `eval(` call but that is not
 * one, as `findEvalTextEdits` lists it. Source that Babel cannot parse is
 * returned unchanged.
 */
export const evadeEvalText = (source: string, language: 'mjs' | 'cjs'): string =>
  applySourceEdits(source, findEvalTextEdits(source, language));

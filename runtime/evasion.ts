/**
 * Rewrites harmless text that SES would reject, at lock time, so that
 * libraries whose comments or strings mention `import(` or `<!--` load
 * inside a compartment. Only the archive builder uses it: Babel, which the
 * rewrite needs, never loads in a plugin's worker.
 */

import { evadeCensorSync } from '@endo/evasive-transform';

/** Text that SES rejects and @endo/evasive-transform can rewrite when it sits in a comment, string or regular expression. */
const evadablePattern = /(^|[^.]|\.\.\.)\bimport(\s*(?:\(|\/[/*]))|<!--|-->/;

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


/**
 * The lock-time rewrites applied to every module before it goes into a
 * plugin's archive, in order. Each leaves text it does not need to change
 * byte for byte as it was.
 */

import { evadeCensorship, evadeEvalText } from './evasion.js';
import { replaceNodeEnv } from './node-env.js';

/**
 * Rewrites one module for the compartment: `process.env.NODE_ENV` reads
 * become `"production"`, then `import(`, `<!--`, `-->` and `eval(` in
 * comments, strings and regular expressions are rewritten so SES accepts them.
 */
export const rewriteModuleSource = (source: string, language: 'mjs' | 'cjs'): string => {
  const withNodeEnv = replaceNodeEnv(source, language);
  const evaded = evadeCensorship(withNodeEnv, language);
  return evadeEvalText(evaded, language);
};

/**
 * Turns compartment-mapper and SES load failures into messages that name the
 * import that failed and give the reason. Used by the host when it builds an archive
 * and by the worker when it loads one.
 */

import { builtinModules } from 'node:module';

import { PlugrunError } from '../capabilities/errors.js';
import { formatFinding, type SourceFinding } from './source-scan.js';

const builtinNames = new Set(builtinModules);

const isBuiltinSpecifier = (specifier: string): boolean => {
  if (specifier.startsWith('node:')) return true;
  return builtinNames.has(specifier.split('/')[0]!);
};

/**
 * Returns the Node built-in that a compartment-mapper "Cannot find module"
 * message names, or undefined when the message names none.
 */
export const builtinImportIn = (message: string): string | undefined => {
  const missing = /Cannot find (?:external )?module "([^"]+)"/.exec(message);
  return missing && isBuiltinSpecifier(missing[1]!) ? missing[1] : undefined;
};

/**
 * Rewrites compartment-mapper's load errors to name the import that failed
 * and the reason, for the plugin's author.
 */
export const explainLoadError = (pluginName: string, error: unknown): PlugrunError => {
  if (error instanceof PlugrunError) return error;

  const message = error instanceof Error ? error.message : String(error);
  const missing = /Cannot find (?:external )?module "([^"]+)"/.exec(message);
  if (missing) {
    const specifier = missing[1]!;
    const reason = isBuiltinSpecifier(specifier)
      ? 'it is a Node built-in, and plugins get their authority from ctx instead'
      : "it is neither inside the plugin folder nor a dependency installed in the plugin's own node_modules; list it in the plugin's package.json dependencies and install it there";
    return new PlugrunError(
      'PLUGRUN_INVALID',
      `plugin "${pluginName}" cannot import "${specifier}": ${reason}`,
      { cause: error },
    );
  }
  return new PlugrunError('PLUGRUN_INVALID', `plugin "${pluginName}" failed to load: ${message}`, { cause: error });
};


/**
 * Adds the `require()` calls found in the plugin's ES modules to a load
 * failure caused by `require` being undefined, so the message names the
 * module the plugin tried to reach.
 */
export const explainRequireFailure = (error: PlugrunError, findings: readonly SourceFinding[]): PlugrunError => {
  if (!/\brequire is not (?:defined|a function)\b/.test(error.message)) return error;
  const calls = findings.filter((finding) => finding.kind === 'require-in-module');
  if (calls.length === 0) return error;
  const lines = calls.map((finding) => `  ${formatFinding(finding)}`).join('\n');
  return new PlugrunError(error.code, `${error.message}\n${lines}`, { cause: error });
};

/**
 * `plugrun check [plugin...]`: validates manifests, lock state and plugin
 * code without running any of it, and prints one line per problem.
 */

import type { CommandModule } from 'yargs';

import { escapeForTerminal, ExitCode, printData, printJson, printMessage } from '../output.js';
import { checkPluginName } from './grant.js';
import { projectFrom, runHandler, usageError, type GlobalArgs } from './common.js';

interface CheckArgs extends GlobalArgs {
  readonly plugins: string[];
  readonly json: boolean;
}

const check = async (argv: CheckArgs): Promise<number> => {
  // Loaded here, not at the top, so that `plugrun --help` stays fast.
  const { checkPlugins, UnknownPluginsError } = await import('../../runtime/check/check-plugins.js');
  const { formatDiagnostic, formatSummary, reportAsJson } = await import('../../runtime/check/report.js');
  const project = projectFrom(argv);
  const names = (argv.plugins ?? []).map(checkPluginName);

  let result;
  try {
    result = await checkPlugins(project, names);
  } catch (error) {
    if (error instanceof UnknownPluginsError) throw usageError(error.message, error);
    throw error;
  }

  if (argv.json) {
    printJson(reportAsJson(result));
  } else {
    for (const diagnostic of result.diagnostics) printData(escapeForTerminal(formatDiagnostic(diagnostic, process.cwd())));
    if (result.plugins.length === 0 && names.length === 0) printMessage(`no plugins in ${project.pluginsDir}`);
    printMessage(formatSummary(result));
  }
  return result.errors > 0 ? ExitCode.failure : ExitCode.ok;
};

/** The `check` command. */
export const checkCommand: CommandModule<GlobalArgs, CheckArgs> = {
  command: 'check [plugins..]',
  describe: 'Check manifests, lock state and plugin code without running anything',
  builder: (yargs) =>
    yargs
      .positional('plugins', { type: 'string', array: true, describe: 'Plugins to check (default: all, and the lockfile)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' })
      .example('$0 check', 'Check every plugin; exit status 1 when any error is found')
      .example('$0 check notes --json | jq ".diagnostics[]"', 'The findings for one plugin, for scripts') as never,
  handler: runHandler(check),
};

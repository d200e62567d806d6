/**
 * `plugrun lock [plugin...]`: pin version and integrity, keeping grants, and
 * print which requested capabilities are still not granted.
 */

import type { CommandModule } from 'yargs';

import { ExitCode, printJson, printMessage } from '../output.js';
import { checkPluginName } from './grant.js';
import { projectFrom, runHandler, type GlobalArgs } from './common.js';

interface LockArgs extends GlobalArgs {
  readonly plugins: string[];
  readonly json: boolean;
}

const lock = async (argv: LockArgs): Promise<number> => {
  const { lockPlugins } = await import('../../runtime/pinning.js');
  const project = projectFrom(argv);
  const names = (argv.plugins ?? []).map(checkPluginName);
  const results = await lockPlugins(project, names);
  const failed = results.some((result) => result.change === 'failed');

  if (argv.json) {
    printJson({ lockfile: project.lockfile, plugins: results });
    return failed ? ExitCode.lock : ExitCode.ok;
  }

  if (results.length === 0) printMessage(`no plugins found in ${project.pluginsDir}; nothing to lock`);
  for (const result of results) {
    switch (result.change) {
      case 'added':
        printMessage(`locked ${result.name}@${result.version}`);
        break;
      case 'updated': {
        const versions = result.previous?.version === result.version ? `${result.version}, code changed` : `${result.previous?.version} -> ${result.version}`;
        printMessage(`re-locked ${result.name} (${versions})`);
        break;
      }
      case 'unchanged':
        printMessage(`${result.name}@${result.version} is already locked`);
        break;
      case 'removed':
        printMessage(`removed ${result.name}: it is in the lockfile but has no plugin folder`);
        break;
      case 'failed':
        printMessage(`failed to lock ${result.name}: ${result.error}`);
        break;
    }
    if (result.browserBuilds === true) {
      printMessage(
        `${result.name} uses the browser builds of its dependencies: their Node builds import Node built-ins, which plugins cannot import (see docs/compat.md)`,
      );
    }
    if (result.pending.length > 0) {
      printMessage(
        `${result.name} requests ${result.pending.join(', ')}, not granted; to allow: plugrun grant ${result.name} ${result.pending.join(' ')}`,
      );
    }
  }
  return failed ? ExitCode.lock : ExitCode.ok;
};

/** The `lock` command. */
export const lockCommand: CommandModule<GlobalArgs, LockArgs> = {
  command: 'lock [plugins..]',
  describe: 'Pin plugins at their current version and code in the lockfile',
  builder: (yargs) =>
    yargs
      .positional('plugins', { type: 'string', array: true, describe: 'Plugins to pin (default: all, and remove entries without a folder)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' })
      .example('$0 lock', 'Pin every plugin in plugins/')
      .example('$0 lock notes', 'Re-pin one plugin after reviewing its change') as never,
  handler: runHandler(lock),
};

/**
 * `plugrun new <name>`: scaffold a plugin folder that passes `plugrun check`,
 * locks, and runs under `plugrun start`, and print the next steps.
 */

import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { CommandModule } from 'yargs';

import { ExitCode, printJson, printMessage } from '../output.js';
import { checkPluginName } from './grant.js';
import { projectFrom, runHandler, usageError, type GlobalArgs } from './common.js';

interface NewArgs extends GlobalArgs {
  readonly name: string;
  readonly description?: string;
  readonly author?: string;
  readonly license: string;
  readonly json: boolean;
}

/** Returns the name of the user running plugrun, the default author. `os.userInfo` throws for a uid without a passwd entry. */
const currentUser = (): string => {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
};

/** Quotes a shell argument when it needs it, so a printed command can be pasted. */
const shellWord = (word: string): string => (/^[\w./:@=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

const scaffold = async (argv: NewArgs): Promise<number> => {
  const { scaffoldPlugin, PluginExistsError } = await import('../../runtime/scaffold.js');
  const name = checkPluginName(argv.name);
  const project = projectFrom(argv);

  const nonEmpty = (value: string | undefined, option: string): string | undefined => {
    if (value !== undefined && value.trim() === '') throw usageError(`--${option} must not be empty`);
    return value?.trim();
  };
  const options = {
    name,
    description: nonEmpty(argv.description, 'description') ?? `The ${name} plugin.`,
    author: nonEmpty(argv.author, 'author') ?? currentUser(),
    license: nonEmpty(argv.license, 'license') ?? 'MIT',
  };

  let result;
  try {
    result = scaffoldPlugin(project, options);
  } catch (error) {
    if (error instanceof PluginExistsError) throw usageError(error.message, error);
    throw error;
  }

  if (argv.json) {
    printJson(result);
    return ExitCode.ok;
  }

  // The next steps name the project the same way this command was given it.
  const cwd = process.cwd();
  const relativeDir = path.relative(cwd, result.dir) || '.';
  const dirOption = project.root === cwd ? '' : ` --dir ${shellWord(path.relative(cwd, project.root) || '.')}`;
  const testPath = path.join(relativeDir, 'test', `${name}.test.mjs`);
  printMessage(
    [
      `created ${relativeDir}${path.sep}: ${result.files.join(', ')}`,
      'next steps:',
      `  plugrun check ${name}${dirOption}          parse the code and validate plugin.json`,
      `  plugrun lock ${name}${dirOption}           pin the plugin in the lockfile, after review`,
      `  plugrun start --once${dirOption}         run every locked plugin's start() and stop()`,
      `  plugrun call ${name} hello '{"name":"Ada"}'${dirOption}`,
      `  PLUGRUN_BIN=${shellWord(fileURLToPath(new URL('../main.js', import.meta.url)))} node ${shellWord(testPath)}`,
      '      run its test (needs uvu in the project: npm install --save-dev uvu)',
    ].join('\n'),
  );
  return ExitCode.ok;
};

/** The `new` command. */
export const newCommand: CommandModule<GlobalArgs, NewArgs> = {
  command: 'new <name>',
  describe: 'Create a plugin folder with a manifest, an entry, a README and a test',
  builder: (yargs) =>
    yargs
      .positional('name', { type: 'string', demandOption: true, describe: 'Plugin name: lowercase letters, digits, "-" and "_"' })
      .option('description', { type: 'string', describe: 'The manifest\'s description', defaultDescription: '"The <name> plugin."' })
      .option('author', { type: 'string', describe: 'The manifest\'s author', defaultDescription: 'your user name' })
      .option('license', { type: 'string', default: 'MIT', describe: 'The manifest\'s license, an SPDX identifier' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the folder and files created as JSON' })
      .example('$0 new weather', 'Create plugins/weather/')
      .example('$0 new weather --author "Ada Lovelace" --license Apache-2.0', 'Set manifest fields') as never,
  handler: runHandler(scaffold),
};

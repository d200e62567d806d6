/**
 * `plugrun grant` and `plugrun revoke`: add or remove capability strings in a
 * plugin's lockfile entry. Every string passes the one shared parser, so the
 * lockfile only ever holds normalised grants.
 */

import path from 'node:path';

import type { CommandModule } from 'yargs';

import { PLUGIN_NAME_PATTERN } from '../../capabilities/msg.js';
import type { ProjectPaths } from '../../runtime/project.js';
import { changeGrants, type GrantOperation } from '../grant-change.js';
import { ExitCode, printJson, printMessage } from '../output.js';
import { asUsageError, projectFrom, runHandler, usageError, type GlobalArgs } from './common.js';

interface GrantArgs extends GlobalArgs {
  readonly plugin: string;
  readonly capabilities: string[];
  readonly json: boolean;
}

/** Checks a plugin name from the command line; a bad one is a usage error. */
export const checkPluginName = (alleged: string): string => {
  if (!PLUGIN_NAME_PATTERN.test(alleged)) {
    throw usageError(
      `invalid plugin name "${alleged}": use 1 to 64 lowercase letters, digits, "-" or "_", starting with a letter or digit`,
    );
  }
  return alleged;
};

/** Parses capability strings from the command line; the first invalid one is a usage error listing the valid forms. */
const parseArguments = async (alleged: readonly string[]): Promise<string[]> => {
  const { parseCapability } = await import('../../capabilities/capability-string.js');
  try {
    return [...new Set(alleged.map((text) => parseCapability(text).text))];
  } catch (error) {
    throw asUsageError(error);
  }
};

/** Reads what the plugin's manifest requests, or undefined when it cannot be read. */
const requestedBy = async (project: ProjectPaths, name: string): Promise<readonly string[] | undefined> => {
  const { loadManifest } = await import('../../runtime/manifest.js');
  const result = await loadManifest(path.join(project.pluginsDir, name), name);
  return result.ok ? (result.manifest.capabilities ?? []) : undefined;
};

const change = (op: GrantOperation) => async (argv: GrantArgs): Promise<number> => {
  const project = projectFrom(argv);
  const name = checkPluginName(argv.plugin);
  const capabilities = await parseArguments(argv.capabilities);
  const { changed, unchanged, grants } = await changeGrants({ project, plugin: name, op, capabilities });

  const requested = await requestedBy(project, name);
  const unrequested = op === 'grant' && requested !== undefined ? changed.filter((text) => !requested.includes(text)) : [];

  if (argv.json) {
    printJson({ plugin: name, [op === 'grant' ? 'granted' : 'revoked']: changed, unchanged, grants, unrequested });
    return ExitCode.ok;
  }
  for (const text of changed) printMessage(op === 'grant' ? `granted ${text} to ${name}` : `revoked ${text} from ${name}`);
  for (const text of unchanged) {
    printMessage(op === 'grant' ? `${name} already has ${text}` : `${name} has no grant ${text}; nothing to revoke`);
  }
  for (const text of unrequested) {
    printMessage(`note: ${name} does not request ${text} in its manifest; the grant is in force and listed as unrequested`);
  }
  return ExitCode.ok;
};

const builder = (verb: 'grant' | 'revoke') => (yargs: import('yargs').Argv<GlobalArgs>) =>
  yargs
    .positional('plugin', { type: 'string', demandOption: true, describe: 'Plugin name' })
    .positional('capabilities', { type: 'string', array: true, demandOption: true, describe: 'Capability strings' })
    .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' })
    .example(`$0 ${verb} weather net:api.example.com`, verb === 'grant' ? 'Allow HTTP requests to one host' : 'Stop allowing them')
    .example(`$0 ${verb} notes db:notes fs:exports/`, `${verb === 'grant' ? 'Grant' : 'Revoke'} two capabilities at once`) as never;

/** The `grant` command. */
export const grantCommand: CommandModule<GlobalArgs, GrantArgs> = {
  command: 'grant <plugin> <capabilities..>',
  describe: 'Add grants to a plugin in the lockfile',
  builder: builder('grant'),
  handler: runHandler(change('grant')),
};

/** The `revoke` command. */
export const revokeCommand: CommandModule<GlobalArgs, GrantArgs> = {
  command: 'revoke <plugin> <capabilities..>',
  describe: 'Remove grants from a plugin in the lockfile',
  builder: builder('revoke'),
  handler: runHandler(change('revoke')),
};

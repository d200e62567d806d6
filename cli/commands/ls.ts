/**
 * `plugrun ls`: every plugin with its version, lock state, requested,
 * granted and pending capabilities, and its database's size and tables.
 */

import type { CommandModule } from 'yargs';

import type { PluginListing } from '../../runtime/pinning.js';
import { escapeForTerminal, ExitCode, printData, printJson, printMessage } from '../output.js';
import { projectFrom, runHandler, type GlobalArgs } from './common.js';

interface LsArgs extends GlobalArgs {
  readonly json: boolean;
}

const list = (texts: readonly string[]) => (texts.length === 0 ? '-' : texts.join(' '));

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB'];

/** Formats a byte count with binary units: `512 B`, `24.0 KiB`, `1.5 MiB`. */
const formatBytes = (bytes: number): string => {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
};

/** Formats the DB and TABLES cells: the size on disk, and each table as `name=rows`. */
const databaseCells = (database: PluginListing['database']): [string, string] => {
  if (database === null) return ['-', '-'];

  const size = formatBytes(database.bytes);
  if (database.tables === null) return [size, 'damaged'];

  const tables = database.tables.length === 0 ? '-' : database.tables.map((table) => `${table.name}=${table.rows}`).join(' ');
  return [size, database.problem === undefined ? tables : `${tables} (damaged)`];
};

/** Formats listings as an aligned table, one plugin per row. */
const formatTable = (plugins: readonly PluginListing[]): string[] => {
  const header = ['NAME', 'VERSION', 'LOCK', 'GRANTED', 'PENDING', 'DB', 'TABLES'];
  const rows = plugins.map((plugin) =>
    [plugin.name, plugin.version ?? '-', plugin.lock, list(plugin.granted), list(plugin.pending), ...databaseCells(plugin.database)].map(
      escapeForTerminal,
    ),
  );
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
};

const ls = async (argv: LsArgs): Promise<number> => {
  const { formatProblem } = await import('../../runtime/json-file.js');
  const { listPlugins } = await import('../../runtime/pinning.js');
  const project = projectFrom(argv);
  const { plugins, lock, discovery } = await listPlugins(project);

  if (argv.json) {
    printJson({ lockfile: { path: project.lockfile, state: lock.state }, plugins });
    return ExitCode.ok;
  }

  for (const note of discovery.notes) printMessage(formatProblem(note));
  if (lock.state === 'missing') printMessage(`${project.lockfile} not found: nothing is granted; run plugrun lock to pin the plugins`);
  if (lock.state === 'invalid') {
    printMessage(`${project.lockfile} is invalid, so nothing is granted:\n${lock.problems.map(formatProblem).join('\n')}`);
  }
  if (plugins.length === 0) {
    printMessage(`no plugins in ${project.pluginsDir}`);
    return ExitCode.ok;
  }

  for (const line of formatTable(plugins)) printData(line);
  for (const plugin of plugins) {
    if (plugin.problem) printMessage(`${plugin.name}: ${plugin.problem}`);
    if (plugin.database?.problem !== undefined) printMessage(`${plugin.name}: ${plugin.database.problem}`);
    if (plugin.unrequested.length > 0 && plugin.lock !== 'missing') {
      printMessage(`${plugin.name}: granted but not requested: ${plugin.unrequested.join(' ')}`);
    }
    if (plugin.pending.length > 0) {
      printMessage(`${plugin.name}: to grant its pending requests run: plugrun grant ${plugin.name} ${plugin.pending.join(' ')}`);
    }
  }
  return ExitCode.ok;
};

/** The `ls` command. */
export const lsCommand: CommandModule<GlobalArgs, LsArgs> = {
  command: 'ls',
  describe: 'List plugins with their lock state, capabilities and database tables',
  builder: (yargs) =>
    yargs
      .option('json', { type: 'boolean', default: false, describe: 'Print the list as JSON' })
      .example('$0 ls', 'Show every plugin, its grants and pending requests')
      .example('$0 ls --json | jq ".plugins[].pending"', 'Pending requests, for scripts')
      .example('$0 ls --json | jq ".plugins[].database.tables"', 'Tables and row counts of each database') as never,
  handler: runHandler(ls),
};

#!/usr/bin/env node
/**
 * The `plugrun` command line: global options, the commands, and the mapping
 * from failures to exit statuses (0 success, 1 runtime failure, 2 usage
 * error, 3 lock or integrity failure, 4 permission denied).
 */

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

import { auditCommand } from './commands/audit.js';
import { callCommand } from './commands/call.js';
import { checkCommand } from './commands/check.js';
import { grantCommand, revokeCommand } from './commands/grant.js';
import { lockCommand } from './commands/lock.js';
import { lsCommand } from './commands/ls.js';
import { newCommand } from './commands/new.js';
import { startCommand } from './commands/start.js';
import { closestName } from '../runtime/json-file.js';
import { ExitCode, handleClosedOutput, printMessage } from './output.js';

/** Every long option of every command, for suggestions; yargs 18 does not expose its own list to `fail`. */
const KNOWN_OPTIONS = [
  'dir', 'plugins-dir', 'lockfile', 'state-dir', 'once', 'tui', 'no-tui', 'json', 'help', 'version',
  'plugin', 'cap', 'op', 'outcome', 'since', 'until', 'limit', 'follow',
  'frozen', 'description', 'author', 'license',
];

/** Suggests the closest known option for each unknown one in yargs' "Unknown argument(s): a, b" message. */
const suggestOption = (message: string, known: readonly string[]): string => {
  const unknown = /^Unknown arguments?: (.+)$/.exec(message)?.[1];
  if (unknown === undefined) return '';
  // yargs also lists the camelCase form of each dashed name; one form is enough.
  const names = unknown.split(', ').filter((name) => !/[A-Z]/.test(name));
  const hints = names.flatMap((name) => {
    // An option of another command: a suggestion of the same name would read as nonsense.
    if (known.includes(name)) return [`--${name} is an option of another command, not of this one; run plugrun <command> --help to list its options`];
    const closest = closestName(name, known);
    return closest === undefined ? [] : [`Did you mean --${closest} instead of --${name}?`];
  });
  return hints.length === 0 ? '' : `. ${hints.join(' ')}`;
};

// `| head` closes stdout early; that ends the output, not the process with a stack trace.
handleClosedOutput();

const cli = yargs(hideBin(process.argv))
  .scriptName('plugrun')
  .usage('$0 <command> [options]\n\nRuns untrusted plugins in SES compartments, one worker each, under the grants in plugin.lock.json.')
  .option('dir', { type: 'string', describe: 'Project folder', default: '.', defaultDescription: 'current folder', global: true })
  .option('plugins-dir', { type: 'string', describe: 'Plugins folder', defaultDescription: '<dir>/plugins', global: true })
  .option('lockfile', { type: 'string', describe: 'Lockfile path', defaultDescription: '<dir>/plugin.lock.json', global: true })
  .option('state-dir', { type: 'string', describe: 'Runtime state folder', defaultDescription: '<dir>/.plugrun', global: true })
  .command(startCommand)
  .command(grantCommand)
  .command(revokeCommand)
  .command(lockCommand)
  .command(lsCommand)
  .command(callCommand)
  .command(auditCommand)
  .command(checkCommand)
  .command(newCommand)
  .completion('completion', 'Print a bash or zsh completion script; add its output to ~/.bashrc or ~/.zshrc')
  .demandCommand(1, 'Name a command; run plugrun --help to list them.')
  .recommendCommands()
  .strict()
  .alias('h', 'help')
  .alias('v', 'version')
  .epilogue('Docs: README.md and docs/ in the plugrun repository.')
  .wrap(Math.min(100, process.stdout.columns || 100))
  .fail((message, error) => {
    // Errors thrown by handlers are reported by the handlers themselves; this is for usage errors.
    if (error) throw error;
    const hint = suggestOption(message, KNOWN_OPTIONS);
    printMessage(`${message}${hint}\nRun plugrun --help for usage.`);
    process.exit(ExitCode.usage);
  });

await cli.parseAsync();

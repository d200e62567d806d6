/**
 * Commands of the plugrun specification that this version does not have
 * yet. Each is registered, hidden from help, so that typing it gives a
 * clear "not available" error (exit status 2) instead of a suggestion to
 * run a different command.
 */

import type { CommandModule } from 'yargs';

import { ExitCode, printMessage } from '../output.js';
import type { GlobalArgs } from './common.js';

const PLANNED: ReadonlyArray<readonly [string, string]> = [
  ['audit', 'print, filter, follow and verify audit events; until then read .plugrun/audit.ndjson, described in docs/audit.md'],
];

/** One hidden command per planned command. */
export const plannedCommands: Array<CommandModule<GlobalArgs, GlobalArgs>> = PLANNED.map(([name, purpose]) => ({
  command: `${name} [args..]`,
  describe: false,
  builder: (yargs) => yargs.strict(false),
  handler: () => {
    printMessage(`plugrun ${name} is not available in this version of plugrun (it will ${purpose})`);
    process.exitCode = ExitCode.usage;
  },
}));

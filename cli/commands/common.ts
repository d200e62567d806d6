/**
 * Pieces every command shares: the global options, the project they locate,
 * and the wrapper that turns a failure into a message and an exit status.
 */

import { PlugrunError, messageOf } from '../../capabilities/errors.js';
import { resolveProject, type ProjectPaths } from '../../runtime/project.js';
import { CommandError, ExitCode, exitCodeOf, printMessage } from '../output.js';

/** The options every command takes. */
export interface GlobalArgs {
  readonly dir: string;
  readonly 'plugins-dir'?: string;
  readonly lockfile?: string;
  readonly 'state-dir'?: string;
}

/** Locates the project named by the global options. */
export const projectFrom = (argv: GlobalArgs): ProjectPaths =>
  resolveProject({
    dir: argv.dir,
    ...(argv['plugins-dir'] === undefined ? {} : { pluginsDir: argv['plugins-dir'] }),
    ...(argv.lockfile === undefined ? {} : { lockfile: argv.lockfile }),
    ...(argv['state-dir'] === undefined ? {} : { stateDir: argv['state-dir'] }),
  });

/**
 * Wraps a command handler: a thrown error becomes a message on stderr and
 * the matching exit status; a returned number is the exit status.
 */
export const runHandler =
  <Args>(handler: (argv: Args) => Promise<number | void>) =>
  async (argv: Args): Promise<void> => {
    try {
      const code = await handler(argv);
      process.exitCode = code ?? ExitCode.ok;
    } catch (error) {
      printMessage(messageOf(error));
      if (process.env.PLUGRUN_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
      process.exitCode = exitCodeOf(error);
    }
  };

/** Opens the project's audit log with its rotation settings; invalid settings are a usage error. */
export const openAuditLog = async (project: ProjectPaths): Promise<import('../../runtime/audit.js').AuditLog> => {
  const { openProjectAuditLog } = await import('../../runtime/settings.js');
  try {
    return await openProjectAuditLog(project);
  } catch (error) {
    throw asUsageError(error);
  }
};

/** Rejects a bad command-line value as a usage error (exit status 2). */
export const usageError = (message: string, cause?: unknown): CommandError =>
  new CommandError(ExitCode.usage, message, cause === undefined ? undefined : { cause });

/** Turns a `PLUGRUN_INVALID` error from a parser into a usage error, keeping its message. */
export const asUsageError = (error: unknown): unknown =>
  error instanceof PlugrunError && error.code === 'PLUGRUN_INVALID' ? usageError(error.message, error) : error;

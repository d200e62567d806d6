/**
 * `plugrun call <plugin> <command> [json]`: load one plugin and the plugins
 * it depends on, run their `start`, one command with a JSON input, and
 * their `stop`, and print the command's JSON result on stdout. Audit events
 * go to the audit log only, so stdout carries the result and nothing else.
 */

import type { CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';

import { PlugrunError, messageOf } from '../../capabilities/errors.js';
import { CommandError, ExitCode, printJson, printMessage } from '../output.js';
import { checkPluginName } from './grant.js';
import { asUsageError, openAuditLog, projectFrom, runHandler, usageError, type GlobalArgs } from './common.js';

interface CallArgs extends GlobalArgs {
  readonly plugin: string;
  readonly command: string;
  readonly input?: string;
}

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/**
 * Parses the JSON input: an argument, `-` for stdin, or null when absent.
 * yargs-parser reads a lone `-` as an empty flag, so the raw arguments decide.
 */
const parseInput = async (parsed: string | undefined): Promise<unknown> => {
  const alleged = hideBin(process.argv).includes('-') ? '-' : parsed;
  if (alleged === undefined) return null;
  const text = alleged === '-' ? await readStdin() : alleged;
  try {
    return JSON.parse(text);
  } catch (error) {
    const source = alleged === '-' ? 'stdin' : `"${text.length > 60 ? `${text.slice(0, 60)}…` : text}"`;
    // The parser quotes the input, which may span lines; one line keeps the message readable.
    const reason = messageOf(error).replace(/\s+/g, ' ');
    throw usageError(`invalid JSON input from ${source} (${reason}); pass a JSON value such as '{"text":"hello"}'`);
  }
};

const call = async (argv: CallArgs): Promise<number> => {
  const { Host } = await import('../../runtime/host.js');
  const project = projectFrom(argv);
  const name = checkPluginName(argv.plugin);
  const input = await parseInput(argv.input);

  const audit = await openAuditLog(project);
  const host = new Host({ project, audit, only: [name], report: printMessage, restart: false });
  try {
    try {
      await host.load();
    } catch (error) {
      throw asUsageError(error);
    }
    const supervisor = host.supervisor(name);
    if (supervisor === undefined || supervisor.state !== 'loaded') return host.exitCode() || ExitCode.failure;

    if (!supervisor.exports.commands.includes(argv.command)) {
      const known = supervisor.exports.commands.length > 0 ? supervisor.exports.commands.join(', ') : 'none';
      throw usageError(`plugin "${name}" has no command "${argv.command}"; its commands: ${known}`);
    }

    await host.startAll();
    const stateAfterStart: string = supervisor.state;
    if (stateAfterStart !== 'running') return ExitCode.failure;

    const started = performance.now();
    let result: unknown;
    try {
      result = await supervisor.command(argv.command, input);
    } catch (error) {
      const failure = error instanceof PlugrunError ? error : new PlugrunError('PLUGRUN_FAILED', messageOf(error));
      audit.write({ plugin: name, cap: 'runtime', op: 'command', target: argv.command, outcome: 'error', ms: performance.now() - started, error: { code: failure.code, message: failure.message } });
      const exitCode = failure.code === 'PLUGRUN_DENIED' ? ExitCode.denied : ExitCode.failure;
      throw new CommandError(exitCode, `${name} ${argv.command} failed: ${failure.code}: ${failure.message}`, { cause: error });
    }
    audit.write({ plugin: name, cap: 'runtime', op: 'command', target: argv.command, outcome: 'allowed', ms: performance.now() - started });
    audit.flush();
    printJson(result === undefined ? null : result);
    return ExitCode.ok;
  } finally {
    await host.stopAll();
    audit.close();
  }
};

/** The `call` command. */
export const callCommand: CommandModule<GlobalArgs, CallArgs> = {
  command: 'call <plugin> <command> [input]',
  describe: "Run one command of one plugin and print its JSON result",
  builder: (yargs) =>
    yargs
      .positional('plugin', { type: 'string', demandOption: true, describe: 'Plugin name' })
      .positional('command', { type: 'string', demandOption: true, describe: 'Command exported by the plugin' })
      .positional('input', { type: 'string', describe: 'JSON input, or - to read it from stdin' })
      .example(`$0 call greeter greet '{"name":"Ada"}'`, 'Run one command with a JSON input')
      .example(`echo '{"name":"Ada"}' | $0 call greeter greet -`, 'Read the input from stdin') as never,
  handler: runHandler(call),
};

/**
 * The two output streams of every command. stdout carries data only (JSON,
 * NDJSON, tables a script may parse); stderr carries messages for people.
 * Text that may come from a plugin or its manifest is escaped before it
 * reaches a terminal, so it cannot move the cursor, restyle rows or set the
 * window title.
 */

import { PlugrunError } from '../capabilities/errors.js';

/** Exit statuses of every command. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  lock: 3,
  denied: 4,
} as const;

/** A failure of a command, with the exit status it ends with. */
export class CommandError extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CommandError';
    this.exitCode = exitCode;
  }
}

// C0 and C1 controls, DEL, and the marks that can reorder, hide or break
// text. Those are the bidi controls (U+061C, U+200E-F, U+202A-E, U+2066-9),
// zero-width and invisible characters (soft hyphen, U+180E, U+200B-D,
// U+2060-4, U+FEFF), the line and paragraph separators (U+2028-9) and the
// interlinear annotation marks (U+FFF9-B).
const unsafeCharacters =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]/g;

/** Escapes control characters, escape sequences and bidi marks as `\u001b`-style text; keeps tabs and newlines. */
export const escapeForTerminal = (text: string): string =>
  text.replace(unsafeCharacters, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);

let stdoutClosed = false;
const stdoutCloseListeners = new Set<() => void>();

const isBrokenPipe = (error: NodeJS.ErrnoException): boolean => error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED';

/**
 * Handles a reader of stdout or stderr that went away, as `head` does: the
 * write fails with EPIPE, which would otherwise end the process with a stack
 * trace. Data written to stdout after that is dropped, and the promises of
 * `whenStdoutClosed` resolve, so a long-running command can stop.
 */
export const handleClosedOutput = (): void => {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (!isBrokenPipe(error)) throw error;
    if (stdoutClosed) return;
    stdoutClosed = true;
    for (const listener of stdoutCloseListeners) listener();
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (!isBrokenPipe(error)) throw error;
  });
};

/** Resolves once the reader of stdout has gone away. */
export const whenStdoutClosed = (): Promise<void> =>
  new Promise((resolve) => {
    if (stdoutClosed) resolve();
    else stdoutCloseListeners.add(resolve);
  });

/** Writes one line of data to stdout, or nothing once its reader has gone away. */
export const printData = (line: string): void => {
  if (stdoutClosed) return;
  process.stdout.write(`${line}\n`);
};

/** Writes a value as JSON on stdout: indented on a terminal, one line otherwise. */
export const printJson = (value: unknown): void => {
  printData(process.stdout.isTTY ? JSON.stringify(value, null, 2) : JSON.stringify(value));
};

/** Writes a message for people to stderr, escaped, each line prefixed with `plugrun: `. */
export const printMessage = (message: string): void => {
  const lines = escapeForTerminal(message).split('\n');
  process.stderr.write(`${lines.map((line) => `plugrun: ${line}`).join('\n')}\n`);
};

/** Decides whether a stream may use colours: NO_COLOR turns them off, FORCE_COLOR on. */
export const useColor = (stream: NodeJS.WriteStream): boolean => {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
};

/**
 * Returns the variable that marks this process as run by a CI service, by
 * the rule Ink itself uses, or undefined. Under such a variable Ink draws
 * only the last frame, so no dashboard is shown.
 */
export const ciVariable = (env: NodeJS.ProcessEnv = process.env): 'CI' | 'CONTINUOUS_INTEGRATION' | undefined =>
  (['CI', 'CONTINUOUS_INTEGRATION'] as const).find((name) => name in env && env[name] !== '0' && env[name] !== 'false');

/** Maps an error to the exit status of the command that failed with it. */
export const exitCodeOf = (error: unknown): number => {
  if (error instanceof CommandError) return error.exitCode;
  if (error instanceof PlugrunError && error.name === 'LockfileError') return ExitCode.lock;
  if (error instanceof PlugrunError && error.code === 'PLUGRUN_DENIED') return ExitCode.denied;
  return ExitCode.failure;
};

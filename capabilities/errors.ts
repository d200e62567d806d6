/**
 * The four error codes a plugin can see, and the error class that carries them.
 *
 * This is the lowest layer of plugrun: capabilities, the runtime and the CLI
 * all throw `PlugrunError`, and the code survives the trip from the host to
 * the plugin's worker as `{ code, message }`.
 */

/** Stable codes of rejected `ctx` calls, as documented in docs/errors.md. */
export const ERROR_CODES = ['PLUGRUN_DENIED', 'PLUGRUN_INVALID', 'PLUGRUN_LIMIT', 'PLUGRUN_FAILED'] as const;

/** One of the stable error codes. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error with a stable `code`, safe to show to a plugin and to a user. */
export class PlugrunError extends Error {
  /** The stable code, one of `ERROR_CODES`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PlugrunError';
    this.code = code;
  }
}

/** Checks whether a value is one of the stable error codes. */
export const isErrorCode = (value: unknown): value is ErrorCode =>
  typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);

/** Builds the `PLUGRUN_INVALID` error for a bad argument. */
export const invalid = (message: string, cause?: unknown): PlugrunError =>
  new PlugrunError('PLUGRUN_INVALID', message, cause === undefined ? undefined : { cause });

/** Builds the `PLUGRUN_FAILED` error for an allowed operation that failed. */
export const failed = (message: string, cause?: unknown): PlugrunError =>
  new PlugrunError('PLUGRUN_FAILED', message, cause === undefined ? undefined : { cause });

/** Builds the `PLUGRUN_LIMIT` error; the message names the limit. */
export const limit = (message: string): PlugrunError => new PlugrunError('PLUGRUN_LIMIT', message);

/** A `PLUGRUN_DENIED` error that carries the capability string that would have allowed the call. */
export class DeniedError extends PlugrunError {
  /** The capability string whose grant would allow the call. */
  readonly needed: string;

  constructor(plugin: string, needed: string) {
    super('PLUGRUN_DENIED', `plugin "${plugin}" has no grant for ${needed}; to allow it run: plugrun grant ${plugin} ${needed}`);
    this.needed = needed;
  }
}

/**
 * Builds the `PLUGRUN_DENIED` error, naming the capability needed and the exact
 * command that grants it.
 */
export const denied = (plugin: string, needed: string): DeniedError => new DeniedError(plugin, needed);

/** Returns the message of any thrown value. */
export const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

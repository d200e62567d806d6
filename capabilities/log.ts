/**
 * `ctx.log`: the plugin's log lines. They need no grant and do nothing
 * themselves: the host writes each one to the audit log as an event with
 * `cap` `log`, `op` the level, and the message and fields taken from
 * `audit`. Control characters stay in the text, so whatever shows an event
 * on a terminal must escape them.
 */

import { assertArgumentCount, expectJsonValue, expectPlainObject, expectString, type JsonValue } from './arguments.js';
import type { CapabilityFactory, CheckedCall, Operation } from './types.js';

/** Log levels, which are the names of the `ctx.log` methods. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Maximum length of a log message in UTF-16 code units. A longer message is cut and marked. */
export const LOG_MESSAGE_MAX_CHARS = 8192;

/** Maximum size of a log line's fields as JSON, in bytes. */
export const LOG_FIELDS_MAX_BYTES = 16 * 1024;

/** Arguments of a log call after checking. */
export interface LogArgs {
  readonly message: string;
  readonly fields: Readonly<Record<string, JsonValue>> | undefined;
}

/** Cuts a message to LOG_MESSAGE_MAX_CHARS and appends a marker with the number of characters cut. */
export const truncateLogMessage = (message: string): string => {
  if (message.length <= LOG_MESSAGE_MAX_CHARS) return message;

  // Cutting between the two halves of a surrogate pair would leave half a character.
  let end = LOG_MESSAGE_MAX_CHARS;
  const last = message.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;

  return `${message.slice(0, end)}... [truncated ${message.length - end} characters]`;
};

const makeLogOperation = (level: (typeof LOG_LEVELS)[number]): Operation<LogArgs> => ({
  check(alleged): CheckedCall<LogArgs> {
    const method = `ctx.log.${level}`;
    assertArgumentCount(alleged, 2, method);

    const message = truncateLogMessage(expectString(alleged[0], `${method} message`));
    let fields: Record<string, JsonValue> | undefined;
    if (alleged[1] !== undefined) {
      const object = expectPlainObject(alleged[1], `${method} fields`);
      fields = expectJsonValue(object, `${method} fields`, LOG_FIELDS_MAX_BYTES) as Record<string, JsonValue>;
    }

    return {
      need: null,
      target: '',
      args: { message, fields },
      audit: fields === undefined ? { message } : { message, fields },
    };
  },
  perform: async () => undefined,
});

/** Makes `ctx.log` for one plugin: debug, info, warn and error. */
export const makeLogCapability: CapabilityFactory = () => ({
  operations: Object.fromEntries(LOG_LEVELS.map((level) => [level, makeLogOperation(level)])),
  teardown: async () => {},
});

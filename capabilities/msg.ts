/**
 * `msg:<plugin>` grants and `ctx.plugins.call`: calling the commands of
 * another plugin. Plugin names follow the manifest's rule, so a grant can only
 * name a plugin that could exist. The input and the result cross as copies
 * (structured clone through the host), so neither plugin ever holds an
 * object of the other, and an error thrown by the target reaches the caller
 * as a new `PLUGRUN_FAILED` error carrying only the target's message.
 */

import { assertArgumentCount, expectJsonValue, expectString, quote, type JsonValue } from './arguments.js';
import type { KindParseResult } from './capability-string.js';
import { invalid, limit } from './errors.js';
import type { CapabilityFactory, MsgCapability, Need, Operation } from './types.js';

/** The need of a `ctx.plugins.call`: the name of the plugin called. */
export type MsgNeed = Extract<Need, { kind: 'msg' }>;

/** Rule for plugin names, the same as for the manifest's `name` and the plugin's folder. */
export const PLUGIN_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Rule for command names: a JavaScript identifier of at most 128 characters, as `commands` keys are. */
export const COMMAND_NAME_PATTERN = /^[A-Za-z_$][A-Za-z0-9_$]{0,127}$/;

/** Maximum size of a call's input as JSON, in bytes. */
export const CALL_INPUT_MAX_BYTES = 1024 * 1024;

/**
 * Most plugin-to-plugin calls in one chain. A cycle (a calls b, b calls a)
 * stops here with `PLUGRUN_LIMIT` instead of growing until a timeout.
 */
export const MAX_CALL_DEPTH = 16;

/** Returns a sentence saying what is wrong with a plugin name, or undefined when it is valid. */
export const findPluginNameProblem = (name: string): string | undefined =>
  PLUGIN_NAME_PATTERN.test(name)
    ? undefined
    : 'must be 1 to 64 lowercase letters, digits, "_" or "-", starting with a letter or digit';

/** Parses the part after `msg:`. */
export const parseMsgCapability = (body: string): KindParseResult<MsgCapability> => {
  if (body === '') return { problem: 'the plugin name is missing; name one, as in msg:notes' };

  const problem = findPluginNameProblem(body);
  if (problem !== undefined) return { problem: `the plugin name ${quote(body)} ${problem}` };

  return { capability: { kind: 'msg', plugin: body } };
};

/** Returns the canonical text of a msg capability, such as `msg:notes`. */
export const formatMsgCapability = (capability: MsgCapability): string => `msg:${capability.plugin}`;

/** Checks whether a msg grant covers a msg need: the same plugin. */
export const msgGrantCovers = (grant: MsgCapability, need: MsgNeed): boolean => grant.plugin === need.plugin;

/** Returns the capability string that would allow a msg need, such as `msg:notes`. */
export const neededMsgCapability = (need: MsgNeed): string => formatMsgCapability({ kind: 'msg', plugin: need.plugin });

/** Arguments of `call` after checking. */
export interface CallArgs {
  readonly plugin: string;
  readonly command: string;
  /** The input, or null when the plugin omitted it. */
  readonly input: JsonValue;
}

/** Makes `ctx.plugins` for one plugin: call. */
export const makeMsgCapability: CapabilityFactory = (env) => {
  const call: Operation<CallArgs> = {
    check(alleged) {
      assertArgumentCount(alleged, 3, 'ctx.plugins.call');

      const plugin = expectString(alleged[0], 'ctx.plugins.call plugin');
      const pluginProblem = findPluginNameProblem(plugin);
      if (pluginProblem !== undefined) throw invalid(`ctx.plugins.call plugin ${quote(plugin)} ${pluginProblem}`);

      // Names such as `constructor` or `__proto__` would find a method of
      // Object.prototype in the other plugin's `commands` object.
      const command = expectString(alleged[1], 'ctx.plugins.call command');
      if (!COMMAND_NAME_PATTERN.test(command) || command in Object.prototype) {
        throw invalid(`ctx.plugins.call command ${quote(command)} is not a valid command name`);
      }

      const input = alleged[2] === undefined ? null : expectJsonValue(alleged[2], 'ctx.plugins.call input', CALL_INPUT_MAX_BYTES);
      return { need: { kind: 'msg', plugin }, target: `${plugin}.${command}`, args: { plugin, command, input } };
    },
    async perform(args, call) {
      const depth = call?.depth ?? 0;
      if (depth >= MAX_CALL_DEPTH) {
        throw limit(
          `ctx.plugins.call ${args.plugin}.${args.command}: the chain of plugin-to-plugin calls is deeper than ${MAX_CALL_DEPTH}; a plugin that calls back into its caller needs a way to stop`,
        );
      }
      return env.plugins.call({ caller: env.plugin.name, plugin: args.plugin, command: args.command, input: args.input, depth });
    },
  };

  return { operations: { call }, teardown: async () => {} };
};

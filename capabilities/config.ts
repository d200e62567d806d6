/**
 * `ctx.config`: the plugin's own settings, kept in its config file under the
 * state folder. Config needs no grant, since a plugin only reaches its own
 * file. Values are not written to the audit log, because plugins keep API
 * keys and tokens there. The audit target is the key.
 */

import { assertArgumentCount, expectJsonValue, expectString, quote, type JsonValue } from './arguments.js';
import { makeConfigStore } from './config-store.js';
import { invalid } from './errors.js';
import type { CapabilityFactory, CheckedCall, Operation } from './types.js';

/** Rule for config keys: 1 to 128 letters, digits, `_`, `.`, `:` or `-`. */
export const CONFIG_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Maximum size of one config value as JSON, in bytes. */
export const CONFIG_VALUE_MAX_BYTES = 64 * 1024;

/** Arguments of `get` after checking. */
export interface ConfigGetArgs {
  readonly key: string;
}

/** Arguments of `set` after checking. */
export interface ConfigSetArgs {
  readonly key: string;
  readonly value: JsonValue;
}

const checkKey = (alleged: unknown, label: string): string => {
  const key = expectString(alleged, label);
  if (!CONFIG_KEY_PATTERN.test(key) || key === '__proto__') {
    throw invalid(`${label} ${quote(key)} is not valid. Keys are 1 to 128 letters, digits, "_", ".", ":" or "-"`);
  }
  return key;
};

/** Makes `ctx.config` for one plugin: get and set, persisted in `env.paths.config`. */
export const makeConfigCapability: CapabilityFactory = (env) => {
  const store = makeConfigStore(env.paths.config);

  const get: Operation<ConfigGetArgs> = {
    check(alleged): CheckedCall<ConfigGetArgs> {
      assertArgumentCount(alleged, 1, 'ctx.config.get');
      const key = checkKey(alleged[0], 'ctx.config.get key');
      return { need: null, target: key, args: { key } };
    },
    perform: ({ key }) => store.get(key),
  };

  const set: Operation<ConfigSetArgs> = {
    check(alleged): CheckedCall<ConfigSetArgs> {
      assertArgumentCount(alleged, 2, 'ctx.config.set');
      const key = checkKey(alleged[0], 'ctx.config.set key');
      const value = expectJsonValue(alleged[1], 'ctx.config.set value', CONFIG_VALUE_MAX_BYTES);
      return { need: null, target: key, args: { key, value } };
    },
    perform: async ({ key, value }) => {
      await store.set(key, value);
      return undefined;
    },
  };

  return { operations: { get, set }, teardown: () => store.flush() };
};

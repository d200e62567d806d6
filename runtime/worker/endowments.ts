/**
 * The globals of a plugin's compartments, beyond the frozen intrinsics every
 * SES compartment has.
 *
 * Each global here carries no authority: no file, network, process or host
 * object is reachable through it. Functions are fresh wrappers, so the plugin
 * never holds Node's own function objects with their extra methods; classes
 * are hardened, so a plugin or one of its dependencies cannot change them for
 * the rest. `process`, `require`, `fetch`, `console` and `Buffer` are absent
 * on purpose: authority comes from `ctx` alone.
 *
 * Runs in the worker after `lockdown()`.
 */

import { webcrypto } from 'node:crypto';

import type { PluginTimers } from '../../capabilities/timers.js';
import type { ErrorMaker } from './ctx.js';

/**
 * Makes a `Compartment` class whose global object also has `global` and
 * `self`, each the compartment's own global object, for CommonJS and UMD
 * libraries that look for one of those names before `globalThis`.
 */
export const makeGlobalAliasCompartment = (): typeof Compartment =>
  class GlobalAliasCompartment extends Compartment {
    constructor(...args: ConstructorParameters<typeof Compartment>) {
      super(...args);
      const global = this.globalThis;
      global.global = global;
      global.self = global;
    }
  };

/**
 * Makes the hardened globals for one plugin. Dates and `Math.random` come
 * from the worker's start compartment, whose `Date` and `Math` keep the wall
 * clock and the random source that lockdown removes from other compartments.
 */
export const makeEndowments = (timers: PluginTimers, makeError: ErrorMaker): Record<string, unknown> => {
  // A bad argument throws an error made in the compartment, as ctx.timers does.
  const guarded =
    <Args extends unknown[], Result>(body: (...args: Args) => Result) =>
    (...args: Args): Result => {
      try {
        return body(...args);
      } catch (error) {
        const { code, message } = error as { code: never; message: string };
        throw makeError({ code, message });
      }
    };

  const crypto = {
    getRandomValues: <T extends ArrayBufferView>(array: T): T => webcrypto.getRandomValues(array as never) as T,
    randomUUID: (): string => webcrypto.randomUUID(),
  };

  return harden({
    Date: globalThis.Date,
    Math: globalThis.Math,
    crypto,
    TextEncoder: globalThis.TextEncoder,
    TextDecoder: globalThis.TextDecoder,
    URL: globalThis.URL,
    URLSearchParams: globalThis.URLSearchParams,
    Intl: globalThis.Intl,
    // SES leaves these out of compartments because the bits of a NaN they
    // store could carry a signal between compartments of one realm. Each
    // plugin has a worker, and so a realm, of its own, and numeric libraries
    // need them, so the plugin gets the hardened intrinsics.
    Float32Array: globalThis.Float32Array,
    Float64Array: globalThis.Float64Array,
    atob: (data: string) => globalThis.atob(data),
    btoa: (data: string) => globalThis.btoa(data),
    structuredClone: (value: unknown, options?: Parameters<typeof globalThis.structuredClone>[1]) =>
      globalThis.structuredClone(value, options),
    queueMicrotask: (callback: () => void) => {
      if (typeof callback !== 'function') throw new TypeError('queueMicrotask: callback must be a function');
      globalThis.queueMicrotask(() => callback());
    },
    setTimeout: guarded((callback: unknown, ms?: unknown, ...args: unknown[]) => timers.setTimeout(callback, ms, ...args)),
    setInterval: guarded((callback: unknown, ms?: unknown, ...args: unknown[]) => timers.setInterval(callback, ms, ...args)),
    clearTimeout: (id: unknown) => timers.clear(id),
    clearInterval: (id: unknown) => timers.clear(id),
  });
};

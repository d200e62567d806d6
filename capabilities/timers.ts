/**
 * Timers for one plugin: `ctx.timers` and the compartment's global
 * `setTimeout`/`setInterval`/`clearTimeout`/`clearInterval`.
 *
 * This capability runs inside the plugin's worker, next to the compartment,
 * since a timer callback is plugin code. It hands out numbers, never Node's
 * `Timeout` objects, which would leak host methods (`ref`, `unref`,
 * `refresh`). Teardown clears every timer and rejects pending sleeps, so no
 * callback runs after the plugin has stopped.
 */

import { PlugrunError } from './errors.js';

/** Maximum delay Node accepts. A longer one would fire at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** The timer functions handed to a plugin, and their teardown. */
export interface PluginTimers {
  setTimeout(callback: unknown, ms?: unknown, ...args: unknown[]): number;
  setInterval(callback: unknown, ms?: unknown, ...args: unknown[]): number;
  clear(id: unknown): void;
  sleep(ms: unknown): Promise<void>;
  /** Clears every timer and rejects pending sleeps; later calls throw. */
  teardown(): void;
}

const checkDelay = (alleged: unknown, method: string): number => {
  if (alleged === undefined) return 0;
  if (typeof alleged !== 'number' || !Number.isFinite(alleged) || alleged < 0) {
    throw new PlugrunError(
      'PLUGRUN_INVALID',
      `${method}: delay must be a finite number of milliseconds, 0 or more (got ${String(alleged)})`,
    );
  }
  if (alleged > MAX_DELAY_MS) {
    throw new PlugrunError('PLUGRUN_INVALID', `${method}: delay ${alleged} ms is over the maximum of ${MAX_DELAY_MS} ms`);
  }
  return alleged;
};

const checkCallback = (alleged: unknown, method: string): ((...args: unknown[]) => unknown) => {
  if (typeof alleged !== 'function') {
    throw new PlugrunError('PLUGRUN_INVALID', `${method}: callback must be a function (got ${typeof alleged})`);
  }
  return alleged as (...args: unknown[]) => unknown;
};

/**
 * Makes the timers of one plugin. `onCallbackError` receives what a callback
 * throws, so one failing callback is reported instead of killing the worker.
 */
export const makeTimers = (onCallbackError: (error: unknown) => void): PluginTimers => {
  const handles = new Map<number, NodeJS.Timeout>();
  const sleepers = new Set<(error: Error) => void>();
  let nextId = 1;
  let stopped = false;

  const assertRunning = (method: string) => {
    if (stopped) throw new PlugrunError('PLUGRUN_FAILED', `${method}: the plugin has stopped, so no timer can be set`);
  };

  const run = (callback: (...args: unknown[]) => unknown, args: unknown[]) => {
    try {
      const result = callback(...args);
      // A rejected promise from an async callback is reported like a throw.
      if (result instanceof Promise) result.catch(onCallbackError);
    } catch (error) {
      onCallbackError(error);
    }
  };

  const schedule = (repeat: boolean, method: string, callback: unknown, ms: unknown, args: unknown[]): number => {
    assertRunning(method);
    const checkedCallback = checkCallback(callback, method);
    const delay = checkDelay(ms, method);
    const id = nextId++;

    const handle = repeat
      ? setInterval(() => run(checkedCallback, args), delay)
      : setTimeout(() => {
          handles.delete(id);
          run(checkedCallback, args);
        }, delay);
    handles.set(id, handle);
    return id;
  };

  return {
    setTimeout: (callback, ms, ...args) => schedule(false, 'setTimeout', callback, ms, args),
    setInterval: (callback, ms, ...args) => schedule(true, 'setInterval', callback, ms, args),
    clear(id) {
      if (typeof id !== 'number') return;
      const handle = handles.get(id);
      if (handle === undefined) return;
      clearTimeout(handle);
      handles.delete(id);
    },
    sleep(ms) {
      try {
        assertRunning('sleep');
        const delay = checkDelay(ms, 'sleep');
        return new Promise<void>((resolve, reject) => {
          const id = nextId++;
          const wake = (error: Error) => {
            clearTimeout(handle);
            handles.delete(id);
            reject(error);
          };
          const handle = setTimeout(() => {
            handles.delete(id);
            sleepers.delete(wake);
            resolve();
          }, delay);
          handles.set(id, handle);
          sleepers.add(wake);
        });
      } catch (error) {
        return Promise.reject(error);
      }
    },
    teardown() {
      stopped = true;
      for (const handle of handles.values()) clearTimeout(handle);
      handles.clear();
      for (const wake of sleepers) wake(new PlugrunError('PLUGRUN_FAILED', 'sleep: the plugin stopped while sleeping'));
      sleepers.clear();
    },
  };
};

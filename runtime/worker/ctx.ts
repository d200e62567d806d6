/**
 * The `ctx` object a plugin receives: its only authority.
 *
 * Every method except the timers and `ctx.log`'s return value is a message
 * to the host, which checks it against the grants, audits it and performs
 * it. The arguments are copied by structured clone as the message is posted,
 * so a getter or Proxy is read exactly once, before any check, and the host
 * never sees a plugin object. `ctx` is hardened: a plugin cannot swap a
 * method of it for the code that shares it.
 */

import type { MessagePort } from 'node:worker_threads';

import { PlugrunError } from '../../capabilities/errors.js';
import { truncateLogMessage } from '../../capabilities/log.js';
import type { PluginTimers } from '../../capabilities/timers.js';
import type { WireError } from '../protocol.js';
import type { LogGate } from './log-gate.js';

/** Turns a wire error into an `Error` made inside the plugin's realm. */
export type ErrorMaker = (error: WireError) => Error;

/** The calls the host can perform, keyed by `ctx` namespace. Each maps to an audit `cap`. */
const HOST_METHODS = {
  fs: { cap: 'fs', ops: ['readFile', 'writeFile', 'appendFile', 'deleteFile', 'list', 'stat'] },
  net: { cap: 'net', ops: ['fetch', 'json'] },
  db: { cap: 'db', ops: ['createTable', 'insert', 'select', 'update', 'delete', 'query'] },
  config: { cap: 'config', ops: ['get', 'set'] },
  plugins: { cap: 'msg', ops: ['call'] },
} as const;

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Sends calls to the host and settles them when replies arrive. */
export interface HostLink {
  /** Tells the host about a call rejected before it was sent, so the audit log still has one event for it. */
  reportRejected(cap: string, op: string, error: PlugrunError): void;
  call(cap: string, op: string, args: unknown[]): Promise<unknown>;
  /** Sends a call that expects no reply; throws `PLUGRUN_INVALID` when the arguments cannot be copied. */
  notify(cap: string, op: string, args: unknown[]): void;
  settle(id: number, ok: boolean, payload: unknown): void;
}

/**
 * Makes the link that numbers calls and matches replies to them.
 * `currentDepth` gives the call depth of the code making a call.
 */
export const makeHostLink = (port: MessagePort, makeError: ErrorMaker, currentDepth: () => number): HostLink => {
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;

  const post = (id: number, cap: string, op: string, args: unknown[]) => {
    try {
      port.postMessage({ type: 'call', id, cap, op, args, depth: currentDepth() });
    } catch (error) {
      // DataCloneError: a function, symbol, or a Proxy's trap threw during the copy.
      throw new PlugrunError(
        'PLUGRUN_INVALID',
        `ctx.${cap}.${op}: arguments must be JSON values or Uint8Array (${(error as Error).message})`,
      );
    }
  };

  const reportRejected = (cap: string, op: string, error: PlugrunError) => {
    port.postMessage({ type: 'rejected-call', cap, op, error: { code: error.code, message: error.message } });
  };

  return {
    reportRejected,
    call(cap, op, args) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        try {
          post(id, cap, op, args);
          pending.set(id, { resolve, reject });
        } catch (error) {
          const { code, message } = error as PlugrunError;
          reportRejected(cap, op, error as PlugrunError);
          reject(makeError({ code, message }));
        }
      });
    },
    notify(cap, op, args) {
      try {
        post(0, cap, op, args);
      } catch (error) {
        const { code, message } = error as PlugrunError;
        reportRejected(cap, op, error as PlugrunError);
        throw makeError({ code, message });
      }
    },
    settle(id, ok, payload) {
      const entry = pending.get(id);
      if (entry === undefined) return;
      pending.delete(id);
      if (ok) entry.resolve(payload);
      else entry.reject(makeError(payload as WireError));
    },
  };
};

/** Builds the hardened `ctx` for one plugin. */
export const makeCtx = (
  plugin: { name: string; version: string },
  link: HostLink,
  timers: PluginTimers,
  makeError: ErrorMaker,
  logGate: LogGate,
): unknown => {
  const ctx: Record<string, unknown> = { plugin: { name: plugin.name, version: plugin.version } };

  for (const [namespace, { cap, ops }] of Object.entries(HOST_METHODS)) {
    const methods: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const op of ops) methods[op] = (...args) => link.call(cap, op, args);
    ctx[namespace] = methods;
  }

  const log: Record<string, (message: unknown, fields?: unknown) => void> = {};
  for (const level of LOG_LEVELS) {
    log[level] = (message, fields) => {
      if (typeof message !== 'string') {
        const error = new PlugrunError(
          'PLUGRUN_INVALID',
          `ctx.log.${level}: message must be a string (got ${message === null ? 'null' : typeof message})`,
        );
        link.reportRejected('log', level, error);
        throw makeError(error);
      }
      if (!logGate.admit()) {
        const error = new PlugrunError('PLUGRUN_LIMIT', `ctx.log.${level}: over the rate of log lines per second (limit logLinesPerSecond); the line was dropped`);
        if (logGate.reportRejection()) link.reportRejected('log', level, error);
        throw makeError(error);
      }
      // A huge message is cut here, so it is never copied to the host whole.
      const text = truncateLogMessage(message);
      link.notify('log', level, fields === undefined ? [text] : [text, fields]);
    };
  }
  ctx.log = log;

  ctx.timers = {
    sleep: (ms: unknown) => timers.sleep(ms).catch((error: PlugrunError) => Promise.reject(makeError(error))),
    setTimeout: (callback: unknown, ms?: unknown, ...args: unknown[]) =>
      wrapSync(makeError, () => timers.setTimeout(callback, ms, ...args)),
    setInterval: (callback: unknown, ms?: unknown, ...args: unknown[]) =>
      wrapSync(makeError, () => timers.setInterval(callback, ms, ...args)),
    clear: (id: unknown) => timers.clear(id),
  };

  return harden(ctx);
};

const wrapSync = <T>(makeError: ErrorMaker, body: () => T): T => {
  try {
    return body();
  } catch (error) {
    const { code, message } = error as PlugrunError;
    throw makeError({ code, message });
  }
};

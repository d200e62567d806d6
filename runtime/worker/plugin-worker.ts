/**
 * The code of a plugin's worker thread, run by worker-entry.ts once SES is
 * installed, from a bundle of this module and its dependencies or as is.
 *
 * Phases, in order:
 * 1. Lock down the worker's realm (SES), so intrinsics are frozen before any
 *    plugin code exists.
 * 2. Receive the archive bytes from the host and recompute the integrity over
 *    exactly those bytes. While parsing, compartment-mapper checks each
 *    module's SHA-512 against the compartment map. Nothing is read from disk.
 * 3. Build the endowments and `ctx`, then evaluate the plugin in its
 *    compartments.
 * 4. Serve `start`, `stop` and commands until the host terminates the worker.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { parentPort } from 'node:worker_threads';

import { isErrorCode, PlugrunError } from '../../capabilities/errors.js';
import { makeTimers } from '../../capabilities/timers.js';
import { computeIntegrity, computeSha512 } from '../integrity.js';
import { explainLoadError } from '../load-errors.js';
import type { HostMessage, InitMessage, InvokeMessage, PluginExports, WireError, WorkerMessage } from '../protocol.js';
import { makeCtx, makeHostLink, type ErrorMaker } from './ctx.js';
import { makeEndowments, makeGlobalAliasCompartment } from './endowments.js';
import { makeLogGate } from './log-gate.js';
import { startMemoryReports } from './memory-report.js';

// Phase 1. SES's own handlers for uncaught errors are off: the worker reports
// them to the host itself, below. `overrideTaming: 'severe'` lets code assign
// a property that a frozen Object.prototype also has (decimal.js assigns
// `constructor` on its instances): the assignment defines the property on
// the object assigned to, and the intrinsics stay frozen.
lockdown({
  errorTaming: 'safe',
  consoleTaming: 'unsafe',
  errorTrapping: 'none',
  unhandledRejectionTrapping: 'none',
  overrideTaming: 'severe',
  localeTaming: 'unsafe',
});

// Loaded after lockdown, and awaited by the first load, since a worker's
// code may be bundled into one CommonJS script, which has no top-level await.
const archiveLoader = import('@endo/compartment-mapper/import-archive.js');

/** Settles when the archive loader is ready; worker-entry.ts then writes the code caches. */
export const ready: Promise<unknown> = archiveLoader;

if (parentPort === null) throw new Error('plugin-worker.js must run in a worker thread');
const port = parentPort;

const send = (message: WorkerMessage) => port.postMessage(message);

// Reports start before any plugin code exists, so the host has a baseline.
startMemoryReports(send);

/** Converts whatever plugin code threw into a code and a message, never keeping the object. */
const toWireError = (error: unknown): WireError => {
  try {
    if (error instanceof Error || (typeof error === 'object' && error !== null)) {
      const { code, message } = error as { code?: unknown; message?: unknown };
      return {
        code: isErrorCode(code) ? code : 'PLUGRUN_FAILED',
        message: typeof message === 'string' ? message : String(error),
      };
    }
    return { code: 'PLUGRUN_FAILED', message: String(error) };
  } catch {
    return { code: 'PLUGRUN_FAILED', message: 'the plugin threw a value that cannot be described' };
  }
};

// Errors reach the plugin as new objects made by a compartment, which carry
// only `code` and `message`, never a host error with its cause and frames.
const errorFactory = new Compartment().evaluate(
  '(code, message) => { const error = new Error(message); error.code = code; return error; }',
) as (code: string, message: string) => Error;
const makeError: ErrorMaker = ({ code, message }) => errorFactory(code, message);

const reportUncaught = (error: unknown) => send({ type: 'uncaught', error: toWireError(error) });
process.on('uncaughtException', reportUncaught);
process.on('unhandledRejection', reportUncaught);

// The depth of the command being run follows its async continuations, so a
// ctx.plugins.call made from it carries the depth and a call cycle is cut.
const callDepth = new AsyncLocalStorage<number>();
/** The archive received does not hash to the lockfile's integrity. */
class IntegrityMismatch extends PlugrunError {
  constructor(message: string) {
    super('PLUGRUN_INVALID', message);
  }
}

const link = makeHostLink(port, makeError, () => callDepth.getStore() ?? 0);
const timers = makeTimers(reportUncaught);

let plugin: {
  namespace: Record<string, unknown>;
  commands: Record<string, unknown>;
  ctx: unknown;
} | undefined;

const load = async (init: InitMessage) => {
  // Phase 2.
  let application: Awaited<ReturnType<Awaited<typeof archiveLoader>['parseArchive']>>;
  try {
    const { parseArchive } = await archiveLoader;
    application = await parseArchive(init.archive, init.name, { computeSha512 });
  } catch (error) {
    // A zip or module hash that does not check out is damage, not a plugin bug.
    throw new IntegrityMismatch(
      `plugin "${init.name}": the archive received by its worker is damaged (${(error as Error).message}); if its files are unchanged, run plugrun lock ${init.name} to rebuild its cached archive`,
    );
  }
  const integrity = computeIntegrity({
    manifestBytes: init.manifestBytes,
    packageJsonBytes: init.packageJsonBytes,
    mapSha512: application.sha512 ?? '',
  });
  if (integrity !== init.integrity) {
    throw new IntegrityMismatch(
      `plugin "${init.name}": the code received by its worker does not match the lockfile (expected ${init.integrity}, got ${integrity}); if its files are unchanged, run plugrun lock ${init.name} to rebuild its cached archive`,
    );
  }

  // Phase 3.
  const ctx = makeCtx({ name: init.name, version: init.version }, link, timers, makeError, makeLogGate(init.logLinesPerSecond));
  // Each package's compartment keeps an extensible global object of its
  // own, as a Node module sees one (zod stores its settings there). Only the
  // package itself sees what it adds, and the endowments stay hardened.
  const { namespace } = (await application.import({
    globals: makeEndowments(timers, makeError),
    Compartment: makeGlobalAliasCompartment(),
    noGlobalFreeze: true,
  })) as {
    namespace: Record<string, unknown>;
  };
  const commandsValue = namespace.commands;
  const commands =
    typeof commandsValue === 'object' && commandsValue !== null ? (commandsValue as Record<string, unknown>) : {};
  plugin = { namespace, commands, ctx };

  const exports: PluginExports = {
    start: typeof namespace.start === 'function',
    stop: typeof namespace.stop === 'function',
    commands: Object.keys(commands).filter((name) => typeof commands[name] === 'function'),
  };
  return exports;
};

const invoke = async (message: InvokeMessage): Promise<unknown> => {
  if (plugin === undefined) throw new PlugrunError('PLUGRUN_FAILED', 'the plugin is not loaded');
  const { namespace, commands, ctx } = plugin;

  if (message.hook === 'command') {
    const name = message.command ?? '';
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (typeof command !== 'function') {
      throw new PlugrunError('PLUGRUN_INVALID', `command "${name}" is not exported by this plugin`);
    }
    return callDepth.run(message.depth ?? 0, () => command(message.input, ctx));
  }

  const hook = namespace[message.hook];
  try {
    if (typeof hook === 'function') return await hook(ctx);
    return undefined;
  } finally {
    // Timers stop with the plugin, whether or not its stop hook succeeded.
    if (message.hook === 'stop') timers.teardown();
  }
};

const answer = (id: number, outcome: Promise<unknown>) => {
  outcome.then(
    (value) => {
      try {
        send({ type: 'invoked', id, ok: true, value });
      } catch (error) {
        send({
          type: 'invoked',
          id,
          ok: false,
          error: { code: 'PLUGRUN_INVALID', message: `the result is not a JSON value (${(error as Error).message})` },
        });
      }
    },
    (error: unknown) => send({ type: 'invoked', id, ok: false, error: toWireError(error) }),
  );
};

port.on('message', (message: HostMessage) => {
  switch (message.type) {
    case 'init':
      load(message).then(
        (exports) => send({ type: 'loaded', exports }),
        (error: unknown) => {
          const explained = explainLoadError(message.name, error);
          const integrityMismatch = error instanceof IntegrityMismatch;
          send({ type: 'load-failed', error: { code: explained.code, message: explained.message }, integrityMismatch });
        },
      );
      return;
    case 'invoke':
      answer(message.id, invoke(message));
      return;
    case 'reply':
      link.settle(message.id, message.ok, message.ok ? message.value : message.error);
      return;
  }
});

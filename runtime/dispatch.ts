/**
 * The one gate every `ctx` call passes through on the host: find the
 * operation, check its arguments, compare its need with the grants in force,
 * write the audit event, and only then perform it.
 *
 * Each call writes exactly one event: `denied` with the capability needed,
 * `error` with the code and message, or `allowed` with the duration. The
 * gate flushes the log before the call settles, so the event is in the file
 * before the result or the error can reach the plugin. The
 * grants are read from the caller state at the moment of each call, so
 * grants replaced there (`setGrants`) apply from the next call.
 */

import { DeniedError, PlugrunError, denied, messageOf } from '../capabilities/errors.js';
import { neededCapability, type GrantSet } from '../capabilities/grant-set.js';
import type { CallContext, CapabilityInstance, Need, PluginIdentity } from '../capabilities/types.js';
import type { AuditInput, AuditLog } from './audit.js';

/** The calling plugin: its identity, capability instances and live grants. */
export interface CallerState {
  readonly plugin: PluginIdentity;
  /** The capability instances of this plugin, keyed by audit `cap`. */
  readonly capabilities: Readonly<Record<string, CapabilityInstance>>;
  /** The grants in force at this moment. */
  grants(): GrantSet;
}

/** Wraps any failure of a perform step as a `PlugrunError`, keeping the cause. */
const asPlugrunError = (error: unknown): PlugrunError =>
  error instanceof PlugrunError ? error : new PlugrunError('PLUGRUN_FAILED', messageOf(error), { cause: error });

/**
 * Checks a further need met while a call is performed (a redirect hop)
 * against the grants, writing a `denied` event when none covers it.
 */
export const authorizeNeed = (caller: CallerState, audit: AuditLog, need: Need, cap: string, op: string, target: string) => {
  if (caller.grants().covers(need)) return;
  const needed = neededCapability(need);
  audit.write({ plugin: caller.plugin.name, cap, op, target, outcome: 'denied', needed });
  const error = denied(caller.plugin.name, needed);
  auditedDenials.add(error);
  throw error;
};

/**
 * Checks a need that only a call's perform step can learn (the tables of a
 * raw query). Throws a `PLUGRUN_DENIED` error without writing an event,
 * because the gate records it as the call's own `denied` event.
 */
export const requireNeed = (caller: CallerState, need: Need): void => {
  if (!caller.grants().covers(need)) throw denied(caller.plugin.name, neededCapability(need));
};

/** Denials that already have their own event, so the gate writes the call's event as an error instead. */
const auditedDenials = new WeakSet<DeniedError>();

/** Runs one `ctx` call through check, grant, audit and perform. */
export const dispatchCall = async (
  caller: CallerState,
  audit: AuditLog,
  cap: string,
  op: string,
  alleged: readonly unknown[],
  call: CallContext = { depth: 0 },
): Promise<unknown> => {
  const plugin = caller.plugin.name;
  const record = (input: AuditInput) => {
    audit.write(input);
    audit.flush();
  };
  // Fields the operation adds to its event while it runs, such as an HTTP
  // status. They come first, so they cannot replace the gate's own fields.
  const annotations: Record<string, unknown> = {};
  const fail = (error: PlugrunError, target: string, ms?: number): never => {
    record({
      ...annotations,
      plugin,
      cap,
      op,
      target,
      outcome: 'error',
      ...(ms === undefined ? {} : { ms }),
      error: { code: error.code, message: error.message },
    });
    throw error;
  };

  // 1. Find the operation.
  const operation = Object.hasOwn(caller.capabilities, cap) ? caller.capabilities[cap]?.operations[op] : undefined;
  if (operation === undefined || !Object.hasOwn(caller.capabilities[cap]!.operations, op)) {
    return fail(new PlugrunError('PLUGRUN_INVALID', `ctx.${cap}.${op} is not a ctx method`), '');
  }

  // 2. Check the arguments; nothing has happened yet.
  let checked;
  try {
    checked = operation.check(alleged, caller.plugin);
  } catch (error) {
    return fail(asPlugrunError(error), '');
  }

  // 3. Compare the need with the grants in force now.
  if (checked.need !== null && !caller.grants().covers(checked.need)) {
    const needed = neededCapability(checked.need);
    record({ plugin, cap, op, target: checked.target, outcome: 'denied', needed });
    throw denied(plugin, needed);
  }

  // 4. Perform, then record how it went.
  const started = performance.now();
  let value: unknown;
  try {
    value = await operation.perform(checked.args, { ...call, annotate: (fields) => Object.assign(annotations, fields) });
  } catch (error) {
    // A need that only perform could learn (a raw query's tables) and no
    // grant covers: the call's one event is the denial.
    if (error instanceof DeniedError && !auditedDenials.has(error)) {
      record({ ...annotations, plugin, cap, op, target: checked.target, outcome: 'denied', needed: error.needed });
      throw error;
    }
    return fail(asPlugrunError(error), checked.target, performance.now() - started);
  }
  // Outside the try: a failed flush must not be recorded as a failure of the call, which did run.
  record({
    ...annotations,
    plugin,
    cap,
    op,
    target: checked.target,
    outcome: 'allowed',
    ms: performance.now() - started,
    ...checked.audit,
  });
  return value;
};

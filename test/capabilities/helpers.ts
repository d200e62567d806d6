/**
 * Helpers shared by the capability tests: a plugin environment in a
 * temporary folder, and assertions on `PlugrunError` codes.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { PlugrunError, type ErrorCode } from '../../capabilities/errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../capabilities/limits.js';
import type { CheckedCall, Operation, PluginEnv } from '../../capabilities/types.js';

/** Caller identity handed to every `check` in these tests. */
export const CALLER = Object.freeze({ name: 'notes', version: '1.0.0' });

/**
 * Makes an environment whose state paths point into `root`. Its `authorize`
 * throws, because no check may call it.
 */
export const makeTestEnv = (root = path.join(os.tmpdir(), 'plugrun-unused'), limits: Partial<Limits> = {}): PluginEnv => ({
  plugin: CALLER,
  paths: {
    data: path.join(root, 'data', CALLER.name),
    db: path.join(root, 'db'),
    config: path.join(root, 'config', `${CALLER.name}.json`),
  },
  limits: { ...DEFAULT_LIMITS, ...limits },
  authorize() {
    throw new Error('authorize must not be called by check');
  },
  requireGrant() {
    throw new Error('requireGrant must not be called by check');
  },
  plugins: {
    call() {
      throw new Error('no other plugin runs in capability tests');
    },
  },
});

/** Makes a temporary folder, runs `body` with it, and removes the folder afterwards. */
export const withTempDir = async (body: (dir: string) => Promise<void>): Promise<void> => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plugrun-capabilities-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/** Runs `action` and returns the `PlugrunError` it throws, failing unless its code is `code`. */
export const expectCode = (action: () => unknown, code: ErrorCode, label = ''): PlugrunError => {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof PlugrunError, `${label}: expected a PlugrunError, got ${String(thrown)}`);
  assert.is((thrown as PlugrunError).code, code, `${label}: ${(thrown as PlugrunError).message}`);
  return thrown as PlugrunError;
};

/** Awaits `promise` and returns the `PlugrunError` it rejects with, failing unless its code is `code`. */
export const expectRejection = async (promise: Promise<unknown>, code: ErrorCode): Promise<PlugrunError> => {
  let thrown: unknown;
  try {
    await promise;
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof PlugrunError, `expected a PlugrunError, got ${String(thrown)}`);
  assert.is((thrown as PlugrunError).code, code, (thrown as PlugrunError).message);
  return thrown as PlugrunError;
};

/** Returns an operation of an instance, failing when it is missing. */
export const operationOf = (operations: Readonly<Record<string, Operation>>, name: string): Operation => {
  const operation = operations[name];
  assert.ok(operation !== undefined, `operation ${name} is missing`);
  return operation as Operation;
};

/** Runs an operation's check with the test caller. */
export const check = (operation: Operation, ...alleged: unknown[]): CheckedCall =>
  operation.check(alleged, CALLER);

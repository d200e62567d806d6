/**
 * A db capability wired as the host wires it, for the db tests: a real
 * sql.js database in a temporary folder, grants that can change between
 * calls, calls that go through the dispatch gate, and the audit log it
 * writes.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { makeDbCapability } from '../../capabilities/db.js';
import { GrantSet } from '../../capabilities/grant-set.js';
import type { Limits } from '../../capabilities/limits.js';
import type { CapabilityInstance, PluginEnv } from '../../capabilities/types.js';
import { AuditLog, type AuditEvent } from '../../runtime/audit.js';
import { authorizeNeed, dispatchCall, requireNeed, type CallerState } from '../../runtime/dispatch.js';
import { CALLER, makeTestEnv } from './helpers.js';

/** Options of one harness. */
export interface HarnessOptions {
  /** Grants in force; default `db:*`. */
  readonly grants?: readonly string[];
  readonly limits?: Partial<Limits>;
  /** State folder to reuse, so a second harness reopens the first one's database; default a new temporary folder. */
  readonly dir?: string;
}

/** A db capability and what surrounds it. */
export interface DbHarness {
  readonly dir: string;
  /** The plugin's database folder. */
  readonly dbFolder: string;
  readonly env: PluginEnv;
  readonly db: CapabilityInstance;
  /** Calls `ctx.db.<op>` through the dispatch gate, as a plugin would. */
  call(op: string, ...args: unknown[]): Promise<unknown>;
  /** Replaces the grants in force. */
  setGrants(grants: readonly string[]): void;
  /** The audit events written so far. */
  events(): AuditEvent[];
  /** Tears the capability down and closes the audit log, keeping the folder. */
  close(): Promise<void>;
}

/** Makes a temporary state folder. */
export const makeStateDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-db-'));

/** Opens a harness; the database worker starts on the first call. */
export const openHarness = (options: HarnessOptions = {}): DbHarness => {
  const dir = options.dir ?? makeStateDir();
  const audit = new AuditLog(path.join(dir, 'audit.ndjson'));
  let grants = new GrantSet(options.grants ?? ['db:*']);
  const state: CallerState & { capabilities: Record<string, CapabilityInstance> } = {
    plugin: CALLER,
    capabilities: {},
    grants: () => grants,
  };

  const base = makeTestEnv(dir, options.limits);
  const env: PluginEnv = {
    ...base,
    authorize: (need, op, target) => authorizeNeed(state, audit, need, need.kind, op, target),
    requireGrant: (need) => requireNeed(state, need),
  };
  const db = makeDbCapability(env);
  state.capabilities.db = db;

  return {
    dir,
    dbFolder: env.paths.db,
    env,
    db,
    call: (op, ...args) => dispatchCall(state, audit, 'db', op, args),
    setGrants(next) {
      grants = new GrantSet(next);
    },
    events: () =>
      fs
        .readFileSync(audit.filePath, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AuditEvent),
    async close() {
      await db.teardown();
      audit.close();
    },
  };
};

/** The notes table most tests use. */
export const NOTES_SCHEMA = {
  columns: {
    title: { type: 'string', required: true, maxLength: 200 },
    done: { type: 'boolean', default: false },
    due: { type: 'date' },
    meta: { type: 'json' },
    rank: { type: 'number' },
  },
  indexes: ['done'],
};

/** Runs `body` with a harness and removes its folder afterwards. */
export const withHarness =
  (options: HarnessOptions, body: (harness: DbHarness) => Promise<void>) =>
  async (): Promise<void> => {
    const harness = openHarness(options);
    try {
      await body(harness);
    } finally {
      await harness.close();
      fs.rmSync(harness.dir, { recursive: true, force: true });
    }
  };

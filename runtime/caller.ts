/**
 * Builds what the dispatch gate needs for one plugin: its capability
 * instances, made with its own state folders and limits, and its grants.
 */

import { makeConfigCapability } from '../capabilities/config.js';
import { makeDbCapability } from '../capabilities/db.js';
import { makeFsCapability } from '../capabilities/fs.js';
import { GrantSet } from '../capabilities/grant-set.js';
import type { Limits } from '../capabilities/limits.js';
import { makeLogCapability } from '../capabilities/log.js';
import { makeMsgCapability } from '../capabilities/msg.js';
import { makeNetCapability } from '../capabilities/net.js';
import type { CapabilityFactory, CapabilityInstance, Need, PluginDirectory, PluginEnv, PluginIdentity } from '../capabilities/types.js';
import type { AuditLog } from './audit.js';
import { authorizeNeed, requireNeed, type CallerState } from './dispatch.js';
import { pluginStatePaths, type ProjectPaths } from './project.js';

/** The capabilities every plugin gets, keyed by the `cap` of their audit events. */
const FACTORIES: Readonly<Record<string, CapabilityFactory>> = {
  fs: makeFsCapability,
  net: makeNetCapability,
  db: makeDbCapability,
  msg: makeMsgCapability,
  config: makeConfigCapability,
  log: makeLogCapability,
};

/** Options of one plugin's caller state. */
export interface CallerOptions {
  readonly project: ProjectPaths;
  readonly audit: AuditLog;
  readonly plugin: PluginIdentity;
  readonly limits: Limits;
  /** The lockfile's grants for this plugin. */
  readonly grants: readonly string[];
  /** The other plugins of the host, for `ctx.plugins.call`. */
  readonly plugins: PluginDirectory;
}

/** A caller state whose grants can be replaced while the plugin runs. */
export interface MutableCallerState extends CallerState {
  /** Replaces the grants in force; the next call is checked against the new set. */
  setGrants(grants: readonly string[]): void;
}

/** Makes the caller state of one plugin. */
export const makeCallerState = (options: CallerOptions): MutableCallerState => {
  let grants = new GrantSet(options.grants);
  const capabilities: Record<string, CapabilityInstance> = {};

  const state: MutableCallerState = {
    plugin: options.plugin,
    capabilities,
    grants: () => grants,
    setGrants(next) {
      grants = new GrantSet(next);
    },
  };

  const env: PluginEnv = {
    plugin: options.plugin,
    paths: pluginStatePaths(options.project, options.plugin.name),
    limits: options.limits,
    authorize: (need: Need, op: string, target: string) => authorizeNeed(state, options.audit, need, need.kind, op, target),
    requireGrant: (need: Need) => requireNeed(state, need),
    findGrant: (need: Need) => state.grants().find(need),
    audit: (event) => options.audit.write({ plugin: options.plugin.name, ...event }),
    plugins: options.plugins,
  };
  for (const [cap, factory] of Object.entries(FACTORIES)) capabilities[cap] = factory(env);

  return state;
};

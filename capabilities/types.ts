/**
 * The shapes every capability shares: parsed capability strings, what a call
 * needs from the grants, and the per-plugin instance that checks and performs
 * calls.
 *
 * Three stages are kept apart by type. A capability string from a manifest is
 * only requested; one from the lockfile is a grant; a `Need` is derived from a
 * `ctx` call's checked arguments and is compared with the grants. Nothing that
 * a plugin sends reaches `perform` without going through `check` first.
 */

import type { Limits } from './limits.js';

/** A capability string after parsing and normalisation. */
export type Capability = FsCapability | NetCapability | DbCapability | MsgCapability;

/** `fs:<dir>/` (access `write`, which includes reading) or `fs.read:<dir>/`. */
export interface FsCapability {
  readonly kind: 'fs';
  readonly access: 'read' | 'write';
  /** Relative, `/`-separated folder ending in `/`, never empty, no `.` or `..` segments. */
  readonly dir: string;
}

/** `net:<host>`, `net:<host>:<port>`, `net:*.<domain>`, or an address literal. */
export interface NetCapability {
  readonly kind: 'net';
  /** Lowercased ASCII host without a trailing dot, the domain for a wildcard, or an address without brackets. */
  readonly host: string;
  readonly hostType: 'name' | 'ipv4' | 'ipv6';
  /** True for `*.<domain>`: subdomains of `host`, not `host` itself. */
  readonly wildcard: boolean;
  /** The only port allowed, or null for any port. */
  readonly port: number | null;
}

/** `db:<table>` or `db:*` (table `*`). */
export interface DbCapability {
  readonly kind: 'db';
  readonly table: string;
}

/** `msg:<plugin>`: call the commands of that other plugin. */
export interface MsgCapability {
  readonly kind: 'msg';
  readonly plugin: string;
}

/** The kinds of capability string. */
export type CapabilityKind = Capability['kind'];

/** A capability string the lockfile grants, with its canonical text. */
export interface Grant {
  readonly text: string;
  readonly capability: Capability;
}

/** The need of one `ctx` call from the grants, derived from its checked arguments. */
export type Need =
  | { readonly kind: 'fs'; readonly access: 'read' | 'write'; /** Checked relative path, `/`-separated, ending in `/` when the call names a folder. */ readonly path: string }
  | { readonly kind: 'net'; readonly host: string; readonly hostType: 'name' | 'ipv4' | 'ipv6'; readonly port: number }
  | { readonly kind: 'db'; readonly table: string }
  | { readonly kind: 'msg'; readonly plugin: string };

/** The calling plugin. */
export interface PluginIdentity {
  readonly name: string;
  readonly version: string;
}

/** A call whose arguments passed validation. */
export interface CheckedCall<Args = unknown> {
  /** The need to compare with the grants, or null when the call only touches the plugin's own state (config, log). */
  readonly need: Need | null;
  /** The thing the call touches, for the audit event: a path, a URL without its query, a table, a key. */
  readonly target: string;
  /** The validated arguments handed to `perform`. */
  readonly args: Args;
  /** Extra fields for the audit event, such as a log message. */
  readonly audit?: Readonly<Record<string, unknown>>;
}

/** One method of `ctx`, split into a pure check and the side effect. */
export interface Operation<Args = any> {
  /**
   * Validates the arguments a plugin sent (already copied out of the plugin's
   * realm) and returns what the call needs. Throws `PLUGRUN_INVALID` on a bad
   * argument. Must not touch the file system, the network or any state.
   */
  check(alleged: readonly unknown[], caller: PluginIdentity): CheckedCall<Args>;
  /** Performs a call whose need the grants cover. Throws `PlugrunError` on failure. */
  perform(args: Args, call?: CallContext): Promise<unknown>;
}

/** Facts about one call that are not its arguments. */
export interface CallContext {
  /**
   * How many plugin-to-plugin calls led to this one: 0 for a call made by
   * `start`, `stop`, a timer or a command run from the command line.
   */
  readonly depth: number;
  /** Adds fields to the call's audit event, such as the status of an HTTP response. */
  annotate?(fields: Readonly<Record<string, unknown>>): void;
}

/** A request from one plugin to run a command of another. */
export interface PluginCallRequest {
  readonly caller: string;
  readonly plugin: string;
  readonly command: string;
  readonly input: unknown;
  /** The depth of the calling `ctx` call; the command runs at `depth + 1`. */
  readonly depth: number;
}

/** The running plugins, as `ctx.plugins.call` reaches them. */
export interface PluginDirectory {
  /** Runs a command of a running plugin and returns its result; throws `PlugrunError`. */
  call(request: PluginCallRequest): Promise<unknown>;
}

/** An audit event that a capability writes for one step of a call. The host adds the plugin's name. */
export interface StepAuditEvent {
  readonly cap: string;
  readonly op: string;
  readonly target: string;
  readonly outcome: 'allowed' | 'error';
  readonly ms?: number;
  readonly error?: { readonly code: string; readonly message: string };
  readonly [field: string]: unknown;
}

/** The host-side environment one plugin's capability instances are made with. */
export interface PluginEnv {
  readonly plugin: PluginIdentity;
  /** Absolute folders of this plugin's state. */
  readonly paths: {
    /** Root of the fs capability: `.plugrun/data/<plugin>/`. */
    readonly data: string;
    /** Folder of the plugin's SQLite data. */
    readonly db: string;
    /** File of the plugin's config values. */
    readonly config: string;
  };
  readonly limits: Limits;
  /**
   * Checks a further need met while performing a call (a redirect hop)
   * against the live grants. When no grant covers it, writes a `denied`
   * audit event and throws `PLUGRUN_DENIED`.
   */
  authorize(need: Need, op: string, target: string): void;
  /**
   * Checks a need of the call itself that only `perform` can learn (the
   * tables a raw query touches) against the live grants. Throws a
   * `PLUGRUN_DENIED` error and writes nothing: the gate records it as the
   * call's one `denied` event.
   */
  requireGrant(need: Need): void;
  /** Returns the live grant that covers a need, or undefined, and writes no event. The net capability reads its address rules from that grant. */
  findGrant?(need: Need): Grant | undefined;
  /** Writes the audit event of one step of a call that is not the call itself, such as a redirect hop. */
  audit?(event: StepAuditEvent): void;
  /** The other plugins, for `ctx.plugins.call`. */
  readonly plugins: PluginDirectory;
}

/** A capability made for one plugin: its `ctx` methods and a teardown for when the plugin stops. */
export interface CapabilityInstance {
  readonly operations: Readonly<Record<string, Operation>>;
  /** Releases what the instance holds (open handles, timers); called once when the plugin stops. */
  teardown(): Promise<void>;
}

/** Makes a capability instance for one plugin. */
export type CapabilityFactory = (env: PluginEnv) => CapabilityInstance;

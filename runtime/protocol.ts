/**
 * Messages between the host and a plugin's worker. Everything crosses by
 * structured clone, so no object of one side is ever shared with the other.
 */

import type { ErrorCode } from '../capabilities/errors.js';

/** An error as it crosses the thread boundary: only a code and a message. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
}

/** Data the worker needs to verify and load its plugin. */
export interface InitMessage {
  readonly type: 'init';
  readonly name: string;
  readonly version: string;
  /** The compartment-mapper archive built by the host. */
  readonly archive: Uint8Array;
  readonly manifestBytes: Uint8Array;
  readonly packageJsonBytes: Uint8Array;
  /** The lockfile's integrity string, which the worker recomputes over the bytes it received. */
  readonly integrity: string;
  /** The plugin's `logLinesPerSecond` limit, which the worker's `ctx.log` applies. */
  readonly logLinesPerSecond: number;
}

/** A lifecycle hook or command that the host requests the plugin to run. */
export interface InvokeMessage {
  readonly type: 'invoke';
  readonly id: number;
  readonly hook: 'start' | 'stop' | 'command';
  readonly command?: string;
  readonly input?: unknown;
  /** For a command run by another plugin's `ctx.plugins.call`: how many calls led to it. */
  readonly depth?: number;
}

/** The host's reply to a `ctx` call. */
export type ReplyMessage =
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: WireError };

/** Messages from the host to a worker. */
export type HostMessage = InitMessage | InvokeMessage | ReplyMessage;

/** The plugin module's exports, reported once it has loaded. */
export interface PluginExports {
  readonly start: boolean;
  readonly stop: boolean;
  readonly commands: readonly string[];
}

/** Messages from a worker to the host. */
export type WorkerMessage =
  | { readonly type: 'loaded'; readonly exports: PluginExports }
  | {
      readonly type: 'load-failed';
      readonly error: WireError;
      /** True when the bytes received do not hash to the lockfile's integrity. */
      readonly integrityMismatch: boolean;
    }
  | {
      /** A ctx call the worker rejected before sending it (arguments that cannot be copied), for the audit log. */
      readonly type: 'rejected-call';
      readonly cap: string;
      readonly op: string;
      readonly error: WireError;
    }
  | {
      readonly type: 'call';
      /** Zero for a call that expects no reply (`ctx.log`). */
      readonly id: number;
      readonly cap: string;
      readonly op: string;
      readonly args: readonly unknown[];
      /** Depth of the command this call was made from (0 outside commands run by other plugins). */
      readonly depth: number;
    }
  | { readonly type: 'invoked'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: 'invoked'; readonly id: number; readonly ok: false; readonly error: WireError }
  | { readonly type: 'uncaught'; readonly error: WireError }
  | {
      /** The worker's own memory usage, in bytes, sent a few times a second. */
      readonly type: 'memory';
      readonly heapUsed: number;
      readonly heapTotal: number;
      /** ArrayBuffers, typed arrays and other memory outside the V8 heap. */
      readonly external: number;
      /** The part of `external` held by ArrayBuffers and typed arrays. */
      readonly arrayBuffers: number;
    };

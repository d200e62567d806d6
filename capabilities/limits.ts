/**
 * Per-plugin limits: their names, units and defaults. A plugin's `limits`
 * object in plugin.lock.json overrides any of them; an unknown key is an
 * error, so a misspelt limit never silently falls back to its default.
 */

import { z } from 'zod';

import { DEFAULT_MEMORY_MB } from './limit-defaults.js';

const MiB = 1024 * 1024;

const positiveInteger = z.number().int().positive();

/** Maximum delay Node's timers accept. A longer one fires at once, with a warning. */
const TIMER_MAX_MS = 2 ** 31 - 1;

/** Maximum of `restartLimit`: a plugin that crashes more often than this needs fixing, not restarting. */
export const RESTART_LIMIT_MAX = 100;

/** Maximum of `restartBackoffMs`, in milliseconds. */
export const RESTART_BACKOFF_MAX_MS = 60_000;

/** Maximum time any HTTP request may take, whatever the lockfile sets, in milliseconds. */
export const NET_TIMEOUT_MAX_MS = 60_000;

/** Schema of the lockfile's `limits` object: every key optional, unknown keys rejected. */
export const LimitsOverrideStruct = z
  .object({
    /** Memory of the plugin's worker, V8 heap plus ArrayBuffers and typed arrays, in MiB. */
    memoryMb: positiveInteger.max(16384).optional(),
    /** Time one command or plugin-to-plugin call may run, in milliseconds. */
    callTimeoutMs: positiveInteger.max(TIMER_MAX_MS).optional(),
    /** Time `start()` may run, in milliseconds. */
    startTimeoutMs: positiveInteger.max(TIMER_MAX_MS).optional(),
    /** Time `stop()` may run, in milliseconds. */
    stopTimeoutMs: positiveInteger.max(TIMER_MAX_MS).optional(),
    /** Total bytes the plugin may keep under its data folder. */
    fsQuotaBytes: positiveInteger.optional(),
    /** Largest file one write may produce, in bytes. */
    fsMaxFileBytes: positiveInteger.optional(),
    /** HTTP requests per minute, redirect hops included. */
    netRequestsPerMinute: positiveInteger.optional(),
    /** HTTP requests per second, redirect hops included: the largest burst. */
    netRequestsPerSecond: positiveInteger.optional(),
    /** Most `ctx.net` calls running at once. */
    netMaxConcurrentRequests: positiveInteger.optional(),
    /** Largest HTTP response body after decompression, in bytes. */
    netMaxResponseBytes: positiveInteger.optional(),
    /** Largest HTTP request body, in bytes. */
    netMaxRequestBytes: positiveInteger.optional(),
    /** Time a `ctx.net` call without `timeoutMs` may take, redirects and body included, in milliseconds. */
    netTimeoutMs: positiveInteger.max(NET_TIMEOUT_MAX_MS).optional(),
    /** Largest `timeoutMs` a `ctx.net` call may ask for, in milliseconds. */
    netMaxTimeoutMs: positiveInteger.max(NET_TIMEOUT_MAX_MS).optional(),
    /** Redirects one `ctx.net` call follows. One more fails with `PLUGRUN_LIMIT`. */
    netMaxRedirects: z.number().int().min(0).max(20).optional(),
    /** Most rows one `select` or `query` returns. */
    dbMaxRows: positiveInteger.optional(),
    /** Times a running plugin that crashed or was stopped for a limit is restarted before it stays stopped. */
    restartLimit: z.number().int().min(0).max(RESTART_LIMIT_MAX).optional(),
    /** Delay before the first restart, in milliseconds; each further restart waits twice as long. */
    restartBackoffMs: positiveInteger.max(RESTART_BACKOFF_MAX_MS).optional(),
    /** Denied `ctx` calls allowed within any 60 seconds; one more quarantines the plugin. */
    deniedCallsPerMinute: positiveInteger.optional(),
    /** `ctx.log` lines per second, with bursts of one second's worth; more throw `PLUGRUN_LIMIT`. */
    logLinesPerSecond: positiveInteger.max(100_000).optional(),
  })
  .strict();

/** A lockfile `limits` object, as written by the user. */
export type LimitsOverride = z.infer<typeof LimitsOverrideStruct>;

/** The limits in force for one plugin. */
export type Limits = Required<LimitsOverride>;

/** Defaults, documented in docs/lockfile.md. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  memoryMb: DEFAULT_MEMORY_MB,
  callTimeoutMs: 30_000,
  startTimeoutMs: 10_000,
  stopTimeoutMs: 5_000,
  fsQuotaBytes: 100 * MiB,
  fsMaxFileBytes: 10 * MiB,
  netRequestsPerMinute: 600,
  netRequestsPerSecond: 20,
  netMaxConcurrentRequests: 8,
  netMaxResponseBytes: 10 * MiB,
  netMaxRequestBytes: 10 * MiB,
  netTimeoutMs: 30_000,
  netMaxTimeoutMs: NET_TIMEOUT_MAX_MS,
  netMaxRedirects: 5,
  dbMaxRows: 1000,
  restartLimit: 3,
  restartBackoffMs: 1000,
  deniedCallsPerMinute: 30,
  logLinesPerSecond: 200,
});

/** Applies a lockfile override to the defaults. */
export const resolveLimits = (override: LimitsOverride | undefined): Limits => ({
  ...DEFAULT_LIMITS,
  ...Object.fromEntries(Object.entries(override ?? {}).filter(([, value]) => value !== undefined)),
});

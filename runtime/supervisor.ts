/**
 * Runs one plugin in its own worker thread and watches it: load, start,
 * commands, stop, and what happens when it hangs or crashes.
 *
 * A plugin is stopped by terminating its worker, which also ends an endless
 * synchronous loop; nothing a plugin does can block the host's thread.
 * Every state change writes a `runtime` audit event.
 */

import type { EventLoopUtilization } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';

import { DeniedError, PlugrunError, messageOf } from '../capabilities/errors.js';
import type { Limits } from '../capabilities/limits.js';
import type { AuditLog } from './audit.js';
import { dispatchCall, type CallerState } from './dispatch.js';
import type { PluginArchive } from './archive.js';
import type { WorkerUsage } from './plugin-stats.js';
import { explainRequireFailure } from './load-errors.js';
import type { HostMessage, PluginExports, WireError, WorkerMessage } from './protocol.js';
import { DenialRate, quarantineMessage } from './quarantine.js';
import { spawnPluginWorker, type WorkerPool } from './worker-pool.js';
import { memoryLimitMessage, watchWorker, type WorkerWatchHandle } from './worker-watch.js';

/**
 * States a plugin passes through. `failed` and `crashed` are final unless
 * the host restarts the plugin (`restarting`); `quarantined` lasts until
 * plugrun restarts or the plugin's grants change.
 */
export type PluginState =
  | 'loading'
  | 'loaded'
  | 'starting'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'failed'
  | 'crashed'
  | 'restarting'
  | 'quarantined';

/** Limits whose breach stops a plugin, as named in `limits` of plugin.lock.json. */
export type StoppingLimit = 'memoryMb' | 'callTimeoutMs';

/** Options of the supervisor of one plugin. */
export interface SupervisorOptions {
  readonly name: string;
  readonly version: string;
  readonly archive: PluginArchive;
  readonly manifestBytes: Uint8Array;
  readonly integrity: string;
  readonly limits: Limits;
  readonly audit: AuditLog;
  readonly caller: CallerState;
  /** Workers spawned ahead of need; without one, the supervisor spawns its own. */
  readonly pool?: WorkerPool;
  /** Called after every state change. */
  readonly onStateChange?: (name: string, state: PluginState, reason?: string) => void;
}

/** Turns a wire error back into a `PlugrunError`. */
const fromWire = (error: WireError): PlugrunError => new PlugrunError(error.code, error.message);

/** One plugin's worker and its lifecycle. */
export class PluginSupervisor {
  readonly name: string;
  #state: PluginState = 'loading';
  #reason: string | undefined;
  #exports: PluginExports = { start: false, stop: false, commands: [] };
  readonly #options: SupervisorOptions;
  readonly #worker: Worker;
  readonly #invocations = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextInvocation = 1;
  #loaded: Promise<PluginExports>;
  #terminated = false;
  #termination: Promise<void> | undefined;
  #integrityMismatch = false;
  readonly #watch: WorkerWatchHandle;
  readonly #denials: DenialRate;
  #stoppedFor: StoppingLimit | 'quarantine' | undefined;
  #inFlight = 0;
  #memory: Omit<WorkerUsage, 'cpu'> | undefined;
  #utilization: EventLoopUtilization | undefined;

  constructor(options: SupervisorOptions) {
    this.name = options.name;
    this.#options = options;
    this.#worker = options.pool?.take(options.limits.memoryMb, options.name) ?? spawnPluginWorker(options.limits.memoryMb, options.name);
    this.#denials = new DenialRate(options.limits.deniedCallsPerMinute);
    this.#watch = watchWorker({
      name: options.name,
      limitBytes: options.limits.memoryMb * 1024 * 1024,
      silenceLimitMs: options.limits.callTimeoutMs,
      busy: () => this.#invocations.size > 0 || this.#state === 'loading' || this.#state === 'starting' || this.#state === 'stopping',
      onMemoryLimit: (usedBytes, estimated) =>
        this.#stopForLimit('memoryMb', memoryLimitMessage(this.name, usedBytes, options.limits.memoryMb, estimated)),
      onSilent: (silentMs) =>
        this.#stopForLimit(
          'callTimeoutMs',
          `plugin "${this.name}" did not respond for ${Math.round(silentMs)} ms while running no command, over its call timeout of ${options.limits.callTimeoutMs} ms (limit callTimeoutMs); a timer or event callback that never returns keeps its thread busy, so it was stopped`,
        ),
    });

    this.#loaded = new Promise<PluginExports>((resolve, reject) => {
      this.#worker.on('message', (message: WorkerMessage) => this.#onMessage(message, resolve, reject));
      this.#worker.on('error', (error) => {
        // The V8 heap limit ends the worker with this code (Node's worker_threads docs).
        if ((error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
          const message = `plugin "${this.name}" ran out of its V8 heap of ${options.limits.memoryMb} MiB (limits.memoryMb); it was stopped. To allow more, raise limits.memoryMb for it in plugin.lock.json`;
          reject(new PlugrunError('PLUGRUN_LIMIT', message));
          this.#stopForLimit('memoryMb', message);
          return;
        }
        const failure = new PlugrunError('PLUGRUN_FAILED', `plugin "${this.name}" crashed: ${messageOf(error)}`);
        reject(failure);
        this.#crash(failure.message);
      });
      this.#worker.on('exit', (code) => {
        const failure = new PlugrunError('PLUGRUN_FAILED', `plugin "${this.name}" exited (code ${code})`);
        reject(failure);
        if (!this.#terminated) this.#crash(failure.message);
      });
    });

    // load() attaches the real handler; this one keeps an early crash from counting as unhandled.
    this.#loaded.catch(() => undefined);

    this.#send({
      type: 'init',
      name: options.name,
      version: options.version,
      archive: options.archive.bytes,
      manifestBytes: options.manifestBytes,
      packageJsonBytes: options.archive.packageJsonBytes,
      integrity: options.integrity,
      logLinesPerSecond: options.limits.logLinesPerSecond,
    });
  }

  /** The current state. */
  get state(): PluginState {
    return this.#state;
  }

  /** The reason the plugin failed or crashed, when it did. */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** Why the plugin was stopped without being asked to: a limit, a quarantine, or undefined. */
  get stoppedFor(): StoppingLimit | 'quarantine' | undefined {
    return this.#stoppedFor;
  }

  /** True when loading failed because the worker's bytes do not hash to the lockfile's integrity. */
  get integrityMismatch(): boolean {
    return this.#integrityMismatch;
  }

  /** `ctx` calls received from the plugin and not replied to yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Samples the worker's CPU use (event-loop utilisation since the previous
   * sample) with the memory figures of its latest report, which a worker
   * sends every 100 ms unless a loop keeps it busy. Returns undefined once
   * the worker is gone or before its first report.
   */
  async sampleUsage(): Promise<WorkerUsage | undefined> {
    if (this.#terminated || this.#memory === undefined) return undefined;

    const now = this.#worker.performance.eventLoopUtilization();
    const since = this.#utilization === undefined ? now : this.#worker.performance.eventLoopUtilization(now, this.#utilization);
    this.#utilization = now;
    return { cpu: since.utilization, ...this.#memory };
  }

  /** The plugin module's exports, once loaded. */
  get exports(): PluginExports {
    return this.#exports;
  }

  /** Waits until the plugin module has been evaluated, within the start timeout. */
  async load(): Promise<PluginExports> {
    const started = performance.now();
    try {
      this.#exports = await this.#withTimeout(this.#loaded, this.#options.limits.startTimeoutMs, 'loading', 'startTimeoutMs');
    } catch (error) {
      const explained = error instanceof PlugrunError ? explainRequireFailure(error, this.#options.archive.findings) : error;
      this.#fail('load', explained, performance.now() - started);
      throw explained;
    }
    this.#setState('loaded');
    this.#runtimeEvent('load', 'allowed', { ms: performance.now() - started });
    return this.#exports;
  }

  /** Runs the plugin's `start(ctx)` within the start timeout. */
  async start(): Promise<void> {
    this.#setState('starting');
    const started = performance.now();
    try {
      await this.#withTimeout(this.#invoke('start'), this.#options.limits.startTimeoutMs, 'start()', 'startTimeoutMs');
    } catch (error) {
      const failure = this.#named('start() failed', error);
      this.#fail('start', failure, performance.now() - started);
      throw failure;
    }
    this.#setState('running');
    this.#runtimeEvent('start', 'allowed', { ms: performance.now() - started });
  }

  /**
   * Runs one exported command with a JSON input, within the call timeout.
   * `depth` counts the plugin-to-plugin calls that led to it.
   */
  async command(command: string, input: unknown, depth = 0): Promise<unknown> {
    if (!this.#exports.commands.includes(command)) {
      const known = this.#exports.commands.length > 0 ? this.#exports.commands.join(', ') : 'none';
      throw new PlugrunError(
        'PLUGRUN_INVALID',
        `plugin "${this.name}" has no command "${command}"; its commands: ${known}`,
      );
    }
    // A command past its timeout may be an endless loop, which only
    // terminating the worker ends, so the plugin is stopped, not just the call.
    return this.#withTimeout(this.#invoke('command', command, input, depth), this.#options.limits.callTimeoutMs, `command ${command}`, 'callTimeoutMs', true);
  }

  /**
   * Runs `stop(ctx)` within the stop timeout if the plugin is running, then
   * clears its timers, releases its capabilities and terminates the worker.
   */
  async stop(): Promise<void> {
    if (this.#state === 'running' || this.#state === 'loaded') {
      const wasRunning = this.#state === 'running';
      this.#setState('stopping');
      const started = performance.now();
      try {
        await this.#withTimeout(this.#invoke('stop'), this.#options.limits.stopTimeoutMs, 'stop()', 'stopTimeoutMs');
        if (wasRunning) this.#runtimeEvent('stop', 'allowed', { ms: performance.now() - started });
      } catch (error) {
        const failure = error instanceof PlugrunError ? error : new PlugrunError('PLUGRUN_FAILED', messageOf(error));
        this.#runtimeEvent('stop', 'error', { ms: performance.now() - started, error: { code: failure.code, message: failure.message } });
      }
      this.#setState('stopped');
    }
    await this.terminate();
  }

  /** Terminates the worker at once and releases the plugin's capabilities; every call waits for the same release. */
  terminate(): Promise<void> {
    this.#termination ??= this.#release();
    return this.#termination;
  }

  async #release(): Promise<void> {
    this.#terminated = true;
    this.#watch.release();
    // The plugin's events so far reach the file before its worker goes.
    try {
      this.#options.audit.flush();
    } catch {
      // A log that cannot be written must not keep a runaway worker alive; close() reports the failure.
    }
    await this.#worker.terminate();
    for (const instance of Object.values(this.#options.caller.capabilities)) {
      await instance.teardown().catch(() => undefined);
    }
  }

  #send(message: HostMessage) {
    this.#worker.postMessage(message);
  }

  #invoke(hook: 'start' | 'stop' | 'command', command?: string, input?: unknown, depth = 0): Promise<unknown> {
    const id = this.#nextInvocation++;
    return new Promise((resolve, reject) => {
      this.#invocations.set(id, { resolve, reject });
      try {
        this.#send({ type: 'invoke', id, hook, ...(command === undefined ? {} : { command, input, depth }) });
      } catch (error) {
        this.#invocations.delete(id);
        reject(new PlugrunError('PLUGRUN_INVALID', `the input is not a JSON value (${messageOf(error)})`));
      }
    });
  }

  /**
   * Rejects when `promise` takes longer than `ms`, terminating the worker,
   * since a busy loop cannot be interrupted otherwise. With `stops`, the
   * plugin is also stopped for the limit `limitName` with a `limit` event;
   * without it, the caller records the failure.
   */
  #withTimeout<T>(promise: Promise<T>, ms: number, what: string, limitName: string, stops = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const failure = new PlugrunError('PLUGRUN_LIMIT', `plugin "${this.name}": ${what} timed out after ${ms} ms (limit ${limitName}); it was stopped`);
        reject(failure);
        if (stops) this.#stopForLimit('callTimeoutMs', failure.message);
        else void this.terminate();
      }, ms);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  #onMessage(message: WorkerMessage, resolveLoad: (exports: PluginExports) => void, rejectLoad: (error: Error) => void) {
    switch (message.type) {
      case 'loaded':
        resolveLoad(message.exports);
        return;
      case 'load-failed':
        this.#integrityMismatch = message.integrityMismatch;
        rejectLoad(fromWire(message.error));
        return;
      case 'rejected-call':
        this.#options.audit.write({ plugin: this.name, cap: String(message.cap), op: String(message.op), outcome: 'error', error: message.error });
        return;
      case 'invoked': {
        const entry = this.#invocations.get(message.id);
        if (entry === undefined) return;
        this.#invocations.delete(message.id);
        if (message.ok) entry.resolve(message.value);
        else entry.reject(fromWire(message.error));
        return;
      }
      case 'call':
        this.#onCall(message.id, message.cap, message.op, message.args, message.depth);
        return;
      case 'uncaught':
        this.#runtimeEvent('uncaught', 'error', { error: message.error });
        return;
      case 'memory': {
        this.#watch.report(message);
        const { heapUsed, heapTotal, external, arrayBuffers } = message;
        this.#memory = { heapUsed, heapTotal, external, arrayBuffers };
        return;
      }
    }
  }

  #onCall(id: number, cap: string, op: string, args: readonly unknown[], depth: number) {
    const active = this.#state === 'starting' || this.#state === 'running' || this.#state === 'stopping' || this.#state === 'loaded';
    const outcome = active
      ? dispatchCall(this.#options.caller, this.#options.audit, cap, op, args, { depth: Number.isSafeInteger(depth) && depth >= 0 ? depth : 0 })
      : Promise.reject(new PlugrunError('PLUGRUN_FAILED', `plugin "${this.name}" is ${this.#state}`));

    this.#inFlight += 1;
    void outcome.finally(() => (this.#inFlight -= 1)).catch(() => undefined);
    outcome.then(
      (value) => {
        if (id === 0 || this.#terminated) return;
        try {
          this.#send({ type: 'reply', id, ok: true, value });
        } catch (error) {
          this.#send({ type: 'reply', id, ok: false, error: { code: 'PLUGRUN_FAILED', message: messageOf(error) } });
        }
      },
      (error: unknown) => {
        if (error instanceof DeniedError) this.#recordDenial(error.needed);
        if (id === 0 || this.#terminated) return;
        const failure = error instanceof PlugrunError ? error : new PlugrunError('PLUGRUN_FAILED', messageOf(error));
        this.#send({ type: 'reply', id, ok: false, error: { code: failure.code, message: failure.message } });
      },
    );
  }

  #setState(state: PluginState, reason?: string) {
    this.#state = state;
    if (reason !== undefined) this.#reason = reason;
    this.#options.onStateChange?.(this.name, state, reason);
  }

  #runtimeEvent(op: string, outcome: 'allowed' | 'error', extra: Record<string, unknown> = {}) {
    this.#options.audit.write({ plugin: this.name, cap: 'runtime', op, outcome, ...extra });
  }

  /** Prefixes a plugin's own error with the plugin's name and what failed; errors from the runtime already name it. */
  #named(what: string, error: unknown): PlugrunError {
    const failure = error instanceof PlugrunError ? error : new PlugrunError('PLUGRUN_FAILED', messageOf(error));
    if (failure.message.startsWith(`plugin "${this.name}"`)) return failure;
    return new PlugrunError(failure.code, `plugin "${this.name}": ${what}: ${failure.message}`, { cause: error });
  }

  #fail(op: string, error: unknown, ms: number) {
    if (this.#state === 'crashed' || this.#state === 'failed' || this.#state === 'quarantined') return;
    const failure = error instanceof PlugrunError ? error : new PlugrunError('PLUGRUN_FAILED', messageOf(error));
    this.#runtimeEvent(op, 'error', { ms, error: { code: failure.code, message: failure.message } });
    this.#setState('failed', failure.message);
    void this.terminate();
  }

  /** Stops the plugin at once because it passed a limit, with a `limit` event naming it. */
  #stopForLimit(limitName: StoppingLimit, message: string) {
    if (this.#terminated) return;
    this.#stoppedFor = limitName;
    const failure = new PlugrunError('PLUGRUN_LIMIT', message);
    for (const entry of this.#invocations.values()) entry.reject(failure);
    this.#invocations.clear();
    this.#runtimeEvent('limit', 'error', { limit: limitName, error: { code: failure.code, message } });
    this.#setState('crashed', message);
    void this.terminate();
  }

  /** Counts a denied call; past the rate, stops the plugin and marks it quarantined. */
  #recordDenial(needed: string) {
    if (this.#terminated) return;
    const found = this.#denials.record(needed);
    if (found === undefined) return;

    this.#stoppedFor = 'quarantine';
    const message = quarantineMessage(this.name, found);
    const failure = new PlugrunError('PLUGRUN_LIMIT', message);
    for (const entry of this.#invocations.values()) entry.reject(failure);
    this.#invocations.clear();
    this.#runtimeEvent('quarantine', 'error', {
      limit: 'deniedCallsPerMinute',
      deniedPerMinute: found.deniedPerMinute,
      denied: found.denied,
      error: { code: failure.code, message },
    });
    this.#setState('quarantined', message);
    void this.terminate();
  }

  #crash(reason: string) {
    if (this.#terminated || this.#state === 'crashed') return;
    for (const entry of this.#invocations.values()) entry.reject(new PlugrunError('PLUGRUN_FAILED', reason));
    this.#invocations.clear();
    this.#runtimeEvent('crash', 'error', { error: { code: 'PLUGRUN_FAILED', message: reason } });
    this.#setState('crashed', reason);
    void this.terminate();
  }
}

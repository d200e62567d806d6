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

import { PlugrunError, messageOf } from '../capabilities/errors.js';
import type { Limits } from '../capabilities/limits.js';
import type { AuditLog } from './audit.js';
import { dispatchCall, type CallerState } from './dispatch.js';
import type { PluginArchive } from './archive.js';
import type { WorkerUsage } from './plugin-stats.js';
import { explainRequireFailure } from './load-errors.js';
import type { HostMessage, PluginExports, WireError, WorkerMessage } from './protocol.js';
import { spawnPluginWorker, type WorkerPool } from './worker-pool.js';

/** States a plugin passes through; `failed` and `crashed` are final until a restart. */
export type PluginState = 'loading' | 'loaded' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' | 'crashed';

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
  #integrityMismatch = false;
  #inFlight = 0;
  #memory: Omit<WorkerUsage, 'cpu'> | undefined;
  #utilization: EventLoopUtilization | undefined;
  readonly #usageWaiters = new Set<() => void>();

  constructor(options: SupervisorOptions) {
    this.name = options.name;
    this.#options = options;
    this.#worker = options.pool?.take(options.limits.memoryMb, options.name) ?? spawnPluginWorker(options.limits.memoryMb, options.name);

    this.#loaded = new Promise<PluginExports>((resolve, reject) => {
      this.#worker.on('message', (message: WorkerMessage) => this.#onMessage(message, resolve, reject));
      this.#worker.on('error', (error) => {
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
   * sample) and requests its memory figures. A worker busy in a loop does
   * not reply, so after `timeoutMs` the last figures it sent are used.
   * Returns undefined once the worker is gone or before it first answers.
   */
  async sampleUsage(timeoutMs = 200): Promise<WorkerUsage | undefined> {
    if (this.#terminated) return undefined;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#usageWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.#usageWaiters.add(wake);
      this.#send({ type: 'usage' });
    });
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
      this.#exports = await this.#withTimeout(this.#loaded, this.#options.limits.startTimeoutMs, 'loading');
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
      await this.#withTimeout(this.#invoke('start'), this.#options.limits.startTimeoutMs, 'start()');
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
    // terminating the worker ends, so the plugin is failed, not just the call.
    return this.#withTimeout(this.#invoke('command', command, input, depth), this.#options.limits.callTimeoutMs, `command ${command}`, 'command');
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
        await this.#withTimeout(this.#invoke('stop'), this.#options.limits.stopTimeoutMs, 'stop()');
        if (wasRunning) this.#runtimeEvent('stop', 'allowed', { ms: performance.now() - started });
      } catch (error) {
        const failure = error instanceof PlugrunError ? error : new PlugrunError('PLUGRUN_FAILED', messageOf(error));
        this.#runtimeEvent('stop', 'error', { ms: performance.now() - started, error: { code: failure.code, message: failure.message } });
      }
      this.#setState('stopped');
    }
    await this.terminate();
  }

  /** Terminates the worker at once and releases the plugin's capabilities. */
  async terminate(): Promise<void> {
    if (this.#terminated) return;
    this.#terminated = true;
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
   * since a busy loop cannot be interrupted otherwise. With `failOp`, the
   * plugin is also marked failed with an event of that op; without it, the
   * caller records the failure.
   */
  #withTimeout<T>(promise: Promise<T>, ms: number, what: string, failOp?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const failure = new PlugrunError('PLUGRUN_LIMIT', `plugin "${this.name}": ${what} timed out after ${ms} ms`);
        reject(failure);
        if (failOp === undefined) void this.terminate();
        else this.#fail(failOp, failure, ms);
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
      case 'usage': {
        const { heapUsed, heapTotal, external, arrayBuffers } = message;
        this.#memory = { heapUsed, heapTotal, external, arrayBuffers };
        for (const wake of [...this.#usageWaiters]) wake();
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
    if (this.#state === 'crashed' || this.#state === 'failed') return;
    const failure = error instanceof PlugrunError ? error : new PlugrunError('PLUGRUN_FAILED', messageOf(error));
    this.#runtimeEvent(op, 'error', { ms, error: { code: failure.code, message: failure.message } });
    this.#setState('failed', failure.message);
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

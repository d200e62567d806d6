/**
 * Restarts the plugins of one host that crashed or were stopped for a limit,
 * and starts a quarantined plugin again when its grants change.
 *
 * The host passes it every state change; it decides with each plugin's
 * `RestartPolicy` whether and when to start the plugin again, writes a
 * `runtime` event with op `restart` for each decision, and asks the host to
 * relaunch the plugin from the archive it verified at load. The plugin's
 * data (files, database, config) lives on the host side and is left as it
 * was at the crash.
 */

import type { Limits } from '../capabilities/limits.js';
import type { AuditLog } from './audit.js';
import { RestartPolicy } from './restart-policy.js';
import type { PluginState } from './supervisor.js';

/** The host's side of the restarts: its audit log, its reports, the limits, and relaunching. */
export interface PluginRestartsOptions {
  readonly audit: AuditLog;
  /** Receives one line for a person per restart decision (stderr). */
  readonly report: (message: string) => void;
  /** The limits in force for a plugin. */
  limitsOf(name: string): Limits;
  /** Loads and starts the plugin in a new worker, with the grants in force now. */
  relaunch(name: string): Promise<void>;
}

/** The restart state of every plugin of one host. */
export class PluginRestarts {
  readonly #options: PluginRestartsOptions;
  readonly #policies = new Map<string, RestartPolicy>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #stopped = false;

  constructor(options: PluginRestartsOptions) {
    this.#options = options;
  }

  /** True while a plugin waits for its restart. */
  isRestarting(name: string): boolean {
    return this.#timers.has(name);
  }

  /**
   * Receives a state change of a plugin's current worker. `hasStarted` is
   * true once the plugin's first `start()` succeeded.
   */
  onStateChange(name: string, state: PluginState, reason: string | undefined, hasStarted: boolean): void {
    if (state === 'running') this.#policy(name).running();
    if ((state !== 'crashed' && state !== 'failed') || !hasStarted || this.#stopped) return;

    const policy = this.#policy(name);
    const delayMs = policy.next();
    const why = reason ?? 'it stopped';
    if (delayMs === undefined) {
      const message = `plugin "${name}" is not restarted again: it was restarted ${policy.restarts} times (limit restartLimit ${policy.limit}); it stays stopped as crashed. Last reason: ${why}`;
      this.#options.report(message);
      this.#options.audit.write({ plugin: name, cap: 'runtime', op: 'restart', outcome: 'error', restarts: policy.restarts, error: { code: 'PLUGRUN_LIMIT', message } });
      return;
    }

    this.#options.report(`plugin "${name}" restarts in ${delayMs} ms (restart ${policy.restarts} of ${policy.limit}): ${why}`);
    this.#options.audit.write({ plugin: name, cap: 'runtime', op: 'restart', outcome: 'allowed', restart: policy.restarts, restartLimit: policy.limit, delayMs, reason: why });
    this.#schedule(name, delayMs);
  }

  /** Starts a quarantined plugin again at once, with a fresh restart count, because its grants changed. */
  release(name: string, why: string): void {
    if (this.#stopped || this.#timers.has(name)) return;
    this.#policies.delete(name);
    this.#options.report(`plugin "${name}" leaves quarantine: ${why}`);
    this.#options.audit.write({ plugin: name, cap: 'runtime', op: 'restart', outcome: 'allowed', reason: why });
    this.#schedule(name, 0);
  }

  /** Cancels every pending restart; nothing restarts after this. */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #policy(name: string): RestartPolicy {
    let policy = this.#policies.get(name);
    if (policy === undefined) {
      const limits = this.#options.limitsOf(name);
      policy = new RestartPolicy(limits.restartLimit, limits.restartBackoffMs);
      this.#policies.set(name, policy);
    }
    return policy;
  }

  #schedule(name: string, delayMs: number) {
    const timer = setTimeout(() => {
      this.#timers.delete(name);
      if (this.#stopped) return;
      // A relaunch that fails reports through onStateChange like any crash.
      this.#options.relaunch(name).catch((error: unknown) => this.#options.report(String(error)));
    }, delayMs);
    this.#timers.set(name, timer);
  }
}

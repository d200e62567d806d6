/**
 * When a plugin that crashed or was stopped for a limit is started again.
 *
 * A running plugin that crashes is restarted after a delay that doubles with
 * each restart (`restartBackoffMs`, then twice that, ...), up to
 * `restartLimit` times. Past the limit it stays stopped and is shown as
 * crashed with its last reason. A plugin that then runs for a minute without
 * crashing has its count reset, so a crash a day apart does not add up.
 * A crash in a plugin's first `start()` is not restarted: nothing shows the
 * plugin ever worked, and trying again would repeat the failure.
 */

/** Time a restarted plugin must run without crashing to have its restart count reset, in milliseconds. */
export const RESTART_RESET_AFTER_MS = 60_000;

/** Maximum delay before a restart, in milliseconds, however many restarts came before. */
export const RESTART_DELAY_MAX_MS = 10 * 60_000;

/** The restart count and delays of one plugin. */
export class RestartPolicy {
  readonly #limit: number;
  readonly #backoffMs: number;
  #restarts = 0;
  #runningSince: number | undefined;

  /** `limit` restarts at most, the first after `backoffMs` milliseconds. */
  constructor(limit: number, backoffMs: number) {
    this.#limit = limit;
    this.#backoffMs = backoffMs;
  }

  /** Restarts done since the count was last reset. */
  get restarts(): number {
    return this.#restarts;
  }

  /** The number of restarts allowed. */
  get limit(): number {
    return this.#limit;
  }

  /** Records that the plugin is running, at `now` milliseconds. */
  running(now: number = performance.now()): void {
    this.#runningSince = now;
  }

  /**
   * Records a crash at `now` milliseconds and returns the delay before the
   * next restart, or undefined when no restart is left.
   */
  next(now: number = performance.now()): number | undefined {
    if (this.#runningSince !== undefined && now - this.#runningSince >= RESTART_RESET_AFTER_MS) this.#restarts = 0;
    this.#runningSince = undefined;
    if (this.#restarts >= this.#limit) return undefined;

    const delayMs = Math.min(this.#backoffMs * 2 ** this.#restarts, RESTART_DELAY_MAX_MS);
    this.#restarts += 1;
    return delayMs;
  }
}

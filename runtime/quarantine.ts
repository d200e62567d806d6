/**
 * Counts a plugin's denied `ctx` calls over a sliding minute.
 *
 * An occasional denial is a plugin asking for something its grants do not
 * cover, and the plugin gets `PLUGRUN_DENIED` and goes on. Many denials in a
 * short time look like a plugin probing for a way out, so past the rate the
 * supervisor stops the plugin and marks it quarantined until plugrun
 * restarts or its grants change.
 */

/** Width of the sliding window, in milliseconds. */
export const DENIAL_WINDOW_MS = 60_000;

/** The counter's findings when the rate was passed. */
export interface DenialRateExceeded {
  /** Denied calls within the last 60 seconds, the one just made included. */
  readonly deniedPerMinute: number;
  /** The limit that was passed. */
  readonly limit: number;
  /** Capability strings that were needed by the denied calls of the window, sorted. */
  readonly denied: readonly string[];
}

/** Denied calls of one plugin within the last minute. */
export class DenialRate {
  readonly #limit: number;
  readonly #times: number[] = [];
  readonly #needed: string[] = [];

  /** `limit` is the number of denied calls allowed within any 60 seconds. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /**
   * Records one denied call that needed `needed`, at `now` milliseconds.
   * Returns what was found when the call passed the rate, else undefined.
   */
  record(needed: string, now: number = performance.now()): DenialRateExceeded | undefined {
    this.#times.push(now);
    this.#needed.push(needed);
    while (this.#times.length > 0 && this.#times[0]! <= now - DENIAL_WINDOW_MS) {
      this.#times.shift();
      this.#needed.shift();
    }
    if (this.#times.length <= this.#limit) return undefined;

    return {
      deniedPerMinute: this.#times.length,
      limit: this.#limit,
      denied: [...new Set(this.#needed)].sort(),
    };
  }
}

/** Formats the message of a quarantine for the audit log and the user. */
export const quarantineMessage = (name: string, found: DenialRateExceeded): string =>
  `plugin "${name}" made ${found.deniedPerMinute} denied calls within 60 s, over its limit of ${found.limit} per minute ` +
  `(limits.deniedCallsPerMinute); it is quarantined and stays stopped until plugrun restarts or its grants change. ` +
  `Denied: ${found.denied.join(', ')}`;

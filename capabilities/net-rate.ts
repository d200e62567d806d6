/**
 * The request rate and concurrency limits of one plugin's `ctx.net`.
 *
 * Threat: a plugin that floods a granted host, or keeps many slow requests
 * open, and so uses the host's sockets, memory and name against a third
 * party. Requests over a limit fail at once with `PLUGRUN_LIMIT` rather than
 * waiting in a queue, so a plugin cannot build up an unbounded backlog.
 */

import { limit } from './errors.js';
import type { Limits } from './limits.js';

/** Returns the current time in milliseconds on a monotonic clock. */
export type Clock = () => number;

/**
 * A token bucket of at most `capacity` tokens, refilled at `capacity` tokens
 * per `windowMs`. It allows a burst of `capacity` requests, then a steady
 * `capacity` per window.
 */
class TokenBucket {
  readonly #capacity: number;
  readonly #windowMs: number;
  readonly #clock: Clock;
  #tokens: number;
  #updatedAt: number;

  constructor(capacity: number, windowMs: number, clock: Clock) {
    this.#capacity = capacity;
    this.#windowMs = windowMs;
    this.#clock = clock;
    this.#tokens = capacity;
    this.#updatedAt = clock();
  }

  /** Takes one token, or returns false when the bucket is empty. */
  take(): boolean {
    const now = this.#clock();
    const refill = ((now - this.#updatedAt) / this.#windowMs) * this.#capacity;
    this.#tokens = Math.min(this.#capacity, this.#tokens + refill);
    this.#updatedAt = now;

    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** The rate and concurrency limits of one plugin. */
export interface RequestGate {
  /** Counts one request (the first of a call, or a redirect hop), or throws `PLUGRUN_LIMIT` over a rate limit. */
  admit(): void;
  /** Takes a concurrency slot for one call and returns the function that frees it, or throws `PLUGRUN_LIMIT` when none is free. */
  enter(): () => void;
}

/** Makes the gate for one plugin's limits. */
export const makeRequestGate = (limits: Limits, clock: Clock = () => performance.now()): RequestGate => {
  const perSecond = new TokenBucket(limits.netRequestsPerSecond, 1000, clock);
  const perMinute = new TokenBucket(limits.netRequestsPerMinute, 60_000, clock);
  let active = 0;

  return {
    admit() {
      if (!perSecond.take()) {
        throw limit(`ctx.net: more than ${limits.netRequestsPerSecond} request${limits.netRequestsPerSecond === 1 ? '' : 's'} in one second, the netRequestsPerSecond limit; send fewer requests or raise the limit in plugin.lock.json`);
      }
      if (!perMinute.take()) {
        throw limit(`ctx.net: more than ${limits.netRequestsPerMinute} request${limits.netRequestsPerMinute === 1 ? '' : 's'} in one minute, the netRequestsPerMinute limit; send fewer requests or raise the limit in plugin.lock.json`);
      }
    },

    enter() {
      if (active >= limits.netMaxConcurrentRequests) {
        throw limit(`ctx.net: ${active} requests are already running, the netMaxConcurrentRequests limit; wait for one to finish`);
      }
      active += 1;

      let freed = false;
      return () => {
        if (freed) return;
        freed = true;
        active -= 1;
      };
    },
  };
};

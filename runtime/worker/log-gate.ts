/**
 * The rate limit of `ctx.log`, applied in the worker before a line is sent.
 *
 * Every log line becomes an audit event written to disk, so a plugin logging
 * in a loop would fill the disk and the host's message queue. Lines are
 * admitted from a bucket that contains one second's worth and refills at the
 * rate; a line over the rate throws `PLUGRUN_LIMIT`. Only the first rejected
 * line of each second is reported to the host, so the flood does not reach
 * the audit log as a flood of errors either.
 */

/** Decides, per log line, whether it is sent. */
export interface LogGate {
  /** Returns true when a line may be sent now. */
  admit(): boolean;
  /** Returns true for the first rejected line of each second, which the host should record. */
  reportRejection(): boolean;
}

/** Makes the gate for `perSecond` lines per second. */
export const makeLogGate = (perSecond: number, now: () => number = () => performance.now()): LogGate => {
  let tokens = perSecond;
  let refilledAt = now();
  let lastReportedAt = Number.NEGATIVE_INFINITY;

  return {
    admit() {
      const time = now();
      tokens = Math.min(perSecond, tokens + ((time - refilledAt) / 1000) * perSecond);
      refilledAt = time;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    reportRejection() {
      const time = now();
      if (time - lastReportedAt < 1000) return false;
      lastReportedAt = time;
      return true;
    },
  };
};

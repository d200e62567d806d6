/**
 * A child process for audit tests: appends events to a log, each in its own
 * flush, so that several of these running at once interleave their appends.
 *
 * Usage: node audit-writer.js <log> <writer-name> <count> [maxBytes] [keep] [startAtMs] [pauseMs]
 * With startAtMs (epoch milliseconds), every writer waits for that moment,
 * so that writers started one after another still append at the same time.
 * With pauseMs, each writer waits that long after each event, so that the
 * writers' runs overlap even on a fast disk.
 */

import { AuditLog } from '../../runtime/audit.js';

const [file, name, count, maxBytes, keep, startAt, pauseMs] = process.argv.slice(2);
const log = new AuditLog(file!, {
  ...(maxBytes === undefined ? {} : { maxBytes: Number(maxBytes) }),
  ...(keep === undefined ? {} : { keep: Number(keep) }),
});
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
if (startAt !== undefined) {
  const delay = Number(startAt) - Date.now();
  if (delay > 0) Atomics.wait(sleepCell, 0, 0, delay);
}
for (let index = 0; index < Number(count); index += 1) {
  log.write({ plugin: name!, cap: 'log', op: 'info', outcome: 'allowed', message: `event ${index}` });
  log.flush();
  if (pauseMs !== undefined) Atomics.wait(sleepCell, 0, 0, Number(pauseMs));
}
log.close();

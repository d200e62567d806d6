/**
 * Sends the worker's memory usage to the host a few times a second.
 *
 * Inside a worker, `process.memoryUsage()` covers that worker's isolate only
 * (its `rss` is the whole process's and is not sent). The host compares the
 * reports with the plugin's memory limit, and a worker that stops reporting
 * while the process grows is the one the host suspects. The interval runs
 * outside the plugin's timers, so the plugin can neither clear nor delay it
 * except by keeping its thread busy, which is what the host watches for.
 */

import { MEMORY_REPORT_INTERVAL_MS } from '../worker-watch.js';
import type { WorkerMessage } from '../protocol.js';

/** Sends one report now and then one every `MEMORY_REPORT_INTERVAL_MS`. */
export const startMemoryReports = (send: (message: WorkerMessage) => void): void => {
  const report = () => {
    const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    send({ type: 'memory', heapUsed, heapTotal, external, arrayBuffers });
  };
  report();
  // Unreferenced: the reports never keep a worker alive.
  setInterval(report, MEMORY_REPORT_INTERVAL_MS).unref();
};

/**
 * Watches the memory and the responsiveness of every plugin worker in this
 * process.
 *
 * A worker's V8 heap limit does not cover ArrayBuffers and typed arrays,
 * which live outside the heap, and Node 20 cannot read another isolate's
 * heap from the host. So each worker reports its own usage
 * (`process.memoryUsage()` inside a worker covers that isolate only) a few
 * times a second, and the host compares each report with the worker's limit.
 *
 * A worker in a synchronous allocation loop sends no report. For it the host
 * samples the process RSS, which is cheap and covers every thread, and
 * charges the growth that no report explains to the workers that have gone
 * silent. When that estimate passes a silent worker's limit, the worker is
 * stopped. Two plugins busy at the same moment share the estimate, so the
 * one silent for longest is stopped first.
 *
 * A worker silent for longer than its silence limit while it runs no hook
 * or command (a timer callback that never returns) is stopped too.
 */

/** Usage a worker reports, in bytes. */
export interface MemoryUsageReport {
  readonly heapUsed: number;
  readonly heapTotal: number;
  /** Memory outside the V8 heap: ArrayBuffers, typed arrays, Node internals. */
  readonly external: number;
}

/** One watched worker: its limits, and the callbacks that stop it. */
export interface WatchedWorker {
  readonly name: string;
  /** Memory limit: heap used plus external memory, in bytes. */
  readonly limitBytes: number;
  /** Silence after which an idle worker is stopped, in milliseconds. */
  readonly silenceLimitMs: number;
  /** True while a hook or command runs, whose own timeout then applies instead of the silence limit. */
  busy(): boolean;
  /** Called once, when the worker passed its memory limit. */
  onMemoryLimit(usedBytes: number, estimated: boolean): void;
  /** Called once, when the worker was silent past its silence limit while idle. */
  onSilent(silentMs: number): void;
}

/** The handle of one watched worker. */
export interface WorkerWatchHandle {
  /** Records a usage report from the worker. */
  report(usage: MemoryUsageReport): void;
  /** Stops watching the worker. */
  release(): void;
}

/** Interval at which workers report their usage, in milliseconds. */
export const MEMORY_REPORT_INTERVAL_MS = 100;

/** Interval at which the host samples the process RSS, in milliseconds. */
const RSS_SAMPLE_INTERVAL_MS = 25;

/** Time without a report after which a worker counts as silent: three missed reports. */
const SILENT_AFTER_MS = MEMORY_REPORT_INTERVAL_MS * 3;

interface Entry {
  readonly worker: WatchedWorker;
  /** Heap used plus external, from the last report. */
  usedBytes: number;
  /** Heap total plus external, from the last report: what the worker adds to the RSS. */
  residentBytes: number;
  lastReportAt: number;
  /** The unexplained RSS when the last report arrived. */
  unexplainedAtReport: number;
  stopped: boolean;
}

const entries = new Set<Entry>();
let sampler: NodeJS.Timeout | undefined;

let lastSampleAt = 0;

/**
 * The RSS that neither the host's own heap and external memory (the SQLite
 * engine's WebAssembly memory among it) nor any worker's last report
 * explains, in bytes.
 */
const unexplainedRss = (): number => {
  const host = process.memoryUsage();
  let explained = host.heapTotal + host.external;
  for (const entry of entries) explained += entry.residentBytes;
  return host.rss - explained;
};

const mebibytes = (bytes: number): number => Math.round(bytes / (1024 * 1024));

const sample = () => {
  const now = performance.now();
  const unexplained = unexplainedRss();

  // A host whose own event loop was blocked did not receive the reports sent
  // meanwhile, so it cannot tell a silent worker from a late message.
  const late = now - lastSampleAt > SILENT_AFTER_MS;
  lastSampleAt = now;
  if (late) {
    for (const entry of entries) {
      entry.lastReportAt = Math.max(entry.lastReportAt, now);
      entry.unexplainedAtReport = unexplained;
    }
    return;
  }

  // 1. Idle workers silent past their limit: a loop outside any hook or command.
  for (const entry of entries) {
    if (entry.stopped || entry.worker.busy()) continue;
    const silentMs = now - entry.lastReportAt;
    if (silentMs > entry.worker.silenceLimitMs) {
      entry.stopped = true;
      entry.worker.onSilent(silentMs);
    }
  }

  // 2. Growth no report explains, charged to the silent worker silent for longest.
  // NOTE: the host's SQLite worker reports nothing, so its growth while a
  // plugin is silent counts against that plugin.
  let suspect: Entry | undefined;
  for (const entry of entries) {
    if (entry.stopped || now - entry.lastReportAt < SILENT_AFTER_MS) continue;
    if (suspect === undefined || entry.lastReportAt < suspect.lastReportAt) suspect = entry;
  }
  if (suspect === undefined) return;

  const growth = Math.max(0, unexplained - suspect.unexplainedAtReport);
  const estimate = suspect.usedBytes + growth;
  if (estimate <= suspect.worker.limitBytes) return;

  suspect.stopped = true;
  // The stopped worker's memory is freed only once it has exited, so the
  // others start over from here rather than being charged for it.
  for (const entry of entries) entry.unexplainedAtReport = unexplained;
  suspect.worker.onMemoryLimit(estimate, true);
};

/** Starts watching a worker; a worker counts as reporting from now on. */
export const watchWorker = (worker: WatchedWorker): WorkerWatchHandle => {
  const entry: Entry = {
    worker,
    usedBytes: 0,
    residentBytes: 0,
    lastReportAt: performance.now(),
    unexplainedAtReport: unexplainedRss(),
    stopped: false,
  };
  entries.add(entry);
  if (sampler === undefined) {
    lastSampleAt = performance.now();
    sampler = setInterval(sample, RSS_SAMPLE_INTERVAL_MS);
    // The watch never keeps the process alive by itself.
    sampler.unref();
  }

  return {
    report(usage) {
      if (entry.stopped) return;
      entry.usedBytes = usage.heapUsed + usage.external;
      entry.residentBytes = usage.heapTotal + usage.external;
      entry.lastReportAt = performance.now();
      entry.unexplainedAtReport = unexplainedRss();
      if (entry.usedBytes > worker.limitBytes) {
        entry.stopped = true;
        worker.onMemoryLimit(entry.usedBytes, false);
      }
    },
    release() {
      entries.delete(entry);
      if (entries.size === 0 && sampler !== undefined) {
        clearInterval(sampler);
        sampler = undefined;
      }
    },
  };
};

/** Formats a memory limit message for a plugin. */
export const memoryLimitMessage = (name: string, usedBytes: number, limitMb: number, estimated: boolean): string => {
  const used = estimated ? `an estimated ${mebibytes(usedBytes)} MiB` : `${mebibytes(usedBytes)} MiB`;
  return `plugin "${name}" used ${used} of memory (heap, ArrayBuffers and typed arrays), over its limit of ${limitMb} MiB (limits.memoryMb); it was stopped. To allow more, raise limits.memoryMb for it in plugin.lock.json`;
};

/**
 * Records of each plugin for a live view of the host: its phase, grants,
 * pending requests, calls per capability and resource use. The host builds
 * these records in `Host.stats()`; nothing here changes a plugin.
 */

import type { AuditLog } from './audit.js';

/**
 * The five phases a person sees. Loading and loaded plugins are `starting`,
 * stopping ones `stopped`, failed ones `crashed`, and plugins kept from
 * running (unlocked, changed, invalid manifest, missing dependency) `refused`.
 */
export type PluginPhase = 'starting' | 'running' | 'stopped' | 'crashed' | 'refused';

/** Calls of one capability kind (`fs`, `net`, `db`, `msg`, `config`, `log`), by outcome. */
export interface CallCount {
  readonly allowed: number;
  readonly denied: number;
  readonly error: number;
}

/** Resource use of one plugin's worker. */
export interface WorkerUsage {
  /** Event-loop utilisation of the worker since the previous sample, 0 to 1. */
  readonly cpu: number;
  /** V8 heap of the worker, in bytes. */
  readonly heapUsed: number;
  readonly heapTotal: number;
  /** Memory outside the V8 heap held by the worker's objects, ArrayBuffers included, in bytes. */
  readonly external: number;
  /** ArrayBuffer and Buffer bytes of the worker, also counted in `external`. */
  readonly arrayBuffers: number;
}

/** One plugin as a live view shows it. */
export interface PluginStats {
  readonly name: string;
  /** The manifest's version; absent when the manifest could not be read. */
  readonly version?: string;
  readonly phase: PluginPhase;
  /** The host's own state name (`loading`, `failed`, `invalid`, ...). */
  readonly state: string;
  /** Reason the plugin is refused, failed or crashed. */
  readonly reason?: string;
  /** Grants in force now, as capability strings. */
  readonly granted: readonly string[];
  /** Capabilities the manifest requests. */
  readonly requested: readonly string[];
  /** Requested but not granted. */
  readonly pending: readonly string[];
  /** Calls so far, keyed by the `cap` of their audit events. */
  readonly calls: Readonly<Record<string, CallCount>>;
  /** Calls sent to the host that have no reply yet. */
  readonly inFlight: number;
  /** Absent while no worker runs the plugin or it has not replied to a sample yet. */
  readonly usage?: WorkerUsage;
}

const PHASES: Readonly<Record<string, PluginPhase>> = {
  loading: 'starting',
  loaded: 'starting',
  starting: 'starting',
  running: 'running',
  stopping: 'stopped',
  stopped: 'stopped',
  failed: 'crashed',
  crashed: 'crashed',
  // Restarted after a crash or a limit: starting again, with backoff.
  restarting: 'starting',
  // Stopped for too many denied calls until its grants change.
  quarantined: 'refused',
};

/** Maps a host state to the phase a person sees; any state not listed is `refused`. */
export const phaseOf = (state: string): PluginPhase => (Object.hasOwn(PHASES, state) ? PHASES[state]! : 'refused');

/** Capability kinds whose calls are counted; `runtime` events are the host's own, not calls. */
const COUNTED = new Set(['fs', 'net', 'db', 'msg', 'config', 'log']);

/** Counts every plugin's calls per capability kind and outcome, from the audit events. */
export class CallCounter {
  readonly #counts = new Map<string, Map<string, { allowed: number; denied: number; error: number }>>();
  readonly #unsubscribe: () => void;

  constructor(audit: AuditLog) {
    this.#unsubscribe = audit.subscribe((event) => {
      if (!COUNTED.has(event.cap)) return;
      let byCap = this.#counts.get(event.plugin);
      if (byCap === undefined) {
        byCap = new Map();
        this.#counts.set(event.plugin, byCap);
      }
      let count = byCap.get(event.cap);
      if (count === undefined) {
        count = { allowed: 0, denied: 0, error: 0 };
        byCap.set(event.cap, count);
      }
      count[event.outcome] += 1;
    });
  }

  /** Returns a copy of one plugin's counts, keyed by capability kind. */
  countsOf(plugin: string): Record<string, CallCount> {
    const result: Record<string, CallCount> = {};
    for (const [cap, count] of this.#counts.get(plugin) ?? []) result[cap] = { ...count };
    return result;
  }

  /** Stops counting. */
  close(): void {
    this.#unsubscribe();
  }
}

/**
 * Spawns plugin workers, and keeps a few spawned ahead of need.
 *
 * A worker spends about 60 ms loading SES from its code cache, locking down
 * its realm and loading the archive loader before it can take a plugin,
 * measured on a 2-core AMD EPYC machine with Node 20. Spawning workers before the host has read the
 * manifests and the lockfile lets the two run side by side. A spawned worker
 * has no plugin and no authority until the host sends it one.
 */

import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

import { DEFAULT_MEMORY_MB } from '../capabilities/limit-defaults.js';

const workerUrl = new URL('./worker/worker-entry.js', import.meta.url);

/** Spawns a plugin worker with a heap limit in MiB. */
export const spawnPluginWorker = (memoryMb: number, label: string): Worker => {
  const worker = new Worker(workerUrl, {
    name: `plugrun:${label}`,
    env: {},
    execArgv: [],
    argv: [],
    // Worker output is not part of plugrun's output: stdout carries audit
    // events only. Plugin code has no console; this catches runtime noise.
    stdout: true,
    stderr: true,
    resourceLimits: { maxOldGenerationSizeMb: memoryMb, stackSizeMb: 4 },
  });
  worker.stdout.resume();
  worker.stderr.resume();
  if (process.env.PLUGRUN_DEBUG) {
    worker.stderr.on('data', (chunk: Buffer) => process.stderr.write(`[${label}] ${chunk.toString()}`));
  }
  return worker;
};

/** Workers spawned ahead of need, all with the same heap limit. */
export class WorkerPool {
  readonly #memoryMb: number;
  readonly #idle: Worker[] = [];

  constructor(memoryMb: number) {
    this.#memoryMb = memoryMb;
  }

  /** Spawns `count` workers to wait for plugins. */
  prewarm(count: number): void {
    for (let index = 0; index < count; index += 1) {
      const worker = spawnPluginWorker(this.#memoryMb, 'idle');
      // An idle worker that fails is dropped; the plugin gets a fresh one.
      const drop = () => this.#remove(worker);
      worker.once('error', drop);
      worker.once('exit', drop);
      this.#idle.push(worker);
    }
  }

  /** Returns a waiting worker with this heap limit, or a new one. */
  take(memoryMb: number, label: string): Worker {
    if (memoryMb === this.#memoryMb) {
      const worker = this.#idle.shift();
      if (worker !== undefined) {
        worker.removeAllListeners('error');
        worker.removeAllListeners('exit');
        return worker;
      }
    }
    return spawnPluginWorker(memoryMb, label);
  }

  /** Terminates every worker still waiting. */
  async drain(): Promise<void> {
    const idle = this.#idle.splice(0);
    await Promise.all(idle.map((worker) => worker.terminate()));
  }

  #remove(worker: Worker) {
    const index = this.#idle.indexOf(worker);
    if (index !== -1) this.#idle.splice(index, 1);
  }
}

/**
 * Makes a pool for a host about to start the plugins in `pluginsDir`, with
 * one waiting worker per plugin folder, up to twice the core count. Workers
 * get the default heap limit; a plugin whose lockfile sets another gets a
 * fresh worker.
 */
export const prewarmPool = (pluginsDir: string): WorkerPool => {
  const pool = new WorkerPool(DEFAULT_MEMORY_MB);
  let folders = 0;
  try {
    folders = fs.readdirSync(pluginsDir, { withFileTypes: true }).filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).length;
  } catch {
    // No plugins folder: the host reports it; nothing to prewarm.
  }
  pool.prewarm(Math.min(folders, os.availableParallelism() * 2));
  return pool;
};

/**
 * The host: finds the plugins, verifies each against the lockfile, runs each
 * verified plugin in its own worker, starts them in dependency order and
 * stops them in reverse.
 *
 * Failing closed: a plugin runs only if the lockfile pins it and the code
 * about to run hashes to the pinned integrity. A missing or invalid lockfile
 * runs nothing. One plugin's failure (bad manifest, lock mismatch, a throw
 * or a hang in `start`, a crash) is reported and the others go on.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { messageOf, PlugrunError } from '../capabilities/errors.js';
import { resolveLimits, type Limits } from '../capabilities/limits.js';
import type { PluginCallRequest, PluginDirectory } from '../capabilities/types.js';
import type { PluginArchive } from './archive.js';
import { loadPluginArchive } from './archive-cache.js';
import type { AuditLog } from './audit.js';
import { makeCallerState, type MutableCallerState } from './caller.js';
import { discoverPlugins, type DiscoveredPlugin, type Discovery } from './discovery.js';
import { computeIntegrity } from './integrity.js';
import { formatProblem } from './json-file.js';
import { readLockfile, type LockedPlugin } from './lockfile.js';
import { planStartOrder, type Exclusion } from './order.js';
import { PluginRestarts } from './plugin-restarts.js';
import { CallCounter, phaseOf, type PluginStats } from './plugin-stats.js';
import type { ProjectPaths } from './project.js';
import { PluginSupervisor, type PluginState } from './supervisor.js';
import type { WorkerPool } from './worker-pool.js';

/** Kind of problem that keeps a plugin from running, which decides the exit status. */
export type ProblemKind = 'lock' | 'failure';

/** One plugin's state for reports and the exit status. */
export interface PluginReport {
  readonly name: string;
  readonly state: PluginState | 'refused' | 'invalid' | 'excluded';
  readonly reason?: string;
  readonly problem?: ProblemKind;
}

/** Options of a host. */
export interface HostOptions {
  readonly project: ProjectPaths;
  readonly audit: AuditLog;
  /** Load only these plugins and the plugins they depend on (for `plugrun call`). */
  readonly only?: readonly string[];
  /** Receives one line for a person per problem found (stderr). */
  readonly report: (message: string) => void;
  /** Called after every plugin state change. */
  readonly onStateChange?: (name: string, state: PluginState, reason?: string) => void;
  /** Workers spawned ahead of need. */
  readonly pool?: WorkerPool;
  /** Restarts plugins that crash after starting; default true. `plugrun call` runs one command and sets false. */
  readonly restart?: boolean;
}

/** Runs `task` over `items`, at most `limit` at a time. */
const forEachLimited = async <T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) => {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]!);
  });
  await Promise.all(lanes);
};

/** The plugin host of one project. */
export class Host {
  readonly #options: HostOptions;
  readonly #reports = new Map<string, PluginReport>();
  readonly #supervisors = new Map<string, PluginSupervisor>();
  readonly #callers = new Map<string, MutableCallerState>();
  readonly #dependencies = new Map<string, readonly string[]>();
  #order: string[] = [];
  readonly #started: string[] = [];
  /** Inputs of a relaunch per plugin: the verified archive, its lockfile entry and limits. */
  readonly #relaunchInputs = new Map<string, { plugin: DiscoveredPlugin; entry: LockedPlugin; archive: PluginArchive; integrity: string; limits: Limits }>();
  readonly #restarts: PluginRestarts;
  /** Version and requested capabilities of each plugin whose manifest is valid. */
  readonly #manifests = new Map<string, { readonly version: string; readonly requested: readonly string[] }>();
  readonly #calls: CallCounter;

  /** The directory through which `ctx.plugins.call` reaches the other plugins of this host. */
  readonly #directory: PluginDirectory = { call: (request) => this.#callPlugin(request) };

  constructor(options: HostOptions) {
    this.#options = options;
    this.#restarts = new PluginRestarts({
      audit: options.audit,
      report: options.report,
      limitsOf: (name) => this.#relaunchInputs.get(name)!.limits,
      relaunch: (name) => this.#relaunch(name),
    });
    this.#calls = new CallCounter(options.audit);
  }

  /** Every plugin seen, with its state. */
  get plugins(): PluginReport[] {
    return [...this.#reports.values()].map((report) => {
      const supervisor = this.#supervisors.get(report.name);
      if (supervisor === undefined) return report;
      const { reason } = supervisor;
      const state = this.#restarts.isRestarting(report.name) ? 'restarting' : supervisor.state;
      const problem: ProblemKind | undefined = state === 'failed' || state === 'crashed' || state === 'quarantined' ? 'failure' : report.problem;
      return { name: report.name, state, ...(reason === undefined ? {} : { reason }), ...(problem ? { problem } : {}) };
    });
  }

  /**
   * Returns what a live view shows of every plugin seen: phase, grants in
   * force, pending requests, calls per capability kind, and its worker's
   * CPU and memory, sampled now (each worker gets up to 200 ms to reply).
   */
  async stats(): Promise<PluginStats[]> {
    return Promise.all(
      this.plugins.map(async ({ name, state, reason }): Promise<PluginStats> => {
        const supervisor = this.#supervisors.get(name);
        const manifest = this.#manifests.get(name);
        const granted = this.#callers.get(name)?.grants().texts() ?? [];
        const requested = manifest?.requested ?? [];
        const usage = await supervisor?.sampleUsage();
        return {
          name,
          ...(manifest === undefined ? {} : { version: manifest.version }),
          phase: phaseOf(state),
          state,
          ...(reason === undefined ? {} : { reason }),
          granted,
          requested,
          pending: requested.filter((text) => !granted.includes(text)),
          calls: this.#calls.countsOf(name),
          inFlight: supervisor?.inFlight ?? 0,
          ...(usage === undefined ? {} : { usage }),
        };
      }),
    );
  }

  /** Returns the supervisor of a loaded plugin. */
  supervisor(name: string): PluginSupervisor | undefined {
    return this.#supervisors.get(name);
  }

  /** 3 when a plugin was refused by the lockfile, 1 when one failed, else 0. */
  exitCode(): number {
    const reports = this.plugins;
    if (reports.some((report) => report.problem === 'lock')) return 3;
    if (reports.some((report) => report.problem === 'failure')) return 1;
    return 0;
  }

  /** Discovers, verifies and loads the plugins into their workers, without starting them. */
  async load(): Promise<void> {
    const { project, only } = this.#options;

    // 1. Discover. Invalid manifests are reported and left out.
    const discovery = await discoverPlugins(project.pluginsDir);
    for (const note of discovery.notes) this.#options.report(formatProblem(note));
    const wanted = this.#selection(discovery, only);
    for (const invalid of discovery.invalid.filter((plugin) => wanted(plugin.name))) {
      const reason = invalid.problems.map(formatProblem).join('\n');
      this.#refuse(invalid.name, 'invalid', reason, 'failure');
    }
    const candidates = discovery.valid.filter((plugin) => wanted(plugin.name));
    for (const { name, manifest } of candidates) this.#manifests.set(name, { version: manifest.version, requested: manifest.capabilities ?? [] });
    if (only !== undefined) {
      for (const name of only) {
        if (!discovery.valid.some((plugin) => plugin.name === name) && !discovery.invalid.some((plugin) => plugin.name === name)) {
          throw new PlugrunError('PLUGRUN_INVALID', `plugin "${name}" not found in ${project.pluginsDir}; run plugrun ls to see the plugins`);
        }
      }
    }

    // 2. Check each against the lockfile; an absent or invalid lockfile grants nothing.
    const lock = await readLockfile(project.lockfile);
    const locked = new Map<string, LockedPlugin>();
    for (const plugin of candidates) {
      if (lock.state === 'missing') {
        this.#refuse(plugin.name, 'refused', `plugin "${plugin.name}" is not locked: ${project.lockfile} does not exist; to pin it run: plugrun lock ${plugin.name}`, 'lock');
        continue;
      }
      if (lock.state === 'invalid') {
        const problems = lock.problems.map(formatProblem).join('; ');
        this.#refuse(plugin.name, 'refused', `plugin "${plugin.name}" is not loaded because the lockfile is invalid: ${problems}`, 'lock');
        continue;
      }
      const entry = Object.hasOwn(lock.lockfile.plugins, plugin.name) ? lock.lockfile.plugins[plugin.name] : undefined;
      if (entry === undefined) {
        this.#refuse(plugin.name, 'refused', `plugin "${plugin.name}" is not locked; to pin it run: plugrun lock ${plugin.name}`, 'lock');
        continue;
      }
      if (entry.version !== plugin.manifest.version) {
        this.#refuse(
          plugin.name,
          'refused',
          `plugin "${plugin.name}" is version ${plugin.manifest.version} but the lockfile pins ${entry.version}; review the change, then run: plugrun lock ${plugin.name}`,
          'lock',
        );
        continue;
      }
      locked.set(plugin.name, entry);
    }
    // A pinned plugin whose folder is gone is not an error for start (nothing
    // of it can run), but the person running start should know.
    if (lock.state === 'ok' && only === undefined) {
      const onDisk = new Set([...discovery.valid, ...discovery.invalid].map((plugin) => plugin.name));
      for (const name of Object.keys(lock.lockfile.plugins).sort()) {
        if (!onDisk.has(name)) {
          this.#options.report(`plugin "${name}" is in the lockfile but not in ${project.pluginsDir}; restore its folder, or remove it from the lockfile with: plugrun lock`);
        }
      }
    }

    // 3. Order. Plugins refused above make their dependents wait for nothing.
    const unavailable: Exclusion[] = [...this.#reports.values()].map((report) => ({ plugin: report.name, reason: report.reason ?? report.state }));
    const lockedPlugins = candidates.filter((plugin) => locked.has(plugin.name));
    const plan = planStartOrder(lockedPlugins.map((plugin) => plugin.manifest), unavailable);
    for (const { plugin, reason } of plan.excluded) {
      if (this.#reports.has(plugin)) continue;
      const message = `plugin "${plugin}" is not started: ${reason}; fix "dependencies" in its plugin.json or the plugins it names`;
      this.#refuse(plugin, 'excluded', message, 'failure');
    }
    this.#order = plan.order;

    // 4. Build each archive, verify it, and load it into a worker, several at a time.
    const byName = new Map(lockedPlugins.map((plugin) => [plugin.name, plugin]));
    await forEachLimited(this.#order, Math.max(2, os.availableParallelism() * 2), async (name) => {
      await this.#loadOne(byName.get(name)!, locked.get(name)!);
    });
  }

  /**
   * Returns which discovered plugins to load: all of them, or the named ones
   * and, transitively, the plugins they depend on.
   */
  #selection(discovery: Discovery, only: readonly string[] | undefined): (name: string) => boolean {
    if (only === undefined) return () => true;

    const manifests = new Map(discovery.valid.map((plugin) => [plugin.name, plugin.manifest]));
    const selected = new Set<string>();
    const pending = [...only];
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (selected.has(name)) continue;
      selected.add(name);
      pending.push(...(manifests.get(name)?.dependencies ?? []));
    }
    return (name) => selected.has(name);
  }

  async #loadOne(plugin: DiscoveredPlugin, entry: LockedPlugin, fresh = false): Promise<void> {
    const { name, manifest } = plugin;
    this.#dependencies.set(name, manifest.dependencies ?? []);

    // 1. Get the archive: cached when the plugin's files are unchanged, else built.
    let archive: PluginArchive;
    try {
      const cacheDir = path.join(this.#options.project.stateDir, 'archives');
      archive = await loadPluginArchive(plugin.dir, { name, version: manifest.version, main: manifest.main }, cacheDir, { fresh });
    } catch (error) {
      this.#refuse(name, 'failed', messageOf(error), 'failure');
      return;
    }

    // 2. Compare its integrity with the lockfile's.
    const integrity = computeIntegrity({
      manifestBytes: plugin.manifestBytes,
      packageJsonBytes: archive.packageJsonBytes,
      mapSha512: archive.mapSha512,
    });
    if (integrity !== entry.integrity) {
      this.#refuse(
        name,
        'refused',
        `plugin "${name}" changed since it was locked (its code hashes to ${integrity.slice(0, 19)}…, the lockfile pins ${entry.integrity.slice(0, 19)}…); review the change, then run: plugrun lock ${name}`,
        'lock',
      );
      return;
    }

    // 3. Load it into a worker, which checks the integrity again over the bytes it received.
    const supervisor = this.#makeSupervisor(plugin, entry, archive, integrity);
    this.#supervisors.set(name, supervisor);
    this.#reports.set(name, { name, state: 'loading' });
    try {
      await supervisor.load();
    } catch (error) {
      // A damaged cache entry fails only the worker's check: build once more from the files.
      if (supervisor.integrityMismatch && archive.cached === true) {
        this.#supervisors.delete(name);
        await this.#loadOne(plugin, entry, true);
        return;
      }
      this.#options.report(messageOf(error));
    }
  }

  #makeSupervisor(plugin: DiscoveredPlugin, entry: LockedPlugin, archive: PluginArchive, integrity: string): PluginSupervisor {
    const { name, manifest } = plugin;
    const limits = resolveLimits(entry.limits);
    this.#relaunchInputs.set(name, { plugin, entry, archive, integrity, limits });
    const caller: MutableCallerState = makeCallerState({
      project: this.#options.project,
      audit: this.#options.audit,
      plugin: { name, version: manifest.version },
      limits,
      grants: entry.grants,
      plugins: this.#directory,
    });
    this.#callers.set(name, caller);
    return new PluginSupervisor({
      name,
      version: manifest.version,
      archive,
      manifestBytes: plugin.manifestBytes,
      integrity,
      limits,
      audit: this.#options.audit,
      caller,
      onStateChange: (changed, state, reason) => {
        this.#options.onStateChange?.(changed, state, reason);
        if (this.#options.restart !== false) this.#restarts.onStateChange(changed, state, reason, this.#started.includes(changed));
      },
      ...(this.#options.pool ? { pool: this.#options.pool } : {}),
    });
  }

  /**
   * Loads and starts a plugin that had crashed or was quarantined in a new
   * worker, from the archive verified at load and with the grants in force
   * now. Its old worker and capabilities are released first, so the new
   * ones find the plugin's data free.
   */
  async #relaunch(name: string): Promise<void> {
    const inputs = this.#relaunchInputs.get(name)!;
    await this.#supervisors.get(name)?.terminate();
    const grants = this.#callers.get(name)?.grants().texts() ?? inputs.entry.grants;
    const supervisor = this.#makeSupervisor(inputs.plugin, { ...inputs.entry, grants }, inputs.archive, inputs.integrity);
    this.#supervisors.set(name, supervisor);
    try {
      await supervisor.load();
      await supervisor.start();
    } catch (error) {
      // The supervisor's state change has already decided on the next restart.
      this.#options.report(messageOf(error));
    }
  }


  /** Runs `start()` of every loaded plugin in order; a plugin whose dependency is not running is skipped. */
  async startAll(): Promise<void> {
    for (const name of this.#order) {
      const supervisor = this.#supervisors.get(name);
      if (supervisor === undefined || supervisor.state !== 'loaded') continue;

      const notRunning = (this.#dependencies.get(name) ?? []).filter((dependency) => this.#supervisors.get(dependency)?.state !== 'running');
      if (notRunning.length > 0) {
        const reason = `plugin "${name}" is not started because its dependency ${notRunning.map((dependency) => `"${dependency}"`).join(', ')} is not running`;
        await supervisor.terminate();
        this.#refuse(name, 'excluded', reason, 'failure');
        this.#supervisors.delete(name);
        continue;
      }

      try {
        await supervisor.start();
        this.#started.push(name);
      } catch (error) {
        this.#options.report(messageOf(error));
      }
    }
  }

  /** Stops every plugin in reverse start order, each within its stop timeout, then terminates every worker. */
  async stopAll(): Promise<void> {
    this.#restarts.stop();
    for (const name of [...this.#started].reverse()) {
      await this.#supervisors.get(name)?.stop();
    }
    await Promise.all([...this.#supervisors.values()].map((supervisor) => supervisor.terminate()));
    await this.#options.pool?.drain();
  }

  /**
   * Watches the lockfile and applies grant changes to the loaded plugins
   * from their next call. A lockfile that fails validation changes nothing:
   * the grants in force stay, and the problem is reported and audited.
   * Returns the function that stops watching.
   */
  watchGrants(intervalMs = 250): () => void {
    const file = this.#options.project.lockfile;
    let applying = Promise.resolve();
    const onChange = () => {
      applying = applying.then(() => this.applyLockfileGrants()).catch((error: unknown) => this.#options.report(messageOf(error)));
    };
    fs.watchFile(file, { interval: intervalMs }, onChange);
    return () => fs.unwatchFile(file, onChange);
  }

  /** Reads the lockfile and gives each loaded plugin the grants it lists now. */
  async applyLockfileGrants(): Promise<void> {
    const { lockfile: file } = this.#options.project;
    const lock = await readLockfile(file);
    if (lock.state !== 'ok') {
      const reason =
        lock.state === 'missing'
          ? `${file} was removed`
          : `${file} is invalid: ${lock.problems.map(formatProblem).join('; ')}`;
      const message = `grants not changed: ${reason}; the grants in force stay until the lockfile is valid again`;
      this.#options.report(message);
      this.#options.audit.write({ plugin: '-', cap: 'runtime', op: 'grants', outcome: 'error', error: { code: 'PLUGRUN_INVALID', message } });
      return;
    }

    for (const [name, caller] of this.#callers) {
      const entry = Object.hasOwn(lock.lockfile.plugins, name) ? lock.lockfile.plugins[name] : undefined;
      const next = entry?.grants ?? [];
      const current = caller.grants().texts();
      const granted = next.filter((text) => !current.includes(text));
      const revoked = current.filter((text) => !next.includes(text));
      if (granted.length === 0 && revoked.length === 0) continue;

      caller.setGrants(next);
      this.#options.audit.write({ plugin: name, cap: 'runtime', op: 'grants', outcome: 'allowed', granted, revoked });
      if (this.#supervisors.get(name)?.state === 'quarantined') this.#restarts.release(name, 'its grants changed');
    }
  }

  /**
   * Runs a command of a running plugin for another plugin. Whatever the
   * target throws reaches the caller as `PLUGRUN_FAILED` with the target's
   * message only; the target's own calls are audited under the target.
   */
  async #callPlugin({ plugin, command, input, depth }: PluginCallRequest): Promise<unknown> {
    const supervisor = this.#supervisors.get(plugin);
    const state = supervisor?.state ?? this.#reports.get(plugin)?.state;
    // A plugin takes calls from the moment its start() runs, so two plugins
    // may call each other while they start. A plugin whose start() has not
    // begun yet takes none.
    if (supervisor === undefined || (supervisor.state !== 'running' && supervisor.state !== 'starting')) {
      let status = `is ${state}`;
      if (state === undefined) status = 'is not loaded in this host';
      if (state === 'loaded') status = 'has not started yet';
      throw new PlugrunError('PLUGRUN_FAILED', `plugin "${plugin}" ${status}, so ${plugin}.${command} cannot be called`);
    }
    try {
      return await supervisor.command(command, input, depth + 1);
    } catch (error) {
      // In a chain a -> b -> c, c's failure reaches a once, not wrapped at every hop.
      const message = messageOf(error).replace(/^(?:[a-z0-9][a-z0-9_-]*\.[A-Za-z_$][\w$]* failed: )+/, '');
      throw new PlugrunError('PLUGRUN_FAILED', `${plugin}.${command} failed: ${message}`);
    }
  }

  /** Records a plugin that will not run, reports it and writes its audit event. */
  #refuse(name: string, state: PluginReport['state'], reason: string, problem: ProblemKind) {
    this.#reports.set(name, { name, state, reason, problem });
    this.#options.report(reason);
    this.#options.audit.write({
      plugin: name,
      cap: 'runtime',
      op: 'load',
      outcome: 'error',
      error: { code: 'PLUGRUN_INVALID', message: reason },
    });
  }
}

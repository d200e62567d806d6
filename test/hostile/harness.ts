/**
 * Runs one hostile fixture under a real `plugrun start`, next to a
 * well-behaved neighbour, and collects what the host printed.
 *
 * The neighbour, `bystander`, logs a tick every 100 ms for as long as it
 * runs. A case waits for the event that shows the attack was stopped, then
 * for more ticks after it, which shows that the host and the neighbour are
 * still alive. Only then is the host asked to stop with SIGTERM, and the
 * neighbour must stop normally.
 */

import fs from 'node:fs';

import * as assert from 'uvu/assert';

import { copyFixture, editLockfile, lockProject, makeProject, spawnCli, writePlugin, type PluginSpec, type TestProject } from '../helpers/project.js';

/** An audit event as printed on stdout. */
export type Event = Record<string, any>;

/** Options of one hostile run. */
export interface HostileRun {
  /** Fixture folders under test/fixtures/hostile to copy into the project. */
  readonly fixtures: readonly string[];
  /** More plugins written for the case, such as a driver that calls a fixture's command. */
  readonly plugins?: Record<string, PluginSpec>;
  /** Lock only these plugins; default all. A fixture that cannot be locked is then refused at start. */
  readonly lockOnly?: readonly string[];
  /** Changes the lockfile after locking: limits and grants. */
  readonly lockfile?: (lockfile: any) => void;
  /** Prepares the project after locking (config files, data, servers' ports). */
  readonly prepare?: (project: TestProject) => void;
  /** Returns true once the events show the attack was handled. */
  readonly until: (events: readonly Event[]) => boolean;
  /** Extra arguments of `plugrun start`. */
  readonly args?: readonly string[];
  /** Gives up waiting after this many milliseconds; default 90 s. */
  readonly timeoutMs?: number;
  /** Called with the project and the running host's pid once `until` holds, before the host is stopped. */
  readonly whileRunning?: (project: TestProject, pid: number) => Promise<void> | void;
}

/** What a hostile run printed. */
export interface HostileResult {
  readonly events: readonly Event[];
  readonly stderr: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The host's peak resident set size, read from /proc before it was stopped, in bytes. */
  readonly peakRssBytes: number | undefined;
  /** Index of the first event at which `until` held. */
  readonly handledAt: number;
}

/** The neighbour plugin: it ticks, returns `pong` for `ping`, and logs when it stops. */
const BYSTANDER = {
  manifest: { loadOrder: 0 },
  files: {
    'index.js': `
      let ticks = 0;
      export async function start(ctx) {
        ctx.timers.setInterval(() => ctx.log.info('tick', { n: ++ticks }), 100);
      }
      export async function stop(ctx) { ctx.log.info('bystander down', { ticks }); }
      export const commands = { async ping() { return 'pong'; } };
    `,
  },
};

/** Ticks of the neighbour that must follow the attack's event. */
const TICKS_AFTER = 3;

const readPeakRss = (pid: number): number | undefined => {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
};

/** Runs the fixtures with the neighbour under `plugrun start` and returns what happened. */
export const runHostile = async (run: HostileRun): Promise<HostileResult> => {
  const project = makeProject({ bystander: BYSTANDER });
  try {
    for (const fixture of run.fixtures) copyFixture(project, 'hostile', fixture);
    for (const [name, spec] of Object.entries(run.plugins ?? {})) writePlugin(project.dir, name, spec);
    await lockProject(project.dir, run.lockOnly ?? []);
    if (run.lockfile) editLockfile(project.dir, run.lockfile);
    run.prepare?.(project);

    const child = spawnCli(['start', '--no-tui', ...(run.args ?? [])], { cwd: project.dir });
    const events: Event[] = [];
    let stderr = '';
    let buffered = '';
    let handledAt = -1;
    let peakRssBytes: number | undefined;

    const finished = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
    const handled = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the attack was not handled within ${run.timeoutMs ?? 90_000} ms; events: ${JSON.stringify(events.slice(-8))}; stderr: ${stderr}`));
      }, run.timeoutMs ?? 90_000);
      const check = () => {
        if (handledAt === -1 && run.until(events)) handledAt = events.length - 1;
        if (handledAt === -1) return;
        const ticksAfter = events.slice(handledAt + 1).filter((event) => event.plugin === 'bystander' && event.message === 'tick');
        if (ticksAfter.length >= TICKS_AFTER) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line));
        check();
      });
      child.on('close', () => {
        clearTimeout(timer);
        if (handledAt === -1) reject(new Error(`plugrun start ended before the attack was handled; stderr: ${stderr}`));
        else resolve();
      });
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin!.end();

    try {
      await handled;
      peakRssBytes = child.pid === undefined ? undefined : readPeakRss(child.pid);
      if (child.pid !== undefined) await run.whileRunning?.(project, child.pid);
    } finally {
      child.kill('SIGTERM');
    }
    const { code, signal } = await finished;
    return { events, stderr, code, signal, peakRssBytes, handledAt };
  } finally {
    project.remove();
  }
};

/**
 * Asserts that the host stayed up and the neighbour kept ticking and stopped
 * normally. The host exits with 0 or 1, or with `lockCode` 3 when the case
 * expects a plugin refused by the lockfile.
 */
export const assertNeighbourUnaffected = (result: HostileResult, lockCode?: 3): void => {
  const { events } = result;
  assert.is(result.signal, null, 'the host exited by itself after SIGTERM, not killed');
  const allowed = lockCode === undefined ? [0, 1] : [lockCode];
  assert.ok(allowed.includes(result.code ?? -1), `the host exited with ${allowed.join(' or ')} (got ${result.code}); stderr: ${result.stderr}`);
  const ticksAfter = events.slice(result.handledAt + 1).filter((event) => event.plugin === 'bystander' && event.message === 'tick');
  assert.ok(ticksAfter.length >= TICKS_AFTER, `the neighbour kept ticking after the attack (${ticksAfter.length} ticks)`);
  assert.ok(events.some((event) => event.plugin === 'bystander' && event.message === 'bystander down'), 'the neighbour ran its stop()');
  const bystanderStop = events.find((event) => event.plugin === 'bystander' && event.cap === 'runtime' && event.op === 'stop');
  assert.is(bystanderStop?.outcome, 'allowed', 'the neighbour stopped normally');
  assert.not.ok(events.some((event) => event.plugin === 'bystander' && event.outcome !== 'allowed'), 'no call of the neighbour failed');
};

/** Returns the events of one plugin. */
export const eventsOf = (events: readonly Event[], plugin: string): Event[] => events.filter((event) => event.plugin === plugin);

/** Returns the fields of the first log line with this message from `plugin`. */
export const logFields = (events: readonly Event[], plugin: string, message: string): Record<string, any> | undefined =>
  events.find((event) => event.plugin === plugin && event.cap === 'log' && event.message === message)?.fields;

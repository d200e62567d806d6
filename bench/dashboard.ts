/**
 * The host's CPU cost of the dashboard under load. One plugin writes
 * `ctx.log.info` events at a fixed rate (1,000 and 10,000 a second). The
 * real `plugrun start` runs once with the dashboard in an 80×24 tmux pane
 * (on a private tmux socket) and once with `--no-tui` and stdout to
 * /dev/null, one after the other in the same run of this script.
 *
 * Measured from /proc after a warm-up: CPU seconds per wall second of the
 * host's main thread (dispatch, audit log, dashboard) and of the whole
 * process (plugin workers included), and the events the audit file
 * received per second.
 *
 * Usage: npx tsc -p . && node dist/bench/dashboard.js [--quick]
 */

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCase, printCases, readBenchOptions, type BenchCase } from './lib/report.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cliPath = path.join(repoRoot, 'dist/cli/main.js');
const TMUX = '/usr/bin/tmux';
const options = readBenchOptions();
const { quick } = options;
const WARMUP_MS = quick ? 1000 : 3000;
const MEASURE_MS = quick ? 2000 : 6000;
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU seconds (user + system) from a /proc stat line. */
const cpuSeconds = (statFile: string): number => {
  const text = fs.readFileSync(statFile, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
};

/**
 * Tells whether a process still runs. An exited process whose parent has
 * not collected it yet (a zombie, state Z) counts as exited. When tmux's
 * server exits with its last pane, the process is left to PID 1, which on
 * the benchmark machine collected it up to about a second later.
 */
const isRunning = (pid: number): boolean => {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

const countLines = (file: string): number => {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
};

/** Makes a locked project whose one plugin logs `rate` events a second, in bursts every 10 ms. */
const makeProject = (rate: number): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-bench-dashboard-'));
  const pluginDir = path.join(dir, 'plugins/load');
  fs.mkdirSync(pluginDir, { recursive: true });
  fs.writeFileSync(path.join(pluginDir, 'plugin.json'), JSON.stringify({ name: 'load', version: '1.0.0', description: 'bench', author: 'bench', license: 'MIT' }));
  fs.writeFileSync(
    path.join(pluginDir, 'index.js'),
    `export async function start(ctx) {
  const perTick = ${rate / 100};
  let n = 0;
  setInterval(() => { for (let i = 0; i < perTick; i += 1) ctx.log.info('event ' + (n += 1)); }, 10);
}\n`,
  );
  execFileSync(process.execPath, [cliPath, 'lock'], { cwd: dir, stdio: 'ignore' });
  // The default log rate limit (200 lines a second) would cap the load.
  const lockfilePath = path.join(dir, 'plugin.lock.json');
  const lockfile = JSON.parse(fs.readFileSync(lockfilePath, 'utf8'));
  lockfile.plugins.load.limits = { logLinesPerSecond: 100_000 };
  fs.writeFileSync(lockfilePath, `${JSON.stringify(lockfile, null, 2)}\n`);
  return dir;
};

interface Sample {
  readonly hostCpu: number;
  readonly processCpu: number;
  readonly events: number;
  /** From pressing q to the process's exit, for the dashboard runs. */
  readonly quitMs?: number;
}

/** Measures a running process by pid over MEASURE_MS after WARMUP_MS. */
const measure = async (pid: number, auditLog: string): Promise<Sample> => {
  await sleep(WARMUP_MS);
  const main = `/proc/${pid}/task/${pid}/stat`;
  const whole = `/proc/${pid}/stat`;
  const before = { host: cpuSeconds(main), all: cpuSeconds(whole), lines: countLines(auditLog), time: Date.now() };
  await sleep(MEASURE_MS);
  const after = { host: cpuSeconds(main), all: cpuSeconds(whole), lines: countLines(auditLog), time: Date.now() };
  const seconds = (after.time - before.time) / 1000;
  return { hostCpu: (after.host - before.host) / seconds, processCpu: (after.all - before.all) / seconds, events: (after.lines - before.lines) / seconds };
};

const withDashboard = async (dir: string): Promise<Sample> => {
  const socket = path.join(dir, 'tmux.sock');
  const tmux = (...args: string[]) =>
    execFileSync(TMUX, ['-S', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  tmux('new-session', '-d', '-s', 'bench', '-x', '80', '-y', '24', `cd '${dir}' && exec env -u CI -u CONTINUOUS_INTEGRATION '${process.execPath}' '${cliPath}' start`);
  try {
    const pid = Number(tmux('display-message', '-p', '-t', 'bench', '#{pane_pid}').trim());
    const sample = await measure(pid, path.join(dir, '.plugrun/audit.ndjson'));
    const screen = tmux('capture-pane', '-p', '-t', 'bench');
    if (!screen.includes('Plugins (1)')) throw new Error(`the dashboard is not on the screen:\n${screen}`);
    tmux('send-keys', '-t', 'bench', 'q');
    const pressed = performance.now();
    while (isRunning(pid)) {
      if (performance.now() - pressed > 10_000) throw new Error('plugrun start did not quit within 10 s of q at this event rate');
      await sleep(20);
    }
    return { ...sample, quitMs: performance.now() - pressed };
  } finally {
    try {
      tmux('kill-server');
    } catch {
      // Already gone.
    }
  }
};

const withoutDashboard = async (dir: string): Promise<Sample> => {
  const devNull = fs.openSync('/dev/null', 'w');
  const child = spawn(process.execPath, [cliPath, 'start', '--no-tui'], { cwd: dir, stdio: ['ignore', devNull, 'ignore'] });
  try {
    return await measure(child.pid!, path.join(dir, '.plugrun/audit.ndjson'));
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('close', resolve));
    fs.closeSync(devNull);
  }
};

if (!fs.existsSync(TMUX)) {
  process.stderr.write(`bench/dashboard: skipped, tmux is not installed at ${TMUX}\n`);
  printCases('Dashboard', [], options);
} else {
  const cases: BenchCase[] = [];
  for (const rate of [1000, 10_000]) {
    const samples: Record<'dashboard' | 'plain', Sample | undefined> = { dashboard: undefined, plain: undefined };
    for (const [key, run] of [['dashboard', withDashboard], ['plain', withoutDashboard]] as const) {
      const dir = makeProject(rate);
      try {
        samples[key] = await run(dir);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    const { dashboard, plain } = samples as Record<'dashboard' | 'plain', Sample>;
    cases.push(
      makeCase({
        case: `host main-thread CPU, dashboard (tmux 80x24), ${rate} events/s asked (${Math.round(dashboard.events)} written)`,
        unit: '% of a core',
        direction: 'lower',
        plugrun: dashboard.hostCpu * 100,
        baseline: plain.hostCpu * 100,
        baselineName: `--no-tui > /dev/null (${Math.round(plain.events)} events/s written)`,
      }),
      makeCase({ case: `from q to exit, dashboard, ${rate} events/s asked`, unit: 'ms', direction: 'lower', plugrun: dashboard.quitMs ?? Number.NaN }),
    );
  }
  printCases('Dashboard CPU under load', cases, options);
}

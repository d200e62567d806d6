/**
 * Start-up benchmarks: `plugrun start --once` against plain Node running the
 * same plugin code unsandboxed, per-plugin start time and memory, and
 * `plugrun --help`. Every figure is the median of several runs after a
 * warm-up, and each ratio compares two figures taken in the same run.
 *
 * Usage: npm run bench [-- --quick] [-- --json]
 */

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { AuditLog } from '../runtime/audit.js';
import { Host } from '../runtime/host.js';
import { resolveProject } from '../runtime/project.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cliPath = path.join(repoRoot, 'dist/cli/main.js');
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const runs = quick ? 3 : 7;

/** One benchmark result. */
interface Case {
  readonly case: string;
  readonly unit: string;
  readonly plugrun: number;
  readonly baseline: number | null;
  readonly baselineName: string | null;
  readonly ratio: number | null;
  readonly target: string;
  readonly met: boolean | null;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Times a command `runs` times after one warm-up run; returns the median in milliseconds. */
const timeCommand = (command: string, args: readonly string[], cwd: string): number => {
  const once = () => {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    if (result.status !== 0 && result.status !== null) {
      throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr.toString()}`);
    }
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  once();
  return median(Array.from({ length: runs }, once));
};

const trivialPlugin = `export async function start(ctx) {\n  ctx.log.info('started at ' + new Date().toISOString());\n}\n`;

/** Makes a project with `count` trivial plugins and locks it. */
const makeProject = (count: number): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-bench-'));
  for (let index = 0; index < count; index += 1) {
    const name = `p${String(index).padStart(3, '0')}`;
    const pluginDir = path.join(dir, 'plugins', name);
    fs.mkdirSync(pluginDir, { recursive: true });
    fs.writeFileSync(
      path.join(pluginDir, 'plugin.json'),
      JSON.stringify({ name, version: '1.0.0', description: 'bench', author: 'bench', license: 'MIT' }),
    );
    fs.writeFileSync(path.join(pluginDir, 'index.js'), trivialPlugin);
  }
  execFileSync(process.execPath, [cliPath, 'lock'], { cwd: dir, stdio: 'ignore' });
  return dir;
};

/**
 * Loads and starts `count` plugins in this process and reports the wall time
 * and the growth of RSS, which includes every worker thread.
 */
const measureHost = async (count: number): Promise<{ ms: number; rssBytes: number }> => {
  const dir = makeProject(count);
  try {
    const samples: Array<{ ms: number; rssBytes: number }> = [];
    for (let run = 0; run < (count >= 100 ? 2 : runs); run += 1) {
      const project = resolveProject({ dir });
      const audit = new AuditLog(project.auditLog);
      const host = new Host({ project, audit, report: () => undefined });
      (globalThis as { gc?: () => void }).gc?.();
      const rssBefore = process.memoryUsage().rss;
      const started = performance.now();
      await host.load();
      await host.startAll();
      const ms = performance.now() - started;
      const rssBytes = process.memoryUsage().rss - rssBefore;
      const running = host.plugins.filter((plugin) => plugin.state === 'running').length;
      await host.stopAll();
      audit.close();
      if (running !== count) throw new Error(`only ${running} of ${count} plugins started`);
      samples.push({ ms, rssBytes });
    }
    return { ms: median(samples.map((sample) => sample.ms)), rssBytes: median(samples.map((sample) => sample.rssBytes)) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

const cases: Case[] = [];
const record = (entry: Omit<Case, 'ratio' | 'met'>, meets: (ratio: number | null, value: number) => boolean | null) => {
  const ratio = entry.baseline === null ? null : entry.plugrun / entry.baseline;
  cases.push({ ...entry, ratio, met: meets(ratio, entry.plugrun) });
};

// 1. The bundled plugins, as `npm start -- --once` runs them.
record(
  { case: 'start --once, bundled plugins', unit: 'ms (lower is better)', plugrun: timeCommand(process.execPath, [cliPath, 'start', '--once', '--no-tui'], repoRoot), baseline: null, baselineName: null, target: 'none' },
  () => null,
);

// 2. One trivial plugin against plain node running the same code unsandboxed.
{
  const dir = makeProject(1);
  const plain = path.join(dir, 'plain.mjs');
  fs.writeFileSync(
    plain,
    `${trivialPlugin}\nconst ctx = { log: { info: (message) => process.stdout.write(JSON.stringify({ message }) + '\\n') } };\nawait start(ctx);\n`,
  );
  const plugrunMs = timeCommand(process.execPath, [cliPath, 'start', '--once', '--no-tui'], dir);
  const nodeMs = timeCommand(process.execPath, [plain], dir);
  record(
    { case: 'start --once, one trivial plugin', unit: 'ms (lower is better)', plugrun: plugrunMs, baseline: nodeMs, baselineName: 'node, same code unsandboxed', target: 'ratio <= 2.0' },
    (ratio) => (ratio === null ? null : ratio <= 2),
  );
  fs.rmSync(dir, { recursive: true, force: true });
}

// 3. Per-plugin start time and memory, from the difference between N plugins and one.
{
  const one = await measureHost(1);
  for (const count of quick ? [10] : [10, 100]) {
    const many = await measureHost(count);
    const perPluginMs = (many.ms - one.ms) / (count - 1);
    const perPluginMb = (many.rssBytes - one.rssBytes) / (count - 1) / 1024 / 1024;
    record(
      { case: `start time per plugin, ${count} plugins`, unit: 'ms (lower is better)', plugrun: perPluginMs, baseline: null, baselineName: null, target: '<= 120 ms' },
      (_ratio, value) => value <= 120,
    );
    record(
      { case: `RSS per plugin, ${count} plugins`, unit: 'MB (lower is better)', plugrun: perPluginMb, baseline: null, baselineName: null, target: '<= 18 MB' },
      (_ratio, value) => value <= 18,
    );
    if (count === 100) {
      record(
        { case: 'start 100 plugins', unit: 'ms (lower is better)', plugrun: many.ms, baseline: null, baselineName: null, target: '<= 5000 ms' },
        (_ratio, value) => value <= 5000,
      );
    }
  }
}

// 4. plugrun --help, against node printing a line.
record(
  {
    case: 'plugrun --help',
    unit: 'ms (lower is better)',
    plugrun: timeCommand(process.execPath, [cliPath, '--help'], repoRoot),
    baseline: timeCommand(process.execPath, ['-e', 'console.log("help")'], repoRoot),
    baselineName: 'node -e console.log',
    target: 'none',
  },
  () => null,
);

const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}, ${os.platform()} ${os.release()}`;
if (json) {
  process.stdout.write(`${JSON.stringify(cases, null, 2)}\n`);
} else {
  process.stdout.write(`Machine: ${machine}\nRuns: median of ${runs} after a warm-up${quick ? ' (--quick)' : ''}\n\n`);
  process.stdout.write('| case | plugrun | baseline | ratio | target | met |\n| --- | --- | --- | --- | --- | --- |\n');
  for (const entry of cases) {
    const baseline = entry.baseline === null ? '-' : `${entry.baseline.toFixed(1)} (${entry.baselineName})`;
    const ratio = entry.ratio === null ? '-' : entry.ratio.toFixed(2);
    let met = '-';
    if (entry.met !== null) met = entry.met ? 'yes' : 'no';
    process.stdout.write(`| ${entry.case} | ${entry.plugrun.toFixed(1)} ${entry.unit.split(' ')[0]} | ${baseline} | ${ratio} | ${entry.target} | ${met} |\n`);
  }
}
process.stderr.write(`machine: ${machine}\n`);

/**
 * Start-up benchmarks: `plugrun start --once` against plain Node running the
 * same plugin code unsandboxed, `deno run` and LavaMoat running a CommonJS
 * build of it; per-plugin start time and memory; and `plugrun --help`. Every figure is the median of several runs after a
 * warm-up, and each ratio compares two figures taken in the same run.
 *
 * Usage: npm run bench [-- --quick] [-- --json]
 */

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { measureHostStart } from './lib/host-start.js';
import { ensurePeer } from './lib/peers.js';
import { makeCase, median, printCases, readBenchOptions, type BenchCase, type CaseInput } from './lib/report.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cliPath = path.join(repoRoot, 'dist/cli/main.js');
const options = readBenchOptions();
const { quick } = options;
const runs = quick ? 3 : 7;

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
    for (let run = 0; run < (count >= 100 ? 2 : runs); run += 1) samples.push(await measureHostStart(dir, count));
    return { ms: median(samples.map((sample) => sample.ms)), rssBytes: median(samples.map((sample) => sample.rssBytes)) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

const cases: BenchCase[] = [];
const record = (input: CaseInput) => cases.push(makeCase(input));

// 1. The bundled plugins, as `npm start -- --once` runs them.
record({
  case: 'start --once, bundled plugins',
  unit: 'ms',
  direction: 'lower',
  plugrun: timeCommand(process.execPath, [cliPath, 'start', '--once', '--no-tui'], repoRoot),
});

// 2. One trivial plugin against plain node running the same code unsandboxed,
// against `deno run` with no permissions (the plugin has no capabilities), and
// against LavaMoat running a CommonJS build of it under a generated policy.
{
  const dir = makeProject(1);
  const plain = path.join(dir, 'plain.mjs');
  fs.writeFileSync(
    plain,
    `${trivialPlugin}\nconst ctx = { log: { info: (message) => process.stdout.write(JSON.stringify({ message }) + '\\n') } };\nawait start(ctx);\n`,
  );
  const forDeno = path.join(dir, 'deno.mjs');
  fs.writeFileSync(forDeno, `${trivialPlugin}\nconst ctx = { log: { info: (message) => console.log(JSON.stringify({ message })) } };\nawait start(ctx);\n`);
  const commonJs = path.join(dir, 'app.cjs');
  fs.writeFileSync(
    commonJs,
    `${trivialPlugin.replace('export async function start', 'async function start')}\nconst ctx = { log: { info: (message) => process.stdout.write(JSON.stringify({ message }) + '\\n') } };\nstart(ctx);\n`,
  );
  const plugrunMs = timeCommand(process.execPath, [cliPath, 'start', '--once', '--no-tui'], dir);
  const nodeMs = timeCommand(process.execPath, [plain], dir);
  const common = { case: 'start --once, one trivial plugin', unit: 'ms', direction: 'lower', plugrun: plugrunMs } as const;
  record({ ...common, case: `${common.case} vs node`, baseline: nodeMs, baselineName: `node ${process.version}, same code unsandboxed`, goal: { ratio: 2 } });

  const deno = ensurePeer('deno');
  record({
    ...common,
    case: `${common.case} vs Deno`,
    baseline: deno.ok ? timeCommand(deno.bin, ['run', '--quiet', '--no-prompt', forDeno], dir) : null,
    baselineName: deno.ok ? `deno ${deno.version}, deno run with no permissions` : `deno not available (${deno.reason})`,
  });

  const lavamoat = ensurePeer('lavamoat');
  let lavamoatMs: number | null = null;
  if (lavamoat.ok) {
    // LavaMoat reads the application's package.json to name its packages.
    fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "bench-app", "version": "1.0.0", "private": true }\n');
    // The policy is generated once, outside the timed runs, as a project would commit it.
    execFileSync(lavamoat.bin, [commonJs, '--autopolicy'], { cwd: dir, stdio: 'ignore' });
    lavamoatMs = timeCommand(lavamoat.bin, [commonJs], dir);
  }
  record({
    ...common,
    case: `${common.case} vs LavaMoat`,
    baseline: lavamoatMs,
    baselineName: lavamoat.ok ? `lavamoat ${lavamoat.version}, CommonJS build, generated policy` : `lavamoat not available (${lavamoat.reason})`,
  });
  fs.rmSync(dir, { recursive: true, force: true });
}

// 3. Per-plugin start time and memory, from the difference between N plugins and one.
{
  const one = await measureHost(1);
  // One plugin carries the host's own first-use costs (SES, the worker pool), so it is reported whole.
  record({ case: 'start time, 1 plugin', unit: 'ms', direction: 'lower', plugrun: one.ms, goal: { value: 120, unit: 'ms' } });
  record({ case: 'RSS, 1 plugin', unit: 'MB', direction: 'lower', plugrun: one.rssBytes / 1024 / 1024, goal: { value: 18, unit: 'MB' } });
  for (const count of quick ? [10] : [10, 100]) {
    const many = await measureHost(count);
    const perPluginMs = (many.ms - one.ms) / (count - 1);
    const perPluginMb = (many.rssBytes - one.rssBytes) / (count - 1) / 1024 / 1024;
    record({ case: `start time per plugin, ${count} plugins`, unit: 'ms', direction: 'lower', plugrun: perPluginMs, goal: { value: 120, unit: 'ms' } });
    record({ case: `RSS per plugin, ${count} plugins`, unit: 'MB', direction: 'lower', plugrun: perPluginMb, goal: { value: 18, unit: 'MB' } });
    if (count === 100) {
      record({ case: 'start 100 plugins', unit: 'ms', direction: 'lower', plugrun: many.ms, goal: { value: 5000, unit: 'ms' } });
    }
  }
}

// 4. plugrun --help, against node printing a line.
record({
  case: 'plugrun --help',
  unit: 'ms',
  direction: 'lower',
  plugrun: timeCommand(process.execPath, [cliPath, '--help'], repoRoot),
  baseline: timeCommand(process.execPath, ['-e', 'console.log("help")'], repoRoot),
  baselineName: 'node -e console.log',
});

printCases(`Start-up: median of ${runs} runs after a warm-up`, cases, options);

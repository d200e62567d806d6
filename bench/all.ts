/**
 * Runs every benchmark script and prints their cases together: a Markdown
 * table with the machine it ran on, or with `--json` one JSON array of
 * `{ case, unit, plugrun, baseline, baselineName, ratio, target, met }`.
 * `--quick` runs fewer and shorter rounds (under two minutes on two cores).
 *
 * Each script runs in its own process, so one script's workers, sockets and
 * heap do not weigh on the next one's figures.
 *
 * Usage: npm run bench [-- --quick] [-- --json]
 */

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describeMachine, formatTable, readBenchOptions, type BenchCase } from './lib/report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const options = readBenchOptions();

/** The scripts, in the order they run, with the Node flags each needs. */
const SCRIPTS: ReadonlyArray<{ readonly file: string; readonly nodeFlags?: readonly string[] }> = [
  // The start-up script calls gc() between runs to measure memory.
  { file: 'run.js', nodeFlags: ['--expose-gc'] },
  { file: 'fs.js' },
  { file: 'net.js' },
  { file: 'db.js' },
  { file: 'plugins.js' },
  { file: 'audit.js' },
  { file: 'limits.js' },
  { file: 'libraries.js', nodeFlags: ['--expose-gc'] },
  { file: 'dashboard.js' },
];

const started = performance.now();
const cases: BenchCase[] = [];
let failed = 0;
for (const script of SCRIPTS) {
  process.stderr.write(`bench: running ${script.file}\n`);
  const args = [...(script.nodeFlags ?? []), path.join(here, script.file), '--json', ...(options.quick ? ['--quick'] : [])];
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    failed += 1;
    process.stderr.write(`bench: ${script.file} exited with ${result.status ?? result.signal}\n`);
    continue;
  }
  cases.push(...(JSON.parse(result.stdout) as BenchCase[]));
}

const seconds = (performance.now() - started) / 1000;
if (options.json) {
  process.stdout.write(`${JSON.stringify(cases, null, 2)}\n`);
} else {
  process.stdout.write(`Machine: ${describeMachine()}\nCommand: npm run bench${options.quick ? ' -- --quick' : ''}, ${seconds.toFixed(0)} s\n\n${formatTable(cases)}`);
}
process.stderr.write(`bench: machine ${describeMachine()}; ${cases.length} cases in ${seconds.toFixed(0)} s\n`);
process.exitCode = failed > 0 ? 1 : 0;

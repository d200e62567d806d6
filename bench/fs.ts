/**
 * 4 KiB file reads and writes: `ctx.fs.readFile` and `ctx.fs.writeFile` from
 * a real plugin against Deno (`Deno.readTextFile`, `Deno.writeTextFile`
 * with `--allow-read`/`--allow-write` of the same folder) and raw Node
 * (`fs.promises`). Each runtime runs in its own process and times its own
 * loop after a warm-up loop, so process start-up is left out; the rounds of
 * the runtimes alternate and each figure is the median of the rounds.
 *
 * Usage: node dist/bench/fs.js [--quick] [--json]
 */

import fs from 'node:fs';
import path from 'node:path';

import { ensurePeer } from './lib/peers.js';
import { callPlugin, makeBenchProject, removeProject, runCommand, writeFile } from './lib/project.js';
import { makeCase, median, printCases, readBenchOptions, type BenchCase } from './lib/report.js';

const options = readBenchOptions();
const count = options.quick ? 500 : 2000;
const rounds = options.quick ? 3 : 5;
const text = 'x'.repeat(4096);

// 1. The plugin, its 4 KiB file, and the same loops for Deno and Node.
const pluginSource = `
const text = 'x'.repeat(4096);
const loop = async (count, body) => {
  for (let index = 0; index < 200; index += 1) await body();
  const started = Date.now();
  for (let index = 0; index < count; index += 1) await body();
  return Date.now() - started;
};
export const commands = {
  read: ({ count }, ctx) => loop(count, () => ctx.fs.readFile('data/4k.txt')),
  write: ({ count }, ctx) => loop(count, () => ctx.fs.writeFile('data/out.txt', text)),
};
`;
const dir = makeBenchProject('fs', { bench: { source: pluginSource, grants: ['fs:data/'] } });
const dataDir = path.join(dir, '.plugrun/data/bench/data');
writeFile(dataDir, '4k.txt', text);

const loopScript = (readCall: string, writeCall: string) => `
const [mode, file, count] = ARGS;
const text = 'x'.repeat(4096);
const body = mode === 'read' ? () => ${readCall} : () => ${writeCall};
for (let index = 0; index < 200; index += 1) await body();
const started = performance.now();
for (let index = 0; index < Number(count); index += 1) await body();
console.log(performance.now() - started);
`;
const denoScript = path.join(dir, 'loop-deno.js');
fs.writeFileSync(denoScript, loopScript('Deno.readTextFile(file)', 'Deno.writeTextFile(file, text)').replace('ARGS', 'Deno.args'));
const nodeScript = path.join(dir, 'loop-node.mjs');
fs.writeFileSync(
  nodeScript,
  `import { readFile, writeFile } from 'node:fs/promises';\n${loopScript("readFile(file, 'utf8')", 'writeFile(file, text)').replace('ARGS', 'process.argv.slice(2)')}`,
);

type Mode = 'read' | 'write';
const targetFile = (mode: Mode) => path.join(dataDir, mode === 'read' ? '4k.txt' : 'out.txt');
const perSecond = (ms: number) => count / (ms / 1000);

// 2. One round of each runtime, timed inside the runtime.
const plugrunRound = async (mode: Mode) => perSecond((await callPlugin(dir, 'bench', mode, { count })) as number);
const nodeRound = async (mode: Mode) => perSecond(Number(await runCommand(process.execPath, [nodeScript, mode, targetFile(mode), String(count)], dir)));
const deno = ensurePeer('deno');
const denoRound = async (mode: Mode) => {
  if (!deno.ok) return null;
  const flag = mode === 'read' ? `--allow-read=${dataDir}` : `--allow-write=${dataDir}`;
  return perSecond(Number(await runCommand(deno.bin, ['run', '--quiet', '--no-prompt', flag, denoScript, mode, targetFile(mode), String(count)], dir)));
};

// 3. Alternate the runtimes round by round after one warm-up round each.
const cases: BenchCase[] = [];
for (const mode of ['read', 'write'] as const) {
  await plugrunRound(mode);
  await nodeRound(mode);
  await denoRound(mode);
  const figures = { plugrun: [] as number[], node: [] as number[], deno: [] as number[] };
  for (let round = 0; round < rounds; round += 1) {
    figures.plugrun.push(await plugrunRound(mode));
    figures.node.push(await nodeRound(mode));
    const denoFigure = await denoRound(mode);
    if (denoFigure !== null) figures.deno.push(denoFigure);
  }
  const name = mode === 'read' ? 'ctx.fs.readFile 4 KiB' : 'ctx.fs.writeFile 4 KiB';
  const unit = mode === 'read' ? 'reads/s' : 'writes/s';
  cases.push(
    makeCase({
      case: `${name} vs Deno`,
      unit,
      direction: 'higher',
      plugrun: median(figures.plugrun),
      baseline: deno.ok ? median(figures.deno) : null,
      baselineName: deno.ok
        ? `deno ${deno.version}, ${mode === 'read' ? 'Deno.readTextFile --allow-read' : 'Deno.writeTextFile --allow-write'}`
        : `deno not available (${deno.reason})`,
      goal: mode === 'read' ? { ratio: 1.0 } : null,
    }),
    makeCase({
      case: `${name} vs Node`,
      unit,
      direction: 'higher',
      plugrun: median(figures.plugrun),
      baseline: median(figures.node),
      baselineName: `node ${process.version}, fs.promises.${mode === 'read' ? 'readFile' : 'writeFile'}`,
    }),
  );
}

removeProject(dir);
printCases('4 KiB file reads and writes', cases, options);

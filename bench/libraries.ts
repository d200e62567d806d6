/**
 * The cost of npm dependencies in a plugin: lock time, start time and memory
 * for a plugin that imports marked and zod, against a plugin with no
 * dependencies. Both plugins parse a short text in `start`.
 *
 * marked and zod are copied from this repository's own installs
 * (plugins/notes/node_modules/marked and node_modules/zod), so the benchmark
 * needs no registry. Lock time spawns `plugrun lock` with the archive cache
 * removed, so every run builds the archive. Start time and RSS growth load
 * and start the plugin in this process with the real host and a real
 * worker, reusing the archive that the lock left. Each figure is the median
 * of several runs after a warm-up run.
 *
 * Usage: npx tsc -p . && node --expose-gc dist/bench/libraries.js [--quick] [--json]
 */

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { measureHostStart } from './lib/host-start.js';
import { makeCase, median, printCases, readBenchOptions, type BenchCase } from './lib/report.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cliPath = path.join(repoRoot, 'dist/cli/main.js');
const options = readBenchOptions();
const runs = options.quick ? 3 : 7;
// One lock of marked + zod takes seconds, so --quick times a single lock after the warm-up.
const lockRuns = options.quick ? 1 : runs;

const manifest = (name: string) =>
  `${JSON.stringify({ name, version: '1.0.0', description: 'bench', author: 'bench', license: 'MIT' })}\n`;

const withDepsSource = `import { marked } from 'marked';
import { z } from 'zod';

const Note = z.object({ title: z.string().min(1), body: z.string() });

export async function start(ctx) {
  const note = Note.parse({ title: 'Hello', body: '# Hello\\n\\n*world*' });
  ctx.log.info(marked.parse(note.body));
}
`;

const noDepsSource = `export async function start(ctx) {
  const note = JSON.parse('{"title":"Hello","body":"# Hello"}');
  ctx.log.info(note.body.replace(/^# (.*)$/, '<h1>$1</h1>'));
}
`;

/** Makes a project holding one plugin; `withDeps` adds marked and zod to its node_modules. */
const makeProject = (name: string, withDeps: boolean): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-bench-libraries-'));
  const pluginDir = path.join(dir, 'plugins', name);
  fs.mkdirSync(pluginDir, { recursive: true });
  fs.writeFileSync(path.join(pluginDir, 'plugin.json'), manifest(name));
  fs.writeFileSync(path.join(pluginDir, 'index.js'), withDeps ? withDepsSource : noDepsSource);
  if (withDeps) {
    const dependencies = { marked: path.join(repoRoot, 'plugins/notes/node_modules/marked'), zod: path.join(repoRoot, 'node_modules/zod') };
    const versions: Record<string, string> = {};
    for (const [dependency, source] of Object.entries(dependencies)) {
      fs.cpSync(source, path.join(pluginDir, 'node_modules', dependency), { recursive: true });
      versions[dependency] = JSON.parse(fs.readFileSync(path.join(source, 'package.json'), 'utf8')).version;
    }
    const packageJson = { name, version: '1.0.0', private: true, type: 'module', dependencies: versions };
    fs.writeFileSync(path.join(pluginDir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  }
  return dir;
};

const timeLock = (dir: string): number => {
  const once = () => {
    fs.rmSync(path.join(dir, '.plugrun/archives'), { recursive: true, force: true });
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, [cliPath, 'lock'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    if (result.status !== 0) throw new Error(`plugrun lock exited ${result.status}: ${result.stderr.toString()}`);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  once();
  return median(Array.from({ length: lockRuns }, once));
};

const measureStart = async (dir: string): Promise<{ ms: number; rssMb: number }> => {
  const once = async () => {
    const { ms, rssBytes } = await measureHostStart(dir, 1);
    return { ms, rssMb: rssBytes / 1024 / 1024 };
  };
  await once();
  const samples: Array<{ ms: number; rssMb: number }> = [];
  for (let run = 0; run < runs; run += 1) samples.push(await once());
  return { ms: median(samples.map((sample) => sample.ms)), rssMb: median(samples.map((sample) => sample.rssMb)) };
};

const projects = {
  plain: makeProject('plain', false),
  withDeps: makeProject('withdeps', true),
};

try {
  const measure = async (dir: string) => {
    const lockMs = timeLock(dir);
    const start = await measureStart(dir);
    const archiveDir = path.join(dir, '.plugrun/archives');
    const archiveKiB = fs.readdirSync(archiveDir).reduce((sum, file) => sum + fs.statSync(path.join(archiveDir, file)).size, 0) / 1024;
    return { lockMs, ...start, archiveKiB };
  };
  const plain = await measure(projects.plain);
  const withDeps = await measure(projects.withDeps);
  const baselineName = 'a plugin with no dependencies';
  const cases: BenchCase[] = [
    makeCase({ case: 'plugrun lock, plugin using marked + zod', unit: 'ms', direction: 'lower', plugrun: withDeps.lockMs, baseline: plain.lockMs, baselineName }),
    makeCase({ case: 'load and start, plugin using marked + zod', unit: 'ms', direction: 'lower', plugrun: withDeps.ms, baseline: plain.ms, baselineName }),
    makeCase({ case: 'RSS growth, plugin using marked + zod', unit: 'MB', direction: 'lower', plugrun: withDeps.rssMb, baseline: plain.rssMb, baselineName }),
    makeCase({ case: 'archive cache, plugin using marked + zod', unit: 'KiB', direction: 'lower', plugrun: withDeps.archiveKiB, baseline: plain.archiveKiB, baselineName }),
  ];
  printCases(`npm dependencies in a plugin: median of ${runs} runs (of ${lockRuns} for the lock) after a warm-up`, cases, options);
} finally {
  for (const dir of Object.values(projects)) fs.rmSync(dir, { recursive: true, force: true });
}

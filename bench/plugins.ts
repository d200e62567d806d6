/**
 * The cost of `ctx` calls made by real plugins, through their worker, the
 * host's dispatch gate and the audit log. Three cases: one `ctx.config.get`
 * round trip, `ctx.fs.readFile` of a 4 KiB file against
 * `fs.promises.readFile` in this process, and sequential `ctx.plugins.call`
 * between two plugins.
 *
 * Each figure is the median of five rounds after a warm-up round.
 *
 * Usage: npx tsc -p . && node dist/bench/plugins.js [--quick]
 */

import { execFileSync } from 'node:child_process';
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
const COUNT = quick ? 500 : 3000;

const manifest = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name, version: '1.0.0', description: 'bench', author: 'bench', license: 'MIT', ...extra });

// The caller times its own loops, so worker start-up is not in the figures.
const callerSource = `
const time = async (count, body) => {
  const started = Date.now();
  for (let index = 0; index < count; index += 1) await body();
  return Date.now() - started;
};
export const commands = {
  configGet: ({ count }, ctx) => time(count, () => ctx.config.get('x')),
  readFile: ({ count }, ctx) => time(count, () => ctx.fs.readFile('data/4k.txt')),
  pluginCall: ({ count }, ctx) => time(count, () => ctx.plugins.call('echo', 'echo', { n: 1 })),
};
`;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-bench-plugins-'));
const write = (relative: string, content: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
  fs.writeFileSync(path.join(dir, relative), content);
};
write('plugins/caller/plugin.json', manifest('caller', { dependencies: ['echo'] }));
write('plugins/caller/index.js', callerSource);
write('plugins/echo/plugin.json', manifest('echo'));
write('plugins/echo/index.js', 'export const commands = { echo: (input) => input };\n');
const fileText = 'x'.repeat(4096);
write('.plugrun/data/caller/data/4k.txt', fileText);
execFileSync(process.execPath, [cliPath, 'lock'], { cwd: dir, stdio: 'ignore' });
execFileSync(process.execPath, [cliPath, 'grant', 'caller', 'fs.read:data/', 'msg:echo'], { cwd: dir, stdio: 'ignore' });

const project = resolveProject({ dir });
const audit = new AuditLog(project.auditLog);
const host = new Host({ project, audit, report: (message) => process.stderr.write(`${message}\n`) });
await host.load();
await host.startAll();
const caller = host.supervisor('caller');
if (caller === undefined || caller.state !== 'running') throw new Error('the caller plugin did not start');

const timeCommand = async (command: string): Promise<number> => {
  await caller.command(command, { count: COUNT });
  const rounds: number[] = [];
  for (let round = 0; round < 5; round += 1) rounds.push((await caller.command(command, { count: COUNT })) as number);
  return median(rounds);
};

const rawReadMs = async (): Promise<number> => {
  const file = path.join(dir, '.plugrun/data/caller/data/4k.txt');
  const round = async () => {
    const started = performance.now();
    for (let index = 0; index < COUNT; index += 1) await fs.promises.readFile(file, 'utf8');
    return performance.now() - started;
  };
  await round();
  const rounds: number[] = [];
  for (let index = 0; index < 5; index += 1) rounds.push(await round());
  return median(rounds);
};

const rate = (ms: number) => (COUNT / ms) * 1000;
const configMs = await timeCommand('configGet');
const readMs = await timeCommand('readFile');
const rawMs = await rawReadMs();
const callMs = await timeCommand('pluginCall');

await host.stopAll();
audit.close();
fs.rmSync(dir, { recursive: true, force: true });

const rows = [
  ['ctx.config.get round trip', `${rate(configMs).toFixed(0)} calls/s`, '-', '-'],
  ['ctx.fs.readFile, 4 KiB', `${rate(readMs).toFixed(0)} reads/s`, `${rate(rawMs).toFixed(0)} reads/s (fs.promises.readFile)`, (rawMs / readMs).toFixed(2)],
  ['ctx.plugins.call, sequential', `${rate(callMs).toFixed(0)} calls/s`, '-', '-'],
];
process.stdout.write(`Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}; ${COUNT} calls per round, median of 5\n\n`);
process.stdout.write('| case | plugrun | baseline | ratio |\n| --- | --- | --- | --- |\n');
for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);

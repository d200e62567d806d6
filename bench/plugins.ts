/**
 * The cost of `ctx` calls made by real plugins, through their worker, the
 * host's dispatch gate and the audit log: one `ctx.config.get` round trip,
 * and sequential `ctx.plugins.call` between two plugins. (File reads are in
 * bench/fs.ts.)
 *
 * Each figure is the median of five rounds after a warm-up round.
 *
 * Usage: npx tsc -p . && node dist/bench/plugins.js [--quick] [--json]
 */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { AuditLog } from '../runtime/audit.js';
import { Host } from '../runtime/host.js';
import { resolveProject } from '../runtime/project.js';
import { makeCase, median, printCases, readBenchOptions } from './lib/report.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cliPath = path.join(repoRoot, 'dist/cli/main.js');
const options = readBenchOptions();
const COUNT = options.quick ? 500 : 3000;

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
  pluginCall: ({ count }, ctx) => time(count, () => ctx.plugins.call('echo', 'echo', { n: 1 })),
};
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-bench-plugins-'));
const write = (relative: string, content: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
  fs.writeFileSync(path.join(dir, relative), content);
};
write('plugins/caller/plugin.json', manifest('caller', { dependencies: ['echo'] }));
write('plugins/caller/index.js', callerSource);
write('plugins/echo/plugin.json', manifest('echo'));
write('plugins/echo/index.js', 'export const commands = { echo: (input) => input };\n');
execFileSync(process.execPath, [cliPath, 'lock'], { cwd: dir, stdio: 'ignore' });
execFileSync(process.execPath, [cliPath, 'grant', 'caller', 'msg:echo'], { cwd: dir, stdio: 'ignore' });

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

const rate = (ms: number) => (COUNT / ms) * 1000;
const configMs = await timeCommand('configGet');
const callMs = await timeCommand('pluginCall');

await host.stopAll();
audit.close();
fs.rmSync(dir, { recursive: true, force: true });

const cases = [
  makeCase({ case: 'ctx.config.get round trip', unit: 'calls/s', direction: 'higher', plugrun: rate(configMs) }),
  makeCase({ case: 'ctx.plugins.call, sequential', unit: 'calls/s', direction: 'higher', plugrun: rate(callMs), goal: { value: 15_000, unit: 'calls/s' } }),
];
printCases(`ctx calls from plugins: ${COUNT} calls per round, median of 5 rounds`, cases, options);

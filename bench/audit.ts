/**
 * Audit log benchmarks: sustained hash-chained appends per second through
 * `AuditLog` (batched as the runtime batches them, and one flush per event
 * as the gate does for each ctx call), and the cost per `ctx.config.get`
 * of auditing it. For that cost, two hosts run the same plugin in the same
 * process: one with the real log, one with a sink that drops every event.
 * The sink is defined here, in the benchmark; plugrun has no option that
 * turns auditing off.
 *
 * Each figure is the median of five rounds after a warm-up round.
 *
 * Usage: npx tsc -p . && node dist/bench/audit.js [--quick] [--json]
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
const { quick } = options;
const APPENDS = quick ? 100_000 : 500_000;
const FLUSHED_APPENDS = quick ? 5_000 : 20_000;
const CALLS = quick ? 1000 : 5000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-bench-audit-'));

/** Runs `round` once to warm up, then five times; returns the median in milliseconds. */
const medianOf = async (round: () => Promise<number> | number): Promise<number> => {
  await round();
  const rounds: number[] = [];
  for (let index = 0; index < 5; index += 1) rounds.push(await round());
  return median(rounds);
};

// 1. Appends: a typical db event, written in a loop; each round starts a new file.
const event = { plugin: 'notes', cap: 'db', op: 'insert', target: 'notes', outcome: 'allowed', ms: 0.412 } as const;
let roundNumber = 0;
const appendRound = (count: number, flushEach: boolean) => {
  const log = new AuditLog(path.join(dir, `appends-${(roundNumber += 1)}.ndjson`));
  const started = performance.now();
  for (let index = 0; index < count; index += 1) {
    log.write(event);
    if (flushEach) log.flush();
  }
  log.close();
  return performance.now() - started;
};
const batchedMs = await medianOf(() => appendRound(APPENDS, false));
const flushedMs = await medianOf(() => appendRound(FLUSHED_APPENDS, true));

// 2. ctx.config.get with and without auditing, in the same process.
const project = path.join(dir, 'project');
fs.mkdirSync(path.join(project, 'plugins/caller'), { recursive: true });
fs.writeFileSync(
  path.join(project, 'plugins/caller/plugin.json'),
  JSON.stringify({ name: 'caller', version: '1.0.0', description: 'bench', author: 'bench', license: 'MIT' }),
);
fs.writeFileSync(
  path.join(project, 'plugins/caller/index.js'),
  `export const commands = {
    configGet: async ({ count }, ctx) => {
      const started = Date.now();
      for (let index = 0; index < count; index += 1) await ctx.config.get('x');
      return Date.now() - started;
    },
  };\n`,
);
execFileSync(process.execPath, [cliPath, 'lock'], { cwd: project, stdio: 'ignore' });

/** An audit sink that drops every event, for the comparison only. */
const droppingSink = {
  write: () => undefined,
  flush: () => undefined,
  subscribe: () => () => undefined,
  close: () => undefined,
} as unknown as AuditLog;

const callRound = async (audit: AuditLog): Promise<number> => {
  const host = new Host({ project: resolveProject({ dir: project }), audit, report: (message) => process.stderr.write(`${message}\n`) });
  await host.load();
  await host.startAll();
  const caller = host.supervisor('caller');
  if (caller === undefined || caller.state !== 'running') throw new Error('the caller plugin did not start');
  const ms = await medianOf(async () => (await caller.command('configGet', { count: CALLS })) as number);
  await host.stopAll();
  return ms;
};
const realLog = new AuditLog(path.join(dir, 'calls.ndjson'));
const auditedMs = await callRound(realLog);
realLog.close();
const unauditedMs = await callRound(droppingSink);

fs.rmSync(dir, { recursive: true, force: true });

const perSecond = (count: number, ms: number) => (count / ms) * 1000;
const microseconds = (ms: number, count: number) => (ms / count) * 1000;
const cases = [
  makeCase({
    case: 'hash-chained audit appends, batched (1,024 per flush at most)',
    unit: 'events/s',
    direction: 'higher',
    plugrun: perSecond(APPENDS, batchedMs),
    goal: { value: 200_000, unit: 'events/s' },
  }),
  makeCase({
    case: 'hash-chained audit appends, one flush each (lock, write, unlock)',
    unit: 'events/s',
    direction: 'higher',
    plugrun: perSecond(FLUSHED_APPENDS, flushedMs),
  }),
  makeCase({
    case: 'ctx.config.get from a plugin, audited vs events dropped',
    unit: 'µs per call',
    direction: 'lower',
    plugrun: microseconds(auditedMs, CALLS),
    baseline: microseconds(unauditedMs, CALLS),
    baselineName: 'the same host with a sink that drops events',
  }),
];
printCases(`Audit log: median of 5 rounds, temporary folder ${os.tmpdir()}`, cases, options);

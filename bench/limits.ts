/**
 * How fast the host stops a plugin that passes its memory or time limit,
 * and how much memory the host process holds meanwhile.
 *
 * Each case runs one plugin in a real host, in this process, with real
 * workers and SES. The plugin logs a line just before its attack; its worker
 * sends that line at once, even though the attack then keeps its thread
 * busy. The harness samples the process RSS every 5 ms.
 *
 * - Memory cases: the limit is passed at the first sample where the RSS is
 *   more than `memoryMb` above the RSS at the plugin's line. The figure is
 *   the time from that sample to the host's `limit` event.
 * - Time cases: the limit is passed `callTimeoutMs` after the command was
 *   sent (for an idle loop, after the plugin's line). The figure is the time
 *   from then to the `limit` event.
 *
 * Each figure is the median of the rounds (5, or 3 with `--quick`).
 *
 * Usage: npx tsc -p . && node dist/bench/limits.js [--quick] [--json]
 */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { AuditLog, type AuditEvent } from '../runtime/audit.js';
import { Host } from '../runtime/host.js';
import { resolveProject } from '../runtime/project.js';
import { makeCase, median, printCases, readBenchOptions, type BenchCase } from './lib/report.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cliPath = path.join(repoRoot, 'dist/cli/main.js');
const options = readBenchOptions();
const { quick } = options;
const ROUNDS = quick ? 3 : 5;
const MiB = 1024 * 1024;
const MEMORY_MB = 128;
// Shorter with --quick: the figures are measured from the moment the limit is passed, so its value only adds waiting.
const CALL_TIMEOUT_MS = quick ? 300 : 1000;

/** One attack: the plugin's source, and how the harness sets it off. */
interface Case {
  readonly name: string;
  readonly kind: 'memory' | 'time';
  readonly source: string;
  /** A command to run; without one, the attack runs from `start()`. */
  readonly command?: string;
}

const CASES: Case[] = [
  {
    name: 'typed-array bomb, 30 x 100 MiB filled Uint8Array',
    kind: 'memory',
    source: `export async function start(ctx) {
      ctx.log.info('attack');
      const hoard = [];
      for (let i = 0; i < 30; i += 1) hoard.push(new Uint8Array(100 * 1024 * 1024).fill(i + 1));
    }`,
  },
  {
    name: 'TextEncoder bomb, 30 x 100 MiB',
    kind: 'memory',
    source: `export async function start(ctx) {
      const text = 'x'.repeat(100 * 1024 * 1024);
      const encoder = new TextEncoder();
      ctx.log.info('attack');
      const hoard = [];
      for (let i = 0; i < 30; i += 1) hoard.push(encoder.encode(text));
    }`,
  },
  {
    name: 'typed arrays allocated between awaits, 10 MiB each',
    kind: 'memory',
    source: `export async function start(ctx) {
      ctx.log.info('attack');
      const hoard = [];
      for (let i = 0; i < 300; i += 1) {
        hoard.push(new Uint8Array(10 * 1024 * 1024).fill(1));
        await ctx.timers.sleep(5);
      }
    }`,
  },
  {
    name: 'synchronous loop in a command',
    kind: 'time',
    command: 'attack',
    source: `export const commands = { async attack(input, ctx) { for (;;) {} } };`,
  },
  {
    name: 'endless microtask chain in a command',
    kind: 'time',
    command: 'attack',
    source: `export const commands = { async attack() { const spin = () => Promise.resolve().then(spin); spin(); await new Promise(() => {}); } };`,
  },
  {
    name: 'loop in a timer callback, no command running',
    kind: 'time',
    source: `export async function start(ctx) {
      ctx.timers.setTimeout(() => { ctx.log.info('attack'); for (;;) {} }, 100);
    }`,
  },
];


/** Runs one round of one case and returns the time to the stop and the peak RSS growth. */
const runRound = async (attack: Case): Promise<{ stopMs: number; peakGrowthMb: number; limit: string }> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-bench-limits-'));
  try {
    fs.mkdirSync(path.join(dir, 'plugins/attack'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'plugins/attack/plugin.json'), JSON.stringify({ name: 'attack', version: '1.0.0', description: 'bench', author: 'bench', license: 'MIT' }));
    fs.writeFileSync(path.join(dir, 'plugins/attack/index.js'), attack.source);
    execFileSync(process.execPath, [cliPath, 'lock'], { cwd: dir, stdio: 'ignore' });
    const lockfilePath = path.join(dir, 'plugin.lock.json');
    const lockfile = JSON.parse(fs.readFileSync(lockfilePath, 'utf8'));
    lockfile.plugins.attack.limits = { memoryMb: MEMORY_MB, callTimeoutMs: CALL_TIMEOUT_MS, restartLimit: 0 };
    fs.writeFileSync(lockfilePath, JSON.stringify(lockfile));

    const project = resolveProject({ dir });
    const audit = new AuditLog(project.auditLog);
    const host = new Host({ project, audit, report: () => {} });

    let attackAt: number | undefined;
    let attackRss = 0;
    let exceededAt: number | undefined;
    let peakRss = 0;
    let stopped: { at: number; limit: string } | undefined;
    audit.subscribe((event: AuditEvent) => {
      if (event.message === 'attack' && attackAt === undefined) {
        attackAt = performance.now();
        attackRss = process.memoryUsage.rss();
      }
      if (event.op === 'limit' && stopped === undefined) stopped = { at: performance.now(), limit: String(event.limit) };
    });
    const sampler = setInterval(() => {
      const rss = process.memoryUsage.rss();
      if (attackAt === undefined || stopped !== undefined) return;
      peakRss = Math.max(peakRss, rss);
      if (exceededAt === undefined && rss - attackRss > MEMORY_MB * MiB) exceededAt = performance.now();
    }, 5);

    try {
      await host.load();
      let commandSentAt: number | undefined;
      if (attack.command === undefined) {
        await host.startAll().catch(() => undefined);
      } else {
        await host.startAll();
        commandSentAt = performance.now();
        attackAt = commandSentAt;
        attackRss = process.memoryUsage.rss();
        await host.supervisor('attack')!.command(attack.command, null).catch(() => undefined);
      }
      const deadline = performance.now() + 60_000;
      while (stopped === undefined && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      if (stopped === undefined || attackAt === undefined) throw new Error(`${attack.name}: the plugin was not stopped`);

      // Measured from the limit that stopped the plugin: an endless microtask
      // chain also allocates, and its memory can pass memoryMb first.
      const passedAt = stopped.limit === 'memoryMb' ? (exceededAt ?? stopped.at) : attackAt + CALL_TIMEOUT_MS;
      return { stopMs: stopped.at - passedAt, peakGrowthMb: Math.max(0, peakRss - attackRss) / MiB, limit: stopped.limit };
    } finally {
      clearInterval(sampler);
      await host.stopAll();
      audit.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

const cases: BenchCase[] = [];
for (const attack of CASES) {
  const stops: number[] = [];
  const peaks: number[] = [];
  const limits = new Set<string>();
  for (let round = 0; round < ROUNDS; round += 1) {
    const result = await runRound(attack);
    stops.push(result.stopMs);
    peaks.push(result.peakGrowthMb);
    limits.add(result.limit);
  }
  // The name stays the same from run to run, and stderr names the limits that fired.
  process.stderr.write(`bench: ${attack.name}: stopped by ${[...limits].sort().join(' and ')}\n`);
  cases.push(makeCase({ case: `${attack.name}: from passing a limit to stopped`, unit: 'ms', direction: 'lower', plugrun: median(stops) }));
  if (attack.kind === 'memory') {
    cases.push(makeCase({ case: `${attack.name}: host RSS growth`, unit: 'MiB', direction: 'lower', plugrun: median(peaks) }));
  }
}

printCases(`Limits: memoryMb ${MEMORY_MB}, callTimeoutMs ${CALL_TIMEOUT_MS}; median of ${ROUNDS} rounds`, cases, options);

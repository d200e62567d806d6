/**
 * Sequential GET requests per second to one loopback server in this process.
 * `ctx.net.fetch` through the dispatch gate in this process is compared with
 * raw Node `fetch` in this process. `ctx.net.fetch` from a real plugin run by
 * `plugrun call` is compared with raw Node `fetch` in a child process,
 * because both cross from another process. Each figure is the median of
 * several rounds, and the rounds of the four clients alternate, so they
 * share the machine's state.
 *
 * Usage: node dist/bench/net.js [--quick] [--json]
 */

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { GrantSet } from '../capabilities/grant-set.js';
import { DEFAULT_LIMITS, type Limits } from '../capabilities/limits.js';
import { makeNetCapabilityWith } from '../capabilities/net.js';
import { makeSocketConnector } from '../capabilities/net-pinning.js';
import type { CapabilityInstance, PluginEnv } from '../capabilities/types.js';
import { AuditLog } from '../runtime/audit.js';
import { authorizeNeed, dispatchCall, requireNeed, type CallerState } from '../runtime/dispatch.js';
import { ensurePeer } from './lib/peers.js';
import { makeCase, median, printCases, readBenchOptions } from './lib/report.js';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cliPath = path.join(repoRoot, 'dist/cli/main.js');
const options = readBenchOptions();
const { quick } = options;
const requests = quick ? 300 : 2000;
const rounds = quick ? 3 : 5;

// High enough that no limit is hit, so the figures measure the request path.
const benchLimits: Partial<Limits> = { netRequestsPerSecond: 1_000_000, netRequestsPerMinute: 60_000_000 };

/** Runs `count` sequential requests and returns requests per second. */
const measure = async (count: number, send: (index: number) => Promise<void>): Promise<number> => {
  const started = performance.now();
  for (let index = 0; index < count; index += 1) await send(index);
  return count / ((performance.now() - started) / 1000);
};

// 1. The server: a small JSON response with keep-alive, as an API would send.
const body = JSON.stringify({ items: [{ id: 1, title: 'first' }, { id: 2, title: 'second' }] });
const server = http.createServer((_request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end(body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const origin = `http://127.0.0.1:${port}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-bench-net-'));

// 2. ctx.net in this process, behind the gate and writing the audit log, as runtime/caller.ts wires it.
const audit = new AuditLog(path.join(dir, 'audit.ndjson'));
const plugin = { name: 'bench', version: '1.0.0' };
const grants = new GrantSet([`net:127.0.0.1:${port}`]);
const capabilities: Record<string, CapabilityInstance> = {};
const state: CallerState = { plugin, capabilities, grants: () => grants };
const env: PluginEnv = {
  plugin,
  paths: { data: path.join(dir, 'data'), db: path.join(dir, 'db'), config: path.join(dir, 'config.json') },
  limits: { ...DEFAULT_LIMITS, ...benchLimits },
  authorize: (need, op, target) => authorizeNeed(state, audit, need, need.kind, op, target),
  requireGrant: (need) => requireNeed(state, need),
  findGrant: (need) => grants.find(need),
  audit: (event) => audit.write({ plugin: plugin.name, ...event }),
  plugins: { call: () => Promise.reject(new Error('no other plugin runs in this benchmark')) },
};
capabilities.net = makeNetCapabilityWith(env, { resolver: () => Promise.reject(new Error('no lookup')), connector: makeSocketConnector() });

const rawFetch = async (index: number) => {
  const response = await fetch(`${origin}/items?i=${index}`);
  await response.text();
};
const ctxFetch = async (index: number) => {
  await dispatchCall(state, audit, 'net', 'fetch', [`${origin}/items?i=${index}`]);
};

// 3. A plugin that runs the same loop inside its compartment and worker.
const projectDir = path.join(dir, 'project');
const pluginDir = path.join(projectDir, 'plugins', 'bench');
fs.mkdirSync(pluginDir, { recursive: true });
fs.writeFileSync(path.join(pluginDir, 'plugin.json'), JSON.stringify({ name: 'bench', version: '1.0.0', description: 'bench', author: 'bench', license: 'MIT' }));
fs.writeFileSync(
  path.join(pluginDir, 'index.js'),
  `export const commands = {
    async run({ url, count }, ctx) {
      const started = Date.now();
      for (let index = 0; index < count; index += 1) await ctx.net.fetch(url + '?i=' + index);
      return { ms: Date.now() - started };
    },
  };\n`,
);
execFileSync(process.execPath, [cliPath, 'lock'], { cwd: projectDir, stdio: 'ignore' });
execFileSync(process.execPath, [cliPath, 'grant', 'bench', `net:127.0.0.1:${port}`], { cwd: projectDir, stdio: 'ignore' });
const lockfilePath = path.join(projectDir, 'plugin.lock.json');
const lockfile = JSON.parse(fs.readFileSync(lockfilePath, 'utf8'));
lockfile.plugins.bench.limits = { ...benchLimits, callTimeoutMs: 600_000 };
fs.writeFileSync(lockfilePath, `${JSON.stringify(lockfile, null, 2)}\n`);

/** Runs one round inside the plugin through `plugrun call`. The time is measured inside the plugin, so start-up is left out. */
const pluginRound = async (count: number): Promise<number> => {
  // Asynchronous, so this process's server keeps responding while the child runs.
  const { stdout } = await execFileAsync(process.execPath, [cliPath, 'call', 'bench', 'run', JSON.stringify({ url: `${origin}/items`, count })], {
    cwd: projectDir,
    encoding: 'utf8',
  });
  const { ms } = JSON.parse(stdout) as { ms: number };
  return count / (ms / 1000);
};

/**
 * Runs one round of raw `fetch` in a child process, the baseline for the
 * plugin, whose requests also cross from another process to this server.
 */
const childFetchRound = async (count: number): Promise<number> => {
  const script = `const url = process.argv[1]; const count = Number(process.argv[2]);
    for (let i = 0; i < 100; i += 1) await (await fetch(url + '?i=' + i)).text();
    const started = performance.now();
    for (let i = 0; i < count; i += 1) await (await fetch(url + '?i=' + i)).text();
    process.stdout.write(String(performance.now() - started));`;
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script, `${origin}/items`, String(count)], { encoding: 'utf8' });
  return count / (Number(stdout) / 1000);
};

/** Runs one round of Deno's `fetch` with `--allow-net` of the server's address, timed inside Deno. */
const deno = ensurePeer('deno');
const denoScript = path.join(dir, 'fetch-deno.js');
fs.writeFileSync(
  denoScript,
  `const [url, count] = Deno.args;
  for (let i = 0; i < 100; i += 1) await (await fetch(url + '?i=' + i)).text();
  const started = performance.now();
  for (let i = 0; i < Number(count); i += 1) await (await fetch(url + '?i=' + i)).text();
  console.log(performance.now() - started);\n`,
);
const denoFetchRound = async (count: number): Promise<number | null> => {
  if (!deno.ok) return null;
  const { stdout } = await execFileAsync(deno.bin, ['run', '--quiet', '--no-prompt', `--allow-net=127.0.0.1:${port}`, denoScript, `${origin}/items`, String(count)], {
    encoding: 'utf8',
  });
  return count / (Number(stdout) / 1000);
};

// 4. Warm up each client, then alternate rounds.
await measure(100, rawFetch);
await measure(100, ctxFetch);
await pluginRound(100);
const raw: number[] = [];
const inProcess: number[] = [];
const viaPlugin: number[] = [];
const rawChild: number[] = [];
const denoRates: number[] = [];
for (let round = 0; round < rounds; round += 1) {
  raw.push(await measure(requests, rawFetch));
  inProcess.push(await measure(requests, ctxFetch));
  viaPlugin.push(await pluginRound(requests));
  rawChild.push(await childFetchRound(requests));
  const denoRate = await denoFetchRound(requests);
  if (denoRate !== null) denoRates.push(denoRate);
}

await capabilities.net.teardown();
audit.close();
server.close();
fs.rmSync(dir, { recursive: true, force: true });

// 5. Report.
const unit = 'requests/s';
const pluginRate = median(viaPlugin);
const cases = [
  makeCase({
    case: 'ctx.net.fetch GET from a plugin vs Node',
    unit,
    direction: 'higher',
    plugrun: pluginRate,
    baseline: median(rawChild),
    baselineName: `node ${process.version}, fetch in a child process`,
    goal: { ratio: 0.9 },
  }),
  makeCase({
    case: 'ctx.net.fetch GET from a plugin vs Deno',
    unit,
    direction: 'higher',
    plugrun: pluginRate,
    baseline: deno.ok ? median(denoRates) : null,
    baselineName: deno.ok ? `deno ${deno.version}, fetch --allow-net=127.0.0.1:<port>` : `deno not available (${deno.reason})`,
  }),
  makeCase({
    case: 'ctx.net.fetch GET in process (gate and audit, no worker)',
    unit,
    direction: 'higher',
    plugrun: median(inProcess),
    baseline: median(raw),
    baselineName: `node ${process.version}, fetch in the same process`,
  }),
];
printCases(`Sequential GETs to a loopback server: ${requests} per round, median of ${rounds} rounds`, cases, options);

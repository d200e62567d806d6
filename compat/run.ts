/**
 * The compatibility suite. It installs each library of compat/libraries.ts
 * from the npm registry into a plugin of its own in a temporary project and
 * locks it. Then it runs the library's representative call through the real
 * `plugrun call` binary and in plain Node, and compares the two JSON results.
 *
 * It needs the registry, so it is not part of `npm test`.
 *
 * Usage: npm run compat [-- --only marked,zod] [--keep] [--out report.md]
 * Exits 1 when fewer than 90 % of the libraries give identical results.
 */

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

import { libraries, type LibraryCase } from './libraries.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cliPath = path.join(repoRoot, 'dist/cli/main.js');

/** The share of identical results below which the run fails. */
const TARGET = 0.9;
/** npm installs that run at the same time. */
const INSTALL_CONCURRENCY = 3;

const argumentAfter = (flag: string): string | undefined => {
  const index = process.argv.indexOf(flag);
  return index === -1 ? undefined : process.argv[index + 1];
};

const only = argumentAfter('--only')?.split(',');
const keep = process.argv.includes('--keep');
const outFile = argumentAfter('--out');

/** How one library fared. */
interface Outcome {
  readonly library: LibraryCase;
  readonly result: 'identical' | 'different' | 'lock failed' | 'call failed' | 'node failed' | 'install failed';
  readonly detail: string;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const run = (command: string, args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

/** Plugin names allow only lowercase letters, digits, `-` and `_`. */
const pluginName = (library: LibraryCase): string => `lib-${library.name.replace(/[^a-z0-9_-]/g, '-')}`;

const writePlugin = (projectDir: string, library: LibraryCase): string => {
  const name = pluginName(library);
  const dir = path.join(projectDir, 'plugins', name);
  fs.mkdirSync(dir, { recursive: true });
  const manifest = { name, version: '1.0.0', description: `${library.name} in a plugin`, author: 'plugrun compat', license: 'MIT' };
  fs.writeFileSync(path.join(dir, 'plugin.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const packageJson = { name, version: '1.0.0', private: true, type: 'module', dependencies: { [library.name]: library.version } };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  const body = library.body.split('\n').map((line) => `    ${line}`).join('\n');
  fs.writeFileSync(path.join(dir, 'index.js'), `${library.imports}\n\nexport const commands = {\n  async run() {\n${body}\n  },\n};\n`);
  return dir;
};

// Plain Node imports the same module and calls the same command.
const nodeRunnerSource = `
const module = await import(new URL(process.argv[2], 'file://').href);
const result = await module.commands.run(null, {});
process.stdout.write(JSON.stringify(result === undefined ? null : result));
`;

/** The first lines of a failure, on one line, for the table. */
const summarize = (text: string): string => {
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  return lines.slice(0, 3).join(' ').replace(/\|/g, '\\|').slice(0, 400);
};

const installAll = async (projectDir: string, cases: readonly LibraryCase[]): Promise<Map<string, string>> => {
  const failures = new Map<string, string>();
  const queue = [...cases];
  const worker = async () => {
    for (let library = queue.shift(); library !== undefined; library = queue.shift()) {
      const dir = path.join(projectDir, 'plugins', pluginName(library));
      // Install scripts are not needed by any library in the list, and are not run.
      const result = await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], dir);
      if (result.code !== 0) failures.set(library.name, summarize(result.stderr));
      process.stderr.write(`installed ${library.name}@${library.version}${result.code === 0 ? '' : ' (failed)'}\n`);
    }
  };
  await Promise.all(Array.from({ length: INSTALL_CONCURRENCY }, worker));
  return failures;
};

const checkLibrary = async (projectDir: string, library: LibraryCase, runnerPath: string): Promise<Outcome> => {
  const name = pluginName(library);
  // Dates are read in UTC on both sides, so the time zone of the machine does not matter.
  const env = { TZ: 'UTC' };

  const locked = await run(process.execPath, [cliPath, 'lock', name], projectDir, env);
  if (locked.code !== 0) return { library, result: 'lock failed', detail: summarize(locked.stderr) };

  const called = await run(process.execPath, [cliPath, 'call', name, 'run'], projectDir, env);
  const plain = await run(process.execPath, [runnerPath, path.join(projectDir, 'plugins', name, 'index.js')], projectDir, env);
  if (called.code !== 0) {
    const inNode = plain.code === 0 ? 'plain Node succeeds' : 'plain Node fails too, so the call itself is wrong';
    return { library, result: 'call failed', detail: summarize(`${called.stderr} (${inNode})`) };
  }
  if (plain.code !== 0) return { library, result: 'node failed', detail: summarize(plain.stderr) };

  const inPlugin: unknown = JSON.parse(called.stdout);
  const inNode: unknown = JSON.parse(plain.stdout);
  if (isDeepStrictEqual(inPlugin, inNode)) return { library, result: 'identical', detail: '' };
  return { library, result: 'different', detail: summarize(`plugrun: ${JSON.stringify(inPlugin)} node: ${JSON.stringify(inNode)}`) };
};

const formatReport = (outcomes: readonly Outcome[]): string => {
  const identical = outcomes.filter((outcome) => outcome.result === 'identical').length;
  const share = outcomes.length === 0 ? 0 : identical / outcomes.length;
  const rows = outcomes.map(({ library, result, detail }) => `| ${library.name} | ${library.version} | ${result} | ${detail} |`);
  return [
    '| library | version | result | detail |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    `${identical} of ${outcomes.length} identical (${Math.round(share * 100)} %), Node ${process.version}`,
    '',
  ].join('\n');
};

const cases = only === undefined ? libraries : libraries.filter((library) => only.includes(library.name));
if (cases.length === 0) throw new Error(`--only ${only?.join(',')} names no library of compat/libraries.ts`);

const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-compat-'));
try {
  for (const library of cases) writePlugin(projectDir, library);
  const runnerPath = path.join(projectDir, 'node-runner.mjs');
  fs.writeFileSync(runnerPath, nodeRunnerSource);

  const installFailures = await installAll(projectDir, cases);
  const outcomes: Outcome[] = [];
  for (const library of cases) {
    const installFailure = installFailures.get(library.name);
    const outcome =
      installFailure === undefined
        ? await checkLibrary(projectDir, library, runnerPath)
        : { library, result: 'install failed' as const, detail: installFailure };
    process.stderr.write(`${library.name}: ${outcome.result}\n`);
    outcomes.push(outcome);
  }

  const report = formatReport(outcomes);
  process.stdout.write(`\n${report}`);
  if (outFile !== undefined) fs.writeFileSync(outFile, report);

  const identical = outcomes.filter((outcome) => outcome.result === 'identical').length;
  process.exitCode = identical / outcomes.length >= TARGET ? 0 : 1;
} finally {
  if (keep) process.stderr.write(`kept the project in ${projectDir}\n`);
  else fs.rmSync(projectDir, { recursive: true, force: true });
}

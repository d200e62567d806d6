/**
 * Temporary plugrun projects for benchmarks, built and locked with the real
 * CLI, and the commands that run code in them.
 */

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The repository root and the built CLI. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const cliPath = path.join(repoRoot, 'dist/cli/main.js');

/** One plugin of a benchmark project. */
export interface BenchPlugin {
  /** index.js source. */
  readonly source: string;
  /** Extra manifest fields, such as `dependencies`. */
  readonly manifest?: Record<string, unknown>;
  /** Capability strings to grant after locking. */
  readonly grants?: readonly string[];
  /** Lockfile `limits` for the plugin. */
  readonly limits?: Record<string, unknown>;
}

/** Writes `content` to `relative` under `dir`, creating folders. */
export const writeFile = (dir: string, relative: string, content: string | Uint8Array): void => {
  const target = path.join(dir, relative);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, content);
};

/** Makes a project in a temporary folder with the given plugins, locked and granted. */
export const makeBenchProject = (prefix: string, plugins: Record<string, BenchPlugin>): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `plugrun-bench-${prefix}-`));
  for (const [name, plugin] of Object.entries(plugins)) {
    writeFile(
      dir,
      `plugins/${name}/plugin.json`,
      JSON.stringify({ name, version: '1.0.0', description: 'bench', author: 'bench', license: 'MIT', ...plugin.manifest }),
    );
    writeFile(dir, `plugins/${name}/index.js`, plugin.source);
  }
  execFileSync(process.execPath, [cliPath, 'lock'], { cwd: dir, stdio: 'ignore' });
  for (const [name, plugin] of Object.entries(plugins)) {
    if (plugin.grants !== undefined && plugin.grants.length > 0) {
      execFileSync(process.execPath, [cliPath, 'grant', name, ...plugin.grants], { cwd: dir, stdio: 'ignore' });
    }
  }
  const limited = Object.entries(plugins).filter(([, plugin]) => plugin.limits !== undefined);
  if (limited.length > 0) {
    const lockfilePath = path.join(dir, 'plugin.lock.json');
    const lockfile = JSON.parse(fs.readFileSync(lockfilePath, 'utf8'));
    for (const [name, plugin] of limited) lockfile.plugins[name].limits = plugin.limits;
    fs.writeFileSync(lockfilePath, `${JSON.stringify(lockfile, null, 2)}\n`);
  }
  return dir;
};

/** Runs `plugrun call` in `dir` and returns the parsed JSON result. Asynchronous, so servers in this process keep answering. */
export const callPlugin = async (dir: string, plugin: string, command: string, input: unknown): Promise<unknown> => {
  const { stdout } = await execFileAsync(process.execPath, [cliPath, 'call', plugin, command, JSON.stringify(input)], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout);
};

/** Runs a command and returns its stdout; throws with its stderr when it fails. */
export const runCommand = async (command: string, args: readonly string[], cwd: string): Promise<string> => {
  const { stdout } = await execFileAsync(command, [...args], { cwd, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return stdout;
};

/** Removes a benchmark project. */
export const removeProject = (dir: string): void => fs.rmSync(dir, { recursive: true, force: true });

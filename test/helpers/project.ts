/**
 * Temporary plugrun projects for tests, and the real CLI binary run in them.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/test/helpers. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The compiled CLI entry, as `npm install` builds it. */
export const cliPath = path.join(repoRoot, 'dist/cli/main.js');

/** A plugin to write into a temporary project. */
export interface PluginSpec {
  /** Manifest fields; name, version, description, author and license get defaults. */
  readonly manifest?: Record<string, unknown>;
  /** Files relative to the plugin folder, such as `index.js`. */
  readonly files: Record<string, string>;
}

/** A temporary project folder. */
export interface TestProject {
  readonly dir: string;
  /** Writes or replaces a file relative to the project folder. */
  write(relative: string, content: string): void;
  read(relative: string): string;
  /** Reads the audit log as parsed events. */
  auditEvents(): Array<Record<string, any>>;
  remove(): void;
}

/** Writes one plugin folder into `dir/plugins/<name>`. */
export const writePlugin = (dir: string, name: string, spec: PluginSpec): void => {
  const pluginDir = path.join(dir, 'plugins', name);
  fs.mkdirSync(pluginDir, { recursive: true });
  const manifest = { name, version: '1.0.0', description: `${name} test plugin`, author: 'plugrun tests', license: 'MIT', ...spec.manifest };
  fs.writeFileSync(path.join(pluginDir, 'plugin.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const [relative, content] of Object.entries(spec.files)) {
    const file = path.join(pluginDir, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
};

/** Makes a temporary project with the given plugins (not locked). */
export const makeProject = (plugins: Record<string, PluginSpec> = {}): TestProject => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-test-'));
  for (const [name, spec] of Object.entries(plugins)) writePlugin(dir, name, spec);
  return {
    dir,
    write(relative, content) {
      const file = path.join(dir, relative);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    },
    read: (relative) => fs.readFileSync(path.join(dir, relative), 'utf8'),
    auditEvents() {
      const file = path.join(dir, '.plugrun/audit.ndjson');
      if (!fs.existsSync(file)) return [];
      return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
};

/** Wraps a test body: makes a project with the given plugins, runs the body, then removes the project. */
export const withProject =
  (plugins: Record<string, PluginSpec>, body: (project: TestProject) => Promise<void>) => async (): Promise<void> => {
    const project = makeProject(plugins);
    try {
      await body(project);
    } finally {
      project.remove();
    }
  };

/** What a finished CLI run printed and returned. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of one CLI run. */
export interface CliOptions {
  readonly cwd: string;
  /** Text written to stdin, which is then closed. */
  readonly input?: string;
  readonly env?: Record<string, string>;
  /** Kills the process after this many milliseconds; default 30 s. */
  readonly timeoutMs?: number;
}

/** Starts the CLI in the background; stdout and stderr are piped, so it is never on a terminal. */
export const spawnCli = (args: readonly string[], options: CliOptions): ChildProcess =>
  spawn(process.execPath, [cliPath, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });

/** Runs the CLI to completion. */
export const runCli = (args: readonly string[], options: CliOptions): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawnCli(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(options.input ?? '');
  });

/** Parses NDJSON output into events, ignoring blank lines. */
export const parseNdjson = (text: string): Array<Record<string, any>> =>
  text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));

/** Writes plugin.lock.json by running `plugrun lock`, failing loudly if it did not succeed. */
export const lockProject = async (dir: string, names: readonly string[] = []): Promise<void> => {
  const result = await runCli(['lock', ...names], { cwd: dir });
  if (result.code !== 0) throw new Error(`plugrun lock failed (${result.code}): ${result.stderr}`);
};

/** Edits the lockfile as JSON. */
export const editLockfile = (dir: string, edit: (lockfile: any) => void): void => {
  const file = path.join(dir, 'plugin.lock.json');
  const lockfile = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(lockfile);
  fs.writeFileSync(file, `${JSON.stringify(lockfile, null, 2)}\n`);
};

/** Copies a plugin from test/fixtures/<group>/<name> into the project's plugins folder. */
export const copyFixture = (project: TestProject, group: string, name: string): void => {
  fs.cpSync(path.join(repoRoot, 'test/fixtures', group, name), path.join(project.dir, 'plugins', name), { recursive: true });
};

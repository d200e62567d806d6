/**
 * The files `plugrun new` writes into a new plugin folder. The plugin they
 * make needs no grant, so it passes `plugrun check`, locks, and starts under
 * `plugrun start --frozen` as it is. Its README describes how to add capabilities.
 */

/** The manifest fields a user may set on the command line. */
export interface ScaffoldOptions {
  readonly name: string;
  readonly description: string;
  readonly author: string;
  readonly license: string;
}

/** plugin.json: the fields SPEC requires, an entry, and no capability requests yet. */
export const manifestFile = (options: ScaffoldOptions): string =>
  `${JSON.stringify(
    {
      name: options.name,
      version: '0.1.0',
      description: options.description,
      author: options.author,
      license: options.license,
      main: 'index.js',
      capabilities: [],
    },
    null,
    2,
  )}\n`;

/** index.js: a start and stop that log, and one command that keeps a count in ctx.config. */
export const entryFile = (options: ScaffoldOptions): string => `// The ${options.name} plugin. plugrun calls start(ctx) once when it starts
// the plugin and stop(ctx) at shutdown, and runs each function in
// \`commands\` for \`plugrun call ${options.name} <command> [json]\` and for
// other plugins' ctx.plugins.call. \`ctx\` is the plugin's only authority: see
// docs/plugin-api.md in plugrun for its methods and the grants each needs.

export async function start(ctx) {
  const starts = ((await ctx.config.get('starts')) ?? 0) + 1;
  await ctx.config.set('starts', starts);
  ctx.log.info(\`\${ctx.plugin.name} \${ctx.plugin.version} started\`, { starts });
}

export async function stop(ctx) {
  ctx.log.info(\`\${ctx.plugin.name} stopping\`);
}

export const commands = {
  /** Greets someone: {"name": "Ada"} -> {"greeting": "Hello, Ada!", "greeted": 1} */
  async hello(input, ctx) {
    const name = typeof input?.name === 'string' && input.name.trim() !== '' ? input.name.trim() : 'world';
    const greeted = ((await ctx.config.get('greeted')) ?? 0) + 1;
    await ctx.config.set('greeted', greeted);
    return { greeting: \`Hello, \${name}!\`, greeted };
  },
};
`;

/** README.md: what the files are, the commands to run, and how to ask for a capability. */
export const readmeFile = (options: ScaffoldOptions): string => `# ${options.name}

${options.description}

A plugin for plugrun, made by \`plugrun new ${options.name}\`.

| file | what it is |
| --- | --- |
| \`plugin.json\` | the manifest: name, version, description, author, license, entry and requested capabilities |
| \`index.js\` | the entry module: \`start\`, \`stop\` and \`commands\` |
| \`test/${options.name}.test.mjs\` | a uvu test that checks, locks, starts and calls the plugin through the plugrun CLI, in a temporary project |

## Develop

Run these from the project folder, the one that contains \`plugins/\`:

\`\`\`sh
plugrun check ${options.name}                          # parse the code, validate plugin.json, show the lock state
plugrun lock ${options.name}                           # pin this code in plugin.lock.json (after reviewing it)
plugrun start --once                            # run every locked plugin's start() and stop()
plugrun call ${options.name} hello '{"name":"Ada"}'    # run one command
\`\`\`

Every change to the code changes its integrity, so run \`plugrun lock ${options.name}\`
again after each edit; \`plugrun start\` does not load a changed plugin.

## Ask for a capability

The plugin starts with no capabilities: it logs, and keeps values in
\`ctx.config\`, which need no grant. To use files, the network, a database
table or another plugin, add the capability string to \`capabilities\` in
\`plugin.json\` (for example \`"fs:exports/"\`, \`"net:api.example.org"\`,
\`"db:items"\` or \`"msg:notes"\`), re-lock, and grant it:

\`\`\`sh
plugrun lock ${options.name}
plugrun grant ${options.name} fs:exports/
\`\`\`

\`plugrun check ${options.name}\` warns about a \`ctx\` call whose capability the
manifest does not request.

## Test

The test needs [uvu](https://github.com/lukeed/uvu) in the project
(\`npm install --save-dev uvu\`) and the plugrun CLI. Point the
\`PLUGRUN_BIN\` environment variable at plugrun's \`dist/cli/main.js\`
(\`plugrun new\` prints the path of the plugrun that made this folder):

\`\`\`sh
PLUGRUN_BIN=/path/to/plugrun/dist/cli/main.js node plugins/${options.name}/test/${options.name}.test.mjs
\`\`\`

Without \`PLUGRUN_BIN\`, the test looks for a \`plugrun\` package in the
project's \`node_modules\`, for a project that has plugrun as a dependency. It copies
the plugin into a temporary project, so it never touches this project's
lockfile or state.
`;

/** test/<name>.test.mjs: runs the plugin through the real plugrun CLI in a temporary project. */
export const testFile = (options: ScaffoldOptions): string => `// Checks, locks, starts and calls the ${options.name} plugin through the plugrun
// CLI, in a temporary copy of the plugin, so this project's lockfile and
// state are never touched. Run it with: node plugins/${options.name}/test/${options.name}.test.mjs

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

const pluginDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pluginName = path.basename(pluginDir);

/** Finds the plugrun CLI: PLUGRUN_BIN when set, else the plugrun package installed in the project. */
const findPlugrun = () => {
  if (process.env.PLUGRUN_BIN) return path.resolve(process.env.PLUGRUN_BIN);
  try {
    const packageJson = createRequire(import.meta.url).resolve('plugrun/package.json');
    const { bin } = JSON.parse(fs.readFileSync(packageJson, 'utf8'));
    return path.join(path.dirname(packageJson), typeof bin === 'string' ? bin : bin.plugrun);
  } catch {
    throw new Error("plugrun not found: set PLUGRUN_BIN to the path of plugrun's dist/cli/main.js, or add plugrun to this project's dependencies");
  }
};

const plugrun = findPlugrun();
const project = fs.mkdtempSync(path.join(os.tmpdir(), \`\${pluginName}-test-\`));
fs.cpSync(pluginDir, path.join(project, 'plugins', pluginName), { recursive: true });

/** Runs plugrun in the temporary project and returns its status and output. */
const run = (...args) => {
  const result = spawnSync(process.execPath, [plugrun, ...args], { cwd: project, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};

test.after(() => fs.rmSync(project, { recursive: true, force: true }));

test('check finds no errors', () => {
  const result = run('check', pluginName);
  assert.is(result.status, 0, result.stdout + result.stderr);
});

test('lock pins the plugin', () => {
  const result = run('lock', pluginName);
  assert.is(result.status, 0, result.stderr);
  const lockfile = JSON.parse(fs.readFileSync(path.join(project, 'plugin.lock.json'), 'utf8'));
  assert.ok(lockfile.plugins[pluginName], 'the lockfile has an entry for the plugin');
});

test('start --once --frozen starts it', () => {
  const result = run('start', '--once', '--frozen', '--no-tui');
  assert.is(result.status, 0, result.stderr);
  const events = result.stdout.split('\\n').filter(Boolean).map((line) => JSON.parse(line));
  const started = events.find((event) => event.plugin === pluginName && event.cap === 'runtime' && event.op === 'start');
  assert.is(started?.outcome, 'allowed');
});

test('hello greets by name', () => {
  const result = run('call', pluginName, 'hello', '{"name":"Ada"}');
  assert.is(result.status, 0, result.stderr);
  assert.is(JSON.parse(result.stdout).greeting, 'Hello, Ada!');
});

test.run();
`;

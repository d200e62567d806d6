import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { lockProject, repoRoot, runCli, withProject } from '../helpers/project.js';

const traceHook = path.join(repoRoot, 'dist/test/helpers/module-trace.js');

/** Runs the CLI with every resolved module URL traced, and returns the URLs. */
const tracedRun = async (dir: string, args: string[]) => {
  const trace = path.join(dir, 'modules.txt');
  fs.writeFileSync(trace, '');
  const result = await runCli(args, { cwd: dir, env: { NODE_OPTIONS: `--import=${traceHook}`, PLUGRUN_MODULE_TRACE: trace } });
  return { result, modules: fs.readFileSync(trace, 'utf8').split('\n').filter(Boolean) };
};

const loadsInk = (modules: readonly string[]) => modules.some((url) => /\/node_modules\/(ink|react)\//.test(url) || url.includes('/cli/dashboard/'));

const plugins = { hello: { files: { 'index.js': 'export async function start(ctx) { ctx.log.info("hi"); }\n' } } };

test('Ink loads for neither --help, --no-tui nor a pipe', withProject(plugins, async (project) => {
  await lockProject(project.dir);
  for (const args of [['--help'], ['start', '--help'], ['start', '--once', '--no-tui'], ['start', '--once']]) {
    const { result, modules } = await tracedRun(project.dir, args);
    assert.is(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    // The trace works: the CLI's own entry is in it.
    assert.ok(modules.some((url) => url.endsWith('/dist/cli/main.js')), `${args.join(' ')} traced`);
    assert.not.ok(loadsInk(modules), `${args.join(' ')} loaded Ink: ${modules.filter((url) => /ink|react|dashboard/.test(url)).join(', ')}`);
  }
}));

test.run();

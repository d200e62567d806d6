/**
 * Modules that load only when needed, seen in a trace of every module URL
 * the real CLI resolves: Ink and React for the dashboard, and the HTTP
 * client for a plugin's first request.
 */

import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

const loadsHttpClient = (modules: readonly string[]) => modules.some((url) => /\/node_modules\/(ofetch|undici)\//.test(url));

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

test('the HTTP client loads at the first request, not at start-up', async () => {
  const server = http.createServer((_request, response) => response.end('pong'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const fetcher = {
    manifest: { capabilities: [`net:127.0.0.1:${port}`] },
    files: {
      'index.js': `
        export async function start(ctx) { ctx.log.info('started'); }
        export const commands = { async ping(url, ctx) { return (await ctx.net.fetch(url)).text; } };
      `,
    },
  };
  try {
    await withProject({ ...plugins, fetcher }, async (project) => {
      await lockProject(project.dir);
      const granted = await runCli(['grant', 'fetcher', `net:127.0.0.1:${port}`], { cwd: project.dir });
      assert.is(granted.code, 0, granted.stderr);

      const started = await tracedRun(project.dir, ['start', '--once', '--no-tui']);
      assert.is(started.result.code, 0, started.result.stderr);
      assert.ok(started.modules.some((url) => url.endsWith('/dist/cli/main.js')), 'start traced');
      assert.not.ok(loadsHttpClient(started.modules), `start loaded the HTTP client: ${started.modules.filter((url) => /ofetch|undici/.test(url)).join(', ')}`);

      const called = await tracedRun(project.dir, ['call', 'fetcher', 'ping', JSON.stringify(`http://127.0.0.1:${port}/`)]);
      assert.is(called.result.code, 0, called.result.stderr);
      assert.is(JSON.parse(called.result.stdout), 'pong');
      assert.ok(loadsHttpClient(called.modules), 'the request loaded the HTTP client');
    })();
  } finally {
    server.close();
  }
});

test.run();

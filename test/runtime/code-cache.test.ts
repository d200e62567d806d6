/**
 * The code caches of plugin workers, in real worker threads: the first
 * worker compiles SES and writes the cache, the next one uses it, and a
 * damaged cache is rejected by V8, costs only the compile and is replaced.
 * Then the worker bundle, through the real CLI: used when it is current,
 * and passed over for the compiled modules when it is older than them.
 */

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { lockProject, parseNdjson, repoRoot, runCli, withProject } from '../helpers/project.js';

const moduleUrl = pathToFileURL(path.join(repoRoot, 'dist/runtime/worker/code-cache.js')).href;
const cacheDir = path.join(repoRoot, 'node_modules', '.cache', 'plugrun');

interface ProbeResult {
  readonly compile: string;
  readonly cacheFile: string;
  readonly frozen: boolean;
  readonly evaluated: unknown;
}

/** Starts a worker that installs SES as a plugin worker does, locks down, saves the cache and reports. */
const probe = () =>
  new Promise<ProbeResult>((resolve, reject) => {
    const code = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(moduleUrl)}).then(({ installSes, saveCodeCaches }) => {
        const { compile, cacheFile } = installSes();
        lockdown({ errorTaming: 'safe', overrideTaming: 'severe', localeTaming: 'unsafe', consoleTaming: 'unsafe' });
        saveCodeCaches();
        const compartment = new Compartment();
        parentPort.postMessage({
          compile,
          cacheFile,
          frozen: Object.isFrozen(Array.prototype),
          evaluated: compartment.evaluate('[1, 2, 3].map((n) => n * 2).join()'),
        });
      });
    `;
    // The options of a plugin worker: a cache made under other V8 flags would be rejected.
    const worker = new Worker(code, { eval: true, env: {}, execArgv: [], resourceLimits: { maxOldGenerationSizeMb: 128, stackSizeMb: 4 } });
    worker.once('message', (message: ProbeResult) => {
      void worker.terminate();
      resolve(message);
    });
    worker.once('error', reject);
  });

test('SES cache written, then used', async () => {
  const first = await probe();
  fs.rmSync(first.cacheFile, { force: true });

  const fromSource = await probe();
  assert.is(fromSource.compile, 'source');
  assert.ok(fromSource.cacheFile.startsWith(cacheDir + path.sep), fromSource.cacheFile);
  assert.ok(fs.statSync(fromSource.cacheFile).size > 100_000, 'the cache was written');
  assert.ok(fromSource.frozen, 'lockdown froze the intrinsics');
  assert.is(fromSource.evaluated, '2,4,6');

  const fromCache = await probe();
  assert.is(fromCache.compile, 'cache');
  assert.ok(fromCache.frozen);
  assert.is(fromCache.evaluated, '2,4,6');
});

test('damaged SES cache replaced', async () => {
  const { cacheFile } = await probe();
  const good = fs.readFileSync(cacheFile);
  const damaged = Buffer.from(good);
  // The same length, with the header and part of the payload overwritten.
  damaged.fill(0x5a, 0, 64);
  damaged.fill(0x5a, damaged.length >> 1, (damaged.length >> 1) + 4096);
  fs.writeFileSync(cacheFile, damaged);

  const rejected = await probe();
  assert.is(rejected.compile, 'cache-rejected');
  assert.ok(rejected.frozen);
  assert.is(rejected.evaluated, '2,4,6');
  assert.not.ok(fs.readFileSync(cacheFile).equals(damaged), 'the damaged cache was replaced');

  assert.is((await probe()).compile, 'cache');
});

test('unreadable SES cache compiles source', async () => {
  const { cacheFile } = await probe();
  fs.rmSync(cacheFile, { force: true });
  // A folder where the file should be: reading fails, and so does writing.
  fs.mkdirSync(cacheFile);
  try {
    const result = await probe();
    assert.is(result.compile, 'source');
    assert.is(result.evaluated, '2,4,6');
    assert.ok(fs.statSync(cacheFile).isDirectory(), 'nothing replaced the folder');
  } finally {
    fs.rmSync(cacheFile, { recursive: true, force: true });
  }
  assert.is((await probe()).compile, 'source');
});

const bundle = path.join(repoRoot, 'dist/runtime/worker/plugin-worker.bundle.cjs');
const bundleCaches = () => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).filter((name) => name.startsWith('plugin-worker.bundle.cjs-')) : []);
const removeBundleCaches = () => {
  for (const name of bundleCaches()) fs.rmSync(path.join(cacheDir, name), { force: true });
};

const hello = { hello: { files: { 'index.js': 'export async function start(ctx) { ctx.log.info("hello from the worker"); }\n' } } };

test('bundle used unless stale', withProject(hello, async (project) => {
  assert.ok(fs.existsSync(bundle), `${bundle} exists: npm run build makes it`);
  await lockProject(project.dir);
  const startOnce = async () => {
    const result = await runCli(['start', '--once', '--no-tui'], { cwd: project.dir });
    assert.is(result.code, 0, result.stderr);
    assert.ok(parseNdjson(result.stdout).some((event) => event.message === 'hello from the worker'), 'the plugin ran');
  };

  removeBundleCaches();
  await startOnce();
  assert.is(bundleCaches().length, 1, 'a worker compiled the bundle and wrote its cache');

  // As after a `tsc` without the bundling step: the modules are newer.
  const { atime, mtime } = fs.statSync(bundle);
  removeBundleCaches();
  fs.utimesSync(bundle, atime, new Date(mtime.getTime() - 3_600_000));
  try {
    await startOnce();
    assert.is(bundleCaches().length, 0, 'no worker compiled the stale bundle');
  } finally {
    fs.utimesSync(bundle, atime, mtime);
  }
}));

test.run();

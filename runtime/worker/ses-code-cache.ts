/**
 * Installs SES in a plugin worker from its one-file minified build, compiled
 * with a V8 code cache when one exists.
 *
 * Compiling SES is the largest part of a worker's start-up: measured on a
 * 2-core AMD EPYC machine with Node 20, a worker that imports SES and locks
 * down is ready after about 94 ms from source and 57 ms with a code cache
 * (docs/benchmarks.md has the method). The first worker
 * without a usable cache compiles SES from source and, after `lockdown()`,
 * writes the cache for the next ones with `saveSesCodeCache()`.
 *
 * The cache lives in `node_modules/.cache/plugrun/`, next to the SES
 * source it was made from, and can change only what anyone able to write
 * `node_modules` could change anyway. V8 checks each cache against the
 * source it is given and its own version and flags, and rejects one that
 * does not match (a worker with another stack size has other flags); a
 * rejected or unreadable cache only costs the compile and is written again.
 * The file name holds Node's version, the architecture and the source file's
 * size and modification time, so an upgrade of either leaves the old file
 * unused.
 */

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

const require = createRequire(import.meta.url);

/** How SES was compiled in this worker, for tests and benchmarks. */
export type SesCompile = 'cache' | 'cache-rejected' | 'source';

// The minified build: the unminified one, as CommonJS or as ES modules, took
// about 2 MB more of each worker's heap once loaded (measured as for the
// figures above); the minified one took the same as the ES modules.
const sesPath = ((): string => {
  const commonJs = require.resolve('ses');
  const minified = path.join(path.dirname(commonJs), 'ses.umd.min.js');
  return fs.existsSync(minified) ? minified : commonJs;
})();

/** Returns the cache file for this SES file, Node version and architecture, or undefined outside node_modules. */
const cacheFileFor = (): string | undefined => {
  const marker = `${path.sep}node_modules${path.sep}`;
  const at = sesPath.lastIndexOf(marker);
  if (at === -1) return undefined;
  const { size, mtimeMs } = fs.statSync(sesPath);
  const key = `${process.version}-${process.arch}-${size}-${Math.trunc(mtimeMs)}`;
  return path.join(sesPath.slice(0, at + marker.length), '.cache', 'plugrun', `ses-${key}.v8`);
};

/** Where this worker reads and writes the cache; undefined when SES is not under node_modules. */
export const sesCacheFile = cacheFileFor();
const cacheFile = sesCacheFile;

const readCache = (): Buffer | undefined => {
  if (cacheFile === undefined) return undefined;
  try {
    return fs.readFileSync(cacheFile);
  } catch {
    return undefined;
  }
};

/**
 * Compiles and runs SES. Returns how it was compiled, and the script when it
 * was compiled from source, to make the cache from; the cache bytes and the
 * script are otherwise dropped at once, so a worker does not keep them.
 */
const installSes = (): { compile: SesCompile; script?: vm.Script } => {
  const cachedData = readCache();
  // The same wrapper as Node's CommonJS loader, so the build sees its usual scope.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(sesPath, 'utf8')}\n})`, {
    filename: sesPath,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  const compile: SesCompile = cachedData === undefined ? 'source' : script.cachedDataRejected === true ? 'cache-rejected' : 'cache';
  const sesModule = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(sesModule.exports, require, sesModule, sesPath, path.dirname(sesPath));
  return compile === 'cache' ? { compile } : { compile, script };
};

const installed = installSes();
let sourceScript = installed.script;

/** How SES was compiled in this worker. */
export const sesCompile: SesCompile = installed.compile;

/**
 * Writes the code cache when this worker compiled SES from source. Called
 * after `lockdown()`, so the cache also holds the functions lockdown compiled.
 * A failure to write is ignored: the next worker compiles from source again.
 */
export const saveSesCodeCache = (): void => {
  const script = sourceScript;
  sourceScript = undefined;
  if (script === undefined || cacheFile === undefined) return;
  const temporary = `${cacheFile}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    fs.writeFileSync(temporary, script.createCachedData());
    fs.renameSync(temporary, cacheFile);
  } catch {
    fs.rmSync(temporary, { force: true });
  }
};

/**
 * Runs one-file CommonJS scripts in a plugin worker, compiled with a V8
 * code cache when one exists: SES's minified build, and plugrun's own worker
 * code bundled with its dependencies (see worker-entry.ts).
 *
 * Compiling is the largest part of a worker's start-up. Measured on a
 * 2-core AMD EPYC machine with Node 20, a worker that imports SES and locks
 * down is ready after about 94 ms from source and 57 ms with a code cache
 * (docs/benchmarks.md has the method). The first worker without a usable
 * cache compiles from source. Once it has locked down and loaded the archive
 * loader, `saveCodeCaches()` writes the caches for the next workers, so the
 * caches also hold the functions that ran by then.
 *
 * The caches live in `node_modules/.cache/plugrun/`, next to SES, and can
 * change only what anyone able to write `node_modules` could change anyway.
 * V8 checks each cache against the source it is given and its own version
 * and flags, and rejects one that does not match. A worker with another
 * stack size has other flags, and so has every worker of a process started
 * with a V8 option such as `--expose-gc`. A rejected or unreadable cache
 * only costs the compile and is written again. A cache's file name holds Node's
 * version, the architecture and the script's size and modification time,
 * so an upgrade of either leaves the old file unused.
 */

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

const require = createRequire(import.meta.url);

/** The source of a script's compiled code: its cache, the source after V8 rejected the cache, or the source without a cache. */
export type CacheUse = 'cache' | 'cache-rejected' | 'source';

/** A script run by `runCachedScript`. */
export interface CachedScript {
  readonly compile: CacheUse;
  /** The cache file read and written for it; undefined when SES is not under node_modules. */
  readonly cacheFile: string | undefined;
  /** The script's `module.exports`. */
  readonly exports: unknown;
}

// The minified build, because the unminified one loaded as a script took
// about 2 MB more of each worker's heap than SES's ES modules do. The
// minified one took the same as the ES modules (measured as for the figures
// above).
const sesPath = ((): string => {
  const commonJs = require.resolve('ses');
  const minified = path.join(path.dirname(commonJs), 'ses.umd.min.js');
  return fs.existsSync(minified) ? minified : commonJs;
})();

const cacheDir = ((): string | undefined => {
  const marker = `${path.sep}node_modules${path.sep}`;
  const at = sesPath.lastIndexOf(marker);
  return at === -1 ? undefined : path.join(sesPath.slice(0, at + marker.length), '.cache', 'plugrun');
})();

/** Returns the cache file of a script as it is now on disk, or undefined without a cache folder. */
const cacheFileFor = (file: string): string | undefined => {
  if (cacheDir === undefined) return undefined;
  const { size, mtimeMs } = fs.statSync(file);
  const name = path.basename(file).replace(/[^A-Za-z0-9._-]/g, '_');
  return path.join(cacheDir, `${name}-${process.version}-${process.arch}-${size}-${Math.trunc(mtimeMs)}.v8`);
};

const readCache = (cacheFile: string | undefined): Buffer | undefined => {
  if (cacheFile === undefined) return undefined;
  try {
    return fs.readFileSync(cacheFile);
  } catch {
    return undefined;
  }
};

/** Scripts compiled from source in this worker, whose caches `saveCodeCaches` writes. */
const toSave: Array<{ script: vm.Script; cacheFile: string }> = [];

/**
 * Compiles and runs a CommonJS file with the same wrapper as Node's loader,
 * using its code cache when V8 accepts it. The cache bytes and the script
 * are dropped once it ran, unless the cache is still to be written.
 */
export const runCachedScript = (file: string): CachedScript => {
  const cacheFile = cacheFileFor(file);
  const cachedData = readCache(cacheFile);
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(file, 'utf8')}\n})`, {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  let compile: CacheUse = 'source';
  if (cachedData !== undefined) compile = script.cachedDataRejected === true ? 'cache-rejected' : 'cache';
  const scriptModule: { exports: unknown } = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(scriptModule.exports, createRequire(file), scriptModule, file, path.dirname(file));
  if (compile !== 'cache' && cacheFile !== undefined) toSave.push({ script, cacheFile });
  return { compile, cacheFile, exports: scriptModule.exports };
};

/** Installs SES (`lockdown`, `harden`, `Compartment`) in this worker. */
export const installSes = (): CachedScript => runCachedScript(sesPath);

/**
 * Writes the caches of the scripts this worker compiled from source. A
 * failure to write is ignored: the next worker compiles from source again.
 */
export const saveCodeCaches = (): void => {
  for (const { script, cacheFile } of toSave.splice(0)) {
    const temporary = `${cacheFile}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
      fs.writeFileSync(temporary, script.createCachedData());
      fs.renameSync(temporary, cacheFile);
    } catch {
      fs.rmSync(temporary, { force: true });
    }
  }
};

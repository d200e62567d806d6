/**
 * Entry of a plugin's worker thread: installs SES, then runs the worker's
 * code (plugin-worker.ts).
 *
 * `npm run build` bundles plugin-worker.ts and everything it imports, the
 * archive half of compartment-mapper included, into one CommonJS file,
 * `plugin-worker.bundle.cjs`, so a worker compiles one script, from a code
 * cache (code-cache.ts), instead of resolving and compiling some sixty ES
 * modules. A bundle older than the compiled plugin-worker.js (after a `tsc`
 * without the bundling step) is not used: the worker imports the modules
 * themselves, which is slower and runs the same code.
 */

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

import { installSes, runCachedScript, saveCodeCaches } from './code-cache.js';

installSes();

const bundle = fileURLToPath(new URL('./plugin-worker.bundle.cjs', import.meta.url));
const modules = fileURLToPath(new URL('./plugin-worker.js', import.meta.url));

/** Returns whether the bundle exists and was made after the modules it bundles were compiled. */
const bundleIsCurrent = (): boolean => {
  try {
    return fs.statSync(bundle).mtimeMs >= fs.statSync(modules).mtimeMs;
  } catch {
    return false;
  }
};

const worker = (bundleIsCurrent() ? runCachedScript(bundle).exports : await import('./plugin-worker.js')) as { ready: Promise<unknown> };
void worker.ready.then(saveCodeCaches, () => undefined);

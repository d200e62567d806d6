/**
 * Runs every benchmark script in turn, passing on the arguments
 * (`--quick`, `--json` where a script supports it): start-up, ctx calls
 * from plugins, HTTP, the database and the dashboard under load.
 *
 * Usage: npm run bench [-- --quick]
 */

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const scripts = ['run.js', 'plugins.js', 'net.js', 'db.js', 'dashboard.js'];
let failed = 0;

for (const script of scripts) {
  process.stdout.write(`\n## ${script.replace(/\.js$/, '')}\n\n`);
  // The start-up benchmark calls gc() between runs to measure memory.
  const nodeOptions = script === 'run.js' ? ['--expose-gc'] : [];
  const result = spawnSync(process.execPath, [...nodeOptions, path.join(here, script), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (result.status !== 0) {
    failed += 1;
    process.stderr.write(`bench: ${script} exited with ${result.status ?? result.signal}\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;

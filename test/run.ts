/**
 * Runs every compiled test file with uvu and ends with the line
 * `N passed, N failed`, which CI reads (uvu's own summary is not recognised).
 *
 * Usage: node dist/test/run.js [pattern]. The pattern is a regular expression
 * matched against test file paths, as uvu's own second argument is.
 */

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// uvu's package exports list neither its bin nor its package.json, so the bin is found from its main entry.
const uvuMain = createRequire(import.meta.url).resolve('uvu');
const uvuBin = path.join(uvuMain.slice(0, uvuMain.lastIndexOf(`${path.sep}uvu${path.sep}`) + 5), 'bin.js');
const pattern = process.argv[2] ?? '\\.test\\.js$';
const filePattern = pattern.endsWith('$') ? pattern : `(?:${pattern}).*\\.test\\.js$`;

const child = spawn(process.execPath, [uvuBin, here, filePattern, '--color', 'false'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' },
});

let output = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk: string) => {
  output += chunk;
  process.stdout.write(chunk);
});

child.on('close', (code) => {
  // uvu prints "Total:     N", "Passed:    N" and "Skipped:   N" at the end.
  const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
  const count = (label: string): number => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 0);
  const total = count('Total');
  const passed = count('Passed');
  const skipped = count('Skipped');
  let failed = total - passed - skipped;

  // A crash before uvu's summary (a syntax error, an exception outside a test) counts as a failure.
  if (code !== 0 && failed === 0) failed = 1;

  const skippedText = skipped > 0 ? `, ${skipped} skipped` : '';
  process.stdout.write(`\n${passed} passed, ${failed} failed${skippedText}\n`);
  process.exitCode = failed > 0 ? 1 : 0;
});

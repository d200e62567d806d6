import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { readAuditLog } from '../../runtime/audit-read.js';
import { verifyAuditLog } from '../../runtime/audit-verify.js';

const writerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/audit-writer.js');

const runWriter = (args: readonly string[]) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [writerScript, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}: ${stderr}`))));
  });

test('concurrent writers keep one chain', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-concurrent-')), 'audit.ndjson');
  const writers = ['w1', 'w2', 'w3', 'w4'];
  const startAt = String(Date.now() + 1500);
  await Promise.all(writers.map((name) => runWriter([file, name, '300', String(16 * 1024), '100', startAt])));

  const result = verifyAuditLog(file);
  assert.ok(result.intact, JSON.stringify(result.break));
  assert.is(result.events, 1200);
  assert.ok(result.files.length > 1, 'the writers rotated the log between them');

  const seqs: number[] = [];
  const perWriter = new Map<string, number>();
  readAuditLog(file, (event) => {
    seqs.push(event.seq);
    perWriter.set(event.plugin, (perWriter.get(event.plugin) ?? 0) + 1);
  });
  assert.equal(seqs, Array.from({ length: 1200 }, (_value, index) => index + 1), 'seq runs 1 to 1200 without gaps or repeats');
  for (const name of writers) assert.is(perWriter.get(name), 300, name);

  // Interleaving shows the lock was contended, not that the writers ran one after another.
  const order: string[] = [];
  readAuditLog(file, (event) => order.push(event.plugin));
  const switches = order.filter((name, index) => index > 0 && name !== order[index - 1]).length;
  assert.ok(switches > 3, `writers interleaved ${switches} times`);
});

test.run();

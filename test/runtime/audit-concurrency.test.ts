import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { AuditLog } from '../../runtime/audit.js';
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
  // A pause of 1 ms after each event keeps the four runs overlapping, so the
  // writers hand the lock to each other instead of running one after another.
  await Promise.all(writers.map((name) => runWriter([file, name, '300', String(16 * 1024), '100', startAt, '1'])));

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

test('a writer gets the lock from a process that holds it idle', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-lease-')), 'audit.ndjson');
  // The child writes one event, keeps the lock as a lease, and then sleeps
  // 3 s without writing: its event loop is free, so its idle release runs.
  const holder = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { AuditLog } from ${JSON.stringify(new URL('../../runtime/audit.js', import.meta.url).href)};
       const log = new AuditLog(process.argv[1]);
       log.write({ plugin: 'holder', cap: 'log', op: 'info', outcome: 'allowed' });
       log.flush();
       process.stdout.write('written\\n');
       setTimeout(() => log.close(), 3000);`,
      file,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));

  const log = new AuditLog(file);
  const started = performance.now();
  log.write({ plugin: 'waiter', cap: 'log', op: 'info', outcome: 'allowed' });
  log.flush();
  const waitedMs = performance.now() - started;
  log.close();
  await new Promise((resolve) => holder.on('close', resolve));

  assert.ok(waitedMs < 2500, `the waiter got the lock after ${waitedMs} ms, before the holder closed its log`);
  const result = verifyAuditLog(file);
  assert.ok(result.intact, JSON.stringify(result.break));
  assert.is(result.events, 2);
});

test('two logs of one file in one process take turns', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-lease-')), 'audit.ndjson');
  const first = new AuditLog(file);
  const second = new AuditLog(file);
  for (let index = 0; index < 3; index += 1) {
    first.write({ plugin: 'first', cap: 'log', op: 'info', outcome: 'allowed' });
    first.flush();
    // Waits synchronously, so only taking over the idle lease can let it write.
    second.write({ plugin: 'second', cap: 'log', op: 'info', outcome: 'allowed' });
    second.flush();
  }
  first.close();
  second.close();
  const result = verifyAuditLog(file);
  assert.ok(result.intact, JSON.stringify(result.break));
  assert.is(result.events, 6);
});

test('a kept lock survives its folder being removed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-lease-'));
  const log = new AuditLog(path.join(dir, 'audit.ndjson'));
  log.write({ plugin: 'gone', cap: 'log', op: 'info', outcome: 'allowed' });
  log.flush();
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  fs.rmSync(dir, { recursive: true, force: true });

  // The idle release runs now, on a lock file that is gone: no exception escapes it.
  await new Promise((resolve) => setTimeout(resolve, 100));
  process.removeListener('warning', onWarning);
  assert.equal(warnings, []);
  assert.not.ok(fs.existsSync(dir));
});

test.run();

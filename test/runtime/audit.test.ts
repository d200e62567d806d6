import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { AuditLog, canonicalJson, chainHash, expectedHash } from '../../runtime/audit.js';

const tempDirs: string[] = [];
const tempLog = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-audit-'));
  tempDirs.push(dir);
  return path.join(dir, 'audit.ndjson');
};
test.after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});
const readLines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
const readEvents = (file: string) => readLines(file).map((line) => JSON.parse(line));

test('canonicalJson sorts keys at every depth', () => {
  assert.is(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
  assert.is(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
});

test('format 1 lines keep their canonical recipe', () => {
  const body = { v: 1, seq: 1, time: '2026-12-04T19:30:00.123Z', plugin: 'a', cap: 'log', op: 'info', outcome: 'allowed' };
  const hash = chainHash('', body);
  const line = JSON.stringify({ ...body, hash });
  assert.is(expectedHash('', line, JSON.parse(line)), hash);
});

test('events carry version, sequence and chained hashes', () => {
  const file = tempLog();
  const log = new AuditLog(file);
  log.write({ plugin: 'a', cap: 'log', op: 'info', outcome: 'allowed', message: 'one' });
  log.write({ plugin: 'a', cap: 'fs', op: 'readFile', target: 'x/y', outcome: 'denied', needed: 'fs.read:x/' });
  log.close();

  const [firstLine, secondLine] = readLines(file);
  const [first, second] = readEvents(file);
  assert.is(first.v, 2);
  assert.is(first.seq, 1);
  assert.is(second.seq, 2);
  assert.match(first.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(Object.keys(second), ['v', 'seq', 'time', 'plugin', 'cap', 'op', 'target', 'outcome', 'needed', 'hash']);
  assert.is(first.hash, expectedHash('', firstLine!, first));
  assert.is(second.hash, expectedHash(first.hash, secondLine!, second));
});

test('chain continues across reopen', () => {
  const file = tempLog();
  const first = new AuditLog(file);
  first.write({ plugin: 'a', cap: 'runtime', op: 'start', outcome: 'allowed' });
  first.close();
  const second = new AuditLog(file);
  second.write({ plugin: 'a', cap: 'runtime', op: 'stop', outcome: 'allowed' });
  second.close();
  const [written, next] = readEvents(file);
  assert.is(next.seq, 2);
  assert.is(next.hash, expectedHash(written.hash, readLines(file)[1]!, next));
});

test('chain skips a cut-off last line', () => {
  const file = tempLog();
  const first = new AuditLog(file);
  first.write({ plugin: 'a', cap: 'runtime', op: 'start', outcome: 'allowed' });
  first.close();
  fs.appendFileSync(file, '{"v":2,"seq":2,"ti');
  const second = new AuditLog(file);
  second.write({ plugin: 'a', cap: 'runtime', op: 'stop', outcome: 'allowed' });
  second.close();
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.is(lines[1], '{"v":2,"seq":2,"ti', 'the cut-off line stays, terminated');
  const resumed = JSON.parse(lines[2]!);
  assert.is(resumed.seq, 2);
  assert.is(resumed.hash, expectedHash(JSON.parse(lines[0]!).hash, lines[2]!, resumed));
});

test('listeners receive written events after the flush', () => {
  const log = new AuditLog(tempLog());
  const seen: number[] = [];
  const unsubscribe = log.subscribe((event) => seen.push(event.seq));
  log.write({ plugin: 'a', cap: 'log', op: 'info', outcome: 'allowed' });
  assert.equal(seen, [], 'nothing before the flush');
  log.flush();
  unsubscribe();
  log.write({ plugin: 'a', cap: 'log', op: 'info', outcome: 'allowed' });
  log.close();
  assert.equal(seen, [1]);
});

test('terminal controls stay escaped in the file', () => {
  const file = tempLog();
  const log = new AuditLog(file);
  log.write({ plugin: 'a', cap: 'log', op: 'info', outcome: 'allowed', message: 'red \u001b[31m text\nnext \u009b2J \u202eevil' });
  log.close();
  const text = fs.readFileSync(file, 'utf8');
  assert.not.ok(text.includes('\u001b'), 'no raw escape byte');
  assert.not.ok(text.includes('\u009b'), 'no raw C1 control');
  assert.not.ok(text.includes('\u202e'), 'no raw bidi override');
  assert.is(text.trimEnd().split('\n').length, 1, 'one line per event');
  const [event] = readEvents(file);
  assert.is(event.message, 'red \u001b[31m text\nnext \u009b2J \u202eevil', 'the value reads back unchanged');
  assert.is(event.hash, expectedHash('', readLines(file)[0]!, event));
});

test('a process-exit flush writes pending events', () => {
  // In a process of its own: emitting 'exit' here would also run uvu's exit hook.
  const file = tempLog();
  const auditModule = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../runtime/audit.js')).href;
  const script = `
    import { AuditLog } from ${JSON.stringify(auditModule)};
    const log = new AuditLog(${JSON.stringify(file)});
    log.write({ plugin: 'a', cap: 'log', op: 'info', outcome: 'allowed' });
    process.exit(0);
  `;
  execFileSync(process.execPath, ['--input-type=module', '-e', script]);
  assert.is(readEvents(file).length, 1);
});

test.run();

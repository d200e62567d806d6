import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { AuditLog, canonicalJson, chainHash } from '../../runtime/audit.js';

const tempLog = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-audit-')), 'audit.ndjson');
const readEvents = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));

test('canonicalJson sorts keys at every depth', () => {
  assert.is(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
  assert.is(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
});

test('events carry version, sequence and chained hashes', () => {
  const file = tempLog();
  const log = new AuditLog(file);
  log.write({ plugin: 'a', cap: 'log', op: 'info', outcome: 'allowed', message: 'one' });
  log.write({ plugin: 'a', cap: 'fs', op: 'readFile', target: 'x/y', outcome: 'denied', needed: 'fs.read:x/' });
  log.close();

  const [first, second] = readEvents(file);
  assert.is(first.v, 1);
  assert.is(first.seq, 1);
  assert.is(second.seq, 2);
  assert.match(first.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const { hash: firstHash, ...firstBody } = first;
  assert.is(firstHash, chainHash('', firstBody));
  const { hash: secondHash, ...secondBody } = second;
  assert.is(secondHash, chainHash(firstHash, secondBody));
});

test('chain continues across reopen', () => {
  const file = tempLog();
  const first = new AuditLog(file);
  const written = first.write({ plugin: 'a', cap: 'runtime', op: 'start', outcome: 'allowed' });
  first.close();
  const second = new AuditLog(file);
  const next = second.write({ plugin: 'a', cap: 'runtime', op: 'stop', outcome: 'allowed' });
  second.close();
  assert.is(next.seq, 2);
  const { hash, ...body } = next;
  assert.is(hash, chainHash(written.hash, body));
});

test('chain skips a cut-off last line', () => {
  const file = tempLog();
  const first = new AuditLog(file);
  const written = first.write({ plugin: 'a', cap: 'runtime', op: 'start', outcome: 'allowed' });
  first.close();
  fs.appendFileSync(file, '{"v":1,"seq":2,"ti');
  const second = new AuditLog(file);
  assert.is(second.write({ plugin: 'a', cap: 'runtime', op: 'stop', outcome: 'allowed' }).seq, written.seq + 1);
  second.close();
});

test('listeners receive written events', () => {
  const log = new AuditLog(tempLog());
  const seen: number[] = [];
  const unsubscribe = log.subscribe((event) => seen.push(event.seq));
  log.write({ plugin: 'a', cap: 'log', op: 'info', outcome: 'allowed' });
  unsubscribe();
  log.write({ plugin: 'a', cap: 'log', op: 'info', outcome: 'allowed' });
  log.close();
  assert.equal(seen, [1]);
});

test('control characters stay escaped in the file', () => {
  const file = tempLog();
  const log = new AuditLog(file);
  log.write({ plugin: 'a', cap: 'log', op: 'info', outcome: 'allowed', message: 'red \u001b[31m text\nnext' });
  log.close();
  const text = fs.readFileSync(file, 'utf8');
  assert.not.ok(text.includes('\u001b'), 'no raw escape byte');
  assert.is(text.trimEnd().split('\n').length, 1, 'one line per event');
});

test.run();

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { AuditLog } from '../../runtime/audit.js';
import { listLogFiles } from '../../runtime/audit-files.js';
import { verifyAuditLog } from '../../runtime/audit-verify.js';

/** Writes `count` events in a fresh log and returns its path. */
const tempDirs: string[] = [];
test.after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const makeLog = (count: number, options: { maxBytes?: number; keep?: number } = {}): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-verify-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'audit.ndjson');
  const log = new AuditLog(file, options);
  for (let index = 1; index <= count; index += 1) log.write({ plugin: 'p', cap: 'log', op: 'info', outcome: 'allowed', message: `event ${index}` });
  log.close();
  return file;
};

const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
const rewrite = (file: string, edit: (lines: string[]) => string[]) => fs.writeFileSync(file, `${edit(lines(file)).join('\n')}\n`);

test('intact chain verifies', () => {
  const file = makeLog(5);
  const result = verifyAuditLog(file);
  assert.ok(result.intact);
  assert.is(result.events, 5);
  assert.is(result.head?.seq, 5);
  assert.equal(result.incomplete, []);
});

test('edited line is named', () => {
  const file = makeLog(5);
  rewrite(file, (all) => all.map((line, index) => (index === 2 ? line.replace('event 3', 'event X') : line)));
  const result = verifyAuditLog(file);
  assert.not.ok(result.intact);
  assert.is(result.break?.kind, 'edited');
  assert.is(result.break?.file, file);
  assert.is(result.break?.line, 3);
});

test('removed line is named', () => {
  const file = makeLog(5);
  rewrite(file, (all) => all.filter((_line, index) => index !== 1));
  const result = verifyAuditLog(file);
  assert.is(result.break?.kind, 'removed');
  assert.is(result.break?.line, 2);
  assert.is(result.break?.seq, 3);
});

test('removed first line is named', () => {
  const file = makeLog(3);
  rewrite(file, (all) => all.slice(1));
  const result = verifyAuditLog(file);
  assert.is(result.break?.kind, 'removed');
  assert.is(result.break?.line, 1);
});

test('reordered lines are named', () => {
  const file = makeLog(5);
  rewrite(file, (all) => [all[0]!, all[2]!, all[1]!, all[3]!, all[4]!]);
  const result = verifyAuditLog(file);
  assert.is(result.break?.kind, 'reordered');
  assert.is(result.break?.line, 2);
  assert.match(result.break?.message ?? '', `${file}:3`);
});

test('inserted line is named', () => {
  const file = makeLog(5);
  const forged = JSON.stringify({ v: 2, seq: 3, time: '2026-12-04T19:30:00.000Z', plugin: 'p', cap: 'log', op: 'info', outcome: 'allowed', hash: 'sha256-AAAA' });
  rewrite(file, (all) => [...all.slice(0, 2), forged, ...all.slice(2)]);
  const result = verifyAuditLog(file);
  assert.is(result.break?.kind, 'inserted');
  assert.is(result.break?.line, 3);
});

test('repeated line is an insertion', () => {
  const file = makeLog(4);
  rewrite(file, (all) => [...all.slice(0, 3), all[1]!, all[3]!]);
  const result = verifyAuditLog(file);
  assert.is(result.break?.kind, 'inserted');
  assert.is(result.break?.line, 4);
});

test('cut-off last line is an incomplete write', () => {
  const file = makeLog(3);
  const last = lines(file)[2]!;
  fs.writeFileSync(file, `${lines(file).slice(0, 2).join('\n')}\n${last.slice(0, 40)}`);
  const result = verifyAuditLog(file);
  assert.ok(result.intact, 'a crash is not tampering');
  assert.equal(result.incomplete, [{ file, line: 3 }]);
  assert.is(result.head?.seq, 2);
});

test('cut-off line followed by resumed writes', () => {
  const file = makeLog(2);
  fs.appendFileSync(file, '{"v":2,"seq":3,"time":"20');
  const log = new AuditLog(file);
  log.write({ plugin: 'p', cap: 'runtime', op: 'start', outcome: 'allowed' });
  log.close();
  const result = verifyAuditLog(file);
  assert.ok(result.intact);
  assert.equal(result.incomplete, [{ file, line: 3 }]);
  assert.is(result.head?.seq, 3);
});

test('garbage line mid-file is an edit', () => {
  const file = makeLog(4);
  rewrite(file, (all) => all.map((line, index) => (index === 1 ? 'not json' : line)));
  const result = verifyAuditLog(file);
  assert.is(result.break?.kind, 'edited');
  assert.is(result.break?.line, 2);
});

test('chain continues across restart', () => {
  const file = makeLog(3);
  const log = new AuditLog(file);
  log.write({ plugin: 'p', cap: 'runtime', op: 'start', outcome: 'allowed' });
  log.close();
  const result = verifyAuditLog(file);
  assert.ok(result.intact);
  assert.is(result.events, 4);
});

test('chain continues across rotation', () => {
  const file = makeLog(60, { maxBytes: 2048, keep: 50 });
  const files = listLogFiles(file);
  assert.ok(files.length >= 3, `rotated into ${files.length} files`);
  for (const rotated of files) assert.ok(fs.statSync(rotated).size <= 2048, `${rotated} within the size`);
  const second = JSON.parse(lines(files[1]!)[0]!);
  assert.is(second.prev, JSON.parse(lines(files[0]!).at(-1)!).hash, 'the first event of a file names the previous hash');
  const result = verifyAuditLog(file);
  assert.ok(result.intact);
  assert.is(result.events, 60);
});

test('rotation deletes files past keep', () => {
  const file = makeLog(80, { maxBytes: 2048, keep: 2 });
  assert.is(listLogFiles(file).length, 3);
  const result = verifyAuditLog(file);
  assert.ok(result.intact, 'the oldest kept file anchors on its prev');
  assert.ok((result.startsAtSeq ?? 0) > 1);
});

test('removal at the end of a rotated file is named', () => {
  const file = makeLog(60, { maxBytes: 2048, keep: 50 });
  const [oldest] = listLogFiles(file);
  rewrite(oldest!, (all) => all.slice(0, -1));
  const result = verifyAuditLog(file);
  assert.is(result.break?.kind, 'removed');
  assert.is(result.break?.file, listLogFiles(file)[1]);
  assert.is(result.break?.line, 1);
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeFsCapability } from '../../capabilities/fs.js';
import { check, expectCode, makeTestEnv, operationOf } from './helpers.js';

const fs = makeFsCapability(makeTestEnv(undefined, { fsMaxFileBytes: 16 }));
const readFile = operationOf(fs.operations, 'readFile');
const writeFile = operationOf(fs.operations, 'writeFile');
const appendFile = operationOf(fs.operations, 'appendFile');
const deleteFile = operationOf(fs.operations, 'deleteFile');
const list = operationOf(fs.operations, 'list');
const stat = operationOf(fs.operations, 'stat');

/** Paths a plugin sends and the path they normalise to. */
const NORMALISED: readonly (readonly [string, string])[] = [
  ['notes/a.txt', 'notes/a.txt'],
  ['./notes/a.txt', 'notes/a.txt'],
  ['notes//a.txt', 'notes/a.txt'],
  ['notes/./a.txt', 'notes/a.txt'],
  ['notes/sub/../a.txt', 'notes/a.txt'],
  ['other/../notes/a.txt', 'notes/a.txt'],
  ['notes/a.txt/', 'notes/a.txt'],
  ['Notes-2026/File_1.v2.json', 'Notes-2026/File_1.v2.json'],
];

/** Paths a plugin sends that every fs method rejects, and a part of the message. */
const REJECTED_PATHS: readonly (readonly [unknown, string])[] = [
  [Buffer.from('notes/a.txt'), 'must be a string, got a Uint8Array'],
  [new Uint8Array([97]), 'must be a string, got a Uint8Array'],
  [new URL('file:///etc/passwd'), 'must be a string, got a URL'],
  [['notes', 'a.txt'], 'must be a string, got an array'],
  [{ path: 'notes/a.txt' }, 'must be a string, got an object'],
  [{ toString: () => 'notes/a.txt' }, 'must be a string, got an object'],
  [42, 'must be a string, got a number'],
  [null, 'must be a string, got null'],
  ['', 'is empty'],
  ['notes/a\u0000.txt', 'NUL'],
  ['notes/a\n.txt', 'control character'],
  ['notes\\a.txt', 'backslash'],
  ['..\\..\\etc\\passwd', 'backslash'],
  ['/etc/passwd', 'is absolute'],
  ['//server/share/a.txt', 'is absolute'],
  ['C:/Windows/win.ini', 'Windows drive'],
  ['c:notes.txt', 'Windows drive'],
  ['../a.txt', 'leave'],
  ['../other-plugin/notes/a.txt', 'leave'],
  ['notes/../../a.txt', 'leave'],
  ['notes/../..', 'leave'],
  ['notes/my file.txt', 'only letters, digits'],
  ['notes/$(id).txt', 'only letters, digits'],
  ['notes/caf\u00e9.txt', 'only letters, digits'],
  ['notes/a\u202e.txt', 'only letters, digits'],
  [`notes/${'a'.repeat(256)}`, 'longer than 255'],
  [`notes/${'a/'.repeat(2100)}`, 'longer than 4096'],
];

test('fs normalises paths', () => {
  for (const [input, expected] of NORMALISED) {
    const checked = check(readFile, input);
    assert.equal(checked.need, { kind: 'fs', access: 'read', path: expected }, input);
    assert.is(checked.target, expected, input);
  }
});

test('fs rejects bad paths in every method', () => {
  const calls: readonly (readonly [string, (path: unknown) => unknown])[] = [
    ['readFile', (path) => check(readFile, path)],
    ['writeFile', (path) => check(writeFile, path, 'x')],
    ['appendFile', (path) => check(appendFile, path, 'x')],
    ['deleteFile', (path) => check(deleteFile, path)],
    ['list', (path) => check(list, path)],
    ['stat', (path) => check(stat, path)],
  ];
  for (const [method, call] of calls) {
    for (const [path, problem] of REJECTED_PATHS) {
      const label = `${method} ${String(path).slice(0, 40)}`;
      const error = expectCode(() => call(path), 'PLUGRUN_INVALID', label);
      assert.ok(error.message.includes(problem), `${label}: "${error.message}" lacks "${problem}"`);
      assert.ok(error.message.startsWith(`ctx.fs.${method} path`), `${label}: ${error.message}`);
    }
  }
});

test('fs rejects files at top level', () => {
  for (const operation of [readFile, deleteFile]) {
    const error = expectCode(() => check(operation, 'notes.txt'), 'PLUGRUN_INVALID');
    assert.ok(error.message.includes('not inside a folder'), error.message);
  }
  for (const operation of [writeFile, appendFile]) {
    expectCode(() => check(operation, 'notes.txt', 'x'), 'PLUGRUN_INVALID');
    expectCode(() => check(operation, 'notes/..', 'x'), 'PLUGRUN_INVALID');
  }
});

test('fs rejects data folder itself', () => {
  for (const path of ['.', './', 'notes/..']) {
    expectCode(() => check(stat, path), 'PLUGRUN_INVALID', `stat ${path}`);
    expectCode(() => check(list, path), 'PLUGRUN_INVALID', `list ${path}`);
  }
  const error = expectCode(() => check(list), 'PLUGRUN_INVALID');
  assert.ok(error.message.includes('path is missing'), error.message);
});

test('fs needs per method', () => {
  assert.equal(check(readFile, 'notes/a.txt').need, { kind: 'fs', access: 'read', path: 'notes/a.txt' });
  assert.equal(check(writeFile, 'notes/a.txt', 'x').need, { kind: 'fs', access: 'write', path: 'notes/a.txt' });
  assert.equal(check(appendFile, 'notes/a.txt', 'x').need, { kind: 'fs', access: 'write', path: 'notes/a.txt' });
  assert.equal(check(deleteFile, 'notes/a.txt').need, { kind: 'fs', access: 'write', path: 'notes/a.txt' });
  assert.equal(check(stat, 'notes').need, { kind: 'fs', access: 'read', path: 'notes' });
  assert.equal(check(stat, 'notes/a.txt').need, { kind: 'fs', access: 'read', path: 'notes/a.txt' });
  assert.equal(check(list, 'notes').need, { kind: 'fs', access: 'read', path: 'notes/' });
  assert.equal(check(list, 'notes/sub/').need, { kind: 'fs', access: 'read', path: 'notes/sub/' });
});

test('fs readFile encoding option', () => {
  assert.equal(check(readFile, 'notes/a.txt').args, { path: 'notes/a.txt', encoding: 'utf8' });
  assert.equal(check(readFile, 'notes/a.txt', {}).args, { path: 'notes/a.txt', encoding: 'utf8' });
  assert.equal(check(readFile, 'notes/a.txt', { encoding: 'bytes' }).args, { path: 'notes/a.txt', encoding: 'bytes' });
  for (const options of [{ encoding: 'latin1' }, { encoding: 'utf8', flag: 'a' }, 'utf8', null]) {
    expectCode(() => check(readFile, 'notes/a.txt', options), 'PLUGRUN_INVALID', JSON.stringify(options));
  }
});

test('fs write data types', () => {
  const text = check(writeFile, 'notes/a.txt', 'héllo');
  assert.equal(text.args, { path: 'notes/a.txt', data: 'héllo' });
  assert.equal(text.audit, { bytes: 6 });

  const bytes = check(appendFile, 'notes/a.bin', new Uint8Array([1, 2, 3]));
  assert.equal(bytes.audit, { bytes: 3 });

  for (const data of [undefined, null, 42, { text: 'x' }, ['x'], new ArrayBuffer(2), new Uint16Array(2)]) {
    const error = expectCode(() => check(writeFile, 'notes/a.txt', data), 'PLUGRUN_INVALID', String(data));
    assert.ok(error.message.includes('must be a string or a Uint8Array'), error.message);
  }
});

test('fs write over fsMaxFileBytes', () => {
  check(writeFile, 'notes/a.txt', 'x'.repeat(16));
  const error = expectCode(() => check(writeFile, 'notes/a.txt', 'x'.repeat(17)), 'PLUGRUN_LIMIT');
  assert.ok(error.message.includes('fsMaxFileBytes'), error.message);
  expectCode(() => check(appendFile, 'notes/a.txt', new Uint8Array(17)), 'PLUGRUN_LIMIT');
  // Eight two-byte characters are 16 bytes, nine are 18.
  expectCode(() => check(writeFile, 'notes/a.txt', 'é'.repeat(9)), 'PLUGRUN_LIMIT');
});

test('fs rejects extra arguments', () => {
  expectCode(() => check(readFile, 'notes/a.txt', {}, 'extra'), 'PLUGRUN_INVALID');
  expectCode(() => check(writeFile, 'notes/a.txt', 'x', { flag: 'a' }), 'PLUGRUN_INVALID');
  expectCode(() => check(stat, 'notes', true), 'PLUGRUN_INVALID');
});

test('fs rejects executable extensions', () => {
  const rejected = ['notes/run.sh', 'notes/RUN.SH', 'notes/setup.exe', 'notes/a.Bat', 'notes/a.cmd', 'notes/a.ps1', 'notes/a.sh.', 'notes/.sh'];
  for (const operation of [writeFile, appendFile]) {
    for (const path of rejected) {
      const error = expectCode(() => check(operation, path, 'x'), 'PLUGRUN_INVALID', path);
      assert.ok(error.message.includes('executable file types'), error.message);
    }
  }

  // Names that merely contain such an extension pass, and so do the other methods.
  for (const path of ['notes/sh', 'notes/run.sh.txt', 'notes/a.shx', 'notes/exe']) check(writeFile, path, 'x');
  check(readFile, 'notes/run.sh');
  check(deleteFile, 'notes/run.sh');
  check(stat, 'notes/run.sh');
});

test('fs reserves the temporary file prefix', () => {
  const calls: readonly (readonly [string, () => unknown])[] = [
    ['readFile', () => check(readFile, 'notes/.plugrun-tmp-0123')],
    ['writeFile', () => check(writeFile, 'notes/.plugrun-tmp-0123', 'x')],
    ['deleteFile', () => check(deleteFile, 'notes/.plugrun-tmp-0123')],
    ['list', () => check(list, '.plugrun-tmp-a/notes')],
    ['stat', () => check(stat, 'notes/.plugrun-tmp-0123')],
  ];
  for (const [method, call] of calls) {
    const error = expectCode(call, 'PLUGRUN_INVALID', method);
    assert.ok(error.message.includes('reserved'), error.message);
  }
  check(readFile, 'notes/plugrun-tmp-0123');
});

test.run();

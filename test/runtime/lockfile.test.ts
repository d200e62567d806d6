import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { PlugrunError } from '../../capabilities/errors.js';
import {
  LockfileError,
  readLockfile,
  serializeLockfile,
  updateLockfile,
  type Lockfile,
  type LockfileState,
} from '../../runtime/lockfile.js';

let root = '';
let counter = 0;

const integrityA = `sha512-${Buffer.alloc(64, 1).toString('base64')}`;
const integrityB = `sha512-${Buffer.alloc(64, 2).toString('base64')}`;

const validLockfile = () => ({
  lockfileVersion: 1,
  plugins: { notes: { version: '1.0.0', integrity: integrityA, grants: ['db:notes'] } },
});

/** Returns a path for a lockfile in a fresh folder, written with `content` unless it is undefined. */
const lockfileWith = async (content?: string | object): Promise<string> => {
  counter += 1;
  const dir = path.join(root, String(counter));
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'plugin.lock.json');
  if (content !== undefined) await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};

const problemsOf = (state: LockfileState) => {
  if (state.state !== 'invalid') throw new Error(`expected an invalid lockfile, got ${JSON.stringify(state)}`);
  return state.problems;
};

test.before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plugrun-lockfile-'));
});

test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('lockfile missing grants nothing', async () => {
  assert.equal(await readLockfile(await lockfileWith()), { state: 'missing' });
});

test('lockfile valid is read and normalised', async () => {
  const content = validLockfile();
  content.plugins.notes.grants = ['net:API.Example.com.', 'db:notes', 'db:notes'];
  const state = await readLockfile(await lockfileWith(content));
  if (state.state !== 'ok') assert.unreachable(JSON.stringify(state));
  else assert.equal(state.lockfile.plugins.notes!.grants, ['db:notes', 'net:api.example.com']);
});

test('lockfile keeps a limits override', async () => {
  const content = { ...validLockfile(), plugins: { notes: { ...validLockfile().plugins.notes, limits: { memoryMb: 64 } } } };
  const state = await readLockfile(await lockfileWith(content));
  if (state.state !== 'ok') assert.unreachable(JSON.stringify(state));
  else assert.equal(state.lockfile.plugins.notes!.limits, { memoryMb: 64 });
});

const invalidCases: { name: string; content: string | object; field: string; message: string; fix?: string }[] = [
  { name: 'corrupt JSON', content: '{"lockfileVersion": 1,\n "plugins": {', field: '', message: 'is not valid JSON at line 2' },
  { name: 'empty file', content: '', field: '', message: 'is not valid JSON' },
  { name: 'JSON array', content: '[]', field: '', message: 'must be a JSON object, found []', fix: 'restore the file' },
  { name: 'version 2', content: { ...validLockfile(), lockfileVersion: 2 }, field: 'lockfileVersion', message: 'unsupported lockfileVersion 2' },
  { name: 'version missing', content: { plugins: {} }, field: 'lockfileVersion', message: 'required field is missing' },
  { name: 'plugins missing', content: { lockfileVersion: 1 }, field: 'plugins', message: 'required field is missing' },
  { name: 'unknown top-level key', content: { ...validLockfile(), extra: true }, field: 'extra', message: 'unknown field "extra"' },
  { name: 'bad plugin name', content: { lockfileVersion: 1, plugins: { 'Bad Name': {} } }, field: 'plugins["Bad Name"]', message: 'invalid plugin name "Bad Name"' },
  {
    name: 'unknown plugin key',
    content: { lockfileVersion: 1, plugins: { notes: { ...validLockfile().plugins.notes, grant: [] } } },
    field: 'plugins.notes.grant',
    message: 'unknown field "grant"',
    fix: 'did you mean "grants"?',
  },
  {
    name: 'unknown limits key',
    content: { lockfileVersion: 1, plugins: { notes: { ...validLockfile().plugins.notes, limits: { memoryMB: 64 } } } },
    field: 'plugins.notes.limits.memoryMB',
    message: 'unknown field "memoryMB"',
    fix: 'did you mean "memoryMb"?',
  },
  {
    name: 'negative limit',
    content: { lockfileVersion: 1, plugins: { notes: { ...validLockfile().plugins.notes, limits: { dbMaxRows: -1 } } } },
    field: 'plugins.notes.limits.dbMaxRows',
    message: '',
  },
  {
    name: 'timeout beyond timers',
    content: { lockfileVersion: 1, plugins: { notes: { ...validLockfile().plugins.notes, limits: { startTimeoutMs: 3_000_000_000 } } } },
    field: 'plugins.notes.limits.startTimeoutMs',
    message: '',
  },
  {
    name: 'sha256 integrity',
    content: { lockfileVersion: 1, plugins: { notes: { ...validLockfile().plugins.notes, integrity: `sha256-${Buffer.alloc(32).toString('base64')}` } } },
    field: 'plugins.notes.integrity',
    message: 'invalid integrity "sha256-',
    fix: 'plugrun lock notes',
  },
  {
    name: 'short integrity',
    content: { lockfileVersion: 1, plugins: { notes: { ...validLockfile().plugins.notes, integrity: 'sha512-AAAA' } } },
    field: 'plugins.notes.integrity',
    message: 'invalid integrity',
  },
  {
    name: 'non-canonical integrity',
    content: { lockfileVersion: 1, plugins: { notes: { ...validLockfile().plugins.notes, integrity: `${integrityA.slice(0, -3)}B==` } } },
    field: 'plugins.notes.integrity',
    message: 'invalid integrity',
  },
  {
    name: 'bad grant',
    content: { lockfileVersion: 1, plugins: { notes: { ...validLockfile().plugins.notes, grants: ['db:notes', 'fs:/'] } } },
    field: 'plugins.notes.grants[1]',
    message: 'invalid capability "fs:/"',
    fix: 'correct or remove that grant',
  },
  {
    name: 'grants missing',
    content: { lockfileVersion: 1, plugins: { notes: { version: '1.0.0', integrity: integrityA } } },
    field: 'plugins.notes.grants',
    message: 'required field is missing',
  },
  {
    name: 'bad version',
    content: { lockfileVersion: 1, plugins: { notes: { ...validLockfile().plugins.notes, version: 'latest' } } },
    field: 'plugins.notes.version',
    message: 'invalid semantic version "latest"',
    fix: 'run: plugrun lock notes',
  },
];

for (const { name, content, field, message, fix } of invalidCases) {
  test(`lockfile rejects ${name}`, async () => {
    const file = await lockfileWith(content);
    const problems = problemsOf(await readLockfile(file));
    const problem = problems.find((entry) => entry.field === field);
    if (problem === undefined) assert.unreachable(`no problem for ${field}: ${JSON.stringify(problems)}`);
    else {
      assert.match(problem.message, message);
      if (fix !== undefined) assert.match(problem.fix, fix);
      assert.is(problem.file, file);
    }
  });
}

test('lockfile serialisation is byte-exact', () => {
  const lockfile: Lockfile = {
    lockfileVersion: 1,
    plugins: {
      weather: { version: '2.0.0-rc.1', integrity: integrityB, grants: ['net:api.example.org', 'fs:cache/', 'net:api.example.org'] },
      notes: { limits: { memoryMb: 64, callTimeoutMs: 500 }, grants: [], integrity: integrityA, version: '1.0.0' },
    },
  };
  const expected = [
    '{',
    '  "lockfileVersion": 1,',
    '  "plugins": {',
    '    "notes": {',
    '      "version": "1.0.0",',
    `      "integrity": "${integrityA}",`,
    '      "grants": [],',
    '      "limits": {',
    '        "callTimeoutMs": 500,',
    '        "memoryMb": 64',
    '      }',
    '    },',
    '    "weather": {',
    '      "version": "2.0.0-rc.1",',
    `      "integrity": "${integrityB}",`,
    '      "grants": [',
    '        "fs:cache/",',
    '        "net:api.example.org"',
    '      ]',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
  assert.is(serializeLockfile(lockfile), expected);
});

test('lockfile serialisation round-trips', async () => {
  const file = await lockfileWith(validLockfile());
  const state = await readLockfile(file);
  if (state.state !== 'ok') assert.unreachable(JSON.stringify(state));
  else {
    const text = serializeLockfile(state.lockfile);
    await writeFile(file, text);
    const again = await readLockfile(file);
    assert.equal(again, state);
    assert.is(text, `${JSON.stringify(validLockfile(), null, 2)}\n`);
  }
});

test('update creates a missing lockfile', async () => {
  const file = await lockfileWith();
  const update = await updateLockfile(file, (lockfile) => {
    lockfile.plugins.notes = { version: '1.0.0', integrity: integrityA, grants: ['db:Notes', 'db:notes'] };
  });
  assert.ok(update.changed);
  assert.equal(update.lockfile.plugins.notes!.grants, ['db:notes']);
  assert.is(await readFile(file, 'utf8'), serializeLockfile(update.lockfile));
  assert.equal(await readdir(path.dirname(file)), ['plugin.lock.json']);
});

test('update keeps other plugins and normalises grants', async () => {
  const file = await lockfileWith(validLockfile());
  const update = await updateLockfile(file, (lockfile) => ({
    ...lockfile,
    plugins: { ...lockfile.plugins, weather: { version: '0.1.0', integrity: integrityB, grants: ['net:EXAMPLE.org.'] } },
  }));
  assert.equal(Object.keys(update.lockfile.plugins), ['notes', 'weather']);
  assert.equal(update.lockfile.plugins.weather!.grants, ['net:example.org']);
  assert.match(await readFile(file, 'utf8'), '"net:example.org"');
});

test('update without change leaves the file alone', async () => {
  const file = await lockfileWith(validLockfile());
  const before = await stat(file);
  const update = await updateLockfile(file, () => undefined);
  assert.is(update.changed, false);
  assert.is((await stat(file)).mtimeMs, before.mtimeMs);
  assert.is(await readFile(file, 'utf8'), JSON.stringify(validLockfile()));
});

test('update rejects an invalid file on disk', async () => {
  const corrupt = '{"lockfileVersion": 1, "plugins": {"notes": {"grants": ["net:"]}}}';
  const file = await lockfileWith(corrupt);
  let mutated = false;
  try {
    await updateLockfile(file, () => {
      mutated = true;
    });
    assert.unreachable('expected a LockfileError');
  } catch (error) {
    assert.instance(error, LockfileError);
    assert.is((error as LockfileError).code, 'PLUGRUN_INVALID');
    assert.match((error as Error).message, 'is invalid and was left unchanged');
    assert.ok((error as LockfileError).problems.some((problem) => problem.field === 'plugins.notes.grants[0]'));
  }
  assert.is(mutated, false);
  assert.is(await readFile(file, 'utf8'), corrupt);
});

test('update rejects an invalid result', async () => {
  const file = await lockfileWith(validLockfile());
  try {
    await updateLockfile(file, (lockfile) => {
      lockfile.plugins.notes!.grants.push('net:*');
    });
    assert.unreachable('expected a LockfileError');
  } catch (error) {
    assert.instance(error, LockfileError);
    assert.match((error as Error).message, 'would make');
    assert.is((error as LockfileError).problems[0]!.field, 'plugins.notes.grants[1]');
  }
  assert.is(await readFile(file, 'utf8'), JSON.stringify(validLockfile()));
});

test('update releases the lock after a failed change', async () => {
  const file = await lockfileWith(validLockfile());
  await updateLockfile(file, () => {
    throw new Error('mutation failed');
  }).catch(() => undefined);
  assert.equal(await readdir(path.dirname(file)), ['plugin.lock.json']);
  const update = await updateLockfile(file, (lockfile) => {
    lockfile.plugins.notes!.grants.push('db:other');
  });
  assert.equal(update.lockfile.plugins.notes!.grants, ['db:notes', 'db:other']);
});

test('update recovers a stale lock', async () => {
  const file = await lockfileWith(validLockfile());
  // A crashed process leaves proper-lockfile's lock folder behind, never refreshed.
  const lockDir = `${file}.lock`;
  await mkdir(lockDir);
  const longAgo = new Date(Date.now() - 60_000);
  await utimes(lockDir, longAgo, longAgo);

  const started = Date.now();
  const update = await updateLockfile(file, (lockfile) => {
    lockfile.plugins.notes!.grants.push('db:stale');
  });
  assert.ok(update.changed);
  assert.ok(Date.now() - started < 5_000);
  assert.equal(await readdir(path.dirname(file)), ['plugin.lock.json']);
});

test('update through a symlink writes the target', async () => {
  const file = await lockfileWith(validLockfile());
  const link = path.join(path.dirname(file), 'linked.lock.json');
  await symlink(file, link);
  await updateLockfile(link, (lockfile) => {
    lockfile.plugins.notes!.grants.push('db:linked');
  });
  assert.ok((await readFile(file, 'utf8')).includes('"db:linked"'));
  assert.ok((await lstat(link)).isSymbolicLink());
  assert.equal((await readdir(path.dirname(file))).sort(), ['linked.lock.json', 'plugin.lock.json']);
});

test('update in a missing folder fails clearly', async () => {
  const file = path.join(root, 'no-such-folder', 'plugin.lock.json');
  try {
    await updateLockfile(file, () => undefined);
    assert.unreachable('expected a PlugrunError');
  } catch (error) {
    assert.instance(error, PlugrunError);
    assert.is((error as PlugrunError).code, 'PLUGRUN_FAILED');
    assert.match((error as Error).message, 'no-such-folder');
  }
});

test.run();

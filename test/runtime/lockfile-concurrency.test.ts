/**
 * Concurrent lockfile updates from real processes, as two `plugrun grant`
 * runs started together would make them. Each child imports the compiled
 * lockfile module, reports that it is ready, and waits for "go" on stdin, so
 * that all of them call `updateLockfile` at the same moment.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { readLockfile, serializeLockfile } from '../../runtime/lockfile.js';

const PROCESS_COUNT = 8;

const lockfileModule = new URL('../../runtime/lockfile.js', import.meta.url).href;

const integrity = `sha512-${Buffer.alloc(64, 3).toString('base64')}`;

// Adds one grant to plugin "notes", creating its entry when the lockfile has none.
const childScript = `
const { updateLockfile } = await import(process.env.LOCKFILE_MODULE);
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  await updateLockfile(process.env.LOCKFILE_PATH, (lockfile) => {
    lockfile.plugins.notes ??= { version: '1.0.0', integrity: process.env.INTEGRITY, grants: [] };
    lockfile.plugins.notes.grants.push(process.env.GRANT);
  });
  process.stdout.write('done\\n');
  process.exit(0);
});
`;

interface Child {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
  readonly exit: Promise<{ code: number | null; stderr: string }>;
}

const startChild = (lockfilePath: string, grant: string): Child => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', childScript], {
    env: { ...process.env, LOCKFILE_MODULE: lockfileModule, LOCKFILE_PATH: lockfilePath, INTEGRITY: integrity, GRANT: grant },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`child for ${grant} exited with ${code} before it was ready: ${stderr}`)));
  });
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.once('exit', (code) => resolve({ code, stderr }));
  });
  return { process: child, ready, exit };
};

/** Starts one child per grant, releases them together and waits for all of them to exit. */
const updateConcurrently = async (lockfilePath: string, grants: readonly string[]) => {
  const children = grants.map((grant) => startChild(lockfilePath, grant));
  await Promise.all(children.map((child) => child.ready));
  for (const child of children) child.process.stdin!.write('go\n');
  return Promise.all(children.map((child) => child.exit));
};

let root = '';

test.before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plugrun-lock-race-'));
});

test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('concurrent updates create the lockfile with every grant', async () => {
  const dir = await mkdtemp(path.join(root, 'create-'));
  const lockfilePath = path.join(dir, 'plugin.lock.json');
  const grants = Array.from({ length: PROCESS_COUNT }, (_, i) => `db:table${i}`);

  const exits = await updateConcurrently(lockfilePath, grants);

  for (const exit of exits) assert.is(exit.code, 0, exit.stderr);
  const state = await readLockfile(lockfilePath);
  if (state.state !== 'ok') assert.unreachable(JSON.stringify(state));
  else {
    assert.equal(state.lockfile.plugins.notes!.grants, [...grants].sort());
    assert.is(await readFile(lockfilePath, 'utf8'), serializeLockfile(state.lockfile));
  }
  // Neither the lock folder nor a temporary file of the atomic write is left behind.
  assert.equal(await readdir(dir), ['plugin.lock.json']);
});

test('concurrent updates keep existing grants', async () => {
  const dir = await mkdtemp(path.join(root, 'existing-'));
  const lockfilePath = path.join(dir, 'plugin.lock.json');
  const existing = { lockfileVersion: 1, plugins: { notes: { version: '1.0.0', integrity, grants: ['msg:weather'] } } };
  await writeFile(lockfilePath, JSON.stringify(existing));
  const grants = Array.from({ length: PROCESS_COUNT }, (_, i) => `net:host${i}.example.org`);

  const exits = await updateConcurrently(lockfilePath, grants);

  for (const exit of exits) assert.is(exit.code, 0, exit.stderr);
  const state = await readLockfile(lockfilePath);
  if (state.state !== 'ok') assert.unreachable(JSON.stringify(state));
  else assert.equal(state.lockfile.plugins.notes!.grants, ['msg:weather', ...grants].sort());
  assert.equal(await readdir(dir), ['plugin.lock.json']);
});

test.run();

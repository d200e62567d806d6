import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeFsCapabilityWithLookup } from '../../capabilities/fs.js';
import type { LookupMode } from '../../capabilities/fs-folder.js';
import { GrantSet } from '../../capabilities/grant-set.js';
import { AuditLog, type AuditEvent } from '../../runtime/audit.js';
import { dispatchCall } from '../../runtime/dispatch.js';
import { CALLER, expectRejection, makeTestEnv, withTempDir } from './helpers.js';

/**
 * `ctx.fs` of the test plugin under `root/data/notes/`, with a folder
 * `root/outside/` that no grant may reach, containing `secret.txt` and
 * `outside-only.txt`. Calls go through the real dispatch gate and audit log.
 */
const makeHarness = (root: string, mode: LookupMode, grants: readonly string[] = ['fs:exports/']) => {
  const env = makeTestEnv(root);
  const instance = makeFsCapabilityWithLookup(env, mode);
  const audit = new AuditLog(path.join(root, 'audit.ndjson'));
  const events: AuditEvent[] = [];
  audit.subscribe((event) => events.push(event));
  const caller = { plugin: CALLER, capabilities: { fs: instance }, grants: () => new GrantSet(grants) };

  const outside = path.join(root, 'outside');
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
  fs.writeFileSync(path.join(outside, 'outside-only.txt'), 'outside');
  fs.mkdirSync(path.join(env.paths.data, 'exports'), { recursive: true });

  return {
    data: env.paths.data,
    outside,
    events,
    call: (op: string, ...args: unknown[]) => dispatchCall(caller, audit, 'fs', op, args),
    /** Puts a symbolic link at a path under the data folder. */
    link(relative: string, target: string) {
      const at = path.join(env.paths.data, relative);
      fs.mkdirSync(path.dirname(at), { recursive: true });
      fs.symlinkSync(target, at);
    },
    /** Fails unless the outside folder still contains exactly its two files, unchanged. */
    assertOutsideUntouched() {
      assert.equal(fs.readdirSync(outside).sort(), ['outside-only.txt', 'secret.txt']);
      assert.is(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'secret');
    },
  };
};

/** Calls every method on paths that pass through a link, expecting `PLUGRUN_INVALID` naming the link. */
const expectLinkRejected = async (fsh: ReturnType<typeof makeHarness>, linkPath: string, below: string) => {
  const calls: readonly (readonly [string, unknown[]])[] = [
    ['readFile', [below]],
    ['readFile', [below, { encoding: 'bytes' }]],
    ['writeFile', [below, 'planted']],
    ['appendFile', [below, 'planted']],
    ['deleteFile', [below]],
    ['stat', [below]],
    ['stat', [linkPath]],
    ['list', [linkPath]],
  ];
  for (const [op, args] of calls) {
    const error = await expectRejection(fsh.call(op, ...args), 'PLUGRUN_INVALID');
    assert.ok(error.message.includes(`"${linkPath}" is a symbolic link`), `${op} ${String(args[0])}: ${error.message}`);
    assert.not.ok(error.message.includes(fsh.outside), 'the message shows no host path');

    const event = fsh.events.at(-1);
    assert.is(event?.outcome, 'error', `${op} writes an error event`);
    assert.is((event?.error as { code: string }).code, 'PLUGRUN_INVALID');
  }
  fsh.assertOutsideUntouched();
};

test('fs rejects every traversal form', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, 'proc-fd');
    const traversals = [
      '../outside/secret.txt',
      '../../outside/secret.txt',
      'exports/../../outside/secret.txt',
      'exports/../../../outside/secret.txt',
      'exports/./../../outside/secret.txt',
      'exports//..//..//outside/secret.txt',
      '..',
      'exports/../..',
      '/etc/passwd',
      `${path.join(root, 'outside/secret.txt')}`,
      '..\\..\\outside\\secret.txt',
      'exports\\..\\..\\outside\\secret.txt',
      'exports/..%2f..%2foutside/secret.txt',
      'exports/%2e%2e/secret.txt',
      'exports/\uff0e\uff0e/secret.txt',
      'exports/\u2024\u2024/secret.txt',
      'exports/..\u0000/secret.txt',
      'C:/outside/secret.txt',
      'file:///etc/passwd',
    ];
    for (const traversal of traversals) {
      for (const [op, args] of [
        ['readFile', [traversal]],
        ['writeFile', [traversal, 'planted']],
        ['deleteFile', [traversal]],
        ['list', [traversal]],
        ['stat', [traversal]],
      ] as const) {
        await expectRejection(fsh.call(op, ...args), 'PLUGRUN_INVALID');
        assert.is(fsh.events.at(-1)?.outcome, 'error', `${op} ${traversal}`);
      }
    }

    // A `..` that stays in the data folder is resolved, and then the grants decide.
    const error = await expectRejection(fsh.call('readFile', 'exports/../private/key.txt'), 'PLUGRUN_DENIED');
    assert.match(error.message, 'fs.read:private/');
    fsh.assertOutsideUntouched();
  }));

test('fs rejects non-string paths', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, 'proc-fd');
    let toStringCalls = 0;
    const shifty = {
      toString() {
        toStringCalls += 1;
        return toStringCalls === 1 ? 'exports/a.txt' : '../outside/secret.txt';
      },
    };
    const primitive = { [Symbol.toPrimitive]: () => 'exports/a.txt' };

    const values: unknown[] = [shifty, primitive, Buffer.from('exports/a.txt'), new URL('file:///etc/passwd'), ['exports', 'a.txt'], { path: 'exports/a.txt' }, 42, null, undefined, true];
    for (const value of values) {
      for (const op of ['readFile', 'writeFile', 'appendFile', 'deleteFile', 'stat', 'list']) {
        const args = op === 'writeFile' || op === 'appendFile' ? [value, 'x'] : [value];
        const error = await expectRejection(fsh.call(op, ...args), 'PLUGRUN_INVALID');
        const expected = value === undefined && op === 'list' ? 'path is missing' : 'path must be a string';
        assert.ok(error.message.includes(expected), `${op}: ${error.message}`);
      }
    }
    assert.is(toStringCalls, 0, 'no check ever converts a path to a string');
    fsh.assertOutsideUntouched();
  }));

for (const mode of ['proc-fd', 'absolute'] as const) {
  test(`fs never follows a link to a file outside (${mode})`, () =>
    withTempDir(async (root) => {
      const fsh = makeHarness(root, mode);
      fsh.link('exports/link.txt', path.join(fsh.outside, 'secret.txt'));
      await expectLinkRejected(fsh, 'exports/link.txt', 'exports/link.txt/x');

      for (const [op, args] of [
        ['readFile', ['exports/link.txt']],
        ['writeFile', ['exports/link.txt', 'planted']],
        ['appendFile', ['exports/link.txt', 'planted']],
        ['deleteFile', ['exports/link.txt']],
        ['stat', ['exports/link.txt']],
      ] as const) {
        const error = await expectRejection(fsh.call(op, ...args), 'PLUGRUN_INVALID');
        assert.match(error.message, '"exports/link.txt" is a symbolic link');
      }
      assert.ok(fs.lstatSync(path.join(fsh.data, 'exports/link.txt')).isSymbolicLink(), 'the link was neither removed nor replaced');
      assert.equal(await fsh.call('list', 'exports'), [], 'list leaves links out');
      fsh.assertOutsideUntouched();
    }));

  test(`fs never follows a link to a folder outside (${mode})`, () =>
    withTempDir(async (root) => {
      const fsh = makeHarness(root, mode);
      fsh.link('exports/out', fsh.outside);
      await expectLinkRejected(fsh, 'exports/out', 'exports/out/secret.txt');
      await expectLinkRejected(fsh, 'exports/out', 'exports/out/new/planted.txt');
      assert.equal(await fsh.call('list', 'exports'), []);
    }));

  test(`fs never follows a linked granted folder (${mode})`, () =>
    withTempDir(async (root) => {
      const fsh = makeHarness(root, mode);
      fs.rmdirSync(path.join(fsh.data, 'exports'));
      fsh.link('exports', fsh.outside);
      await expectLinkRejected(fsh, 'exports', 'exports/secret.txt');
      await expectLinkRejected(fsh, 'exports', 'exports/sub/planted.txt');
    }));

  test(`fs never follows a link above the grant (${mode})`, () =>
    withTempDir(async (root) => {
      const fsh = makeHarness(root, mode, ['fs:shared/docs/']);
      fs.mkdirSync(path.join(fsh.outside, 'docs'));
      fsh.link('shared', fsh.outside);
      const error = await expectRejection(fsh.call('readFile', 'shared/docs/../secret.txt'), 'PLUGRUN_DENIED');
      assert.match(error.message, 'fs.read:shared/');
      await expectRejection(fsh.call('writeFile', 'shared/docs/planted.txt', 'x'), 'PLUGRUN_INVALID');
      await expectRejection(fsh.call('list', 'shared/docs'), 'PLUGRUN_INVALID');
      assert.equal(fs.readdirSync(path.join(fsh.outside, 'docs')), []);
      fs.rmdirSync(path.join(fsh.outside, 'docs'));
      fsh.assertOutsideUntouched();
    }));

  test(`fs never follows a link inside the grant (${mode})`, () =>
    withTempDir(async (root) => {
      const fsh = makeHarness(root, mode);
      fs.mkdirSync(path.join(fsh.data, 'exports/real'));
      fs.writeFileSync(path.join(fsh.data, 'exports/real/a.txt'), 'inside');
      // The link points inside the grant, and is still not followed.
      fsh.link('exports/alias', 'real');
      await expectLinkRejected(fsh, 'exports/alias', 'exports/alias/a.txt');
      assert.equal(await fsh.call('list', 'exports'), ['real/']);
      assert.is(await fsh.call('readFile', 'exports/real/a.txt'), 'inside');
    }));

  test(`fs rejects a linked data folder (${mode})`, () =>
    withTempDir(async (root) => {
      const fsh = makeHarness(root, mode);
      fs.rmSync(fsh.data, { recursive: true });
      fs.symlinkSync(fsh.outside, fsh.data);
      const error = await expectRejection(fsh.call('readFile', 'exports/secret.txt'), 'PLUGRUN_FAILED');
      assert.match(error.message, 'the data folder of plugin "notes" is a symbolic link or a file');
      await expectRejection(fsh.call('writeFile', 'exports/planted.txt', 'x'), 'PLUGRUN_FAILED');
      fsh.assertOutsideUntouched();
    }));

  test(`fs reads no hard link to another file (${mode})`, () =>
    withTempDir(async (root) => {
      const fsh = makeHarness(root, mode);
      const hard = path.join(fsh.data, 'exports/hard.txt');
      fs.linkSync(path.join(fsh.outside, 'secret.txt'), hard);

      const error = await expectRejection(fsh.call('readFile', 'exports/hard.txt'), 'PLUGRUN_FAILED');
      assert.match(error.message, 'has 2 hard links');
      await expectRejection(fsh.call('appendFile', 'exports/hard.txt', 'x'), 'PLUGRUN_FAILED');

      // An atomic write replaces the name, never the content of the other name.
      await fsh.call('writeFile', 'exports/hard.txt', 'replaced');
      assert.is(fs.readFileSync(hard, 'utf8'), 'replaced');
      fsh.assertOutsideUntouched();
    }));
}

test('fs skips FIFOs without waiting', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, 'proc-fd');
    const made = spawnSync('mkfifo', [path.join(fsh.data, 'exports/pipe')]);
    if (made.status !== 0) return; // mkfifo is missing: nothing to test on this system.

    const error = await expectRejection(fsh.call('readFile', 'exports/pipe'), 'PLUGRUN_FAILED');
    assert.match(error.message, 'is not a regular file');
    await expectRejection(fsh.call('writeFile', 'exports/pipe', 'x'), 'PLUGRUN_FAILED');
    await expectRejection(fsh.call('deleteFile', 'exports/pipe'), 'PLUGRUN_FAILED');
    assert.equal(await fsh.call('list', 'exports'), []);
    const stats = (await fsh.call('stat', 'exports/pipe')) as { isFile: boolean; isDirectory: boolean };
    assert.is(stats.isFile, false);
    assert.is(stats.isDirectory, false);
  }));

/**
 * A child process that swaps `dir` between a real folder and a link to
 * `outside` as fast as it can, until it is killed. When a call has created a
 * new folder in the gap, it removes that folder and restores the parked one.
 */
const swapLoop = (dir: string, parked: string, outside: string) => `
  import fs from 'node:fs';
  const [dir, parked, outside] = ${JSON.stringify([dir, parked, outside])};
  const attempt = (step) => { try { step(); } catch {} };
  for (;;) {
    attempt(() => fs.renameSync(dir, parked));
    attempt(() => fs.symlinkSync(outside, dir));
    attempt(() => fs.unlinkSync(dir));
    try {
      fs.renameSync(parked, dir);
    } catch {
      attempt(() => fs.rmSync(dir, { recursive: true, force: true }));
      attempt(() => fs.renameSync(parked, dir));
    }
  }
`;

test('fs link swapped mid-call never escapes', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, 'proc-fd');
    const dir = path.join(fsh.data, 'exports/dir');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'inside');

    const swapper = spawn(process.execPath, ['--input-type=module', '-e', swapLoop(dir, path.join(fsh.data, 'exports/parked'), fsh.outside)], {
      stdio: 'ignore',
    });
    const outcomes = { succeeded: 0, linkRejected: 0 };
    try {
      const until = Date.now() + 1500;
      for (let round = 0; Date.now() < until; round += 1) {
        // outside-only.txt exists only outside, so any success on it is an escape.
        const [escapes, others] = [
          [fsh.call('stat', 'exports/dir/outside-only.txt'), fsh.call('deleteFile', 'exports/dir/outside-only.txt')],
          [
            fsh.call('writeFile', `exports/dir/planted-${round}.txt`, 'planted'),
            fsh.call('appendFile', 'exports/dir/log.txt', 'x'),
            fsh.call('readFile', 'exports/dir/secret.txt'),
            fsh.call('list', 'exports/dir'),
          ],
        ];
        for (const outcome of await Promise.allSettled(escapes)) assert.is(outcome.status, 'rejected', 'a call never reaches the outside file');
        for (const outcome of await Promise.allSettled([...escapes, ...others])) {
          if (outcome.status === 'fulfilled') {
            outcomes.succeeded += 1;
            assert.not.equal(outcome.value, 'secret', 'a read never returns the outside file');
            if (Array.isArray(outcome.value)) assert.not.ok(outcome.value.includes('outside-only.txt'), 'a list never shows the outside folder');
            continue;
          }
          const { code, message } = outcome.reason as { code: string; message: string };
          assert.ok(code === 'PLUGRUN_INVALID' || code === 'PLUGRUN_FAILED', `${code}: ${message}`);
          if (message.includes('is a symbolic link')) outcomes.linkRejected += 1;
        }
      }
    } finally {
      swapper.kill('SIGKILL');
      await new Promise((resolve) => swapper.once('exit', resolve));
    }

    fsh.assertOutsideUntouched();
    assert.ok(outcomes.succeeded > 0, 'some calls ran while the folder was real');
    assert.ok(outcomes.linkRejected > 0, 'some calls met the link');
  }));

test.run();

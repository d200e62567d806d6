import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeFsCapability, makeFsCapabilityWithLookup } from '../../capabilities/fs.js';
import { GrantSet } from '../../capabilities/grant-set.js';
import type { Limits } from '../../capabilities/limits.js';
import { AuditLog, type AuditEvent } from '../../runtime/audit.js';
import { dispatchCall } from '../../runtime/dispatch.js';
import { repoRoot } from '../helpers/project.js';
import { CALLER, expectRejection, makeTestEnv, withTempDir } from './helpers.js';

/** `ctx.fs` of the test plugin in a temporary folder, called through the real dispatch gate and audit log. */
const makeHarness = (root: string, grants: readonly string[] = ['fs:exports/'], limits: Partial<Limits> = {}) => {
  const env = makeTestEnv(root, limits);
  const instance = makeFsCapability(env);
  const audit = new AuditLog(path.join(root, 'audit.ndjson'));
  const events: AuditEvent[] = [];
  audit.subscribe((event) => events.push(event));
  const caller = { plugin: CALLER, capabilities: { fs: instance }, grants: () => new GrantSet(grants) };

  return {
    data: env.paths.data,
    events,
    instance,
    call: (op: string, ...args: unknown[]) => dispatchCall(caller, audit, 'fs', op, args),
    /** Writes a file straight to disk, as a user or another program would. */
    place(relative: string, content: string | Uint8Array) {
      const file = path.join(env.paths.data, relative);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    },
    onDisk: (relative: string) => fs.readFileSync(path.join(env.paths.data, relative), 'utf8'),
    exists: (relative: string) => fs.existsSync(path.join(env.paths.data, relative)),
    /** Names of temporary files of atomic writes left in a folder. */
    tempFiles: (relative: string) =>
      fs.readdirSync(path.join(env.paths.data, relative)).filter((name) => name.startsWith('.plugrun-tmp-')),
  };
};

test('fs writeFile then readFile round trip', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    assert.is(await fsh.call('writeFile', 'exports/notes.txt', 'héllo wörld'), undefined);
    assert.is(await fsh.call('readFile', 'exports/notes.txt'), 'héllo wörld');
    assert.is(await fsh.call('readFile', 'exports/notes.txt', { encoding: 'utf8' }), 'héllo wörld');
    assert.is(fsh.onDisk('exports/notes.txt'), 'héllo wörld');

    const written = fsh.events.find((event) => event.op === 'writeFile');
    assert.is(written?.outcome, 'allowed');
    assert.is(written?.target, 'exports/notes.txt');
    assert.is(written?.bytes, 13);
  }));

test('fs readFile bytes owns its buffer', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    await fsh.call('writeFile', 'exports/a.bin', new Uint8Array([0, 1, 2, 255]));
    const bytes = await fsh.call('readFile', 'exports/a.bin', { encoding: 'bytes' });
    assert.instance(bytes, Uint8Array);
    assert.equal([...(bytes as Uint8Array)], [0, 1, 2, 255]);
    // A view into Node's shared pool would post the whole pool to the worker.
    assert.is((bytes as Uint8Array).buffer.byteLength, 4);
  }));

test('fs reads large files asynchronously', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    const text = 'abcdefgh'.repeat(40_000);
    await fsh.call('writeFile', 'exports/big.txt', text);
    assert.is(await fsh.call('readFile', 'exports/big.txt'), text);
  }));

test('fs writeFile creates parent folders', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    assert.not.ok(fs.existsSync(fsh.data), 'the data folder does not exist before the first call');
    await fsh.call('writeFile', 'exports/2026/12/report.json', '{}');
    assert.is(fsh.onDisk('exports/2026/12/report.json'), '{}');
    assert.equal(await fsh.call('list', 'exports/2026'), ['12/']);
  }));

test('fs creates the data folder on first use', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    const error = await expectRejection(fsh.call('list', 'exports'), 'PLUGRUN_FAILED');
    assert.match(error.message, '"exports" was not found');
    assert.ok(fs.statSync(fsh.data).isDirectory());
  }));

test('fs writeFile replaces without leftovers', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    for (let round = 0; round < 5; round += 1) await fsh.call('writeFile', 'exports/a.txt', `round ${round}`);
    assert.is(await fsh.call('readFile', 'exports/a.txt'), 'round 4');
    assert.equal(fsh.tempFiles('exports'), []);
  }));

test('fs appendFile appends and creates', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    await fsh.call('appendFile', 'exports/log/app.log', 'one\n');
    await fsh.call('appendFile', 'exports/log/app.log', new TextEncoder().encode('two\n'));
    assert.is(await fsh.call('readFile', 'exports/log/app.log'), 'one\ntwo\n');
    assert.equal(fsh.tempFiles('exports/log'), []);
  }));

test('fs deleteFile removes a file', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    await fsh.call('writeFile', 'exports/a.txt', 'x');
    assert.is(await fsh.call('deleteFile', 'exports/a.txt'), undefined);
    assert.not.ok(fsh.exists('exports/a.txt'));
    const error = await expectRejection(fsh.call('deleteFile', 'exports/a.txt'), 'PLUGRUN_FAILED');
    assert.match(error.message, '"exports/a.txt" was not found');
  }));

test('fs list names folders with a slash', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    await fsh.call('writeFile', 'exports/b.txt', 'b');
    await fsh.call('writeFile', 'exports/a.txt', 'a');
    await fsh.call('writeFile', 'exports/sub/c.txt', 'c');
    fsh.place('exports/.plugrun-tmp-0011', 'a write in flight');
    assert.equal(await fsh.call('list', 'exports'), ['a.txt', 'b.txt', 'sub/']);
    assert.equal(await fsh.call('list', 'exports/'), ['a.txt', 'b.txt', 'sub/']);
    assert.equal(await fsh.call('list', 'exports/sub'), ['c.txt']);
  }));

test('fs stat of a file and a folder', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    const before = Date.now();
    await fsh.call('writeFile', 'exports/a.txt', 'hello');

    const file = (await fsh.call('stat', 'exports/a.txt')) as Record<string, unknown>;
    assert.equal(Object.keys(file).sort(), ['isDirectory', 'isFile', 'mtimeMs', 'size']);
    assert.is(file.size, 5);
    assert.is(file.isFile, true);
    assert.is(file.isDirectory, false);
    assert.ok((file.mtimeMs as number) >= before - 1000, 'mtimeMs is a recent wall clock time');

    const folder = (await fsh.call('stat', 'exports')) as Record<string, unknown>;
    assert.is(folder.isFile, false);
    assert.is(folder.isDirectory, true);
  }));

test('fs folder and file mix-ups fail clearly', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    await fsh.call('writeFile', 'exports/a.txt', 'x');
    await fsh.call('writeFile', 'exports/sub/b.txt', 'x');

    const cases: readonly (readonly [string, unknown[], string])[] = [
      ['readFile', ['exports/sub'], '"exports/sub" is a folder, not a file'],
      ['list', ['exports/a.txt'], '"exports/a.txt" is a file, not a folder'],
      ['writeFile', ['exports/sub', 'x'], '"exports/sub" is a folder, not a file'],
      ['appendFile', ['exports/sub', 'x'], '"exports/sub" is a folder, not a file'],
      ['readFile', ['exports/a.txt/b.txt'], '"exports/a.txt" is a file, not a folder'],
      ['writeFile', ['exports/a.txt/b.txt', 'x'], '"exports/a.txt" is a file, not a folder'],
      ['deleteFile', ['exports/sub'], '"exports/sub" is a folder, and ctx.fs.deleteFile removes only files'],
    ];
    for (const [op, args, message] of cases) {
      const error = await expectRejection(fsh.call(op, ...args), 'PLUGRUN_FAILED');
      assert.ok(error.message.includes(message), `${op} ${String(args[0])}: ${error.message}`);
    }
    assert.is(fsh.onDisk('exports/a.txt'), 'x');
  }));

test('fs errors never show host paths', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    await fsh.call('writeFile', 'exports/a.txt', 'x');
    const failures = [
      fsh.call('readFile', 'exports/missing.txt'),
      fsh.call('readFile', 'exports/none/missing.txt'),
      fsh.call('stat', 'exports/missing.txt'),
      fsh.call('list', 'exports/missing'),
      fsh.call('deleteFile', 'exports/missing.txt'),
      fsh.call('list', 'exports/a.txt'),
    ];
    for (const failure of failures) {
      const error = await expectRejection(failure, 'PLUGRUN_FAILED');
      assert.not.ok(error.message.includes(root), error.message);
      assert.not.ok(error.message.includes('/proc/'), error.message);
      assert.match(error.message, /"exports\/[a-z.]+(\/[a-z.]+)?"/);
    }
    for (const event of fsh.events.filter((candidate) => candidate.outcome === 'error')) {
      assert.not.ok(JSON.stringify(event).includes(root), 'the audit event shows no host path');
    }
  }));

test('fs granted folder cannot be deleted', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, ['fs:exports/sub/']);
    await fsh.call('writeFile', 'exports/sub/a.txt', 'x');

    const error = await expectRejection(fsh.call('deleteFile', 'exports/sub'), 'PLUGRUN_FAILED');
    assert.match(error.message, 'is a folder');
    await expectRejection(fsh.call('deleteFile', 'exports/sub/'), 'PLUGRUN_FAILED');
    await expectRejection(fsh.call('deleteFile', 'exports'), 'PLUGRUN_INVALID');
    assert.is(fsh.onDisk('exports/sub/a.txt'), 'x');
  }));

test('fs writes under fs.read are denied', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, ['fs.read:exports/']);
    fsh.place('exports/a.txt', 'original');

    for (const [op, args] of [
      ['writeFile', ['exports/a.txt', 'changed']],
      ['appendFile', ['exports/a.txt', 'more']],
      ['deleteFile', ['exports/a.txt']],
      ['writeFile', ['exports/new/b.txt', 'x']],
    ] as const) {
      const error = await expectRejection(fsh.call(op, ...args), 'PLUGRUN_DENIED');
      assert.match(error.message, 'to allow it run: plugrun grant notes fs:exports/');
      const event = fsh.events.at(-1);
      assert.is(event?.outcome, 'denied', op);
      assert.is(event?.needed, op === 'writeFile' && args[0] === 'exports/new/b.txt' ? 'fs:exports/new/' : 'fs:exports/');
    }

    assert.is(fsh.onDisk('exports/a.txt'), 'original');
    assert.not.ok(fsh.exists('exports/new'));
    assert.is(await fsh.call('readFile', 'exports/a.txt'), 'original');
    assert.equal(await fsh.call('list', 'exports'), ['a.txt']);
  }));

test('fs executable extensions are never written', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    for (const name of ['run.sh', 'RUN.SH', 'setup.exe', 'go.bat', 'go.CMD', 'profile.ps1', 'trail.sh.']) {
      const error = await expectRejection(fsh.call('writeFile', `exports/${name}`, 'echo hi'), 'PLUGRUN_INVALID');
      assert.match(error.message, 'executable file types');
      await expectRejection(fsh.call('appendFile', `exports/${name}`, 'echo hi'), 'PLUGRUN_INVALID');
      assert.not.ok(fsh.exists(`exports/${name}`), name);
    }

    // A script placed by the user can still be read and removed.
    fsh.place('exports/run.sh', 'echo hi');
    assert.is(await fsh.call('readFile', 'exports/run.sh'), 'echo hi');
    await fsh.call('deleteFile', 'exports/run.sh');
    assert.not.ok(fsh.exists('exports/run.sh'));
  }));

test('fs write over fsMaxFileBytes leaves nothing', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, undefined, { fsMaxFileBytes: 16 });
    await fsh.call('writeFile', 'exports/a.txt', 'old content');

    const error = await expectRejection(fsh.call('writeFile', 'exports/a.txt', 'x'.repeat(17)), 'PLUGRUN_LIMIT');
    assert.match(error.message, 'fsMaxFileBytes');
    await expectRejection(fsh.call('writeFile', 'exports/b.txt', 'x'.repeat(17)), 'PLUGRUN_LIMIT');

    assert.is(fsh.onDisk('exports/a.txt'), 'old content');
    assert.not.ok(fsh.exists('exports/b.txt'));
    assert.equal(fsh.tempFiles('exports'), []);
  }));

test('fs appendFile over fsMaxFileBytes keeps old content', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, undefined, { fsMaxFileBytes: 16 });
    await fsh.call('writeFile', 'exports/a.log', '0123456789');

    const error = await expectRejection(fsh.call('appendFile', 'exports/a.log', 'abcdefg'), 'PLUGRUN_LIMIT');
    assert.match(error.message, 'would be 17 bytes after the write, over the fsMaxFileBytes limit of 16 bytes');
    assert.is(fsh.onDisk('exports/a.log'), '0123456789');
    assert.equal(fsh.tempFiles('exports'), []);

    await fsh.call('appendFile', 'exports/a.log', 'abcdef');
    assert.is(fsh.onDisk('exports/a.log'), '0123456789abcdef');
  }));

test('fs readFile over fsMaxFileBytes is a limit', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, undefined, { fsMaxFileBytes: 16 });
    fsh.place('exports/big.txt', 'x'.repeat(17));
    const error = await expectRejection(fsh.call('readFile', 'exports/big.txt'), 'PLUGRUN_LIMIT');
    assert.match(error.message, 'is 17 bytes, over the fsMaxFileBytes limit of 16 bytes');
  }));

test('fs quota exhaustion keeps old content', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, undefined, { fsQuotaBytes: 100 });
    await fsh.call('writeFile', 'exports/a.txt', 'a'.repeat(60));

    const error = await expectRejection(fsh.call('writeFile', 'exports/b.txt', 'b'.repeat(50)), 'PLUGRUN_LIMIT');
    assert.match(error.message, "would bring the plugin's files to 110 bytes, over the fsQuotaBytes limit of 100 bytes");
    assert.not.ok(fsh.exists('exports/b.txt'));

    // Replacing a file counts only the difference.
    await fsh.call('writeFile', 'exports/a.txt', 'A'.repeat(100));
    await expectRejection(fsh.call('appendFile', 'exports/a.txt', 'more'), 'PLUGRUN_LIMIT');
    await expectRejection(fsh.call('writeFile', 'exports/c/d.txt', 'x'), 'PLUGRUN_LIMIT');
    assert.not.ok(fsh.exists('exports/c'), 'a rejected write creates no folder');
    assert.is(fsh.onDisk('exports/a.txt'), 'A'.repeat(100));
    assert.equal(fsh.tempFiles('exports'), []);

    // Deleting frees the space again.
    await fsh.call('deleteFile', 'exports/a.txt');
    await fsh.call('writeFile', 'exports/b.txt', 'b'.repeat(100));
    assert.is(fsh.onDisk('exports/b.txt'), 'b'.repeat(100));
  }));

test('fs quota counts files present at first use', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, undefined, { fsQuotaBytes: 100 });
    fsh.place('private/deep/cache.bin', new Uint8Array(50));
    fsh.place('exports/old.txt', 'o'.repeat(30));

    await fsh.call('writeFile', 'exports/new.txt', 'n'.repeat(20));
    const error = await expectRejection(fsh.call('writeFile', 'exports/more.txt', 'm'), 'PLUGRUN_LIMIT');
    assert.match(error.message, 'to 101 bytes');
  }));

test('fs removes stale temporary files', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, undefined, { fsQuotaBytes: 100 });
    fsh.place('exports/.plugrun-tmp-stale', 's'.repeat(95));
    const hourAgo = new Date(Date.now() - 60 * 60 * 1000);
    fs.utimesSync(path.join(fsh.data, 'exports/.plugrun-tmp-stale'), hourAgo, hourAgo);
    fsh.place('exports/.plugrun-tmp-fresh', 'f'.repeat(10));

    await fsh.call('writeFile', 'exports/a.txt', 'a'.repeat(85));
    assert.equal(fsh.tempFiles('exports'), ['.plugrun-tmp-fresh']);
    await expectRejection(fsh.call('writeFile', 'exports/b.txt', 'b'.repeat(10)), 'PLUGRUN_LIMIT');
  }));

test('fs concurrent writes run one at a time', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root, undefined, { fsQuotaBytes: 100 });
    const writes = Array.from({ length: 10 }, (_, index) => fsh.call('writeFile', `exports/f${index}.txt`, 'x'.repeat(20)));
    const outcomes = await Promise.allSettled(writes);
    assert.is(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 5);
    assert.is(fs.readdirSync(path.join(fsh.data, 'exports')).length, 5);
  }));

test('fs concurrent appends all land', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    const appends = Array.from({ length: 8 }, (_, index) => fsh.call('appendFile', 'exports/f0.txt', `<${index}>`));
    await Promise.all(appends);
    const content = fsh.onDisk('exports/f0.txt');
    assert.is(content.length, 8 * 3);
    for (let index = 0; index < 8; index += 1) assert.ok(content.includes(`<${index}>`), `append ${index} is kept`);
  }));

test('fs teardown waits for writes in flight', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    const write = fsh.call('writeFile', 'exports/last.txt', 'saved');
    await fsh.instance.teardown();
    assert.is(fsh.onDisk('exports/last.txt'), 'saved');
    await write;
  }));

test('fs disabled without safe lookup', () =>
  withTempDir(async (root) => {
    const instance = makeFsCapabilityWithLookup(makeTestEnv(root), undefined);
    const readFile = instance.operations.readFile!;
    const error = await expectRejection(readFile.perform(readFile.check(['exports/a.txt'], CALLER).args), 'PLUGRUN_FAILED');
    assert.match(error.message, 'ctx.fs is disabled');
  }));

/**
 * A child process that rewrites one file with 2 MiB of `A`, then of `B`, and
 * so on, until it is killed. It prints `ready` after the first write.
 */
const rewriteLoop = (root: string) => `
  import { makeFsCapability } from ${JSON.stringify(pathToFileURL(path.join(repoRoot, 'dist/capabilities/fs.js')).href)};
  import { DEFAULT_LIMITS } from ${JSON.stringify(pathToFileURL(path.join(repoRoot, 'dist/capabilities/limits.js')).href)};
  const env = {
    plugin: { name: 'notes', version: '1.0.0' },
    paths: { data: ${JSON.stringify(path.join(root, 'data', 'notes'))}, db: '', config: '' },
    limits: DEFAULT_LIMITS,
    authorize() {},
  };
  const writeFile = makeFsCapability(env).operations.writeFile;
  for (let round = 0; ; round += 1) {
    const data = (round % 2 === 0 ? 'A' : 'B').repeat(2 * 1024 * 1024);
    await writeFile.perform(writeFile.check(['exports/state.txt', data]).args);
    if (round === 0) process.stdout.write('ready\\n');
  }
`;

test('fs killed write leaves old or new content', () =>
  withTempDir(async (root) => {
    const fsh = makeHarness(root);
    // Kills at several moments, so that some fall inside a write.
    for (const delayMs of [0, 5, 15, 30, 60, 100]) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', rewriteLoop(root)], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`the writer exited early with ${code}`)));
      });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));

      const content = fsh.onDisk('exports/state.txt');
      assert.is(content.length, 2 * 1024 * 1024, 'the file has the full size of one write');
      assert.ok(/^(A+|B+)$/.test(content), 'the file holds one whole write, never a mix');
    }
  }));

test.run();

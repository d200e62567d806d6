import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { Engine } from '../../capabilities/db/engine.js';
import { expectRejection } from './helpers.js';
import { makeStateDir, NOTES_SCHEMA, openHarness, withHarness } from './db-harness.js';

const distRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const journalOf = (folder: string, generation = 0) => path.join(folder, `journal-${generation}.log`);

/** Opens an engine on `folder`, runs `body` with it and closes it. */
const withEngine = async <Result>(folder: string, body: (engine: Engine) => Result | Promise<Result>): Promise<Result> => {
  const engine = await Engine.open(folder, 1000);
  try {
    return await body(engine);
  } finally {
    engine.close();
  }
};

const titlesIn = (engine: Engine): string[] =>
  engine.select({ table: 'notes', where: {}, options: { limit: 1000 } }).map((row) => row.title as string);

test('rows survive a reopen', withHarness({}, async (h) => {
  await h.call('createTable', 'notes', NOTES_SCHEMA);
  await h.call('insert', 'notes', { title: 'a', meta: { n: 1 } });
  await h.call('insert', 'notes', { title: 'b' });
  await h.call('update', 'notes', { done: true }, { title: 'a' });
  await h.call('delete', 'notes', { title: 'b' });
  await h.db.teardown();

  await withEngine(h.dbFolder, (engine) => {
    assert.equal(engine.select({ table: 'notes', where: {}, options: {} }), [{ id: 1, title: 'a', done: true, due: null, meta: { n: 1 }, rank: null }]);
  });
}));

test('torn journal tail is cut and kept', async () => {
  const folder = path.join(makeStateDir(), 'db');
  try {
    await withEngine(folder, (engine) => {
      engine.createTable({ table: 'notes', schema: NOTES_SCHEMA as never });
      engine.insert({ table: 'notes', row: { title: 'whole' } });
    });
    const validBytes = fs.statSync(journalOf(folder)).size;

    // A record whose header promises more bytes than were written, as a crash during append leaves it.
    const torn = Buffer.alloc(20);
    torn.writeUInt32LE(500, 0);
    fs.appendFileSync(journalOf(folder), torn);

    await withEngine(folder, (engine) => {
      assert.equal(titlesIn(engine), ['whole']);
      engine.insert({ table: 'notes', row: { title: 'after the cut' } });
    });
    assert.ok(fs.existsSync(`${journalOf(folder)}.${validBytes}.discarded`), 'the cut bytes are kept');
    assert.equal(fs.readFileSync(`${journalOf(folder)}.${validBytes}.discarded`), torn);

    // A record of the right length whose checksum does not match.
    const size = fs.statSync(journalOf(folder)).size;
    const bytes = fs.readFileSync(journalOf(folder));
    bytes[size - 3] = bytes[size - 3]! ^ 0xff;
    fs.writeFileSync(journalOf(folder), bytes);
    await withEngine(folder, (engine) => assert.equal(titlesIn(engine), ['whole']));
  } finally {
    fs.rmSync(path.dirname(folder), { recursive: true, force: true });
  }
});

test('compaction keeps every row', async () => {
  const folder = path.join(makeStateDir(), 'db');
  try {
    await withEngine(folder, (engine) => {
      engine.createTable({ table: 'notes', schema: NOTES_SCHEMA as never });
      for (let index = 0; index < 50; index += 1) engine.insert({ table: 'notes', row: { title: `before ${index}` } });
      const stats = engine.compact();
      assert.is(stats.generation, 1);
      assert.is(stats.journalBytes, 16, 'the new journal holds its header only');
      for (let index = 0; index < 5; index += 1) engine.insert({ table: 'notes', row: { title: `after ${index}` } });
    });

    assert.equal(fs.readdirSync(folder).sort(), ['journal-1.log', 'snapshot-1.sqlite']);
    await withEngine(folder, (engine) => {
      const titles = titlesIn(engine);
      assert.is(titles.length, 55);
      assert.is(titles[0], 'before 0');
      assert.is(titles[54], 'after 4');
      assert.equal(engine.createTable({ table: 'notes', schema: NOTES_SCHEMA as never }), { created: false }, 'the schema is in the snapshot');
    });
  } finally {
    fs.rmSync(path.dirname(folder), { recursive: true, force: true });
  }
});

test('crash during compaction loses nothing', async () => {
  const folder = path.join(makeStateDir(), 'db');
  try {
    let oldJournal = Buffer.alloc(0);
    await withEngine(folder, (engine) => {
      engine.createTable({ table: 'notes', schema: { columns: { title: { type: 'string', unique: true } } } as never });
      for (let index = 0; index < 20; index += 1) engine.insert({ table: 'notes', row: { title: `n${index}` } });
      oldJournal = fs.readFileSync(journalOf(folder));
      engine.compact();
    });

    // The state after renaming the new snapshot but before creating its
    // journal and deleting the old one. Replaying the old journal over the
    // new snapshot would fail on the unique titles.
    fs.rmSync(journalOf(folder, 1));
    fs.writeFileSync(journalOf(folder, 0), oldJournal);
    fs.writeFileSync(path.join(folder, 'snapshot-2.sqlite.tmp'), 'half a snapshot');

    await withEngine(folder, (engine) => {
      assert.is(titlesIn(engine).length, 20);
      assert.is(engine.stats().generation, 1);
    });
    assert.equal(fs.readdirSync(folder).sort(), ['journal-1.log', 'snapshot-1.sqlite']);
  } finally {
    fs.rmSync(path.dirname(folder), { recursive: true, force: true });
  }
});

test('journal without its snapshot fails the call', withHarness({}, async (h) => {
  fs.mkdirSync(h.dbFolder, { recursive: true });
  fs.writeFileSync(path.join(h.dbFolder, 'journal-3.log'), 'PLUGRUNJ');
  const error = await expectRejection(h.call('select', 'notes'), 'PLUGRUN_FAILED');
  assert.ok(error.message.includes('has journal-3.log but not snapshot-3.sqlite'), error.message);
}));

test('journal over 8 MiB is compacted', withHarness({}, async (h) => {
  await h.call('createTable', 'blobs', { columns: { body: { type: 'string' } } });
  const body = 'x'.repeat(1000 * 1000);
  for (let index = 0; index < 10; index += 1) await h.call('insert', 'blobs', { body });

  // The compaction runs before the next call.
  assert.is((await h.call('query', 'SELECT count(*) AS n FROM blobs') as Array<{ n: number }>)[0]!.n, 10);
  const files = fs.readdirSync(h.dbFolder).sort();
  assert.ok(files.includes('snapshot-1.sqlite'), files.join(', '));
  assert.ok(fs.statSync(path.join(h.dbFolder, 'journal-1.log')).size < 8 * 1024 * 1024);

  await h.db.teardown();
  await withEngine(h.dbFolder, (engine) => assert.is(engine.select({ table: 'blobs', where: {}, options: {} }).length, 10));
}));

test('second instance is locked out', withHarness({}, async (h) => {
  await h.call('createTable', 'notes', NOTES_SCHEMA);
  const other = openHarness({ dir: h.dir });
  try {
    const error = await expectRejection(other.call('select', 'notes'), 'PLUGRUN_FAILED');
    assert.ok(error.message.includes('the database is in use by this process'), error.message);
  } finally {
    await other.close();
  }
  await h.db.teardown();
  assert.not.ok(fs.existsSync(path.join(h.dbFolder, 'lock')), 'teardown releases the lock');
}));

/** A process that inserts rows as fast as it can and prints each id once its insert has resolved. */
const writerScript = (folder: string) => `
import { makeDbCapability } from ${JSON.stringify(pathToFileURL(path.join(distRoot, 'capabilities/db.js')).href)};
import { DEFAULT_LIMITS } from ${JSON.stringify(pathToFileURL(path.join(distRoot, 'capabilities/limits.js')).href)};

const plugin = { name: 'notes', version: '1.0.0' };
const env = {
  plugin,
  paths: { data: '', db: ${JSON.stringify(folder)}, config: '' },
  limits: DEFAULT_LIMITS,
  authorize() {},
  plugins: {},
};
const db = makeDbCapability(env);
const call = (op, ...args) => db.operations[op].perform(db.operations[op].check(args, plugin).args);

await call('createTable', 'notes', { columns: { title: { type: 'string', required: true } } });
for (let index = 0; ; index += 1) {
  const { id } = await call('insert', 'notes', { title: 'row ' + index });
  process.stdout.write(id + '\\n');
}
`;

test('kill -9 keeps every resolved insert', async () => {
  const dir = makeStateDir();
  const folder = path.join(dir, 'db');
  const script = path.join(dir, 'writer.mjs');
  fs.writeFileSync(script, writerScript(folder));

  try {
    const reported: number[] = [];
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      reported.push(...lines.map(Number));
      if (reported.length >= 40) child.kill('SIGKILL');
    });
    const exit = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    assert.is(exit, 'SIGKILL', stderr);
    assert.ok(reported.length >= 40, `only ${reported.length} inserts before the kill: ${stderr}`);
    assert.ok(fs.existsSync(path.join(folder, 'lock')), 'the killed process left its lock behind');

    // The lock of the dead process is taken over, and every reported row is there.
    const h = openHarness({ dir });
    try {
      const rows = (await h.call('query', 'SELECT id, title FROM notes ORDER BY id')) as Array<{ id: number; title: string }>;
      const ids = new Set(rows.map((row) => row.id));
      for (const id of reported) assert.ok(ids.has(id), `row ${id} was reported inserted but is missing`);
      assert.ok(rows.length >= reported.length);
      rows.forEach((row, index) => assert.equal(row, { id: index + 1, title: `row ${index}` }));
    } finally {
      await h.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();

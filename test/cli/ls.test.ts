import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { lockProject, makeProject, repoRoot, runCli, spawnCli, type TestProject } from '../helpers/project.js';

const withProject = (plugins: Parameters<typeof makeProject>[0], body: (project: TestProject) => Promise<void>) => async () => {
  const project = makeProject(plugins);
  try {
    await body(project);
  } finally {
    project.remove();
  }
};

/** Runs a plugrun command that must succeed and returns its stdout. */
const run = async (project: TestProject, ...args: string[]): Promise<string> => {
  const result = await runCli(args, { cwd: project.dir });
  if (result.code !== 0) throw new Error(`plugrun ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
};

/** Runs `plugrun ls --json` and returns the plugin of that name. */
const listed = async (project: TestProject, name: string) => {
  const plugins = JSON.parse(await run(project, 'ls', '--json')).plugins as Array<Record<string, any>>;
  return plugins.find((plugin) => plugin.name === name)!;
};

/** Every file of a folder with its bytes, to show that nothing changed. */
const folderContents = (folder: string): Record<string, string> =>
  Object.fromEntries(fs.readdirSync(folder).sort().map((name) => [name, fs.readFileSync(path.join(folder, name)).toString('base64')]));

const sizeOnDisk = (folder: string): number =>
  fs.readdirSync(folder).filter((name) => /^(snapshot-\d+\.sqlite|journal-\d+\.log)$/.test(name)).reduce((total, name) => total + fs.statSync(path.join(folder, name)).size, 0);

const NOTE_COLUMNS = "{ columns: { text: { type: 'string', required: true } } }";

const notes = {
  manifest: { capabilities: ['db:*'] },
  files: {
    'index.js': `
      export const commands = {
        async add(input, ctx) {
          await ctx.db.createTable('notes', ${NOTE_COLUMNS});
          await ctx.db.createTable('tags', ${NOTE_COLUMNS});
          for (const text of input.notes) await ctx.db.insert('notes', { text });
          for (const text of input.tags) await ctx.db.insert('tags', { text });
          return { added: input.notes.length + input.tags.length };
        },
      };
    `,
  },
};

const plain = { files: { 'index.js': 'export const commands = { async ping() { return "pong"; } };\n' } };

test('ls shows tables, rows and size', withProject({ notes, plain }, async (project) => {
  await lockProject(project.dir);
  await run(project, 'grant', 'notes', 'db:*');
  await run(project, 'call', 'notes', 'add', '{"notes":["a","b","c"],"tags":["x"]}');
  const folder = path.join(project.dir, '.plugrun/db/notes');

  const table = await runCli(['ls'], { cwd: project.dir });
  assert.is(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^NAME\s+VERSION\s+LOCK\s+GRANTED\s+PENDING\s+DB\s+TABLES$/);
  assert.match(lines[1]!, /^notes\s+1\.0\.0\s+locked\s+db:\*\s+-\s+\d+\.\d KiB\s+notes=3 tags=1$/);
  assert.match(lines[2]!, /^plain\s+1\.0\.0\s+locked\s+-\s+-\s+-\s+-$/);

  const json = await listed(project, 'notes');
  assert.equal(json.database.tables, [{ name: 'notes', rows: 3 }, { name: 'tags', rows: 1 }]);
  assert.is(json.database.bytes, sizeOnDisk(folder));
  assert.is(json.database.bytes, json.database.snapshotBytes + json.database.journalBytes);
  assert.is(json.database.problem, undefined);
  assert.is((await listed(project, 'plain')).database, null);
  assert.not.ok(fs.existsSync(path.join(project.dir, '.plugrun/db/plain')), 'ls creates no database folder');
}));

const busy = {
  manifest: { capabilities: ['db:notes'] },
  files: {
    'index.js': `
      export async function start(ctx) {
        await ctx.db.createTable('notes', ${NOTE_COLUMNS});
        for (let index = 0; index < 5; index += 1) await ctx.db.insert('notes', { text: 'row ' + index });
        ctx.log.info('ready');
      }
    `,
  },
};

/** Resolves once the child's stdout contains `text`; rejects when it exits first. */
const waitForOutput = (child: ReturnType<typeof spawnCli>, text: string): Promise<void> =>
  new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes(text)) resolve();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => reject(new Error(`plugrun start exited ${code} before printing ${text}: ${stderr}`)));
  });

test('ls reads database while start runs', withProject({ busy }, async (project) => {
  await lockProject(project.dir);
  await run(project, 'grant', 'busy', 'db:notes');
  const folder = path.join(project.dir, '.plugrun/db/busy');

  const child = spawnCli(['start', '--no-tui'], { cwd: project.dir });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await waitForOutput(child, '"message":"ready"');
    const lock = JSON.parse(fs.readFileSync(path.join(folder, 'lock'), 'utf8'));
    assert.is(lock.pid, child.pid, 'plugrun start holds the lock');
    const before = folderContents(folder);

    const entry = await listed(project, 'busy');
    assert.equal(entry.database.tables, [{ name: 'notes', rows: 5 }]);
    assert.is(entry.database.bytes, sizeOnDisk(folder));
    assert.is(entry.database.problem, undefined);

    const table = await runCli(['ls'], { cwd: project.dir });
    assert.match(table.stdout, /busy\s+.*\s+notes=5$/m);
    assert.equal(folderContents(folder), before, 'ls changed no file and left the lock as it was');
  } finally {
    child.kill('SIGTERM');
  }
  assert.is(await exited, 0, 'plugrun start stopped cleanly after ls');
  assert.not.ok(fs.existsSync(path.join(folder, 'lock')), 'start released its lock');
}));

const churn = {
  manifest: { capabilities: ['db:*'] },
  files: {
    'index.js': `
      let running = true;
      export async function start(ctx) {
        await ctx.db.createTable('big', { columns: { text: { type: 'string' } } });
        await ctx.db.createTable('counter', { columns: { n: { type: 'number' } } });
        // Rows near the 1 MiB record limit fill the 8 MiB journal in a few writes, so compactions follow each other.
        const text = 'x'.repeat(900000);
        (async () => {
          while (running) {
            const { id } = await ctx.db.insert('big', { text });
            await ctx.db.query('DELETE FROM big WHERE id < ?', [id - 4]);
            await ctx.db.insert('counter', { n: id });
          }
        })();
        ctx.log.info('ready');
      }
      export async function stop() { running = false; }
    `,
  },
};

const snapshotsIn = (folder: string) => fs.readdirSync(folder).filter((name) => /^snapshot-\d+\.sqlite$/.test(name));

test('ls reads database during compactions', withProject({ churn }, async (project) => {
  await lockProject(project.dir);
  await run(project, 'grant', 'churn', 'db:*');
  const folder = path.join(project.dir, '.plugrun/db/churn');

  const child = spawnCli(['start', '--no-tui'], { cwd: project.dir });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await waitForOutput(child, '"message":"ready"');
    const deadline = Date.now() + 20_000;
    while (snapshotsIn(folder).length === 0) {
      assert.ok(Date.now() < deadline, 'the database was compacted within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const firstSnapshot = snapshotsIn(folder)[0];

    let counted = 0;
    for (let index = 0; index < 6; index += 1) {
      const { database } = await listed(project, 'churn');
      assert.is(database.problem, undefined, `ls ${index + 1} found no damage`);
      const rows = Object.fromEntries(database.tables.map((table: { name: string; rows: number }) => [table.name, table.rows]));
      assert.ok(rows.big >= 1, `big has ${rows.big} rows, but every write leaves at least one`);
      assert.ok(rows.big <= 6, `big has ${rows.big} rows, but no write leaves more than six`);
      assert.ok(rows.counter >= counted, `the counter went from ${counted} to ${rows.counter} rows`);
      counted = rows.counter;
    }
    assert.is.not(snapshotsIn(folder)[0], firstSnapshot, 'the database was compacted while ls read it');
  } finally {
    child.kill('SIGTERM');
  }
  assert.is(await exited, 0);
}));

test('ls reports damaged journal', withProject({ notes, plain }, async (project) => {
  await lockProject(project.dir);
  await run(project, 'grant', 'notes', 'db:*');
  await run(project, 'call', 'notes', 'add', '{"notes":["a","b"],"tags":[]}');
  const journal = path.join(project.dir, '.plugrun/db/notes/journal-0.log');

  // Flip one byte of the last record's payload, so that its checksum fails.
  const bytes = fs.readFileSync(journal);
  bytes[bytes.length - 3]! ^= 0xff;
  fs.writeFileSync(journal, bytes);
  const before = folderContents(path.dirname(journal));

  const table = await runCli(['ls'], { cwd: project.dir });
  assert.is(table.code, 0, table.stderr);
  assert.match(table.stdout, /^notes\s+.*\s+notes=1 tags=0 \(damaged\)$/m);
  assert.match(table.stdout, /^plain\s+/m, 'the other plugins are still listed');
  assert.match(table.stderr, 'notes: the database journal');
  assert.match(table.stderr, 'that are not a whole record');

  const entry = await listed(project, 'notes');
  assert.equal(entry.database.tables, [{ name: 'notes', rows: 1 }, { name: 'tags', rows: 0 }], 'records before the damage still count');
  assert.match(entry.database.problem, 'journal-0.log');
  assert.is(entry.database.journalBytes, bytes.length);
  assert.equal(folderContents(path.dirname(journal)), before, 'ls neither cut nor copied the damaged tail');

  // A header that is not a plugrun journal leaves no table readable.
  fs.writeFileSync(journal, 'garbage that is not a journal');
  const unreadable = await runCli(['ls'], { cwd: project.dir });
  assert.is(unreadable.code, 0, unreadable.stderr);
  assert.match(unreadable.stdout, /^notes\s+.*\s+29 B\s+damaged$/m);
  assert.match(unreadable.stderr, 'is not a plugrun journal');
  const broken = await listed(project, 'notes');
  assert.is(broken.database.tables, null);
  assert.is(broken.database.bytes, 29);
}));

/** Lists the project in a fresh Node process and returns whether sql.js was loaded. */
const loadsSqlJs = (project: TestProject): Promise<boolean> => {
  const script = `
    import { createRequire } from 'node:module';
    const { listPlugins } = await import(${JSON.stringify(path.join(repoRoot, 'dist/runtime/pinning.js'))});
    const { resolveProject } = await import(${JSON.stringify(path.join(repoRoot, 'dist/runtime/project.js'))});
    await listPlugins(resolveProject({ dir: ${JSON.stringify(project.dir)} }));
    const cache = createRequire(import.meta.url).cache;
    process.stdout.write(String(Object.keys(cache).some((file) => file.includes(${JSON.stringify(`${path.sep}sql.js${path.sep}`)}))));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', () => resolve(stdout === 'true'));
  });
};

test('ls loads no sql.js without database', withProject({ notes, plain }, async (project) => {
  await lockProject(project.dir);
  assert.is(await loadsSqlJs(project), false);

  await run(project, 'grant', 'notes', 'db:*');
  await run(project, 'call', 'notes', 'add', '{"notes":["a"],"tags":[]}');
  assert.is(await loadsSqlJs(project), true, 'the check sees sql.js once a database exists');
}));

test.run();

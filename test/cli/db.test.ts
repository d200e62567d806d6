import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { copyFixture, lockProject, makeProject, runCli, withProject, type TestProject } from '../helpers/project.js';

/** Runs a plugrun command that must succeed and returns its stdout. */
const run = async (project: TestProject, ...args: string[]): Promise<string> => {
  const result = await runCli(args, { cwd: project.dir });
  if (result.code !== 0) throw new Error(`plugrun ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
};

const notes = {
  manifest: { capabilities: ['db:notes'] },
  files: {
    'index.js': `
      const SCHEMA = {
        columns: {
          text: { type: 'string', required: true, maxLength: 1000 },
          tags: { type: 'json', default: [] },
          created: { type: 'date' },
        },
        indexes: ['created'],
      };
      export async function start(ctx) {
        await ctx.db.createTable('notes', SCHEMA);
      }
      export const commands = {
        async add(input, ctx) {
          return ctx.db.insert('notes', { text: input.text, tags: input.tags ?? [], created: '2026-12-04T19:30:00.000Z' });
        },
        async list(_input, ctx) {
          return ctx.db.select('notes', {}, { orderBy: 'id', orderDirection: 'desc' });
        },
        async search(input, ctx) {
          return ctx.db.query('SELECT id, text FROM notes WHERE text LIKE ? ORDER BY id', ['%' + input.q + '%']);
        },
      };
    `,
  },
};

test('call adds and lists notes across runs', withProject({ notes }, async (project) => {
  await lockProject(project.dir);
  await run(project, 'grant', 'notes', 'db:notes');

  assert.equal(JSON.parse(await run(project, 'call', 'notes', 'add', '{"text":"hello","tags":["a"]}')), { id: 1 });
  assert.equal(JSON.parse(await run(project, 'call', 'notes', 'add', '{"text":"second note"}')), { id: 2 });

  const listed = JSON.parse(await run(project, 'call', 'notes', 'list'));
  assert.equal(listed, [
    { id: 2, text: 'second note', tags: [], created: '2026-12-04T19:30:00.000Z' },
    { id: 1, text: 'hello', tags: ['a'], created: '2026-12-04T19:30:00.000Z' },
  ]);
  assert.equal(JSON.parse(await run(project, 'call', 'notes', 'search', '{"q":"sec"}')), [{ id: 2, text: 'second note' }]);

  const db = project.auditEvents().filter((event) => event.cap === 'db');
  assert.equal(
    db.map((event) => [event.op, event.outcome]),
    [
      ['createTable', 'allowed'], ['insert', 'allowed'],
      ['createTable', 'allowed'], ['insert', 'allowed'],
      ['createTable', 'allowed'], ['select', 'allowed'],
      ['createTable', 'allowed'], ['query', 'allowed'],
    ],
  );
  assert.ok(fs.existsSync(path.join(project.dir, '.plugrun/db/notes/journal-0.log')), 'the database lives in the plugin\'s own folder');
  assert.not.ok(fs.existsSync(path.join(project.dir, '.plugrun/db/notes/lock')), 'the lock is released when the call ends');
}));

test('call without db grant is denied', withProject({ notes }, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['call', 'notes', 'add', '{"text":"x"}'], { cwd: project.dir });
  assert.is.not(result.code, 0);
  assert.match(result.stderr, 'plugrun grant notes db:notes');
  assert.ok(project.auditEvents().some((event) => event.cap === 'db' && event.outcome === 'denied' && event.needed === 'db:notes'));
}));

test('hostile plugin reaches no ungranted table', async () => {
  const project = makeProject();
  try {
    const name = 'db-ungranted-table-spellings';
    copyFixture(project, 'hostile', name);
    await lockProject(project.dir);
    await run(project, 'grant', name, 'db:*');
    await run(project, 'call', name, 'setup');
    await run(project, 'revoke', name, 'db:*');
    await run(project, 'grant', name, 'db:notes');

    const outcomes = JSON.parse(await run(project, 'call', name, 'probe')) as Array<{ sql: string; code: string; message?: string }>;
    assert.ok(outcomes.length >= 20);
    for (const outcome of outcomes) {
      assert.ok(['PLUGRUN_DENIED', 'PLUGRUN_INVALID'].includes(outcome.code), `${outcome.sql}: ${outcome.code} ${outcome.message ?? ''}`);
    }
    const stdout = JSON.stringify(outcomes);
    assert.not.ok(stdout.includes('the secret row'), 'no statement returned the secret row');

    const peek = await runCli(['call', name, 'peek'], { cwd: project.dir });
    assert.is(peek.code, 4, peek.stderr);
    assert.match(peek.stderr, `plugrun grant ${name} db:secret`);

    await run(project, 'grant', name, 'db:secret');
    assert.equal(JSON.parse(await run(project, 'call', name, 'peek')), [{ v: 'the secret row' }], 'the row was never changed');
  } finally {
    project.remove();
  }
});

const tableOwner = (body: string) => ({
  manifest: { capabilities: ['db:*'] },
  files: { 'index.js': `export const commands = { ${body} };` },
});

test('plugins never share a database', withProject({
  alpha: tableOwner(`
    async write(_input, ctx) {
      await ctx.db.createTable('shared', { columns: { v: { type: 'string' } } });
      return ctx.db.insert('shared', { v: 'alpha only' });
    },
    async read(_input, ctx) { return ctx.db.select('shared'); },
  `),
  beta: tableOwner(`
    async read(_input, ctx) {
      try { return await ctx.db.query('SELECT * FROM shared'); } catch (error) { return { code: error.code, message: error.message }; }
    },
    async create(_input, ctx) {
      await ctx.db.createTable('shared', { columns: { v: { type: 'string' } } });
      return ctx.db.select('shared');
    },
  `),
}, async (project) => {
  await lockProject(project.dir);
  await run(project, 'grant', 'alpha', 'db:*');
  await run(project, 'grant', 'beta', 'db:*');

  assert.equal(JSON.parse(await run(project, 'call', 'alpha', 'write')), { id: 1 });
  const read = JSON.parse(await run(project, 'call', 'beta', 'read'));
  assert.is(read.code, 'PLUGRUN_FAILED');
  assert.match(read.message, 'no such table: shared');
  assert.equal(JSON.parse(await run(project, 'call', 'beta', 'create')), [], "beta's table of the same name is its own, empty");
  assert.equal(JSON.parse(await run(project, 'call', 'alpha', 'read')), [{ id: 1, v: 'alpha only' }]);
}));

test.run();

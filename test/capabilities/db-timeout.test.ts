import fs from 'node:fs';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { expectRejection } from './helpers.js';
import { NOTES_SCHEMA, openHarness, withHarness, type DbHarness } from './db-harness.js';

const TIMEOUT_MS = 300;

const seedNotes = async (h: DbHarness, count: number): Promise<void> => {
  await h.call('createTable', 'notes', NOTES_SCHEMA);
  await h.call(
    'query',
    `INSERT INTO notes (title, done) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT ${count}) SELECT 'note ' || x, 0 FROM c`,
  );
};

/** Counts how often the host's event loop runs a 10 ms interval while `promise` is pending. */
const ticksDuring = async (promise: Promise<unknown>): Promise<{ ticks: number; ms: number; error: unknown }> => {
  let ticks = 0;
  const interval = setInterval(() => (ticks += 1), 10);
  const started = performance.now();
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  clearInterval(interval);
  return { ticks, ms: performance.now() - started, error };
};

test('recursive CTE bomb stops at the call timeout', withHarness({ limits: { callTimeoutMs: TIMEOUT_MS } }, async (h) => {
  await seedNotes(h, 100);

  const bomb = h.call('query', 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c');
  const { ticks, ms, error } = await ticksDuring(bomb);
  assert.ok(error instanceof Error, String(error));
  assert.is((error as { code?: string }).code, 'PLUGRUN_LIMIT');
  assert.ok((error as Error).message.includes(`ctx.db.query ran longer than the call timeout of ${TIMEOUT_MS} ms (limit callTimeoutMs) and was stopped`), (error as Error).message);
  assert.ok(ms >= TIMEOUT_MS, `stopped after ${ms} ms`);
  assert.ok(ms < TIMEOUT_MS + 2000, `stopped after ${ms} ms`);
  assert.ok(ticks >= (TIMEOUT_MS / 10) * 0.5, `the host ran its event loop ${ticks} times meanwhile`);

  // A new worker reopens the database with every row.
  assert.equal(await h.call('query', 'SELECT count(*) AS n FROM notes'), [{ n: 100 }]);
  assert.equal(await h.call('insert', 'notes', { title: 'after the bomb' }), { id: 101 });

  const event = h.events().find((entry) => entry.op === 'query' && entry.outcome === 'error');
  assert.is(event?.error?.code, 'PLUGRUN_LIMIT');
}));

test('consecutive bombs are each stopped', withHarness({ limits: { callTimeoutMs: TIMEOUT_MS } }, async (h) => {
  await seedNotes(h, 10);
  const bomb = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';
  const started = performance.now();
  const results = await Promise.allSettled([h.call('query', bomb), h.call('query', bomb), h.call('query', bomb)]);
  for (const result of results) {
    assert.is(result.status, 'rejected');
    assert.is(((result as PromiseRejectedResult).reason as { code?: string }).code, 'PLUGRUN_LIMIT');
  }
  assert.ok(performance.now() - started < 3 * TIMEOUT_MS + 3000, 'each bomb got its own timeout and no more');
  assert.equal(await h.call('query', 'SELECT count(*) AS n FROM notes'), [{ n: 10 }]);
}));

test('cross join bomb on a granted table stops', withHarness({ grants: ['db:notes'], limits: { callTimeoutMs: TIMEOUT_MS } }, async (h) => {
  h.setGrants(['db:*']);
  await seedNotes(h, 200);
  h.setGrants(['db:notes']);
  await expectRejection(h.call('query', 'SELECT count(*) FROM notes a, notes b, notes c, notes d, notes e'), 'PLUGRUN_LIMIT');
  assert.equal(await h.call('query', 'SELECT count(*) AS n FROM notes'), [{ n: 200 }]);
}));

test('write bomb leaves no partial rows', withHarness({ limits: { callTimeoutMs: TIMEOUT_MS } }, async (h) => {
  await seedNotes(h, 10);
  await expectRejection(
    h.call('query', "INSERT INTO notes (title) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT 'spam ' || x FROM c"),
    'PLUGRUN_LIMIT',
  );
  await expectRejection(h.call('query', "UPDATE notes SET title = 'x' WHERE (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c) > 0"), 'PLUGRUN_LIMIT');
  assert.equal(await h.call('query', "SELECT count(*) AS n FROM notes WHERE title LIKE 'note %'"), [{ n: 10 }]);
  assert.equal(await h.call('query', 'SELECT count(*) AS n FROM notes'), [{ n: 10 }]);
}));

test('another plugin keeps working during a bomb', withHarness({ limits: { callTimeoutMs: 1500 } }, async (bomber) => {
  const other = openHarness({ limits: { callTimeoutMs: 1500 } });
  try {
    await other.call('createTable', 'notes', NOTES_SCHEMA);
    await other.call('insert', 'notes', { title: 'unaffected' });

    const bomb = bomber.call('query', 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c');
    const slowest = await (async () => {
      let worst = 0;
      for (let index = 0; index < 20; index += 1) {
        const started = performance.now();
        assert.is((await other.call('select', 'notes', { id: 1 }) as unknown[]).length, 1);
        worst = Math.max(worst, performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return worst;
    })();
    await expectRejection(bomb, 'PLUGRUN_LIMIT');
    assert.ok(slowest < 500, `the other plugin's slowest select took ${slowest} ms`);
  } finally {
    await other.close();
    fs.rmSync(other.dir, { recursive: true, force: true });
  }
}));

test('opening a large journal is not timed', async () => {
  const first = openHarness();
  try {
    await seedNotes(first, 200_000);
    await first.close();

    // Replaying the journal runs the 200,000-row insert again, which takes
    // longer than the timeout; only statements are timed, so the select
    // that waits for the replay still succeeds.
    const timeoutMs = 100;
    const second = openHarness({ dir: first.dir, limits: { callTimeoutMs: timeoutMs } });
    try {
      const started = performance.now();
      const rows = (await second.call('select', 'notes', { id: 200_000 })) as Array<{ title: string }>;
      const ms = performance.now() - started;
      assert.is(rows[0]?.title, 'note 200000');
      assert.ok(ms > timeoutMs, `the open and select took ${ms} ms, not longer than the ${timeoutMs} ms timeout, so this case proves nothing; seed more rows`);
    } finally {
      await second.close();
    }
  } finally {
    fs.rmSync(first.dir, { recursive: true, force: true });
  }
});

test.run();

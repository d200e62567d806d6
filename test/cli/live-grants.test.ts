import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { editLockfile, lockProject, parseNdjson, runCli, spawnCli, withProject } from '../helpers/project.js';

// Tries a write every 50 ms and logs the outcome, so the test can tell when a
// grant change reaches the running host.
const writer = {
  writer: {
    files: {
      'index.js': `
        export async function start(ctx) {
          setInterval(async () => {
            try { await ctx.fs.writeFile('out/x.txt', 'x'); ctx.log.info('write ok'); }
            catch (error) { ctx.log.info('write ' + error.code); }
          }, 50);
        }
      `,
    },
  },
};

/** Collects the NDJSON events of a running `plugrun start` until `predicate` holds for one. */
const waitForEvent = (events: Array<Record<string, any>>, predicate: (event: Record<string, any>) => boolean, timeoutMs: number, what: string) =>
  new Promise<Record<string, any>>((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const found = events.find(predicate);
      if (found) {
        clearInterval(poll);
        resolve(found);
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        const summary = (event: Record<string, any>) =>
          JSON.stringify({ seq: event.seq, op: event.op, outcome: event.outcome, message: event.message, granted: event.granted, revoked: event.revoked, error: event.error });
        reject(new Error(`${what}: no matching event within ${timeoutMs} ms; last events: ${events.slice(-8).map(summary).join(' ')}`));
      }
    }, 20);
  });

test('grant and revoke reach a running host', withProject(writer, async (project) => {
  await lockProject(project.dir);
  // The writer is denied 20 times a second until the grant applies. On a
  // busy machine that passed the default of 30 denials a minute and
  // quarantined it, which is not what this test is about.
  editLockfile(project.dir, (lockfile) => {
    lockfile.plugins.writer.limits = { deniedCallsPerMinute: 100_000 };
  });
  const child = spawnCli(['start', '--no-tui'], { cwd: project.dir });
  const events: Array<Record<string, any>> = [];
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    events.push(...parseNdjson(lines.join('\n')));
  });
  try {
    await waitForEvent(events, (event) => event.message === 'write PLUGRUN_DENIED', 10_000, 'first denial');

    const granted = await runCli(['grant', 'writer', 'fs:out/'], { cwd: project.dir });
    assert.is(granted.code, 0, granted.stderr);
    const grantedAt = Date.now();
    const applied = await waitForEvent(events, (event) => event.op === 'grants' && event.plugin === 'writer', 5000, 'grant applied');
    assert.equal(applied.granted, ['fs:out/']);
    await waitForEvent(events, (event) => event.message === 'write ok', 5000, 'allowed write');
    assert.ok(Date.now() - grantedAt < 2000, 'the grant applied within about a second');

    await runCli(['revoke', 'writer', 'fs:out/'], { cwd: project.dir });
    await waitForEvent(events, (event) => event.op === 'grants' && Array.isArray(event.revoked) && event.revoked.includes('fs:out/'), 5000, 'revoke applied');
    const revokedIndex = events.findIndex((event) => event.op === 'grants' && event.revoked?.includes('fs:out/'));
    await waitForEvent(events, (event) => events.indexOf(event) > revokedIndex && event.message === 'write PLUGRUN_DENIED', 5000, 'denial after revoke');
    // A write checked before the revoke can finish, and write its event,
    // after it; a write that started after the revoke must be denied. The
    // allowed event's time minus its duration is when its check ran.
    const revokedAt = Date.parse(events[revokedIndex]!.time);
    const allowedAfterRevoke = events
      .slice(revokedIndex + 1)
      .filter((event) => event.cap === 'fs' && event.outcome === 'allowed')
      .filter((event) => Date.parse(event.time) - event.ms > revokedAt + 1);
    assert.equal(allowedAfterRevoke, [], 'no write that started after the revoke applied is allowed');

    // An invalid edit changes nothing: the grants in force stay as they were.
    // A write checked before the revoke can log 'write ok' after it, so the
    // re-grant is seen by its own event before the file is made invalid.
    await runCli(['grant', 'writer', 'fs:out/'], { cwd: project.dir });
    const regranted = await waitForEvent(
      events,
      (event) => events.indexOf(event) > revokedIndex && event.op === 'grants' && Array.isArray(event.granted) && event.granted.includes('fs:out/'),
      5000,
      're-grant applied',
    );
    const regrantedIndex = events.indexOf(regranted);
    await waitForEvent(events, (event) => events.indexOf(event) > regrantedIndex && event.message === 'write ok', 5000, 'write after re-grant');
    fs.writeFileSync(path.join(project.dir, 'plugin.lock.json'), '{ "lockfileVersion": 1, "plugins": { "writer": { "grants": "oops" } } }\n');
    const rejected = await waitForEvent(events, (event) => event.op === 'grants' && event.outcome === 'error', 5000, 'invalid edit rejected');
    assert.match(rejected.error.message, 'grants not changed');
    const rejectedIndex = events.indexOf(rejected);
    await waitForEvent(events, (event) => events.indexOf(event) > rejectedIndex && event.message === 'write ok', 5000, 'write after invalid edit');
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('close', resolve));
  }
}));

test.run();

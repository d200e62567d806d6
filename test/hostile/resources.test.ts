import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { assertNeighbourUnaffected, eventsOf, logFields, runHostile, type Event } from './harness.js';

const MiB = 1024 * 1024;

/** The `limit` event of a plugin, if any. */
const limitEvent = (events: readonly Event[], plugin: string): Event | undefined =>
  events.find((event) => event.plugin === plugin && event.cap === 'runtime' && event.op === 'limit');

/** A driver plugin that calls one command of `target` from a timer and logs how it ended. */
const driver = (target: string, command: string) => ({
  manifest: { dependencies: [target] },
  files: {
    'index.js': `
      export async function start(ctx) {
        ctx.timers.setTimeout(async () => {
          try {
            await ctx.plugins.call(${JSON.stringify(target)}, ${JSON.stringify(command)}, null);
            ctx.log.info('driven', { ok: true });
          } catch (error) {
            ctx.log.info('driven', { ok: false, code: error.code, message: error.message });
          }
        }, 0);
      }
    `,
  },
});

for (const fixture of ['typed-array-bomb', 'text-encoder-bomb']) {
  test(`${fixture} stops the plugin, host memory bounded`, async () => {
    const result = await runHostile({
      fixtures: [fixture],
      until: (events) => limitEvent(events, fixture) !== undefined,
    });
    const limit = limitEvent(result.events, fixture)!;
    assert.is(limit.limit, 'memoryMb');
    assert.is(limit.error.code, 'PLUGRUN_LIMIT');
    assert.match(limit.error.message, 'limits.memoryMb');
    assert.is(logFields(result.events, fixture, 'bomb finished'), undefined, 'the bomb never finished');
    // 30 x 100 MiB filled would be about 3 GiB; the host stops it near the 128 MiB limit.
    assert.ok(result.peakRssBytes !== undefined, 'the peak RSS was read');
    assert.ok(result.peakRssBytes! < 1024 * MiB, `the host's peak RSS stayed under 1 GiB (${Math.round(result.peakRssBytes! / MiB)} MiB)`);
    assertNeighbourUnaffected(result);
  });
}

test('heap-exhaustion is a memory limit stop', async () => {
  const result = await runHostile({
    fixtures: ['heap-exhaustion'],
    lockfile: (lockfile) => {
      lockfile.plugins['heap-exhaustion'].limits = { memoryMb: 32 };
    },
    until: (events) => limitEvent(events, 'heap-exhaustion') !== undefined,
  });
  const limit = limitEvent(result.events, 'heap-exhaustion')!;
  assert.is(limit.limit, 'memoryMb');
  assert.is(limit.error.code, 'PLUGRUN_LIMIT');
  assertNeighbourUnaffected(result);
});

test('endless-loop-in-start stops at the start timeout', async () => {
  const result = await runHostile({
    fixtures: ['endless-loop-in-start'],
    lockfile: (lockfile) => {
      lockfile.plugins['endless-loop-in-start'].limits = { startTimeoutMs: 1500 };
    },
    until: (events) => events.some((event) => event.plugin === 'endless-loop-in-start' && event.op === 'start' && event.outcome === 'error'),
  });
  const failure = eventsOf(result.events, 'endless-loop-in-start').find((event) => event.op === 'start')!;
  assert.is(failure.error.code, 'PLUGRUN_LIMIT');
  assert.match(failure.error.message, 'limit startTimeoutMs');
  assertNeighbourUnaffected(result);
});

const callCases: Array<[string, string]> = [
  ['endless-loop-in-command', 'spin'],
  ['microtask-flood', 'flood'],
  ['promise-flood', 'flood'],
];
for (const [fixture, command] of callCases) {
  test(`${fixture} is stopped, caller gets an error`, async () => {
    const result = await runHostile({
      fixtures: [fixture],
      plugins: { driver: driver(fixture, command) },
      lockfile: (lockfile) => {
        lockfile.plugins[fixture].limits = { callTimeoutMs: 2000, memoryMb: 64, restartLimit: 0 };
        lockfile.plugins.driver.grants = [`msg:${fixture}`];
      },
      until: (events) => logFields(events, 'driver', 'driven') !== undefined,
    });
    const limit = limitEvent(result.events, fixture);
    assert.ok(limit, 'a limit event is written');
    assert.is(limit!.error.code, 'PLUGRUN_LIMIT');
    // A chain or flood of promises keeps every link reachable, so it may
    // reach the memory limit before the call timeout.
    assert.ok(limit!.limit === 'callTimeoutMs' || (fixture !== 'endless-loop-in-command' && limit!.limit === 'memoryMb'), `limit ${limit!.limit}`);
    const driven = logFields(result.events, 'driver', 'driven')!;
    assert.is(driven.ok, false);
    assert.is(driven.code, 'PLUGRUN_FAILED');
    assert.match(driven.message, /timed out|memory|heap/);
    assertNeighbourUnaffected(result);
  });
}

test('timer-callback-loop is stopped while idle', async () => {
  const result = await runHostile({
    fixtures: ['timer-callback-loop'],
    lockfile: (lockfile) => {
      lockfile.plugins['timer-callback-loop'].limits = { callTimeoutMs: 1500, restartLimit: 0 };
    },
    until: (events) => limitEvent(events, 'timer-callback-loop') !== undefined,
  });
  const limit = limitEvent(result.events, 'timer-callback-loop')!;
  assert.is(limit.limit, 'callTimeoutMs');
  assert.is(limit.error.code, 'PLUGRUN_LIMIT');
  assert.match(limit.error.message, 'did not respond');
  assertNeighbourUnaffected(result);
});

test('huge-log-message is cut before it is sent', async () => {
  const result = await runHostile({
    fixtures: ['huge-log-message'],
    until: (events) => logFields(events, 'huge-log-message', 'huge log result') !== undefined,
  });
  const lines = eventsOf(result.events, 'huge-log-message').filter((event) => event.cap === 'log' && String(event.message).startsWith('AAAA'));
  assert.is(lines.length, 20);
  for (const line of lines) {
    assert.ok(line.message.length < 9000, `a line of ${line.message.length} characters`);
    assert.match(line.message, /\[truncated \d+ characters\]$/);
  }
  const fieldsError = eventsOf(result.events, 'huge-log-message').find((event) => event.outcome === 'error');
  assert.is(fieldsError?.error.code, 'PLUGRUN_LIMIT');
  assert.is(logFields(result.events, 'huge-log-message', 'huge log result')!.fieldsCode, null, 'ctx.log does not throw for a host-side rejection');
  assertNeighbourUnaffected(result);
});

test('log-event-flood is limited per second', async () => {
  const result = await runHostile({
    fixtures: ['log-event-flood'],
    lockfile: (lockfile) => {
      lockfile.plugins['log-event-flood'].limits = { logLinesPerSecond: 50 };
    },
    until: (events) => logFields(events, 'log-event-flood', 'flood result') !== undefined,
  });
  const outcome = logFields(result.events, 'log-event-flood', 'flood result')!;
  assert.is(outcome.code, 'PLUGRUN_LIMIT');
  // The bucket refills while the loop runs, so a few more than 50 get through.
  assert.ok(outcome.sent < 5000, `${outcome.sent} lines were sent`);
  assert.ok(outcome.limited > 95_000, `${outcome.limited} lines were limited`);
  assert.is(outcome.sent + outcome.limited, 100_000);
  const floodEvents = eventsOf(result.events, 'log-event-flood').filter((event) => event.message === 'flood');
  assert.is(floodEvents.length, outcome.sent, 'every line sent is in the log, no more');
  const limitErrors = eventsOf(result.events, 'log-event-flood').filter((event) => event.outcome === 'error');
  assert.ok(limitErrors.length >= 1, 'the rejection is recorded');
  assert.ok(limitErrors.length <= 3, `the rejections are recorded once a second, not per line (${limitErrors.length})`);
  assert.is(limitErrors[0]!.error.code, 'PLUGRUN_LIMIT');
  assertNeighbourUnaffected(result);
});

test.run();

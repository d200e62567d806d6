import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { LimitsOverrideStruct, resolveLimits } from '../../capabilities/limits.js';
import { DenialRate } from '../../runtime/quarantine.js';
import { RESTART_DELAY_MAX_MS, RESTART_RESET_AFTER_MS, RestartPolicy } from '../../runtime/restart-policy.js';
import { makeLogGate } from '../../runtime/worker/log-gate.js';

test('restart delays double up to the limit', () => {
  const policy = new RestartPolicy(3, 100);
  assert.equal([policy.next(0), policy.next(1), policy.next(2), policy.next(3)], [100, 200, 400, undefined]);
  assert.is(policy.restarts, 3);
});

test('restart limit zero never restarts', () => {
  assert.is(new RestartPolicy(0, 100).next(0), undefined);
});

test('restart count resets after a quiet minute', () => {
  const policy = new RestartPolicy(1, 100);
  assert.is(policy.next(0), 100);
  policy.running(1000);
  assert.is(policy.next(1000 + RESTART_RESET_AFTER_MS - 1), undefined, 'a crash within the minute counts');
  policy.running(5000);
  assert.is(policy.next(5000 + RESTART_RESET_AFTER_MS), 100, 'a crash after a quiet minute starts over');
});

test('restart delay is capped', () => {
  const policy = new RestartPolicy(40, 60_000);
  let last = 0;
  for (let index = 0; index < 40; index += 1) last = policy.next(index) ?? -1;
  assert.is(last, RESTART_DELAY_MAX_MS);
});

test('denial rate passes after the limit', () => {
  const rate = new DenialRate(3);
  assert.is(rate.record('net:a.example', 0), undefined);
  assert.is(rate.record('fs:x/', 1), undefined);
  assert.is(rate.record('net:a.example', 2), undefined);
  assert.equal(rate.record('db:users', 3), { deniedPerMinute: 4, limit: 3, denied: ['db:users', 'fs:x/', 'net:a.example'] });
});

test('denial rate forgets calls older than a minute', () => {
  const rate = new DenialRate(2);
  rate.record('net:a.example', 0);
  rate.record('net:a.example', 1);
  assert.is(rate.record('net:b.example', 60_001), undefined, 'the first two fell out of the window');
  assert.is(rate.record('net:b.example', 60_002), undefined);
  assert.ok(rate.record('net:c.example', 60_003));
});

test('log gate admits a burst, then refills', () => {
  let now = 0;
  const gate = makeLogGate(3, () => now);
  assert.equal([gate.admit(), gate.admit(), gate.admit(), gate.admit()], [true, true, true, false]);
  now = 400;
  assert.is(gate.admit(), true, 'a third of a second refills one line');
  assert.is(gate.admit(), false);
});

test('log gate reports one rejection a second', () => {
  let now = 0;
  const gate = makeLogGate(1, () => now);
  assert.equal([gate.reportRejection(), gate.reportRejection()], [true, false]);
  now = 999;
  assert.is(gate.reportRejection(), false);
  now = 1000;
  assert.is(gate.reportRejection(), true);
});

test('new limits have defaults', () => {
  const limits = resolveLimits(undefined);
  assert.is(limits.restartLimit, 3);
  assert.is(limits.restartBackoffMs, 1000);
  assert.is(limits.deniedCallsPerMinute, 30);
  assert.is(limits.logLinesPerSecond, 200);
});

const invalidLimits: Array<[string, Record<string, unknown>]> = [
  ['negative restart limit', { restartLimit: -1 }],
  ['fractional restart limit', { restartLimit: 1.5 }],
  ['restart limit over 100', { restartLimit: 101 }],
  ['zero backoff', { restartBackoffMs: 0 }],
  ['backoff over a minute', { restartBackoffMs: 60_001 }],
  ['zero denied calls', { deniedCallsPerMinute: 0 }],
  ['string log rate', { logLinesPerSecond: '10' }],
];
for (const [name, override] of invalidLimits) {
  test(`limits reject ${name}`, () => {
    assert.is(LimitsOverrideStruct.safeParse(override).success, false);
  });
}

test('limits accept restart limit zero', () => {
  assert.ok(LimitsOverrideStruct.safeParse({ restartLimit: 0 }).success);
});

test.run();

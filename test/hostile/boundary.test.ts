import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { assertNeighbourUnaffected, eventsOf, logFields, runHostile, type Event } from './harness.js';

const exfiltrationTried = (fixture: string) => (events: readonly Event[]) =>
  logFields(events, fixture, 'exfiltration failed') !== undefined;

const assertExfiltrationDenied = (events: readonly Event[], fixture: string) => {
  assert.is(logFields(events, fixture, 'exfiltration failed')?.code, 'PLUGRUN_DENIED');
  assert.ok(eventsOf(events, fixture).some((event) => event.outcome === 'denied' && event.needed === 'net:exfil.invalid'));
};

/** Text that would only be in a stack trace with frames from the host or the worker's own code. */
const HOST_FRAME = /file:|node:|\/dist\/|\.js:\d|at /;

test('host-error-inspection finds only code and message', async () => {
  const fixture = 'host-error-inspection';
  const result = await runHostile({
    fixtures: [fixture],
    lockfile: (lockfile) => {
      lockfile.plugins[fixture].grants = ['msg:bystander'];
    },
    until: exfiltrationTried(fixture),
  });
  const errors = logFields(result.events, fixture, 'host errors')!;
  const expectedCodes: Record<string, string | null> = {
    denied: 'PLUGRUN_DENIED',
    invalidArgument: 'PLUGRUN_INVALID',
    msgTargetFailed: 'PLUGRUN_FAILED',
    msgDenied: 'PLUGRUN_DENIED',
    sleepInvalid: 'PLUGRUN_INVALID',
    ctxTimerInvalid: 'PLUGRUN_INVALID',
    globalTimerInvalid: 'PLUGRUN_INVALID',
    logInvalid: 'PLUGRUN_INVALID',
    logUncloneable: 'PLUGRUN_INVALID',
    argumentsUncloneable: 'PLUGRUN_INVALID',
    queueMicrotaskInvalid: null,
  };
  for (const [path, code] of Object.entries(expectedCodes)) {
    const error = errors[path];
    assert.ok(error, `${path} threw`);
    assert.is(error.code, code, `${path} code`);
    assert.ok(error.isError, `${path} is an Error of the compartment`);
    assert.ok(error.plainPrototype, `${path} has the compartment's own prototype`);
    assert.not.ok(error.hasCause, `${path} has no cause`);
    const expectedKeys = code === null ? ['message', 'stack'] : ['code', 'message', 'stack'];
    assert.equal(error.ownKeys, expectedKeys, `${path} own keys`);
    assert.not.match(error.stack, HOST_FRAME, `${path} stack shows no host frame`);
  }
  assertExfiltrationDenied(result.events, fixture);
  assertNeighbourUnaffected(result);
});

test('prepare-stack-trace-probe sees no host frames', async () => {
  const fixture = 'prepare-stack-trace-probe';
  const result = await runHostile({
    fixtures: [fixture],
    lockfile: (lockfile) => {
      lockfile.plugins[fixture].grants = ['msg:bystander'];
    },
    until: exfiltrationTried(fixture),
  });
  const found = logFields(result.events, fixture, 'stack results')!;
  assert.is(found.stacks.length, 5);
  for (const stack of found.stacks) assert.not.match(stack, HOST_FRAME, `stack: ${stack}`);
  for (const site of found.seen) {
    assert.not.match(site.file, /plugrun|dist|node:|worker/, `a call site in ${site.file}`);
    assert.is(site.fn, 'undefined', 'no function is reachable from a call site');
  }
  assertExfiltrationDenied(result.events, fixture);
  assertNeighbourUnaffected(result);
});

test('proxy-argument-swap is rejected before any trap', async () => {
  const fixture = 'proxy-argument-swap';
  const result = await runHostile({
    fixtures: [fixture],
    lockfile: (lockfile) => {
      lockfile.plugins[fixture].grants = ['db:notes', 'fs:exports/'];
    },
    until: exfiltrationTried(fixture),
  });
  const found = logFields(result.events, fixture, 'proxy results')!;
  for (const key of ['proxyRow', 'proxyOptions', 'proxyParams', 'proxyConfig', 'proxyLogFields', 'revokedProxy']) {
    assert.is(found[key], 'PLUGRUN_INVALID', key);
  }
  // Spreading a Proxy array runs its traps in the plugin; the host gets plain strings.
  assert.is(found.proxyArgumentList, 'allowed');
  assert.is(found.rowsWritten, 0, 'no row came through a Proxy');
  const rejected = eventsOf(result.events, fixture).filter((event) => event.outcome === 'error' && event.error.code === 'PLUGRUN_INVALID');
  assert.ok(rejected.length >= 6, `each rejected call has its event (${rejected.length})`);
  assertExfiltrationDenied(result.events, fixture);
  assertNeighbourUnaffected(result);
});

test('getter-argument-swap is read once, before the check', async () => {
  const fixture = 'getter-argument-swap';
  const result = await runHostile({
    fixtures: [fixture],
    lockfile: (lockfile) => {
      lockfile.plugins[fixture].grants = ['db:notes', 'fs:exports/', 'msg:bystander'];
    },
    until: exfiltrationTried(fixture),
  });
  const found = logFields(result.events, fixture, 'getter results')!;
  assert.equal(found.reads, { text: 1, param: 1, mode: 1, encoding: 1, input: 1 });
  assert.equal(found.rows, ['first']);
  assert.is(found.matched, 1, 'the query used the first value of its parameter');
  assert.equal(found.setting, { mode: 'safe' });
  assert.is(found.readBackType, 'string', 'the first encoding, utf8, was used');
  assert.is(found.pong, 'pong');
  const exfil = eventsOf(result.events, fixture).find((event) => event.outcome === 'denied');
  assert.is(exfil?.needed, 'net:exfil.invalid');
  assertExfiltrationDenied(result.events, fixture);
  assertNeighbourUnaffected(result);
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { copyFixture, makeProject, runCli } from '../helpers/project.js';
import { assertNeighbourUnaffected, eventsOf, logFields, runHostile, type Event } from './harness.js';

/** True once the fixture logged that its exfiltration attempt failed. */
const exfiltrationTried = (fixture: string) => (events: readonly Event[]) =>
  logFields(events, fixture, 'exfiltration failed') !== undefined;

/** Asserts that the exfiltration was denied, with its `denied` event. */
const assertExfiltrationDenied = (events: readonly Event[], fixture: string) => {
  assert.is(logFields(events, fixture, 'exfiltration failed')?.code, 'PLUGRUN_DENIED');
  const denied = eventsOf(events, fixture).find((event) => event.outcome === 'denied' && event.cap === 'net');
  assert.is(denied?.needed, 'net:exfil.invalid');
  assert.not.ok(logFields(events, fixture, 'exfiltrated'), 'nothing was sent');
};

test('constructor-chain-escape reaches no host global', async () => {
  const fixture = 'constructor-chain-escape';
  const result = await runHostile({ fixtures: [fixture], until: exfiltrationTried(fixture) });
  const found = logFields(result.events, fixture, 'escape results')!;
  for (const [attempt, outcome] of Object.entries(found)) {
    assert.ok(outcome === 'undefined' || String(outcome).startsWith('threw'), `${attempt}: ${outcome}`);
  }
  assert.is(found.objectChain, 'threw TypeError');
  assertExfiltrationDenied(result.events, fixture);
  assertNeighbourUnaffected(result);
});

test('eval-and-function see compartment globals only', async () => {
  const fixture = 'eval-and-function';
  const result = await runHostile({ fixtures: [fixture], until: exfiltrationTried(fixture) });
  const found = logFields(result.events, fixture, 'eval results')!;
  assert.is(found.indirectEvalProcess, 'undefined');
  assert.is(found.indirectEvalRequire, 'undefined');
  assert.is(found.functionGlobal, 'undefined');
  assert.is(found.newFunctionThis, 'undefined', 'Function code is strict and gets no global this');
  assert.is(found.functionSloppyThis, 'undefined', 'evaluated code is strict');
  assert.is(found.evalChangesIntrinsic, 'threw TypeError');
  assertExfiltrationDenied(result.events, fixture);
  assertNeighbourUnaffected(result);
});

test('runtime-import-evasion cannot import at run time', async () => {
  const fixture = 'runtime-import-evasion';
  const result = await runHostile({ fixtures: [fixture], until: exfiltrationTried(fixture) });
  const found = logFields(result.events, fixture, 'import results')!;
  for (const [attempt, outcome] of Object.entries(found)) {
    assert.ok(String(outcome).startsWith('threw'), `${attempt}: ${outcome}`);
  }
  assertExfiltrationDenied(result.events, fixture);
  assertNeighbourUnaffected(result);
});

test('symbol-for-registry reaches no host hook', async () => {
  const fixture = 'symbol-for-registry';
  const result = await runHostile({ fixtures: [fixture], until: exfiltrationTried(fixture) });
  const found = logFields(result.events, fixture, 'registry results')!;
  assert.is(found.functionInFields, 'PLUGRUN_INVALID');
  assert.is(found.dispatcher, 'undefined');
  assert.is(found.sesConsole, 'undefined');
  // Symbol-keyed properties are not copied, so the host received an empty object.
  const symbolKeys = eventsOf(result.events, fixture).find((event) => event.message === 'symbol keys');
  assert.ok(symbolKeys === undefined || symbolKeys.fields === undefined || Object.keys(symbolKeys.fields).length === 0);
  const rejected = eventsOf(result.events, fixture).find((event) => event.cap === 'log' && event.outcome === 'error');
  assert.is(rejected?.error.code, 'PLUGRUN_INVALID');
  assertExfiltrationDenied(result.events, fixture);
  assertNeighbourUnaffected(result);
});

test('prototype-pollution throws and others see nothing', async () => {
  const result = await runHostile({
    fixtures: ['prototype-pollution'],
    until: (events) => logFields(events, 'prototype-pollution', 'attack') !== undefined,
  });
  assert.equal(logFields(result.events, 'prototype-pollution', 'attack'), { threw: true, name: 'TypeError' });
  assertNeighbourUnaffected(result);
});

const unloadable: Array<[string, string[]]> = [
  ['import-node-builtin', ['node:fs']],
  ['import-outside-folder', ['secret.js']],
  ['dynamic-import-builtin', ['child_process']],
  ['dynamic-import-forms', ['index.js:6:', 'index.js:7:', 'index.js:8:', 'index.js:9:', 'index.js:10:', 'index.js:11:']],
];
for (const [fixture, named] of unloadable) {
  test(`${fixture} is refused and others run`, async () => {
    const project = makeProject();
    try {
      copyFixture(project, 'hostile', fixture);
      project.write('secret.js', 'export default "secret";\n');
      const lock = await runCli(['lock', fixture], { cwd: project.dir });
      assert.is(lock.code, 3, lock.stderr);
      for (const text of named) assert.match(lock.stderr, text);
    } finally {
      project.remove();
    }

    const result = await runHostile({
      fixtures: [fixture],
      lockOnly: ['bystander'],
      until: (events) => events.some((event) => event.plugin === fixture && event.op === 'load' && event.outcome === 'error'),
    });
    const refusal = eventsOf(result.events, fixture).find((event) => event.op === 'load')!;
    assert.is(refusal.error.code, 'PLUGRUN_INVALID');
    assert.match(refusal.error.message, `plugrun lock ${fixture}`);
    assert.not.ok(eventsOf(result.events, fixture).some((event) => event.op === 'start'), 'it never started');
    assertNeighbourUnaffected(result, 3);
  });
}

test('require-builtin fails to load naming it', async () => {
  const fixture = 'require-builtin';
  const result = await runHostile({
    fixtures: [fixture],
    until: (events) => events.some((event) => event.plugin === fixture && event.op === 'load' && event.outcome === 'error'),
  });
  const failure = eventsOf(result.events, fixture).find((event) => event.op === 'load')!;
  assert.match(failure.error.message, 'require("fs")');
  assert.ok(['PLUGRUN_INVALID', 'PLUGRUN_FAILED'].includes(failure.error.code), failure.error.code);
  assertNeighbourUnaffected(result);
});

test('throw-in-start fails that plugin only', async () => {
  const result = await runHostile({
    fixtures: ['throw-in-start'],
    until: (events) => events.some((event) => event.plugin === 'throw-in-start' && event.op === 'start'),
  });
  const failure = eventsOf(result.events, 'throw-in-start').find((event) => event.op === 'start')!;
  assert.is(failure.outcome, 'error');
  assert.is(failure.error.code, 'PLUGRUN_FAILED');
  assertNeighbourUnaffected(result);
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { computeIntegrity } from '../../runtime/integrity.js';

const encode = (text: string) => new TextEncoder().encode(text);
const base = { manifestBytes: encode('{"name":"a"}'), packageJsonBytes: encode(''), mapSha512: 'ab'.repeat(64) };

test('integrity has the sha512 form', () => {
  assert.match(computeIntegrity(base), /^sha512-[A-Za-z0-9+/]{86}==$/);
});

test('integrity is deterministic', () => {
  assert.is(computeIntegrity(base), computeIntegrity({ ...base }));
});

test('each part changes the integrity', () => {
  const original = computeIntegrity(base);
  assert.is.not(computeIntegrity({ ...base, manifestBytes: encode('{"name":"b"}') }), original);
  assert.is.not(computeIntegrity({ ...base, packageJsonBytes: encode('{}') }), original);
  assert.is.not(computeIntegrity({ ...base, mapSha512: 'cd'.repeat(64) }), original);
});

test('moving bytes between parts changes it', () => {
  const a = computeIntegrity({ ...base, manifestBytes: encode('ab'), packageJsonBytes: encode('c') });
  const b = computeIntegrity({ ...base, manifestBytes: encode('a'), packageJsonBytes: encode('bc') });
  assert.is.not(a, b);
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PlugrunError } from '../capabilities/errors.js';

test('PlugrunError carries its code', () => {
  const error = new PlugrunError('PLUGRUN_INVALID', 'bad');
  assert.is(error.code, 'PLUGRUN_INVALID');
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { formatEventLine } from '../../cli/event-line.js';
import { ciVariable, escapeForTerminal } from '../../cli/output.js';
import type { AuditEvent } from '../../runtime/audit.js';

test('CI variable read as Ink reads it', () => {
  assert.is(ciVariable({}), undefined);
  assert.is(ciVariable({ CI: 'true' }), 'CI');
  assert.is(ciVariable({ CI: '' }), 'CI', 'set but empty still counts');
  assert.is(ciVariable({ CI: '0' }), undefined);
  assert.is(ciVariable({ CI: 'false' }), undefined);
  assert.is(ciVariable({ CONTINUOUS_INTEGRATION: '1' }), 'CONTINUOUS_INTEGRATION');
  assert.is(ciVariable({ CI: 'false', CONTINUOUS_INTEGRATION: '1' }), 'CONTINUOUS_INTEGRATION');
});

test('escape removes terminal controls', () => {
  assert.is(escapeForTerminal('a\u001b[2Jb'), 'a\\u001b[2Jb');
  assert.is(escapeForTerminal('\u001b]0;title\u0007'), '\\u001b]0;title\\u0007');
  assert.is(escapeForTerminal('x\u202ey'), 'x\\u202ey');
  assert.is(escapeForTerminal('zero\u200bwidth'), 'zero\\u200bwidth');
  assert.is(escapeForTerminal('tab\tand\nnewline'), 'tab\tand\nnewline');
});

test('event line escapes plugin text', () => {
  const event: AuditEvent = {
    v: 1, seq: 1, time: '2026-12-04T19:30:00.123Z', hash: 'sha256-x',
    plugin: 'p', cap: 'log', op: 'info', outcome: 'allowed', ms: 0.4, message: 'hi \u001b[31mred',
  };
  const line = formatEventLine(event, false);
  assert.not.ok(line.includes('\u001b'));
  assert.match(line, '19:30:00.123');
  assert.match(line, 'log.info');
  assert.match(line, 'hi \\u001b[31mred');
});

test('denied line shows the capability needed', () => {
  const event: AuditEvent = {
    v: 1, seq: 2, time: '2026-12-04T19:30:00.123Z', hash: 'sha256-x',
    plugin: 'p', cap: 'net', op: 'fetch', target: 'https://a.example/', outcome: 'denied', needed: 'net:a.example',
  };
  assert.match(formatEventLine(event, false), 'needs net:a.example');
});

test.run();

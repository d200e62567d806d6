import { render } from 'ink-testing-library';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { Dashboard } from '../../cli/dashboard/components/Dashboard.js';
import { cell } from '../../cli/dashboard/format.js';
import { KEY, makeEvent, makeFakeSource, makeStats, UNSAFE_CHARACTERS, waitForFrame, withoutStyles } from '../helpers/dashboard.js';

// Each string would, printed raw, forge or restyle output, set the window
// title, write the clipboard, or reorder and hide text.
const HOSTILE = {
  clearScreen: 'x\u001b[2J\u001b[H',
  windowTitle: '\u001b]0;pwned\u0007',
  clipboard: '\u001b]52;c;ZWNobyBwd25lZA==\u0007',
  restyle: '\u001b[31mred\u001b[0m',
  c1Csi: '\u009b31m',
  carriageReturn: 'ok\rallowed',
  newlineRow: 'a\n19:30:00 notes      fs.readFile    allowed',
  tab: 'a\tb',
  bidi: 'abc\u202edcba\u2066x\u2069',
  zeroWidth: 'ad\u200bmin\u2060\ufeff',
  separators: 'line\u2028para\u2029',
};

test('cell escapes every hostile string', () => {
  for (const [name, text] of Object.entries(HOSTILE)) {
    const escaped = cell(text);
    assert.not.match(escaped, UNSAFE_CHARACTERS, name);
    assert.not.match(escaped, /[\n\t]/, name);
  }
  assert.is(cell(HOSTILE.windowTitle), '\\u001b]0;pwned\\u0007');
  assert.is(cell(HOSTILE.newlineRow), 'a\\n19:30:00 notes      fs.readFile    allowed');
});

test('dashboard shows hostile plugin text escaped in every pane', async () => {
  const hostile = Object.values(HOSTILE).join('|');
  const source = makeFakeSource([
    makeStats({ name: 'evil', version: '1.0.0', granted: [`fs:${HOSTILE.bidi}/`], pending: [`net:${HOSTILE.zeroWidth}`] }),
    makeStats({ name: 'gone', phase: 'refused', state: 'refused', reason: `bad manifest ${HOSTILE.clipboard}` }),
  ]);
  source.feed.push(makeEvent({ plugin: 'evil', cap: 'log', op: 'info', target: undefined, message: hostile }));
  source.feed.push(makeEvent({ plugin: 'evil', cap: 'fs', op: 'writeFile', target: HOSTILE.restyle, outcome: 'denied', needed: `fs:${HOSTILE.windowTitle}/` }));
  source.feed.push(makeEvent({ plugin: 'evil', cap: 'db', op: 'query', target: HOSTILE.newlineRow, outcome: 'error', error: { code: 'PLUGRUN_FAILED', message: HOSTILE.clearScreen } }));
  source.feed.push(makeEvent({ plugin: 'evil', cap: 'net', op: 'fetch', target: `https://x.org/${HOSTILE.carriageReturn}` }));
  source.notices.post(`host says ${HOSTILE.c1Csi}`);
  const size = { columns: 400, rows: 40 };
  const instance = render(<Dashboard source={source} onQuit={() => undefined} size={size} frameIntervalMs={10} statsIntervalMs={50} />);
  try {
    const frame = await waitForFrame(() => instance.lastFrame(), (text) => text.includes('› ● evil') && text.includes('net.fetch'));

    // Ink's own colours are the only escape sequences left.
    assert.not.match(frame, UNSAFE_CHARACTERS);
    assert.match(frame, '\\u001b]52;c;ZWNobyBwd25lZA==\\u0007');
    assert.match(frame, '\\u001b[31mred\\u001b[0m');
    assert.match(frame, 'needs fs:\\u001b]0;pwned\\u0007/');
    assert.match(frame, 'PLUGRUN_FAILED: x\\u001b[2J\\u001b[H');
    assert.match(frame, 'https://x.org/ok\\u000dallowed');
    assert.match(frame, 'abc\\u202edcba\\u2066x\\u2069');
    assert.match(frame, 'host says \\u009b31m');
    // The newline in the target stays inside its row.
    assert.match(frame, 'a\\n19:30:00 notes');
    const rows = frame.split('\n').filter((line) => line.includes('db.query'));
    assert.is(rows.length, 1);

    // The confirmation quotes capability strings, escaped the same way.
    instance.stdin.write('g');
    const question = await waitForFrame(() => instance.lastFrame(), (text) => text.includes('Grant to evil?'));
    assert.not.match(question, UNSAFE_CHARACTERS);
    assert.match(question, 'net:ad\\u200bmin\\u2060\\ufeff');
    instance.stdin.write(KEY.escape);
  } finally {
    instance.unmount();
  }
  // Outside the styles, not one raw ESC byte was drawn in any frame.
  for (const frame of instance.frames) assert.not.match(withoutStyles(frame), /[\u001b\u009b\u0007]/);
});

test.run();

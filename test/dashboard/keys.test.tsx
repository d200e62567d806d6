import { render } from 'ink-testing-library';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { Dashboard } from '../../cli/dashboard/components/Dashboard.js';
import { KEY, makeEvent, makeFakeSource, makeStats, waitForFrame, withoutStyles } from '../helpers/dashboard.js';

const SIZE = { columns: 80, rows: 24 };

/** Mounts a dashboard over two plugins and returns it with its source and quit counter. */
const mount = () => {
  const source = makeFakeSource([
    makeStats({ name: 'alpha', granted: ['db:a', 'fs:out/'], requested: ['db:a', 'fs:out/', 'net:api.example.org', 'msg:beta'], pending: ['net:api.example.org', 'msg:beta'] }),
    makeStats({ name: 'beta', granted: [], requested: [], pending: [] }),
  ]);
  const quits = { count: 0 };
  const instance = render(<Dashboard source={source} onQuit={() => (quits.count += 1)} size={SIZE} frameIntervalMs={10} statsIntervalMs={50} />);
  const frame = () => withoutStyles(instance.lastFrame() ?? '');
  const press = async (key: string) => {
    instance.stdin.write(key);
    // Ink reads input on the next turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 20));
  };
  return { source, quits, instance, frame, press };
};

test('arrow keys move the selection', async () => {
  const { frame, press, instance } = mount();
  await waitForFrame(frame, (text) => /› +● alpha/.test(text));
  await press(KEY.down);
  await waitForFrame(frame, (text) => /› +● beta/.test(text));
  await press(KEY.down);
  await waitForFrame(frame, (text) => /› +● beta/.test(text));
  await press(KEY.up);
  await waitForFrame(frame, (text) => /› +● alpha/.test(text));
  instance.unmount();
});

test('Enter filters the audit pane to the plugin and clears it', async () => {
  const { frame, press, instance, source } = mount();
  source.feed.push(makeEvent({ plugin: 'alpha', target: 'from-alpha' }));
  source.feed.push(makeEvent({ plugin: 'beta', target: 'from-beta' }));
  await waitForFrame(frame, (text) => text.includes('from-alpha') && text.includes('from-beta'));
  await press(KEY.down);
  await press(KEY.enter);
  const filtered = await waitForFrame(frame, (text) => text.includes('Audit · beta'));
  assert.match(filtered, 'from-beta');
  assert.not.match(filtered, 'from-alpha');
  await press(KEY.enter);
  const cleared = await waitForFrame(frame, (text) => text.includes('Audit · all plugins'));
  assert.match(cleared, 'from-alpha');
  instance.unmount();
});

test('d shows denied calls only, and again all', async () => {
  const { frame, press, instance, source } = mount();
  source.feed.push(makeEvent({ plugin: 'alpha', target: 'ok-row' }));
  source.feed.push(makeEvent({ plugin: 'alpha', cap: 'net', op: 'fetch', target: 'no-row', outcome: 'denied', needed: 'net:x.org' }));
  await waitForFrame(frame, (text) => text.includes('ok-row'));
  await press('d');
  const denied = await waitForFrame(frame, (text) => text.includes('denied only'));
  assert.match(denied, 'needs net:x.org');
  assert.not.match(denied, 'ok-row');
  await press('d');
  await waitForFrame(frame, (text) => text.includes('ok-row') && !text.includes('denied only'));
  instance.unmount();
});

test('p pauses, counts new events, and shows them on resume', async () => {
  const { frame, press, instance, source } = mount();
  source.feed.push(makeEvent({ target: 'before-pause' }));
  await waitForFrame(frame, (text) => text.includes('before-pause'));
  await press('p');
  await waitForFrame(frame, (text) => text.includes('PAUSED'));
  for (let index = 0; index < 3; index += 1) source.feed.push(makeEvent({ target: `during-pause-${index}` }));
  const paused = await waitForFrame(frame, (text) => text.includes('PAUSED, 3 new'));
  assert.match(paused, 'paused, 3 new events shown on resume');
  assert.not.match(paused, 'during-pause');
  await press('p');
  const resumed = await waitForFrame(frame, (text) => !text.includes('PAUSED'));
  assert.match(resumed, 'during-pause-2');
  assert.match(resumed, 'before-pause');
  instance.unmount();
});

test('g asks with the exact capability strings, y grants', async () => {
  const { frame, press, instance, source } = mount();
  await waitForFrame(frame, (text) => text.includes('alpha'));
  await press('g');
  const question = await waitForFrame(frame, (text) => text.includes('Grant to alpha?'));
  assert.match(question, /^ {2}net:api\.example\.org$/m);
  assert.match(question, /^ {2}msg:beta$/m);
  assert.match(question, 'y grant');
  assert.equal(source.changes, []);
  await press('y');
  await waitForFrame(frame, (text) => text.includes('granted net:api.example.org msg:beta to alpha'));
  assert.equal(source.changes, [{ op: 'grant', plugin: 'alpha', capabilities: ['net:api.example.org', 'msg:beta'] }]);
  instance.unmount();
});

test('g then n grants nothing', async () => {
  const { frame, press, instance, source } = mount();
  await waitForFrame(frame, (text) => text.includes('alpha'));
  await press('g');
  await waitForFrame(frame, (text) => text.includes('Grant to alpha?'));
  await press('n');
  await waitForFrame(frame, (text) => text.includes('nothing granted') && !text.includes('Grant to alpha?'));
  assert.equal(source.changes, []);
  instance.unmount();
});

test('g on a plugin with nothing pending says so', async () => {
  const { frame, press, instance, source } = mount();
  await waitForFrame(frame, (text) => text.includes('beta'));
  await press(KEY.down);
  await press('g');
  await waitForFrame(frame, (text) => text.includes('beta has no pending requests to grant'));
  assert.equal(source.changes, []);
  instance.unmount();
});

test('r picks a grant from a list and revokes it after y', async () => {
  const { frame, press, instance, source } = mount();
  await waitForFrame(frame, (text) => text.includes('alpha'));
  await press('r');
  const list = await waitForFrame(frame, (text) => text.includes('Revoke which grant of alpha?'));
  assert.match(list, /› db:a/);
  assert.match(list, /^ {2}fs:out\/$/m);
  await press(KEY.down);
  await waitForFrame(frame, (text) => /› fs:out\//.test(text));
  await press(KEY.enter);
  const question = await waitForFrame(frame, (text) => text.includes('Revoke from alpha?'));
  const panel = question.slice(question.indexOf('Revoke from alpha?'));
  assert.match(panel, /^ {2}fs:out\/$/m);
  assert.not.match(panel, 'db:a');
  await press('y');
  await waitForFrame(frame, (text) => text.includes('revoked fs:out/ from alpha'));
  assert.equal(source.changes, [{ op: 'revoke', plugin: 'alpha', capabilities: ['fs:out/'] }]);
  instance.unmount();
});

test('r then Esc revokes nothing', async () => {
  const { frame, press, instance, source } = mount();
  await waitForFrame(frame, (text) => text.includes('alpha'));
  await press('r');
  await waitForFrame(frame, (text) => text.includes('Revoke which grant'));
  await press(KEY.escape);
  await waitForFrame(frame, (text) => text.includes('nothing revoked'));
  assert.equal(source.changes, []);
  instance.unmount();
});

test('? shows the help and any key closes it', async () => {
  const { frame, press, instance } = mount();
  await waitForFrame(frame, (text) => text.includes('alpha'));
  await press('?');
  const help = await waitForFrame(frame, (text) => text.includes('Keys'));
  assert.match(help, "grant the selected plugin's pending requests, after y/n");
  assert.match(help, 'stop the plugins (their stop hooks run) and quit');
  await press('x');
  await waitForFrame(frame, (text) => text.includes('Audit · all plugins'));
  instance.unmount();
});

test('q and Ctrl-C quit', async () => {
  const first = mount();
  await waitForFrame(first.frame, (text) => text.includes('alpha'));
  await first.press('q');
  assert.is(first.quits.count, 1);
  first.instance.unmount();

  const second = mount();
  await waitForFrame(second.frame, (text) => text.includes('alpha'));
  await second.press('?');
  await second.press(KEY.ctrlC);
  assert.is(second.quits.count, 1);
  second.instance.unmount();
});

test('frame fits 80 by 24', async () => {
  const { frame, instance, source } = mount();
  for (let index = 0; index < 100; index += 1) source.feed.push(makeEvent({ target: `row-${index}` }));
  const text = await waitForFrame(frame, (current) => current.includes('row-99'));
  const lines = text.split('\n');
  assert.ok(lines.length <= 23, `${lines.length} lines`);
  for (const line of lines) assert.ok(line.length <= 80, `line fits: ${line}`);
  assert.match(text, '… ');
  instance.unmount();
});

test.run();

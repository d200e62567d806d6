import { Box } from 'ink';
import { render } from 'ink-testing-library';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { HELP_ENTRIES } from '../../cli/dashboard/components/HelpPanel.js';

import { AuditFeed } from '../../cli/dashboard/audit-feed.js';
import { AuditPane } from '../../cli/dashboard/components/AuditPane.js';
import { Footer, KEYS_LINE } from '../../cli/dashboard/components/Footer.js';
import { Header } from '../../cli/dashboard/components/Header.js';
import { PluginsPane } from '../../cli/dashboard/components/PluginsPane.js';
import { makeEvent, makeStats, withoutStyles } from '../helpers/dashboard.js';

/** Renders at 80 columns; `lastFrame` returns the text without colours. */
const at80 = (node: React.ReactNode) => {
  const instance = render(<Box width={80}>{node}</Box>);
  return { ...instance, lastFrame: () => withoutStyles(instance.lastFrame() ?? '') };
};

test('header shows project, uptime, counts and rate', () => {
  const { lastFrame, unmount } = at80(
    <Header projectDir="/srv/app" uptimeMs={125_000} running={2} total={3} eventsPerSecond={1234} denied={7} paused={false} arrivedWhilePaused={0} />,
  );
  const frame = lastFrame()!;
  assert.match(frame, '/srv/app');
  assert.match(frame, 'up 2m05s');
  assert.match(frame, '2/3 running');
  assert.match(frame, '1,234 ev/s');
  assert.match(frame, '7 denied');
  assert.not.match(frame, 'PAUSED');
  unmount();
});

test('header shows a low rate with one decimal', () => {
  for (const [rate, shown] of [[0.5, '0.5 ev/s'], [0, '0.0 ev/s'], [9.96, '10.0 ev/s'], [12.4, '12 ev/s']] as const) {
    const { lastFrame, unmount } = at80(
      <Header projectDir="/srv/app" uptimeMs={1000} running={1} total={1} eventsPerSecond={rate} denied={0} paused={false} arrivedWhilePaused={0} />,
    );
    assert.match(lastFrame()!, shown, `rate ${rate}`);
    unmount();
  }
});

test('header shows the pause and the count of new events', () => {
  const { lastFrame, unmount } = at80(
    <Header projectDir="/srv/app" uptimeMs={1000} running={1} total={1} eventsPerSecond={0} denied={0} paused arrivedWhilePaused={4321} />,
  );
  assert.match(lastFrame()!, 'PAUSED, 4,321 new');
  unmount();
});

test('plugins pane shows state, usage, calls, grants and pending', () => {
  const plugins = [
    makeStats({
      name: 'weather',
      version: '1.2.0',
      granted: ['db:cache'],
      requested: ['db:cache', 'net:api.example.org'],
      pending: ['net:api.example.org'],
      calls: { db: { allowed: 12, denied: 0, error: 0 }, net: { allowed: 0, denied: 3, error: 0 } },
      usage: { cpu: 0.031, heapUsed: 12.5 * 1024 * 1024, heapTotal: 20 * 1024 * 1024, external: 1.5 * 1024 * 1024, arrayBuffers: 1024 },
    }),
    makeStats({ name: 'notes', phase: 'starting', state: 'loading' }),
    makeStats({ name: 'old', phase: 'refused', state: 'refused', reason: 'plugin "old" is not locked; to pin it run: plugrun lock old' }),
    makeStats({ name: 'boom', phase: 'crashed', state: 'crashed', reason: 'plugin "boom" exited (code 1)' }),
    makeStats({ name: 'done', phase: 'stopped', state: 'stopped' }),
  ];
  const { lastFrame, unmount } = at80(<PluginsPane plugins={plugins} selected={0} height={11} />);
  const frame = lastFrame()!;
  const lines = frame.split('\n');
  assert.match(lines[0]!, 'Plugins (5)');
  assert.match(lines[1]!, /› +● weather +1\.2\.0 +running +cpu 3\.1% heap 12\.5M ext  1\.5M db 12 net 3 ✗3/);
  assert.match(lines[2]!, /grants db:cache +pending net:api\.example\.org/);
  assert.match(lines[3]!, /◐ notes .* starting/);
  assert.match(lines[3]!, /cpu +- heap +- ext +-/);
  assert.match(lines[5]!, /⊘ old .* refused/);
  assert.match(lines[6]!, 'is not locked; to pin it run: plugrun lock old');
  assert.match(lines[7]!, /✖ boom .* crashed/);
  assert.match(lines[8]!, 'exited (code 1)');
  assert.match(lines[9]!, /■ done .* stopped/);
  for (const line of lines) assert.ok(line.length <= 80, `line fits 80 columns: ${line}`);
  unmount();
});

test('plugins pane scrolls to keep the selection shown', () => {
  const plugins = Array.from({ length: 6 }, (_, index) => makeStats({ name: `p${index}` }));
  const { lastFrame, unmount } = at80(<PluginsPane plugins={plugins} selected={5} height={5} />);
  const frame = lastFrame()!;
  assert.match(frame, '4 above, 0 below');
  assert.match(frame, /› .*p5/);
  assert.not.match(frame, 'p0');
  unmount();
});

test('audit pane shows rows with outcome, ms and needed capability', () => {
  const feed = new AuditFeed();
  feed.push(makeEvent({ plugin: 'notes', cap: 'db', op: 'insert', target: 'notes', outcome: 'allowed', ms: 0.42 }));
  feed.push(makeEvent({ plugin: 'weather', cap: 'net', op: 'fetch', target: 'https://api.example.org/', outcome: 'denied', ms: undefined, needed: 'net:api.example.org' }));
  feed.push(makeEvent({ plugin: 'notes', cap: 'fs', op: 'readFile', target: 'a.txt', outcome: 'error', error: { code: 'PLUGRUN_FAILED', message: 'file not found' } }));
  feed.push(makeEvent({ plugin: 'notes', cap: 'log', op: 'info', target: undefined, outcome: 'allowed', message: 'hello' }));
  const filter = { deniedOnly: false };
  const { lastFrame, unmount } = at80(<AuditPane view={feed.view(filter, 10)} filter={filter} paused={false} arrivedWhilePaused={0} height={12} />);
  const lines = lastFrame()!.split('\n');
  assert.match(lines[0]!, 'Audit · all plugins');
  assert.match(lines[2]!, /19:30:00 notes +db\.insert +allowed +0\.4ms notes/);
  assert.match(lines[3]!, /weather +net\.fetch +denied +needs net:api\.example\.org  h/);
  assert.match(lines[4]!, /fs\.readFile +error +0\.4ms a\.txt  PLUGRUN_FAILED: file/);
  assert.match(lines[5]!, /log\.info +allowed .*hello/);
  unmount();
});

test('audit pane counts the events it does not show', () => {
  const feed = new AuditFeed({ capacity: 20 });
  for (let index = 0; index < 1000; index += 1) feed.push(makeEvent({ target: `row-${index}` }));
  const filter = { deniedOnly: false };
  const view = feed.view(filter, 5);
  const { lastFrame, unmount } = at80(<AuditPane view={view} filter={filter} paused={false} arrivedWhilePaused={0} height={7} />);
  const frame = lastFrame()!;
  assert.match(frame, '… 995 more');
  assert.match(frame, 'row-999');
  assert.match(frame, 'row-995');
  assert.not.match(frame, 'row-994');
  unmount();
});

test('audit pane names its filter and the pause', () => {
  const filter = { plugin: 'weather', deniedOnly: true };
  const { lastFrame, unmount } = at80(<AuditPane view={{ rows: [], matching: 0 }} filter={filter} paused arrivedWhilePaused={12} height={5} />);
  const frame = lastFrame()!;
  assert.match(frame, 'Audit · weather · denied only');
  assert.match(frame, 'paused, 12 new events shown on resume');
  assert.match(frame, 'no events yet');
  unmount();
});

test('footer shows the latest notice and the keys', () => {
  const { lastFrame, unmount } = at80(<Footer notice={{ text: 'granted fs:out/ to writer', level: 'info', time: 0 }} />);
  const frame = lastFrame()!;
  assert.match(frame, 'granted fs:out/ to writer');
  assert.match(frame, KEYS_LINE);
  assert.ok(KEYS_LINE.length <= 80);
  unmount();
});

test('help lines fit 80 columns', () => {
  for (const [key, text] of HELP_ENTRIES) {
    assert.ok(12 + text.length <= 78, `the help line of ${key} is ${12 + text.length} columns wide`);
  }
});

test.run();

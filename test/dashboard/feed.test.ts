import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { AuditFeed } from '../../cli/dashboard/audit-feed.js';
import { RingBuffer } from '../../cli/dashboard/ring-buffer.js';
import { computeLayout } from '../../cli/dashboard/layout.js';
import { makeEvent } from '../helpers/dashboard.js';

test('ring buffer keeps the newest items in order', () => {
  const ring = new RingBuffer<number>(3);
  assert.equal(ring.latest(5), []);
  for (let index = 1; index <= 7; index += 1) ring.push(index);
  assert.equal(ring.latest(5), [5, 6, 7]);
  assert.equal(ring.latest(2), [6, 7]);
  assert.is(ring.total, 7);
  const copy = ring.clone();
  ring.push(8);
  assert.equal(copy.latest(3), [5, 6, 7]);
  assert.equal(ring.latest(3), [6, 7, 8]);
  assert.throws(() => new RingBuffer(0), /positive integer/);
});

test('feed stays bounded at any count of events', () => {
  const feed = new AuditFeed({ capacity: 100, pluginCapacity: 10 });
  for (let index = 0; index < 100_000; index += 1) {
    feed.push(makeEvent({ plugin: index % 2 === 0 ? 'a' : 'b', outcome: index % 10 === 0 ? 'denied' : 'allowed' }));
  }
  assert.is(feed.total, 100_000);
  assert.is(feed.denied, 10_000);
  const all = feed.view({ deniedOnly: false }, 1000);
  assert.is(all.rows.length, 100);
  assert.is(all.matching, 100_000);
  const a = feed.view({ plugin: 'a', deniedOnly: false }, 1000);
  assert.is(a.rows.length, 10);
  assert.is(a.matching, 50_000);
  const aDenied = feed.view({ plugin: 'a', deniedOnly: true }, 1000);
  assert.is(aDenied.matching, 10_000);
  assert.ok(aDenied.rows.every((event) => event.plugin === 'a' && event.outcome === 'denied'));
  assert.equal(feed.view({ plugin: 'nobody', deniedOnly: false }, 5), { rows: [], matching: 0 });
});

test('feed pause freezes the view and counts arrivals', () => {
  const feed = new AuditFeed({ capacity: 5 });
  feed.push(makeEvent({ target: 'first' }));
  feed.pause();
  for (let index = 0; index < 20; index += 1) feed.push(makeEvent({ target: `later-${index}` }));
  assert.ok(feed.paused);
  assert.is(feed.arrivedWhilePaused, 20);
  assert.equal(feed.view({ deniedOnly: false }, 5).rows.map((event) => event.target), ['first']);
  feed.resume();
  assert.is(feed.arrivedWhilePaused, 0);
  assert.equal(feed.view({ deniedOnly: false }, 2).rows.map((event) => event.target), ['later-18', 'later-19']);
});

test('feed rate counts events over the last second', () => {
  const feed = new AuditFeed();
  feed.sampleRate(0);
  for (let index = 0; index < 500; index += 1) feed.push(makeEvent());
  feed.sampleRate(500);
  for (let index = 0; index < 500; index += 1) feed.push(makeEvent());
  assert.is(feed.sampleRate(1000), 1000);
  assert.is(feed.sampleRate(2000), 0);
});

test('layout fits the terminal with one row to spare', () => {
  for (const [rows, plugins] of [[24, 4], [24, 40], [10, 1], [60, 3]] as const) {
    const layout = computeLayout(rows, plugins);
    assert.ok(layout.plugins + layout.audit + 3 <= Math.max(rows - 1, 9), `${rows} rows, ${plugins} plugins`);
    assert.ok(layout.audit >= 3);
  }
  assert.equal(computeLayout(24, 4), { plugins: 9, audit: 11 });
});

test.run();

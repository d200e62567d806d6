import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { formatEventLine } from '../../cli/event-line.js';
import type { AuditEvent } from '../../runtime/audit.js';
import { assertNeighbourUnaffected, eventsOf, logFields, runHostile } from './harness.js';

/** Starts a loopback HTTP server that records the path of each request. */
const startServer = async (handler: http.RequestListener = (_request, response) => response.end('ok')) => {
  const paths: string[] = [];
  const server = http.createServer((request, response) => {
    paths.push(request.url ?? '');
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    paths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

const writePorts = (fixture: string, ports: Record<string, number>) => (project: { write(relative: string, content: string): void }) => {
  project.write(`.plugrun/config/${fixture}.json`, `${JSON.stringify({ ports })}\n`);
};

test('net-address-spellings reach only the granted port', async () => {
  const fixture = 'net-address-spellings';
  const other = await startServer();
  const allowed = await startServer();
  try {
    const result = await runHostile({
      fixtures: [fixture],
      lockfile: (lockfile) => {
        lockfile.plugins[fixture].grants = [`net:127.0.0.1:${allowed.port}`];
      },
      prepare: writePorts(fixture, { allowed: allowed.port, other: other.port }),
      until: (events) => logFields(events, fixture, 'address results') !== undefined,
    });
    const found = logFields(result.events, fixture, 'address results')!;
    assert.is(found.granted, 'status 200');
    for (const [name, outcome] of Object.entries(found)) {
      if (name !== 'granted') assert.ok(outcome === 'PLUGRUN_DENIED' || outcome === 'PLUGRUN_INVALID', `${name}: ${outcome}`);
    }
    assert.is(found.localhostName, 'PLUGRUN_DENIED');
    assert.is(found.grantedHostOtherPort, 'PLUGRUN_DENIED');
    assert.equal(other.paths, [], 'the other server received no request');
    assert.equal(allowed.paths, ['/ok'], 'only the granted request reached the allowed server');
    const denied = eventsOf(result.events, fixture).filter((event) => event.outcome === 'denied');
    assert.ok(denied.length >= 8, `each denial has its event (${denied.length})`);
    assertNeighbourUnaffected(result);
  } finally {
    await other.close();
    await allowed.close();
  }
});

test('net-redirect-tricks are checked at each hop', async () => {
  const fixture = 'net-redirect-tricks';
  const other = await startServer();
  const locations: Record<string, string> = {
    '/to-other-port': `http://127.0.0.1:${other.port}/stolen`,
    '/to-localhost': `http://localhost:${other.port}/stolen`,
    '/to-ipv6': `http://[::1]:${other.port}/stolen`,
    '/to-mapped': `http://[::ffff:127.0.0.1]:${other.port}/stolen`,
    '/relative-then-away': '/to-other-port',
  };
  const allowed = await startServer((request, response) => {
    response.writeHead(302, { location: locations[request.url ?? ''] ?? '/' }).end();
  });
  try {
    const result = await runHostile({
      fixtures: [fixture],
      lockfile: (lockfile) => {
        lockfile.plugins[fixture].grants = [`net:127.0.0.1:${allowed.port}`];
      },
      prepare: writePorts(fixture, { allowed: allowed.port }),
      until: (events) => logFields(events, fixture, 'redirect results') !== undefined,
    });
    const found = logFields(result.events, fixture, 'redirect results')!;
    for (const [name, outcome] of Object.entries(found)) assert.is(outcome, 'PLUGRUN_DENIED', name);
    assert.equal(other.paths, [], 'no redirect reached the other server');
    const denied = eventsOf(result.events, fixture).filter((event) => event.outcome === 'denied');
    assert.is(denied.length, 5, 'one denied event per redirected request');
    assertNeighbourUnaffected(result);
  } finally {
    await other.close();
    await allowed.close();
  }
});

test('db-file-level-sql touches no file', async () => {
  const fixture = 'db-file-level-sql';
  let stateFiles: string[] = [];
  const result = await runHostile({
    fixtures: [fixture],
    lockfile: (lockfile) => {
      lockfile.plugins[fixture].grants = ['db:notes'];
    },
    until: (events) => logFields(events, fixture, 'sql results') !== undefined,
    whileRunning: (project) => {
      stateFiles = fs.readdirSync(project.dir, { recursive: true }).map(String).filter((file) => /stolen|planted/.test(file));
    },
  });
  const found = logFields(result.events, fixture, 'sql results')!;
  for (const [name, outcome] of Object.entries(found)) {
    assert.ok(outcome === 'PLUGRUN_DENIED' || outcome === 'PLUGRUN_INVALID' || outcome === 'PLUGRUN_FAILED', `${name}: ${outcome}`);
  }
  assert.is(found.attach, 'PLUGRUN_INVALID');
  assert.is(found.vacuumInto, 'PLUGRUN_INVALID');
  assert.is(found.writableSchema, 'PLUGRUN_INVALID');
  assert.equal(stateFiles, [], 'no file was written outside the database');
  const errors = eventsOf(result.events, fixture).filter((event) => event.cap === 'db' && event.op === 'query' && event.outcome !== 'allowed');
  assert.is(errors.length, Object.keys(found).length, 'each statement has its event');
  assertNeighbourUnaffected(result);
});

// Raw controls a terminal would act on: ESC, BEL, CR and the bidi overrides.
const RAW_CONTROL = /[\u001b\u0007\r\u202e\u202c]/;

test('terminal-escape-injection is escaped everywhere', async () => {
  const fixture = 'terminal-escape-injection';
  const result = await runHostile({
    fixtures: [fixture],
    until: (events) => events.some((event) => event.plugin === fixture && event.op === 'start'),
  });
  const ofFixture = eventsOf(result.events, fixture);
  assert.is(ofFixture.find((event) => event.op === 'start')?.error.code, 'PLUGRUN_FAILED');
  assert.is(ofFixture.find((event) => event.outcome === 'denied')?.needed, 'net:exfil.invalid');
  assert.match(ofFixture.find((event) => event.cap === 'log')!.message, '\u001b[2J', 'the audit log keeps the text as it was');
  for (const event of ofFixture) {
    for (const color of [false, true]) {
      const line = formatEventLine(event as AuditEvent, color).replace(/\u001b\[\d+m/g, '');
      assert.not.match(line, RAW_CONTROL, `terminal line: ${JSON.stringify(line)}`);
    }
  }
  assert.ok(result.stderr.includes('\\u001b[2J'), 'stderr shows the escape as text');
  assert.not.match(result.stderr, RAW_CONTROL);
  assertNeighbourUnaffected(result);
});

test('self-modifying-code cannot rewrite code or lockfile', async () => {
  const fixture = 'self-modifying-code';
  const before: Record<string, string> = {};
  const after: Record<string, string> = {};
  const watched = ['plugins/self-modifying-code/index.js', 'plugins/self-modifying-code/plugin.json', 'plugin.lock.json'];
  const result = await runHostile({
    fixtures: [fixture],
    lockfile: (lockfile) => {
      lockfile.plugins[fixture].grants = ['fs:exports/'];
    },
    prepare: (project) => {
      for (const file of watched) before[file] = project.read(file);
    },
    until: (events) => logFields(events, fixture, 'rewrite results') !== undefined,
    whileRunning: (project) => {
      for (const file of watched) after[file] = project.read(file);
    },
  });
  const found = logFields(result.events, fixture, 'rewrite results')!;
  for (const [name, outcome] of Object.entries(found)) {
    if (name === 'lockfileEncoded') continue;
    assert.is(outcome, 'PLUGRUN_INVALID', name);
  }
  // Percent signs are ordinary characters in a file name, so this one stays inside exports/.
  assert.ok(found.lockfileEncoded === 'written' || found.lockfileEncoded === 'PLUGRUN_INVALID', found.lockfileEncoded);
  assert.equal(after, before, 'code, manifest and lockfile are unchanged');
  assert.ok(eventsOf(result.events, fixture).filter((event) => event.cap === 'fs' && event.outcome === 'error').length >= 6);
  assertNeighbourUnaffected(result);
});

test('code-changed-after-lock never runs', async () => {
  const fixture = 'code-changed-after-lock';
  const result = await runHostile({
    fixtures: [fixture],
    prepare: (project) => {
      fs.appendFileSync(path.join(project.dir, 'plugins', fixture, 'index.js'), 'export const planted = true;\n');
    },
    until: (events) => events.some((event) => event.plugin === fixture && event.op === 'load'),
  });
  const refusal = eventsOf(result.events, fixture).find((event) => event.op === 'load')!;
  assert.is(refusal.outcome, 'error');
  assert.is(refusal.error.code, 'PLUGRUN_INVALID');
  assert.match(refusal.error.message, 'changed since it was locked');
  assert.not.ok(logFields(result.events, fixture, 'locked code ran'), 'no code of the plugin ran');
  assertNeighbourUnaffected(result, 3);
});

test.run();

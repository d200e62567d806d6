import type http from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSocketConnector } from '../../capabilities/net-pinning.js';
import { expectRejection } from './helpers.js';
import { makeNetHarness, netEvents, recordingConnector, startServer, tableResolver } from './net-loopback.js';

/** Responds to each path in a table of redirects with its redirect, and echoes the request for every other path. */
const routes = (redirects: Record<string, readonly [number, string]>): http.RequestListener => (request, response) => {
  const path = (request.url ?? '/').split('?')[0]!;
  const redirect = redirects[path];
  if (redirect !== undefined) {
    response.writeHead(redirect[0], { location: redirect[1] });
    response.end('moved');
    return;
  }

  let body = '';
  request.setEncoding('utf8');
  request.on('data', (chunk: string) => (body += chunk));
  request.on('end', () => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ method: request.method, path: request.url, body, headers: request.headers }));
  });
};

const loopback = () => ({ resolver: tableResolver({}), connector: makeSocketConnector() });

test('redirect to ungranted server is denied', async () => {
  const other = await startServer(routes({}), { host: '127.0.0.2' });
  const server = await startServer(routes({ '/start': [302, '/next?step=2'], '/next': [307, `${other.origin}/final?token=SECRET`] }));
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`], transport: loopback() });
  try {
    const error = await expectRejection(harness.call('fetch', `${server.origin}/start`), 'PLUGRUN_DENIED');
    assert.match(error.message, `plugrun grant probe net:127.0.0.2:${other.port}`);
    assert.is(other.connections, 0, 'the ungranted server was never reached');
    assert.equal(server.requests, ['GET /start', 'GET /next?step=2']);

    const [hop, denial, call] = netEvents(harness);
    assert.is(netEvents(harness).length, 3);
    assert.is(hop!.target, `${server.origin}/next`);
    assert.is(hop!.outcome, 'allowed');
    assert.is(hop!.hop, 1);
    assert.is(hop!.status, 307);
    assert.equal(hop!.query, ['step']);

    assert.is(denial!.outcome, 'denied', 'the hop has its own denied event');
    assert.is(denial!.target, `${other.origin}/final`);
    assert.is(denial!.needed, `net:127.0.0.2:${other.port}`);

    assert.is(call!.outcome, 'error');
    assert.is(call!.target, `${server.origin}/start`);
    assert.is(call!.status, 302, 'the call event records the first response');
    assert.is(call!.redirects, 2);
    assert.is(call!.error.code, 'PLUGRUN_DENIED');
    assert.not.match(harness.auditText(), 'SECRET');
  } finally {
    await harness.close();
    await server.close();
    await other.close();
  }
});

test('redirect to granted server is followed', async () => {
  const other = await startServer(routes({}), { host: '127.0.0.2' });
  const server = await startServer(routes({ '/start': [301, `${other.origin}/final`] }));
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`, `net:127.0.0.2:${other.port}`], transport: loopback() });
  try {
    const body = await harness.call('json', `${server.origin}/start`);
    assert.is(body.path, '/final');
    const events = netEvents(harness);
    assert.equal(events.map((event) => [event.target, event.outcome, event.status, event.hop]), [
      [`${other.origin}/final`, 'allowed', 200, 1],
      [`${server.origin}/start`, 'allowed', 301, undefined],
    ]);
  } finally {
    await harness.close();
    await server.close();
    await other.close();
  }
});

test('redirect to hostile name is blocked', async () => {
  const server = await startServer(routes({ '/start': [302, 'http://evil.example/'] }));
  const victim = await startServer(routes({}));
  const resolver = tableResolver({ 'evil.example': ['127.0.0.1'] });
  const harness = makeNetHarness({
    grants: [`net:127.0.0.1:${server.port}`, 'net:evil.example'],
    transport: { resolver, connector: makeSocketConnector() },
  });
  try {
    await expectRejection(harness.call('fetch', `${server.origin}/start`), 'PLUGRUN_DENIED');
    assert.equal(resolver.lookups, ['evil.example']);
    assert.is(victim.connections, 0);
    const hop = netEvents(harness).find((event) => event.hop === 1);
    assert.is(hop?.outcome, 'error');
    assert.is(hop?.error.code, 'PLUGRUN_DENIED');
  } finally {
    await harness.close();
    await server.close();
    await victim.close();
  }
});

test('redirect across origins drops credentials', async () => {
  const other = await startServer(routes({}), { host: '127.0.0.2' });
  const server = await startServer(routes({ '/same': [302, '/echo'], '/cross': [302, `${other.origin}/echo`] }));
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`, `net:127.0.0.2:${other.port}`], transport: loopback() });
  const headers = { Authorization: 'Bearer SECRET', Cookie: 'session=SECRET', 'X-Api-Key': 'SECRET', 'X-Trace': 'kept' };
  try {
    const same = await harness.call('json', `${server.origin}/same`, { headers });
    assert.is(same.headers.authorization, 'Bearer SECRET', 'same origin keeps credentials');
    assert.is(same.headers['x-api-key'], 'SECRET');

    const cross = await harness.call('json', `${server.origin}/cross`, { headers });
    assert.is(cross.headers.authorization, undefined);
    assert.is(cross.headers.cookie, undefined);
    assert.is(cross.headers['x-api-key'], undefined);
    assert.is(cross.headers['x-trace'], 'kept');
  } finally {
    await harness.close();
    await server.close();
    await other.close();
  }
});

test('redirect methods follow fetch', async () => {
  const server = await startServer(routes({ '/see-other': [303, '/echo'], '/found': [302, '/echo'], '/temporary': [307, '/echo'], '/permanent': [308, '/echo'] }));
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`], transport: loopback() });
  const post = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"a":1}' };
  try {
    const cases: readonly (readonly [string, string, string])[] = [
      ['/see-other', 'GET', ''],
      ['/found', 'GET', ''],
      ['/temporary', 'POST', '{"a":1}'],
      ['/permanent', 'POST', '{"a":1}'],
    ];
    for (const [path, method, body] of cases) {
      const echoed = await harness.call('json', `${server.origin}${path}`, post);
      assert.is(echoed.method, method, path);
      assert.is(echoed.body, body, path);
      assert.is(echoed.headers['content-type'], body === '' ? undefined : 'application/json', path);
    }
  } finally {
    await harness.close();
    await server.close();
  }
});

test('redirect loop hits limit', async () => {
  const server = await startServer(routes({ '/loop': [302, '/loop'] }));
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`], transport: loopback(), limits: { netMaxRedirects: 3 } });
  try {
    const error = await expectRejection(harness.call('fetch', `${server.origin}/loop`), 'PLUGRUN_LIMIT');
    assert.match(error.message, 'more than 3 redirects, the netMaxRedirects limit');
    assert.is(server.requests.length, 4, 'the first request and three hops');
    assert.is(netEvents(harness).filter((event) => event.hop !== undefined).length, 3);
  } finally {
    await harness.close();
    await server.close();
  }
});

test('default redirect limit is five', async () => {
  const server = await startServer(routes({ '/loop': [302, '/loop'] }));
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`], transport: loopback() });
  try {
    await expectRejection(harness.call('fetch', `${server.origin}/loop`), 'PLUGRUN_LIMIT');
    assert.is(server.requests.length, 6);
  } finally {
    await harness.close();
    await server.close();
  }
});

test('redirect to bad location is rejected', async () => {
  const server = await startServer(routes({
    '/ftp': [302, 'ftp://127.0.0.1/file'],
    '/userinfo': [302, 'http://user:SECRET@127.0.0.1/'],
    '/file': [302, 'file:///etc/passwd'],
  }));
  const connector = recordingConnector();
  const real = makeSocketConnector();
  const harness = makeNetHarness({
    grants: [`net:127.0.0.1:${server.port}`, 'net:127.0.0.1'],
    transport: { resolver: tableResolver({}), connector: (target) => (target.port === server.port ? real(target) : connector(target)) },
  });
  try {
    for (const path of ['/ftp', '/userinfo', '/file']) {
      const error = await expectRejection(harness.call('fetch', `${server.origin}${path}`), 'PLUGRUN_INVALID');
      assert.match(error.message, 'redirect location', path);
    }
    assert.equal(connector.targets, [], 'no hop was sent');
    assert.not.match(harness.auditText(), 'SECRET');
  } finally {
    await harness.close();
    await server.close();
  }
});

test('redirect without location is returned', async () => {
  const server = await startServer((_request, response) => {
    response.writeHead(302);
    response.end('no location');
  });
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`], transport: loopback() });
  try {
    const response = await harness.call('fetch', `${server.origin}/`);
    assert.is(response.status, 302);
    assert.is(response.ok, false);
    assert.is(response.text, 'no location');
  } finally {
    await harness.close();
    await server.close();
  }
});

test.run();

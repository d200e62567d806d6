import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REDACTED, isCredentialHeader, queryNames, redactHeaders } from '../../capabilities/net-audit.js';
import { makeSocketConnector } from '../../capabilities/net-pinning.js';
import { expectRejection } from './helpers.js';
import { makeNetHarness, netEvents, startServer, tableResolver } from './net-loopback.js';

const loopback = () => ({ resolver: tableResolver({}), connector: makeSocketConnector() });

test('credential header names', () => {
  const credentials = ['Authorization', 'Proxy-Authorization', 'Cookie', 'Set-Cookie', 'X-Api-Key', 'api_key', 'X-Auth-Token', 'X-Amz-Security-Token', 'Client-Secret', 'X-Session-Id', 'WWW-Authenticate'];
  for (const name of credentials) assert.ok(isCredentialHeader(name), name);
  for (const name of ['Accept', 'Content-Type', 'User-Agent', 'X-Trace', 'If-None-Match', 'ETag']) assert.not.ok(isCredentialHeader(name), name);
});

test('redaction cuts long values and URLs', () => {
  const redacted = redactHeaders([
    ['Location', 'https://user:pw@example.com/cb?code=SECRET#frag'],
    ['X-Long', 'v'.repeat(500)],
    ['Cookie', 'a=SECRET'],
  ]);
  assert.is(redacted.location, 'https://***@example.com/cb');
  assert.ok(redacted['x-long']!.length < 250, 'long value is cut');
  assert.match(redacted['x-long']!, '(500 characters)');
  assert.is(redacted.cookie, REDACTED);

  const many = redactHeaders(Array.from({ length: 80 }, (_, index) => [`x-h${index}`, 'v'] as const));
  assert.is(Object.keys(many).length, 51, 'fifty headers and a marker');
});

test('query names keep no values', () => {
  assert.equal(queryNames(new URL('https://a.example/p?key=SECRET&page=2&key=again&flag')), ['key', 'page', 'flag']);
  assert.is(queryNames(new URL('https://a.example/p')), undefined);
});

test('audit file redacts headers', async () => {
  const server = await startServer((_request, response) => {
    response.setHeader('set-cookie', ['session=SECRET; HttpOnly', 'other=SECRET']);
    response.setHeader('x-request-id', 'r-1');
    response.setHeader('content-type', 'application/json');
    response.end('{"ok":true}');
  });
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`], transport: loopback() });
  try {
    const response = await harness.call('fetch', `${server.origin}/v1/items?api_key=SECRET&page=2`, {
      method: 'POST',
      headers: { Authorization: 'Bearer SECRET', Cookie: 'sid=SECRET', 'X-Api-Key': 'SECRET', 'X-Client-Token': 'SECRET', Accept: 'application/json' },
      body: '{"password":"SECRET"}',
    });
    assert.is(response.status, 200);
    assert.is(response.headers['set-cookie'], 'session=SECRET; HttpOnly, other=SECRET', 'the plugin sees its own response');

    const text = harness.auditText();
    assert.not.match(text, 'SECRET', 'no secret reaches the audit file');

    const [event] = netEvents(harness);
    assert.is(event?.outcome, 'allowed');
    assert.is(event?.target, `${server.origin}/v1/items`);
    assert.is(event?.method, 'POST');
    assert.equal(event?.query, ['api_key', 'page']);
    assert.equal(event?.requestHeaders, {
      authorization: REDACTED,
      cookie: REDACTED,
      'x-api-key': REDACTED,
      'x-client-token': REDACTED,
      accept: 'application/json',
      'user-agent': 'plugrun',
      'content-type': 'text/plain;charset=UTF-8',
    });
    assert.is(event?.requestBytes, 21);
    assert.is(event?.responseHeaders['set-cookie'], REDACTED);
    assert.is(event?.responseHeaders['x-request-id'], 'r-1');
    assert.is(event?.status, 200);
    assert.is(event?.bytes, 11);
    assert.type(event?.ms, 'number');
  } finally {
    await harness.close();
    await server.close();
  }
});

test('json parses and rejects failures', async () => {
  const server = await startServer((request, response) => {
    if (request.url?.startsWith('/missing')) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{"error":"not found"}');
      return;
    }
    if (request.url === '/broken') {
      response.end('{"a":');
      return;
    }
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ accept: request.headers.accept, items: [1, 2] }));
  });
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`], transport: loopback() });
  try {
    assert.equal(await harness.call('json', `${server.origin}/items`), { accept: 'application/json', items: [1, 2] });

    const missing = await expectRejection(harness.call('json', `${server.origin}/missing?key=SECRET`), 'PLUGRUN_FAILED');
    assert.is(missing.message, `ctx.net.json: GET ${server.origin}/missing returned HTTP status 404`);
    const broken = await expectRejection(harness.call('json', `${server.origin}/broken`), 'PLUGRUN_FAILED');
    assert.match(broken.message, 'is not valid JSON');

    const failedEvent = netEvents(harness).find((event) => event.target === `${server.origin}/missing`);
    assert.is(failedEvent?.outcome, 'error');
    assert.is(failedEvent?.status, 404, 'the error event carries the status');

    const notFound = await harness.call('fetch', `${server.origin}/missing`);
    assert.is(notFound.status, 404, 'fetch returns a non-2xx response');
    assert.is(notFound.ok, false);
  } finally {
    await harness.close();
    await server.close();
  }
});

test('fetch decodes text and handles HEAD', async () => {
  const server = await startServer((request, response) => {
    response.setHeader('content-type', 'text/plain; charset=utf-8');
    response.end(request.method === 'HEAD' ? undefined : Buffer.from([0x68, 0xc3, 0xa9, 0xff]));
  });
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`], transport: loopback() });
  try {
    const response = await harness.call('fetch', `${server.origin}/`);
    assert.is(response.text, 'hé\ufffd', 'invalid UTF-8 is replaced');
    const head = await harness.call('fetch', `${server.origin}/`, { method: 'HEAD' });
    assert.is(head.status, 200);
    assert.is(head.text, '');
    const bytes = await harness.call('fetch', `${server.origin}/`, { method: 'PUT', body: new Uint8Array([1, 2, 3]) });
    assert.is(bytes.status, 200);
  } finally {
    await harness.close();
    await server.close();
  }
});

test('refused connection fails clearly', async () => {
  // Bind and close a server to get a loopback port where nothing listens.
  const closed = await startServer(() => undefined);
  await closed.close();
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${closed.port}`], transport: loopback() });
  try {
    const error = await expectRejection(harness.call('fetch', `${closed.origin}/?key=SECRET`), 'PLUGRUN_FAILED');
    assert.match(error.message, `could not connect to "127.0.0.1" port ${closed.port}`);
    assert.match(error.message, 'ECONNREFUSED');
    assert.not.match(error.message, 'SECRET');
  } finally {
    await harness.close();
  }
});

test('revoked grant stops next call', async () => {
  const server = await startServer((_request, response) => response.end('ok'));
  const grant = `net:127.0.0.1:${server.port}`;
  const harness = makeNetHarness({ grants: [grant], transport: loopback() });
  try {
    await harness.call('fetch', `${server.origin}/`);
    harness.setGrants([]);
    await expectRejection(harness.call('fetch', `${server.origin}/`), 'PLUGRUN_DENIED');
    assert.is(server.requests.length, 1);
  } finally {
    await harness.close();
    await server.close();
  }
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeNetCapability } from '../../capabilities/net.js';
import type { Need } from '../../capabilities/types.js';
import { check, expectCode, expectRejection, makeTestEnv, operationOf } from './helpers.js';

const net = makeNetCapability(makeTestEnv(undefined, { callTimeoutMs: 5000 }));
const fetch = operationOf(net.operations, 'fetch');
const json = operationOf(net.operations, 'json');

/** URLs and the need and audit target they produce. */
const ACCEPTED: readonly (readonly [string, Need, string])[] = [
  ['https://api.example.org/v1/items', { kind: 'net', host: 'api.example.org', hostType: 'name', port: 443 }, 'https://api.example.org/v1/items'],
  ['http://api.example.org/', { kind: 'net', host: 'api.example.org', hostType: 'name', port: 80 }, 'http://api.example.org/'],
  ['https://API.Example.ORG:8443/x', { kind: 'net', host: 'api.example.org', hostType: 'name', port: 8443 }, 'https://api.example.org:8443/x'],
  ['https://api.example.org:443/', { kind: 'net', host: 'api.example.org', hostType: 'name', port: 443 }, 'https://api.example.org/'],
  ['https://example.com./a', { kind: 'net', host: 'example.com', hostType: 'name', port: 443 }, 'https://example.com./a'],
  ['https://bücher.example/', { kind: 'net', host: 'xn--bcher-kva.example', hostType: 'name', port: 443 }, 'https://xn--bcher-kva.example/'],
  ['http://localhost:3000/health', { kind: 'net', host: 'localhost', hostType: 'name', port: 3000 }, 'http://localhost:3000/health'],
  ['http://127.0.0.1:8080/', { kind: 'net', host: '127.0.0.1', hostType: 'ipv4', port: 8080 }, 'http://127.0.0.1:8080/'],
  ['http://0x7f.1/', { kind: 'net', host: '127.0.0.1', hostType: 'ipv4', port: 80 }, 'http://127.0.0.1/'],
  ['http://2130706433/', { kind: 'net', host: '127.0.0.1', hostType: 'ipv4', port: 80 }, 'http://127.0.0.1/'],
  ['http://1.2.3.4./', { kind: 'net', host: '1.2.3.4', hostType: 'ipv4', port: 80 }, 'http://1.2.3.4/'],
  ['http://[::1]:9000/', { kind: 'net', host: '::1', hostType: 'ipv6', port: 9000 }, 'http://[::1]:9000/'],
  ['http://[0:0:0:0:0:0:0:1]/', { kind: 'net', host: '::1', hostType: 'ipv6', port: 80 }, 'http://[::1]/'],
  ['http://[::ffff:127.0.0.1]/', { kind: 'net', host: '::ffff:7f00:1', hostType: 'ipv6', port: 80 }, 'http://[::ffff:7f00:1]/'],
];

/** Values rejected as URLs, and a part of the message. */
const REJECTED_URLS: readonly (readonly [unknown, string])[] = [
  [undefined, 'must be a string, got undefined'],
  [new URL('https://example.com/'), 'must be a string, got a URL'],
  [{ href: 'https://example.com/' }, 'must be a string, got an object'],
  ['', 'is not a valid absolute URL'],
  ['/v1/items', 'is not a valid absolute URL'],
  ['example.com/v1', 'is not a valid absolute URL'],
  ['https://', 'is not a valid absolute URL'],
  ['http://exa mple.com/', 'is not a valid absolute URL'],
  ['http://[::1/', 'is not a valid absolute URL'],
  ['http://example.com:99999/', 'is not a valid absolute URL'],
  ['ftp://example.com/file', 'uses ftp:'],
  ['file:///etc/passwd', 'uses file:'],
  ['ws://example.com/', 'uses ws:'],
  ['javascript:alert(1)', 'uses javascript:'],
  ['data:text/plain,hi', 'uses data:'],
  ['https://user@example.com/', 'contains user info'],
  ['https://user:secret@example.com/', 'contains user info'],
  ['https://:secret@example.com/', 'contains user info'],
  ['https://api.example.org@evil.example/', 'contains user info'],
  ['http://example.com:0/', 'port 0'],
  ['http://a$b.example/', 'cannot be granted'],
  ['http://a(b).example/', 'cannot be granted'],
  ['http://a;b.example/', 'cannot be granted'],
  ['http://a*b.example/', 'cannot be granted'],
  [`https://example.com/${'a'.repeat(9000)}`, 'longer than 8192'],
];

test('net check accepts URLs', () => {
  for (const [url, need, target] of ACCEPTED) {
    const checked = check(fetch, url);
    assert.equal(checked.need, need, url);
    assert.is(checked.target, target, url);
  }
});

test('net check rejects bad URLs', () => {
  for (const operation of [fetch, json]) {
    for (const [url, problem] of REJECTED_URLS) {
      const label = String(url).slice(0, 60);
      const error = expectCode(() => check(operation, url), 'PLUGRUN_INVALID', label);
      assert.ok(error.message.includes(problem), `${label}: "${error.message}" lacks "${problem}"`);
    }
  }
});

test('net target drops query and fragment', () => {
  const checked = check(fetch, 'https://api.example.org/v1?key=SECRET#token=SECRET');
  assert.is(checked.target, 'https://api.example.org/v1');
  assert.not.ok(JSON.stringify(checked.audit).includes('SECRET'));
  assert.is((checked.args as { url: string }).url, 'https://api.example.org/v1?key=SECRET');
});

test('net errors hide secrets', () => {
  const userInfo = expectCode(() => check(fetch, 'https://me:SECRET@example.com/?key=SECRET'), 'PLUGRUN_INVALID');
  assert.not.ok(userInfo.message.includes('SECRET'), userInfo.message);

  const protocol = expectCode(() => check(fetch, 'ftp://example.com/file?key=SECRET'), 'PLUGRUN_INVALID');
  assert.not.ok(protocol.message.includes('SECRET'), protocol.message);

  const unparsable = expectCode(() => check(fetch, 'http://exa mple.com/?key=SECRET'), 'PLUGRUN_INVALID');
  assert.not.ok(unparsable.message.includes('SECRET'), unparsable.message);
  assert.is(unparsable.cause, undefined);
});

test('net options are checked', () => {
  const checked = check(fetch, 'https://example.com/', {
    method: 'post',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer x' },
    body: '{}',
    timeoutMs: 5000,
  });
  assert.equal(checked.args, {
    url: 'https://example.com/',
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer x' },
    body: '{}',
    timeoutMs: 5000,
  });
  assert.equal(checked.audit, { method: 'POST' });

  const bytes = check(fetch, 'https://example.com/', { method: 'PUT', body: new Uint8Array([1]) });
  assert.equal((bytes.args as { body: unknown }).body, new Uint8Array([1]));

  const defaults = check(json, 'https://example.com/');
  assert.equal(defaults.args, { url: 'https://example.com/', method: 'GET', headers: {}, body: undefined, timeoutMs: undefined });
});

test('net rejects bad options', () => {
  const cases: readonly (readonly [unknown, string])[] = [
    ['GET', 'expected object'],
    [{ method: 'CONNECT' }, 'method'],
    [{ method: 'TRACE' }, 'method'],
    [{ method: 42 }, 'method'],
    [{ redirect: 'manual' }, 'Unrecognized key'],
    [{ headers: { 'X-A': 1 } }, 'headers'],
    [{ headers: { 'X-A': 'a\r\nHost: evil.example' } }, 'CR or LF'],
    [{ headers: { 'Bad Name': 'x' } }, 'invalid header name'],
    [{ headers: { Host: 'evil.example' } }, 'must not set Host'],
    [{ headers: { 'content-length': '1' } }, 'must not set content-length'],
    [{ headers: { 'Transfer-Encoding': 'chunked' } }, 'must not set Transfer-Encoding'],
    [{ headers: [['X-A', 'b']] }, 'headers'],
    [{ body: { a: 1 } }, 'body'],
    [{ body: 'x' }, 'not allowed with GET'],
    [{ method: 'HEAD', body: 'x' }, 'not allowed with HEAD'],
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ timeoutMs: 1.5 }, 'timeoutMs'],
    [{ timeoutMs: 5001 }, 'timeoutMs'],
  ];
  for (const [options, problem] of cases) {
    const label = JSON.stringify(options);
    const error = expectCode(() => check(fetch, 'https://example.com/', options), 'PLUGRUN_INVALID', label);
    assert.ok(error.message.includes(problem), `${label}: "${error.message}" lacks "${problem}"`);
  }
  expectCode(() => check(fetch, 'https://example.com/', {}, 'extra'), 'PLUGRUN_INVALID');
});

test('net rejects proto header key', () => {
  const headers = JSON.parse('{"__proto__": "x"}');
  expectCode(() => check(fetch, 'https://example.com/', { headers }), 'PLUGRUN_INVALID');
});

test('net perform is not implemented', async () => {
  const error = await expectRejection(fetch.perform({}), 'PLUGRUN_FAILED');
  assert.ok(error.message.includes('ctx.net.fetch is not implemented yet'), error.message);
  const jsonError = await expectRejection(json.perform({}), 'PLUGRUN_FAILED');
  assert.ok(jsonError.message.includes('ctx.net.json is not implemented yet'), jsonError.message);
  await net.teardown();
});

test.run();

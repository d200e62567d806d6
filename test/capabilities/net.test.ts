import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GrantSet, neededCapability } from '../../capabilities/grant-set.js';
import { makeNetCapability, reachesPrivateAddresses } from '../../capabilities/net.js';
import type { NetCapability, Need } from '../../capabilities/types.js';
import { check, expectCode, makeTestEnv, operationOf } from './helpers.js';

const net = makeNetCapability(makeTestEnv(undefined, { netMaxTimeoutMs: 5000 }));
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
  ];
  for (const [options, problem] of cases) {
    const label = JSON.stringify(options);
    const error = expectCode(() => check(fetch, 'https://example.com/', options), 'PLUGRUN_INVALID', label);
    assert.ok(error.message.includes(problem), `${label}: "${error.message}" lacks "${problem}"`);
  }
  expectCode(() => check(fetch, 'https://example.com/', {}, 'extra'), 'PLUGRUN_INVALID');
});

test('net timeout over the limit names it', () => {
  const error = expectCode(() => check(fetch, 'https://example.com/', { timeoutMs: 5001 }), 'PLUGRUN_LIMIT');
  assert.ok(error.message.includes('over the netMaxTimeoutMs limit of 5000'), error.message);
});

test('net rejects proto header key', () => {
  const headers = JSON.parse('{"__proto__": "x"}');
  expectCode(() => check(fetch, 'https://example.com/', { headers }), 'PLUGRUN_INVALID');
});

test('net request body over limit', () => {
  const small = makeNetCapability(makeTestEnv(undefined, { netMaxRequestBytes: 4 }));
  const post = operationOf(small.operations, 'fetch');
  check(post, 'https://example.com/', { method: 'POST', body: 'four' });
  const text = expectCode(() => check(post, 'https://example.com/', { method: 'POST', body: 'fünf' }), 'PLUGRUN_LIMIT');
  assert.match(text.message, 'netMaxRequestBytes');
  expectCode(() => check(post, 'https://example.com/', { method: 'POST', body: new Uint8Array(5) }), 'PLUGRUN_LIMIT');
});

test('net timeout is capped by netMaxTimeoutMs', () => {
  const defaults = makeNetCapability(makeTestEnv());
  const operation = operationOf(defaults.operations, 'fetch');
  assert.is((check(operation, 'https://example.com/', { timeoutMs: 60_000 }).args as { timeoutMs: number }).timeoutMs, 60_000);
  const error = expectCode(() => check(operation, 'https://example.com/', { timeoutMs: 60_001 }), 'PLUGRUN_LIMIT');
  assert.match(error.message, 'timeoutMs');
});

/** Grants, URLs, and whether the grant covers the URL's need. */
const COVERAGE: readonly (readonly [string, string, boolean])[] = [
  // A name grant covers that name on any port, and only by name.
  ['net:api.example.com', 'https://api.example.com/', true],
  ['net:api.example.com', 'http://api.example.com:8080/', true],
  ['net:api.example.com', 'http://API.Example.com./', true],
  ['net:api.example.com', 'https://example.com/', false],
  ['net:api.example.com', 'https://x.api.example.com/', false],
  ['net:api.example.com', 'https://api.example.com.evil.example/', false],
  // A port grant covers that port only, with 80 and 443 as the defaults.
  ['net:api.example.com:443', 'https://api.example.com/', true],
  ['net:api.example.com:443', 'http://api.example.com/', false],
  ['net:api.example.com:80', 'http://api.example.com/', true],
  ['net:api.example.com:8443', 'https://api.example.com:8443/', true],
  ['net:api.example.com:8443', 'https://api.example.com:8444/', false],
  // A wildcard covers strict subdomains only.
  ['net:*.example.com', 'https://a.example.com/', true],
  ['net:*.example.com', 'https://a.b.example.com/', true],
  ['net:*.example.com', 'https://example.com/', false],
  ['net:*.example.com', 'https://evilexample.com/', false],
  ['net:*.example.com', 'https://a.example.com.evil.example/', false],
  ['net:*.example.com:8080', 'http://a.example.com:8080/', true],
  ['net:*.example.com:8080', 'http://a.example.com/', false],
  // Literals cover the same address in any spelling, and names never.
  ['net:127.0.0.1:8080', 'http://127.0.0.1:8080/', true],
  ['net:127.0.0.1:8080', 'http://0x7f.1:8080/', true],
  ['net:127.0.0.1:8080', 'http://2130706433:8080/', true],
  ['net:127.0.0.1:8080', 'http://127.0.0.1:8081/', false],
  ['net:127.0.0.1:8080', 'http://localhost:8080/', false],
  ['net:127.0.0.1', 'http://127.0.0.1:9/', true],
  ['net:[::1]:9000', 'http://[::1]:9000/', true],
  ['net:[::1]:9000', 'http://[0:0:0:0:0:0:0:1]:9000/', true],
  ['net:[::1]:9000', 'http://127.0.0.1:9000/', false],
  ['net:[::1]:9000', 'http://[::ffff:127.0.0.1]:9000/', false],
  ['net:localhost:3000', 'http://localhost:3000/', true],
  ['net:localhost:3000', 'http://localhost:3001/', false],
  ['net:localhost:3000', 'http://127.0.0.1:3000/', false],
  // A name that looks like an address is not one.
  ['net:example.com', 'http://127.0.0.1/', false],
];

test('net grants cover URLs', () => {
  for (const [grant, url, expected] of COVERAGE) {
    const need = check(fetch, url).need!;
    assert.is(new GrantSet([grant]).covers(need), expected, `${grant} for ${url}`);
  }
});

test('net grant reach follows its form', () => {
  const cases: readonly (readonly [string, boolean])[] = [
    ['net:127.0.0.1:8080', true],
    ['net:10.0.0.5', true],
    ['net:[::1]:9000', true],
    ['net:localhost:3000', true],
    ['net:api.example.com', false],
    ['net:api.example.com:8080', false],
    ['net:*.example.com', false],
    ['net:internal.localhost:3000', false],
  ];
  for (const [grant, reaches] of cases) {
    const capability = new GrantSet([grant]).grants[0]!.capability as NetCapability;
    assert.is(reachesPrivateAddresses(capability), reaches, grant);
  }
});

test('net grant rejects localhost without port', () => {
  assert.throws(() => new GrantSet(['net:localhost']), /net:localhost needs a port/);
  assert.throws(() => new GrantSet(['net:*.localhost']), /at least two labels/);
});

test('net denial names the grant', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['https://api.example.org/v1', 'net:api.example.org'],
    ['http://api.example.org:8080/', 'net:api.example.org:8080'],
    ['http://127.0.0.1/', 'net:127.0.0.1:80'],
    ['http://[::1]:9000/', 'net:[::1]:9000'],
    ['http://localhost/', 'net:localhost:80'],
  ];
  for (const [url, needed] of cases) assert.is(neededCapability(check(fetch, url).need!), needed, url);
});

test.run();

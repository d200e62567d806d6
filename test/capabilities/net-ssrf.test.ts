import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSocketConnector, pinAddresses } from '../../capabilities/net-pinning.js';
import { expectRejection } from './helpers.js';
import { makeNetHarness, netEvents, recordingConnector, startServer, tableResolver, type LoopbackServer } from './net-loopback.js';

// A public address that no test ever connects to: only the recording
// connector receives it, and that connector opens nothing.
const PUBLIC_ADDRESS = '1.1.1.1';

const okServer = () =>
  startServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ path: request.url, authorization: request.headers.authorization ?? null, cookie: request.headers.cookie ?? null }));
  });

const withServer = (body: (server: LoopbackServer) => Promise<void>) => async () => {
  const server = await okServer();
  try {
    await body(server);
  } finally {
    await server.close();
  }
};

test('hostile name never reaches loopback', withServer(async (server) => {
  const hostile: Record<string, string[]> = {
    'evil.example': ['127.0.0.1'],
    'mapped.example': ['::ffff:127.0.0.1'],
    'nat64.example': ['64:ff9b::7f00:1'],
    'compat.example': ['::127.0.0.1'],
    'spelled.example': ['2130706433'],
    'metadata.example': ['169.254.169.254'],
    'private.example': ['10.0.0.1'],
  };
  const resolver = tableResolver(hostile);
  const connector = recordingConnector();
  const loopbackConnector = makeSocketConnector();
  const harness = makeNetHarness({
    grants: Object.keys(hostile).map((name) => `net:${name}`),
    // Loopback addresses would go to the real connector, and so to the server, whose count must stay at zero.
    transport: { resolver, connector: (target) => (target.address.address === '127.0.0.1' ? loopbackConnector(target) : connector(target)) },
  });
  try {
    for (const name of Object.keys(hostile)) {
      const error = await expectRejection(harness.call('fetch', `http://${name}:${server.port}/secret`), 'PLUGRUN_DENIED');
      assert.match(error.message, `the host "${name}" resolves to`);
      assert.match(error.message, 'which a grant by host name never reaches');
    }
    assert.is(server.connections, 0, 'no connection reached the loopback server');
    assert.equal(server.requests, []);
    assert.equal(connector.targets, [], 'no blocked address reached the connector');
    assert.equal(resolver.lookups, Object.keys(hostile));

    const events = netEvents(harness);
    assert.is(events.length, Object.keys(hostile).length);
    for (const event of events) {
      assert.is(event.outcome, 'error');
      assert.is(event.error.code, 'PLUGRUN_DENIED');
    }
  } finally {
    await harness.close();
  }
}));

test('denial names the address and grant', withServer(async (server) => {
  const harness = makeNetHarness({
    grants: [`net:evil.example`],
    transport: { resolver: tableResolver({ 'evil.example': ['::ffff:127.0.0.1'] }), connector: recordingConnector() },
  });
  try {
    const error = await expectRejection(harness.call('fetch', `http://evil.example:${server.port}/`), 'PLUGRUN_DENIED');
    assert.match(error.message, '::ffff:7f00:1 (loopback, IPv4-mapped 127.0.0.1)');
    assert.match(error.message, `plugrun grant probe net:[::ffff:7f00:1]:${server.port}`);
  } finally {
    await harness.close();
  }
}));

test('rebinding answer mix is denied', async () => {
  const connector = recordingConnector();
  const resolver = tableResolver({ 'rebind.example': [PUBLIC_ADDRESS, '127.0.0.1'] });
  const harness = makeNetHarness({ grants: ['net:rebind.example'], transport: { resolver, connector } });
  try {
    await expectRejection(harness.call('fetch', 'http://rebind.example/'), 'PLUGRUN_DENIED');
    assert.equal(connector.targets, [], 'not even the public answer was tried');
  } finally {
    await harness.close();
  }
});

test('rebinding between lookups is pinned', async () => {
  // The first lookup returns a public address, and every later one a loopback address.
  let lookups = 0;
  const resolver = tableResolver({ 'rebind.example': () => (lookups++ === 0 ? [PUBLIC_ADDRESS] : ['127.0.0.1']) });
  const connector = recordingConnector();
  const harness = makeNetHarness({ grants: ['net:rebind.example'], transport: { resolver, connector } });
  try {
    const first = await expectRejection(harness.call('fetch', 'https://rebind.example/'), 'PLUGRUN_FAILED');
    assert.match(first.message, 'no connection to 1.1.1.1 is opened');
    await expectRejection(harness.call('fetch', 'https://rebind.example/'), 'PLUGRUN_DENIED');

    assert.is(connector.targets.length, 1, 'one connection attempt');
    const target = connector.targets[0]!;
    assert.is(target.address.address, PUBLIC_ADDRESS, 'the connection goes to the checked address');
    assert.is(target.port, 443);
    assert.is(target.tls, true);
    assert.is(target.servername, 'rebind.example', 'TLS still names the host');
    assert.equal(resolver.lookups, ['rebind.example', 'rebind.example'], 'one lookup per connection');
  } finally {
    await harness.close();
  }
});

test('name grant reaches public answers only', async () => {
  const connector = recordingConnector();
  const resolver = tableResolver({ 'api.example.com': ['2606:4700:4700::1111', PUBLIC_ADDRESS] });
  const harness = makeNetHarness({ grants: ['net:api.example.com'], transport: { resolver, connector } });
  try {
    await expectRejection(harness.call('fetch', 'http://API.Example.com./v1'), 'PLUGRUN_FAILED');
    assert.equal(connector.targets.map((target) => target.address.address), ['2606:4700:4700::1111', PUBLIC_ADDRESS], 'each checked answer is tried in order');
    assert.equal(connector.targets.map((target) => target.servername), ['api.example.com', 'api.example.com']);
    assert.equal(resolver.lookups, ['api.example.com'], 'resolved without the trailing dot');
  } finally {
    await harness.close();
  }
});

test('literal grant reaches loopback', withServer(async (server) => {
  const resolver = tableResolver({});
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`], transport: { resolver, connector: makeSocketConnector() } });
  try {
    const response = await harness.call('fetch', `http://0x7f.1:${server.port}/by-hex`);
    assert.is(response.status, 200);
    assert.is(JSON.parse(response.text).path, '/by-hex');
    assert.equal(resolver.lookups, [], 'an address literal is not resolved');
  } finally {
    await harness.close();
  }
}));

test('localhost grant reaches loopback', withServer(async (server) => {
  const resolver = tableResolver({ localhost: ['::1', '127.0.0.1'] });
  const harness = makeNetHarness({ grants: [`net:localhost:${server.port}`], transport: { resolver, connector: makeSocketConnector() } });
  try {
    // The server listens on 127.0.0.1 only, so ::1 is refused and the next checked address is used.
    const body = await harness.call('json', `http://localhost:${server.port}/health`);
    assert.is(body.path, '/health');
    assert.is(server.requests.length, 1);
  } finally {
    await harness.close();
  }
}));

test('name grant on loopback port is denied', withServer(async (server) => {
  // `net:internal.localhost:<port>` is a name grant, so loopback stays closed to it.
  const harness = makeNetHarness({
    grants: [`net:internal.localhost:${server.port}`],
    transport: { resolver: tableResolver({ 'internal.localhost': ['127.0.0.1'] }), connector: makeSocketConnector() },
  });
  try {
    await expectRejection(harness.call('fetch', `http://internal.localhost:${server.port}/`), 'PLUGRUN_DENIED');
    assert.is(server.connections, 0);
  } finally {
    await harness.close();
  }
}));

test('ungranted request opens nothing', withServer(async (server) => {
  const resolver = tableResolver({ 'api.example.com': [PUBLIC_ADDRESS] });
  const connector = recordingConnector();
  const harness = makeNetHarness({ grants: [], transport: { resolver, connector } });
  try {
    const error = await expectRejection(harness.call('fetch', `${server.origin}/`), 'PLUGRUN_DENIED');
    assert.match(error.message, `to allow it run: plugrun grant probe net:127.0.0.1:${server.port}`);
    await expectRejection(harness.call('json', 'https://api.example.com/feed'), 'PLUGRUN_DENIED');
    assert.is(server.connections, 0);
    assert.equal(resolver.lookups, [], 'a denied call is not even resolved');
    assert.equal(connector.targets, []);

    const events = netEvents(harness);
    assert.equal(events.map((event) => [event.outcome, event.needed]), [
      ['denied', `net:127.0.0.1:${server.port}`],
      ['denied', 'net:api.example.com'],
    ]);
  } finally {
    await harness.close();
  }
}));

test('user info URL is rejected', withServer(async (server) => {
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`], transport: { resolver: tableResolver({}), connector: makeSocketConnector() } });
  try {
    const error = await expectRejection(harness.call('fetch', `http://user:SECRET@127.0.0.1:${server.port}/`), 'PLUGRUN_INVALID');
    assert.match(error.message, 'contains user info');
    assert.not.match(error.message, 'SECRET');
    await expectRejection(harness.call('fetch', `http://127.0.0.1:${server.port}@evil.example/`), 'PLUGRUN_INVALID');
    assert.is(server.connections, 0);
    assert.not.match(harness.auditText(), 'SECRET');
  } finally {
    await harness.close();
  }
}));

test('pinAddresses rejects resolver junk', async () => {
  const junk = tableResolver({ 'junk.example': ['not-an-address'], 'empty.example': [] });
  await expectRejection(pinAddresses('junk.example', 'publicOnly', junk, 'probe', 80), 'PLUGRUN_FAILED');
  await expectRejection(pinAddresses('empty.example', 'publicOnly', junk, 'probe', 80), 'PLUGRUN_FAILED');
  const missing = await expectRejection(pinAddresses('missing.example', 'publicOnly', junk, 'probe', 80), 'PLUGRUN_FAILED');
  assert.match(missing.message, 'could not resolve the host "missing.example"');

  const pinned = await pinAddresses('0x7f.1', 'anyAddress', junk, 'probe', 80);
  assert.equal(pinned.map((address) => address.address), ['127.0.0.1']);
  await expectRejection(pinAddresses('127.0.0.1', 'publicOnly', junk, 'probe', 80), 'PLUGRUN_DENIED');
  assert.equal(junk.lookups, ['junk.example', 'empty.example', 'missing.example']);
});

test.run();

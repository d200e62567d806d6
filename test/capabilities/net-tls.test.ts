import fs from 'node:fs';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSocketConnector } from '../../capabilities/net-pinning.js';
import { repoRoot } from '../helpers/project.js';
import { expectRejection } from './helpers.js';
import { makeNetHarness, startServer, tableResolver } from './net-loopback.js';

const fixture = (name: string) => fs.readFileSync(path.join(repoRoot, 'test/fixtures/hostile/net-certificate-for-other-host', name), 'utf8');
const localhost = { key: fixture('localhost-key.pem'), cert: fixture('localhost-cert.pem') };
const otherHost = { key: fixture('other-host-key.pem'), cert: fixture('other-host-cert.pem') };

// Both certificates are trusted, so only the name check can fail.
const connector = makeSocketConnector({ ca: `${localhost.cert}\n${otherHost.cert}` });

/** Starts an HTTPS server that responds with the SNI name it received. */
const startTlsServer = (tls: { key: string; cert: string }) =>
  startServer((request, response) => response.end(JSON.stringify({ servername: (request.socket as TLSSocket).servername ?? null })), { tls });

test('TLS verifies the pinned host name', async () => {
  const server = await startTlsServer(localhost);
  const resolver = tableResolver({ localhost: ['127.0.0.1'] });
  const harness = makeNetHarness({ grants: [`net:localhost:${server.port}`], transport: { resolver, connector } });
  try {
    const body = await harness.call('json', `https://localhost:${server.port}/`);
    assert.is(body.servername, 'localhost', 'SNI names the host, not the pinned address');
    assert.equal(resolver.lookups, ['localhost']);
  } finally {
    await harness.close();
    await server.close();
  }
});

test('TLS rejects certificate for other host', async () => {
  const server = await startTlsServer(otherHost);
  const harness = makeNetHarness({
    grants: [`net:localhost:${server.port}`],
    transport: { resolver: tableResolver({ localhost: ['127.0.0.1'] }), connector },
  });
  try {
    const error = await expectRejection(harness.call('fetch', `https://localhost:${server.port}/`), 'PLUGRUN_FAILED');
    assert.match(error.message, "does not match certificate's altnames");
    assert.is(server.requests.length, 0, 'no request was sent over the unverified connection');
  } finally {
    await harness.close();
    await server.close();
  }
});

test('TLS rejects untrusted certificate', async () => {
  const server = await startTlsServer(localhost);
  const harness = makeNetHarness({
    grants: [`net:localhost:${server.port}`],
    transport: { resolver: tableResolver({ localhost: ['127.0.0.1'] }), connector: makeSocketConnector() },
  });
  try {
    const error = await expectRejection(harness.call('fetch', `https://localhost:${server.port}/`), 'PLUGRUN_FAILED');
    assert.match(error.message, 'self-signed certificate');
    assert.is(server.requests.length, 0);
  } finally {
    await harness.close();
    await server.close();
  }
});

test('TLS to address literal checks the address', async () => {
  const server = await startTlsServer(localhost);
  const harness = makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`], transport: { resolver: tableResolver({}), connector } });
  try {
    const body = await harness.call('json', `https://127.0.0.1:${server.port}/`);
    assert.is(body.servername, false, 'no SNI for an address');
  } finally {
    await harness.close();
    await server.close();
  }

  const wrong = await startTlsServer(otherHost);
  const wrongHarness = makeNetHarness({ grants: [`net:127.0.0.1:${wrong.port}`], transport: { resolver: tableResolver({}), connector } });
  try {
    const error = await expectRejection(wrongHarness.call('fetch', `https://127.0.0.1:${wrong.port}/`), 'PLUGRUN_FAILED');
    assert.match(error.message, "IP: 127.0.0.1 is not in the cert's list");
  } finally {
    await wrongHarness.close();
    await wrong.close();
  }
});

test.run();

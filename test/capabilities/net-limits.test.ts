import net, { type AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Limits } from '../../capabilities/limits.js';
import { makeSocketConnector } from '../../capabilities/net-pinning.js';
import { makeRequestGate } from '../../capabilities/net-rate.js';
import { expectCode, expectRejection } from './helpers.js';
import { makeNetHarness, netEvents, startServer, tableResolver, type LoopbackServer } from './net-loopback.js';

const MiB = 1024 * 1024;

// Compressed once: 32 MiB of zeros is about 32 KiB as gzip and a few bytes as brotli.
const zeros = Buffer.alloc(32 * MiB);
const gzipBomb = zlib.gzipSync(zeros);
const brotliBomb = zlib.brotliCompressSync(zeros, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } });
const doubleGzipBomb = zlib.gzipSync(gzipBomb);

const harnessFor = (server: { port: number }, limits: Partial<Limits> = {}) =>
  makeNetHarness({ grants: [`net:127.0.0.1:${server.port}`], transport: { resolver: tableResolver({}), connector: makeSocketConnector() }, limits });

/** Runs a body with a server and a harness granted to it, and closes both. */
const withHarness = async (server: LoopbackServer, limits: Partial<Limits>, body: (harness: ReturnType<typeof harnessFor>) => Promise<void>) => {
  const harness = harnessFor(server, limits);
  try {
    await body(harness);
  } finally {
    await harness.close();
    await server.close();
  }
};

test('gzip bomb hits response limit', async () => {
  assert.ok(gzipBomb.length < MiB, `the bomb is ${gzipBomb.length} bytes on the wire`);
  const server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': gzipBomb.length });
    response.end(gzipBomb);
  });
  await withHarness(server, { netMaxResponseBytes: MiB }, async (harness) => {
    const error = await expectRejection(harness.call('fetch', `${server.origin}/bomb`), 'PLUGRUN_LIMIT');
    assert.match(error.message, `the response body of ${server.origin}/bomb is larger than ${MiB} bytes, the netMaxResponseBytes limit`);
    const [event] = netEvents(harness);
    assert.is(event?.outcome, 'error');
    assert.is(event?.status, 200);
    assert.is(event?.error.code, 'PLUGRUN_LIMIT');
  });
});

test('brotli bomb hits default limit', async () => {
  const server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-encoding': 'br' });
    response.end(brotliBomb);
  });
  await withHarness(server, {}, async (harness) => {
    const error = await expectRejection(harness.call('fetch', `${server.origin}/bomb`), 'PLUGRUN_LIMIT');
    assert.match(error.message, `larger than ${10 * MiB} bytes`);
  });
});

test('layered gzip bomb hits limit', async () => {
  const server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-encoding': 'gzip, gzip' });
    response.end(doubleGzipBomb);
  });
  await withHarness(server, { netMaxResponseBytes: MiB }, async (harness) => {
    await expectRejection(harness.call('fetch', `${server.origin}/bomb`), 'PLUGRUN_LIMIT');
  });
});

test('small bomb within limit is read', async () => {
  const small = zlib.gzipSync(Buffer.from('x'.repeat(1000)));
  const server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-encoding': 'gzip' });
    response.end(small);
  });
  await withHarness(server, { netMaxResponseBytes: 1000 }, async (harness) => {
    const response = await harness.call('fetch', `${server.origin}/`);
    assert.is(response.text.length, 1000, 'exactly the limit is allowed');
    assert.is(netEvents(harness)[0]?.bytes, 1000, 'bytes are counted after decompression');
  });
});

test('endless chunked body hits limit', async () => {
  const chunk = Buffer.alloc(16 * 1024, 'a');
  let written = 0;
  let closed = false;
  const server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.on('close', () => (closed = true));
    // Bounded: 4096 chunks (64 MiB) at most, written as fast as the client reads.
    const pump = () => {
      while (!closed && written < 4096) {
        written += 1;
        if (!response.write(chunk)) {
          response.once('drain', pump);
          return;
        }
      }
      response.end();
    };
    pump();
  });
  await withHarness(server, { netMaxResponseBytes: 256 * 1024 }, async (harness) => {
    await expectRejection(harness.call('fetch', `${server.origin}/endless`), 'PLUGRUN_LIMIT');
    assert.ok(written < 4096, `the client stopped reading after ${written} chunks`);
  });
});

test('declared length over limit fails early', async () => {
  let started = 0;
  const server = await startServer((_request, response) => {
    // Headers only: a client that waited for the body would wait forever.
    response.writeHead(200, { 'content-length': 20 * MiB });
    response.flushHeaders();
  });
  await withHarness(server, { netMaxResponseBytes: MiB }, async (harness) => {
    started = performance.now();
    await expectRejection(harness.call('fetch', `${server.origin}/`, { timeoutMs: 5000 }), 'PLUGRUN_LIMIT');
    assert.ok(performance.now() - started < 2000, 'no byte of the body was waited for');
  });
});

/** Starts a raw TCP server that writes `reply` to every connection, so the framing can lie. */
const startRawServer = async (reply: Buffer): Promise<LoopbackServer> => {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => socket.write(reply));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    origin: `http://127.0.0.1:${port}`,
    connections: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};

test('lying short length reads only its bytes', async () => {
  const server = await startRawServer(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n'), Buffer.alloc(4 * MiB, 'b')]));
  await withHarness(server, { netMaxResponseBytes: MiB }, async (harness) => {
    const response = await harness.call('fetch', `${server.origin}/`);
    assert.is(response.text, 'bbbbbbbbbb');
  });
});

test('lying small length on a bomb', async () => {
  const head = `HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: ${gzipBomb.length}\r\n\r\n`;
  const server = await startRawServer(Buffer.concat([Buffer.from(head), gzipBomb]));
  await withHarness(server, { netMaxResponseBytes: MiB }, async (harness) => {
    await expectRejection(harness.call('fetch', `${server.origin}/`), 'PLUGRUN_LIMIT');
  });
});

test('silent server times out', async () => {
  const server = await startServer(() => {
    // Never answers.
  });
  await withHarness(server, {}, async (harness) => {
    const started = performance.now();
    const error = await expectRejection(harness.call('fetch', `${server.origin}/slow`, { timeoutMs: 300 }), 'PLUGRUN_LIMIT');
    const elapsed = performance.now() - started;
    assert.match(error.message, 'timed out after 300 ms, the timeoutMs option');
    assert.ok(elapsed >= 290, `took ${elapsed} ms, before the deadline`);
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
  });
});

test('trickling body times out', async () => {
  const timers = new Set<NodeJS.Timeout>();
  const server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    // One byte every 50 ms, for 10 s at most.
    let sent = 0;
    const timer = setInterval(() => {
      sent += 1;
      if (sent > 200 || response.destroyed) {
        clearInterval(timer);
        response.end();
        return;
      }
      response.write('.');
    }, 50);
    timers.add(timer);
  });
  await withHarness(server, { netTimeoutMs: 400 }, async (harness) => {
    const error = await expectRejection(harness.call('fetch', `${server.origin}/trickle`), 'PLUGRUN_LIMIT');
    assert.match(error.message, 'timed out after 400 ms, the netTimeoutMs limit');
  });
  for (const timer of timers) clearInterval(timer);
});

test('rate limit per second', async () => {
  const server = await startServer((_request, response) => response.end('ok'));
  await withHarness(server, { netRequestsPerSecond: 3 }, async (harness) => {
    for (let index = 0; index < 3; index += 1) await harness.call('fetch', `${server.origin}/${index}`);
    const error = await expectRejection(harness.call('fetch', `${server.origin}/3`), 'PLUGRUN_LIMIT');
    assert.match(error.message, 'netRequestsPerSecond');
    assert.is(server.requests.length, 3, 'the request over the limit was not sent');
    assert.is(netEvents(harness).at(-1)?.error.code, 'PLUGRUN_LIMIT');
  });
});

test('rate limit per minute', async () => {
  const server = await startServer((_request, response) => response.end('ok'));
  await withHarness(server, { netRequestsPerMinute: 2 }, async (harness) => {
    await harness.call('fetch', `${server.origin}/a`);
    await harness.call('fetch', `${server.origin}/b`);
    const error = await expectRejection(harness.call('fetch', `${server.origin}/c`), 'PLUGRUN_LIMIT');
    assert.match(error.message, 'netRequestsPerMinute');
  });
});

test('redirect hops count against rate', async () => {
  const server = await startServer((request, response) => {
    if (request.url === '/start') {
      response.writeHead(302, { location: '/next' });
      response.end();
      return;
    }
    response.end('ok');
  });
  await withHarness(server, { netRequestsPerSecond: 1 }, async (harness) => {
    await expectRejection(harness.call('fetch', `${server.origin}/start`), 'PLUGRUN_LIMIT');
    assert.equal(server.requests, ['GET /start']);
  });
});

test('rate gate refills over time', () => {
  let now = 0;
  const limits = { netRequestsPerSecond: 2, netRequestsPerMinute: 600, netMaxConcurrentRequests: 1 } as Limits;
  const gate = makeRequestGate(limits, () => now);
  gate.admit();
  gate.admit();
  expectCode(() => gate.admit(), 'PLUGRUN_LIMIT');
  now += 499;
  expectCode(() => gate.admit(), 'PLUGRUN_LIMIT');
  now += 1;
  gate.admit();
  now += 10_000;
  gate.admit();
  gate.admit();
  expectCode(() => gate.admit(), 'PLUGRUN_LIMIT', 'the burst never grows past the limit');
});

test('concurrency limit rejects extra calls', async () => {
  const held: Array<() => void> = [];
  const server = await startServer((request, response) => {
    // The first two requests wait for the test, and later ones get a response at once.
    if (request.url === '/1' || request.url === '/2') held.push(() => response.end('done'));
    else response.end('free');
  });
  await withHarness(server, { netMaxConcurrentRequests: 2 }, async (harness) => {
    const first = harness.call('fetch', `${server.origin}/1`);
    const second = harness.call('fetch', `${server.origin}/2`);
    const error = await expectRejection(harness.call('fetch', `${server.origin}/3`), 'PLUGRUN_LIMIT');
    assert.match(error.message, 'netMaxConcurrentRequests');

    // Bounded wait for both held requests to arrive.
    for (let tries = 0; held.length < 2 && tries < 200; tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const release of held) release();
    assert.is((await first).text, 'done');
    assert.is((await second).text, 'done');
    assert.is((await harness.call('fetch', `${server.origin}/4`)).text, 'free', 'a freed slot is usable');
  });
});

test('request body over limit is not sent', async () => {
  const server = await startServer((_request, response) => response.end('ok'));
  await withHarness(server, { netMaxRequestBytes: 8 }, async (harness) => {
    await expectRejection(harness.call('fetch', `${server.origin}/`, { method: 'POST', body: 'x'.repeat(9) }), 'PLUGRUN_LIMIT');
    assert.is(server.connections, 0);
  });
});

test.run();

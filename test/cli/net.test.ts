import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { lockProject, makeProject, parseNdjson, repoRoot, runCli, type TestProject } from '../helpers/project.js';

/** A loopback server for one test, counting connections and requests. */
interface Server {
  readonly port: number;
  readonly origin: string;
  readonly requests: string[];
  connections: number;
  close(): Promise<void>;
}

const startServer = async (handler: http.RequestListener): Promise<Server> => {
  const server = http.createServer(handler);
  const sockets = new Set<Socket>();
  const state: Server = {
    port: 0,
    origin: '',
    requests: [],
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  server.on('connection', (socket: Socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (request: http.IncomingMessage) => state.requests.push(`${request.method} ${request.url}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { port, origin: `http://127.0.0.1:${port}` });
};

const feedServer = () =>
  startServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ items: [{ id: 1, title: 'first' }], path: request.url, authorization: request.headers.authorization ?? null }));
  });

const grant = async (project: TestProject, plugin: string, ...capabilities: string[]) => {
  const result = await runCli(['grant', plugin, ...capabilities], { cwd: project.dir });
  if (result.code !== 0) throw new Error(result.stderr);
};

// start() fetches the URL from its config and logs what came back, or the error.
const probe = {
  manifest: { capabilities: ['net:127.0.0.1'] },
  files: {
    'index.js': `
      export async function start(ctx) {
        const url = await ctx.config.get('url');
        try {
          const response = await ctx.net.fetch(url, { headers: { Authorization: 'Bearer SECRET-TOKEN' } });
          ctx.log.info('fetched', { status: response.status, ok: response.ok, body: JSON.parse(response.text), type: response.headers['content-type'] });
        } catch (error) {
          ctx.log.info('failed', { code: error.code, message: error.message });
        }
      }
    `,
  },
};

const setConfig = (project: TestProject, plugin: string, values: Record<string, unknown>) =>
  project.write(`.plugrun/config/${plugin}.json`, `${JSON.stringify(values, null, 2)}\n`);

test('plugin fetches from granted loopback', async () => {
  const server = await feedServer();
  const project = makeProject({ probe });
  try {
    await lockProject(project.dir);
    await grant(project, 'probe', `net:127.0.0.1:${server.port}`);
    setConfig(project, 'probe', { url: `${server.origin}/feed.json?key=SECRET-KEY` });

    const result = await runCli(['start', '--once'], { cwd: project.dir });
    assert.is(result.code, 0, result.stderr);
    const events = parseNdjson(result.stdout);

    const fetched = events.find((event) => event.message === 'fetched');
    assert.is(fetched?.fields.status, 200, JSON.stringify(events.filter((event) => event.plugin === 'probe')));
    assert.is(fetched?.fields.ok, true);
    assert.is(fetched?.fields.type, 'application/json');
    assert.equal(fetched?.fields.body.items, [{ id: 1, title: 'first' }]);
    assert.is(fetched?.fields.body.authorization, 'Bearer SECRET-TOKEN', 'the header reached the server');
    assert.equal(server.requests, ['GET /feed.json?key=SECRET-KEY']);

    const net = events.filter((event) => event.cap === 'net');
    assert.is(net.length, 1, 'one event for one request');
    assert.is(net[0]!.outcome, 'allowed');
    assert.is(net[0]!.target, `${server.origin}/feed.json`);
    assert.equal(net[0]!.query, ['key']);
    assert.is(net[0]!.status, 200);
    assert.is(net[0]!.requestHeaders.authorization, '[redacted]');
    assert.type(net[0]!.bytes, 'number');

    const auditFile = project.read('.plugrun/audit.ndjson');
    assert.not.match(auditFile.replace(/"message":"fetched".*$/m, ''), 'SECRET', 'no secret in the net events of the audit file');
  } finally {
    project.remove();
    await server.close();
  }
});

test('plugin without grant opens nothing', async () => {
  const server = await feedServer();
  const project = makeProject({ probe });
  try {
    await lockProject(project.dir);
    setConfig(project, 'probe', { url: `${server.origin}/feed.json` });

    const result = await runCli(['start', '--once'], { cwd: project.dir });
    assert.is(result.code, 0, result.stderr);
    const events = parseNdjson(result.stdout);
    const failed = events.find((event) => event.message === 'failed');
    assert.is(failed?.fields.code, 'PLUGRUN_DENIED');
    assert.match(failed?.fields.message, `to allow it run: plugrun grant probe net:127.0.0.1:${server.port}`);
    const denied = events.find((event) => event.cap === 'net');
    assert.is(denied?.outcome, 'denied');
    assert.is(denied?.needed, `net:127.0.0.1:${server.port}`);
    assert.is(server.connections, 0);
  } finally {
    project.remove();
    await server.close();
  }
});

const copyFeed = (project: TestProject) =>
  fs.cpSync(path.join(repoRoot, 'plugins/feed'), path.join(project.dir, 'plugins/feed'), { recursive: true });

test('feed plugin caches and survives outage', async () => {
  const server = await feedServer();
  const project = makeProject();
  try {
    copyFeed(project);
    await lockProject(project.dir, ['feed']);
    await grant(project, 'feed', `net:127.0.0.1:${server.port}`, 'fs:cache/');
    setConfig(project, 'feed', { url: `${server.origin}/feed.json` });

    // 1. A good response is cached.
    const first = await runCli(['start', '--once'], { cwd: project.dir });
    assert.is(first.code, 0, first.stderr);
    const refreshed = parseNdjson(first.stdout).find((event) => event.plugin === 'feed' && event.cap === 'log');
    assert.is(refreshed?.message, `feed refreshed from ${server.origin}/feed.json`, JSON.stringify(refreshed));
    const cache = JSON.parse(project.read('.plugrun/data/feed/cache/feed.json'));
    assert.equal(cache.data.items, [{ id: 1, title: 'first' }]);
    assert.is(cache.url, `${server.origin}/feed.json`);

    // 2. With the server gone, the failure is logged and the cache is kept.
    await server.close();
    const second = await runCli(['start', '--once'], { cwd: project.dir });
    assert.is(second.code, 0, second.stderr);
    const failure = parseNdjson(second.stdout).find((event) => event.plugin === 'feed' && event.cap === 'log');
    assert.is(failure?.op, 'error');
    assert.match(failure?.message, `feed not refreshed from ${server.origin}/feed.json`);
    assert.match(failure?.message, 'ECONNREFUSED');
    assert.is(failure?.fields.code, 'PLUGRUN_FAILED');

    const latest = await runCli(['call', 'feed', 'latest'], { cwd: project.dir });
    assert.is(latest.code, 0, latest.stderr);
    assert.equal(JSON.parse(latest.stdout).data.items, [{ id: 1, title: 'first' }]);
  } finally {
    project.remove();
    await server.close();
  }
});

test('feed plugin ungranted sends nothing', async () => {
  const project = makeProject();
  try {
    copyFeed(project);
    await lockProject(project.dir, ['feed']);

    // The default URL names api.example.com, which is not granted: the call
    // is denied at the gate, before any name is resolved.
    const result = await runCli(['start', '--once'], { cwd: project.dir });
    assert.is(result.code, 0, result.stderr);
    const events = parseNdjson(result.stdout).filter((event) => event.plugin === 'feed');
    const denied = events.find((event) => event.cap === 'net');
    assert.is(denied?.outcome, 'denied');
    assert.is(denied?.target, 'https://api.example.com/feed.json');
    assert.is(denied?.needed, 'net:api.example.com');
    const failure = events.find((event) => event.cap === 'log' && event.op === 'error');
    assert.match(failure?.message, 'plugrun grant feed net:api.example.com');
    assert.is(failure?.fields.code, 'PLUGRUN_DENIED');
  } finally {
    project.remove();
  }
});

test.run();

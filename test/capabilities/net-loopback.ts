/**
 * Helpers for the net tests. They start HTTP servers on loopback addresses
 * that count what reaches them, and make resolvers that look names up in a
 * table instead of DNS and a connector that records its targets instead of
 * connecting. They also wire a `ctx.net` to the real dispatch gate and audit
 * log, as runtime/caller.ts does.
 *
 * No helper here sends a packet anywhere but to a server the test started on
 * 127.0.0.1 or 127.0.0.2.
 */

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GrantSet } from '../../capabilities/grant-set.js';
import { DEFAULT_LIMITS, type Limits } from '../../capabilities/limits.js';
import type { Connector, NetTransport, PinnedTarget, Resolver } from '../../capabilities/net-pinning.js';
import { makeNetCapabilityWith } from '../../capabilities/net.js';
import type { CapabilityInstance, PluginEnv } from '../../capabilities/types.js';
import { AuditLog } from '../../runtime/audit.js';
import { authorizeNeed, dispatchCall, requireNeed, type CallerState } from '../../runtime/dispatch.js';

/** A server started by a test, with counts of what reached it. */
export interface LoopbackServer {
  readonly host: string;
  readonly port: number;
  /** `http://<host>:<port>` or `https://...`. */
  readonly origin: string;
  /** TCP connections accepted. */
  connections: number;
  /** HTTP requests received, as method and path. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Options of a test server. */
export interface ServerOptions {
  /** The loopback address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Key and certificate in PEM, to serve HTTPS. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

/** Starts an HTTP (or HTTPS) server on a loopback address and an ephemeral port. */
export const startServer = async (handler: http.RequestListener, options: ServerOptions = {}): Promise<LoopbackServer> => {
  const host = options.host ?? '127.0.0.1';
  const server = options.tls === undefined ? http.createServer(handler) : https.createServer({ ...options.tls }, handler);
  const sockets = new Set<Socket>();
  const requests: string[] = [];

  const state = { connections: 0 };
  server.on('connection', (socket: Socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (request: http.IncomingMessage) => requests.push(`${request.method} ${request.url}`));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    host,
    port,
    origin: `${options.tls === undefined ? 'http' : 'https'}://${host}:${port}`,
    get connections() {
      return state.connections;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};

/** Makes a resolver that looks names up in a table and fails for every other name, so no test does a real lookup. */
export const tableResolver = (table: Record<string, readonly string[] | (() => readonly string[])>): Resolver & { lookups: string[] } => {
  const lookups: string[] = [];
  const resolver = async (hostname: string) => {
    lookups.push(hostname);
    const entry = table[hostname];
    if (entry === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return typeof entry === 'function' ? entry() : entry;
  };
  return Object.assign(resolver, { lookups });
};

/** Makes a connector that records each target and fails instead of connecting. */
export const recordingConnector = (): Connector & { targets: PinnedTarget[] } => {
  const targets: PinnedTarget[] = [];
  const connector = async (target: PinnedTarget): Promise<Socket> => {
    targets.push(target);
    throw new Error(`test connector: no connection to ${target.address.address} is opened`);
  };
  return Object.assign(connector, { targets });
};

/** A `ctx.net` behind the real dispatch gate, writing to a real audit log in a temporary folder. */
export interface NetHarness {
  readonly net: CapabilityInstance;
  /** Runs `ctx.net.<op>(...args)` through the gate, as a plugin's call would. */
  call(op: 'fetch' | 'json', ...args: unknown[]): Promise<any>;
  /** Replaces the grants in force, as `plugrun grant` and `revoke` do. */
  setGrants(grants: readonly string[]): void;
  /** The events written so far, parsed from the audit file. */
  events(): Array<Record<string, any>>;
  /** The audit file's text. */
  auditText(): string;
  close(): Promise<void>;
}

/** Options of a harness. */
export interface HarnessOptions {
  readonly grants: readonly string[];
  readonly transport: NetTransport;
  readonly limits?: Partial<Limits>;
}

/** Makes a harness for the plugin `probe`. */
export const makeNetHarness = (options: HarnessOptions): NetHarness => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugrun-net-'));
  const audit = new AuditLog(path.join(dir, 'audit.ndjson'));
  const plugin = { name: 'probe', version: '1.0.0' };
  let grants = new GrantSet(options.grants);
  const capabilities: Record<string, CapabilityInstance> = {};
  const state: CallerState = { plugin, capabilities, grants: () => grants };

  const env: PluginEnv = {
    plugin,
    paths: { data: path.join(dir, 'data'), db: path.join(dir, 'db'), config: path.join(dir, 'config.json') },
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    authorize: (need, op, target) => authorizeNeed(state, audit, need, need.kind, op, target),
    requireGrant: (need) => requireNeed(state, need),
    findGrant: (need) => grants.find(need),
    audit: (event) => audit.write({ plugin: plugin.name, ...event }),
    plugins: {
      call() {
        throw new Error('no other plugin runs in net tests');
      },
    },
  };
  const net = makeNetCapabilityWith(env, options.transport);
  capabilities.net = net;

  const auditText = () => fs.readFileSync(audit.filePath, 'utf8');
  return {
    net,
    call: (op, ...args) => dispatchCall(state, audit, 'net', op, args),
    setGrants(next) {
      grants = new GrantSet(next);
    },
    auditText,
    events: () => auditText().split('\n').filter(Boolean).map((line) => JSON.parse(line)),
    async close() {
      await net.teardown();
      audit.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** Returns the net events of a harness, in order. */
export const netEvents = (harness: NetHarness): Array<Record<string, any>> => harness.events().filter((event) => event.cap === 'net');

/**
 * DNS pinning: each new connection resolves its host name once, checks every
 * address, and connects to an address that passed the check.
 *
 * Threat: DNS rebinding. A name that resolves to a public address when it is
 * checked, and to 127.0.0.1 when the HTTP client resolves it again, would
 * carry a request by name to the machine itself. So the HTTP client never
 * looks a name up. Its connect step (an undici `Agent` with a `connect`
 * function, made in net-request.ts) calls `pinAddresses`. The socket is then opened to the pinned
 * address, with a `lookup` that fails if Node ever tries to resolve. TLS
 * still sends the host name (SNI) and verifies the certificate against it.
 */

import dns from 'node:dns/promises';
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { quote } from './arguments.js';
import { PlugrunError, failed, messageOf } from './errors.js';
import { classifyAddress, describeAddress, type ClassifiedAddress } from './net-address.js';

/** Resolves a host name to IP addresses as text. Tests inject one that maps names without DNS. */
export type Resolver = (hostname: string) => Promise<readonly string[]>;

declare const pinnedBrand: unique symbol;

/** An address that passed the check for the grant in force. Only `pinAddresses` makes one. */
export interface PinnedAddress extends ClassifiedAddress {
  readonly [pinnedBrand]: true;
}

/** One connection to open: a pinned address, its port, and how to speak TLS to it. */
export interface PinnedTarget {
  readonly address: PinnedAddress;
  readonly port: number;
  readonly tls: boolean;
  /** The host name sent as SNI and checked against the certificate, or undefined for an address literal, which is checked against the address. */
  readonly servername: string | undefined;
}

/** Opens a connection to a pinned target and resolves once it is ready for HTTP. Tests inject a stub that records targets. */
export type Connector = (target: PinnedTarget) => Promise<Socket>;

/**
 * The addresses a connection may reach: `publicOnly` for a grant by host
 * name, `anyAddress` for a grant of an address literal or `localhost` with
 * a port, the grants a user writes to reach a local service on purpose.
 */
export type AddressPolicy = 'publicOnly' | 'anyAddress';

/** The network side of the net capability. Tests replace parts of it. */
export interface NetTransport {
  readonly resolver: Resolver;
  readonly connector: Connector;
}

/** Maximum number of addresses from one lookup that are tried. All of them are checked. */
const ANSWERS_MAX = 16;

/** Time one connection attempt may take, including the TLS handshake, in milliseconds. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Resolves with the operating system's resolver (getaddrinfo), as Node's own HTTP client does. */
export const systemResolver: Resolver = async (hostname) => {
  const answers = await dns.lookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => answer.address);
};

/**
 * Resolves a host once and checks every address against the policy. Returns
 * the addresses to try, in the resolver's order. Throws `PLUGRUN_DENIED` when
 * any address is blocked, because a name that mixes public and local
 * addresses is the shape of a rebinding attack. Throws `PLUGRUN_FAILED` when
 * the lookup fails or returns something that is not an address.
 */
export const pinAddresses = async (
  hostname: string,
  policy: AddressPolicy,
  resolver: Resolver,
  plugin: string,
  port: number,
): Promise<readonly PinnedAddress[]> => {
  // 1. An address literal is not resolved.
  const literal = classifyAddress(hostname);
  let answers: readonly string[];
  if (literal !== undefined) {
    answers = [literal.address];
  } else {
    try {
      answers = await resolver(hostname);
    } catch (error) {
      throw failed(`could not resolve the host ${quote(hostname)}: ${messageOf(error)}`, error);
    }
    if (answers.length === 0) throw failed(`the host ${quote(hostname)} resolved to no address`);
  }

  // 2. Every address is classified, so a blocked one cannot hide behind a public one.
  const pinned: PinnedAddress[] = [];
  for (const answer of answers) {
    const classified = classifyAddress(answer);
    if (classified === undefined) {
      throw failed(`the resolver returned ${quote(String(answer))} for the host ${quote(hostname)}, which is not an IP address`);
    }
    if (policy === 'publicOnly' && classified.addressClass !== 'public') {
      throw blockedAddress(plugin, hostname, classified, port);
    }
    pinned.push(classified as PinnedAddress);
  }
  return pinned.slice(0, ANSWERS_MAX);
};

const blockedAddress = (plugin: string, hostname: string, classified: ClassifiedAddress, port: number): PlugrunError => {
  const literalHost = classified.family === 6 ? `[${classified.address}]` : classified.address;
  return new PlugrunError(
    'PLUGRUN_DENIED',
    `plugin "${plugin}": the host ${quote(hostname)} resolves to ${describeAddress(classified)}, which a grant by host name never reaches; ` +
      `to allow a service on this machine or network on purpose, request it by address and run: plugrun grant ${plugin} net:${literalHost}:${port}`,
  );
};

// Node calls `lookup` only for a host that is not an IP address. The socket
// is always opened to a pinned address, so a call here means a bug that
// would bypass the check, and it fails instead of resolving.
const refuseLookup: net.LookupFunction = (hostname, _options, callback) => {
  const error = new Error(`plugrun rejected a DNS lookup of ${quote(hostname)} at connect time, because a socket must go to a pinned address`);
  callback(Object.assign(error, { code: 'ENOTFOUND' }), '', 4);
};

/** Options of the connector that opens real sockets. */
export interface SocketConnectorOptions {
  /** Certificates to trust instead of Node's bundled roots, such as a test's own CA. */
  readonly ca?: string | Buffer;
  /** Time one attempt may take, in milliseconds. Default 10 000. */
  readonly connectTimeoutMs?: number;
}

/** Makes the connector that opens TCP or TLS sockets to pinned addresses. */
export const makeSocketConnector =
  (options: SocketConnectorOptions = {}): Connector =>
  (target) =>
    new Promise((resolve, reject) => {
      const endpoint = { host: target.address.address, port: target.port, lookup: refuseLookup, noDelay: true };
      const socket = target.tls
        ? tls.connect({
            ...endpoint,
            servername: target.servername,
            ALPNProtocols: ['http/1.1'],
            ...(options.ca === undefined ? {} : { ca: options.ca }),
          })
        : net.connect(endpoint);

      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connecting timed out after ${options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS} ms`));
      }, options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);

      socket.once(target.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      });
    });

/** The transport of a running plugrun: the system resolver and real sockets with Node's trusted roots. */
export const systemTransport = (): NetTransport => ({ resolver: systemResolver, connector: makeSocketConnector() });

/** Connects undici's request for an origin through `pinAddresses` and the transport's connector. */
export const connectPinned = async (
  origin: { readonly hostname: string; readonly protocol: string; readonly port: string },
  policy: AddressPolicy,
  transport: NetTransport,
  plugin: string,
): Promise<Socket> => {
  const useTls = origin.protocol === 'https:';
  let port = Number(origin.port);
  if (origin.port === '') port = useTls ? 443 : 80;
  // The host as the grants compare it: no brackets, no trailing dot. A
  // certificate names a host without the dot, and SNI carries names only.
  const hostname = origin.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  const addresses = await pinAddresses(hostname, policy, transport.resolver, plugin, port);
  const servername = classifyAddress(hostname) === undefined ? hostname : undefined;

  // Every address here passed the check, so trying the next one on failure is safe.
  let lastError: unknown;
  for (const address of addresses) {
    try {
      return await transport.connector({ address, port, tls: useTls, servername });
    } catch (error) {
      lastError = error;
    }
  }
  throw failed(`could not connect to ${quote(hostname)} port ${port}: ${messageOf(lastError)}`, lastError);
};

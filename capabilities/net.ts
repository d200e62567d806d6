/**
 * `net:` grants and `ctx.net`: parsing hosts, ports and wildcards, whether a
 * grant covers the host and port a request needs, the request checks, and
 * the capability itself.
 *
 * Address literals are matched only by grants of the same literal address,
 * and names only by name grants. Which resolved addresses a grant may reach
 * (a name grant never reaches loopback or private ones) is decided where the
 * connection is made, in net-pinning.ts, from `reachesPrivateAddresses` of
 * the grant that covered the request. Requests and redirects are performed
 * in net-request.ts.
 */

import { z } from 'zod';
import { assertArgumentCount, assertWithinLimit, describeType, expectPlainObject, isBytes, parseArgument, quote } from './arguments.js';
import type { KindParseResult } from './capability-string.js';
import { invalid, limit } from './errors.js';
import { auditTarget } from './net-audit.js';
import { canonicalIpv6, checkRequestUrl, needOfUrl, normaliseGrantHost } from './net-host.js';
import { systemTransport, type AddressPolicy, type NetTransport } from './net-pinning.js';
import type { NetSession } from './net-request.js';
import type { CallContext, CapabilityFactory, CapabilityInstance, CheckedCall, Grant, Need, NetCapability, Operation, PluginEnv } from './types.js';

/** The need of a `ctx.net` call: the normalised host, its type and the effective port. */
export type NetNeed = Extract<Need, { kind: 'net' }>;

const parsePort = (text: string): { readonly port: number } | { readonly problem: string } => {
  if (/^\d+-\d+$/.test(text)) return { problem: `port ${quote(text)} is a range, but a grant names one port` };
  if (!/^[1-9]\d{0,4}$/.test(text) || Number(text) > 65535) {
    return { problem: `port ${quote(text)} is not a decimal number from 1 to 65535` };
  }
  return { port: Number(text) };
};

type SplitHostPort = { host: string; bracketed: boolean; portText?: string } | { problem: string };

const splitHostPort = (body: string): SplitHostPort => {
  if (body.startsWith('[')) {
    const close = body.indexOf(']');
    if (close === -1) return { problem: 'the "[" has no closing "]"' };

    const rest = body.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return { problem: 'the text after "]" is not ":<port>"' };
    return { host: body.slice(1, close), bracketed: true, ...(rest === '' ? {} : { portText: rest.slice(1) }) };
  }

  const parts = body.split(':');
  if (parts.length > 2) {
    return { problem: 'it has more than one ":", and an IPv6 address must be in brackets, as in net:[::1]:9000' };
  }
  const [host = '', portText] = parts;
  return { host, bracketed: false, ...(portText === undefined ? {} : { portText }) };
};

/** Parses the part after `net:`. */
export const parseNetCapability = (body: string): KindParseResult<NetCapability> => {
  // 1. Split host and port, and check the port.
  const split = splitHostPort(body);
  if ('problem' in split) return split;

  let port: number | null = null;
  if (split.portText !== undefined) {
    const parsed = parsePort(split.portText);
    if ('problem' in parsed) return parsed;
    port = parsed.port;
  }

  // 2. A bracketed host is an IPv6 address and nothing else.
  if (split.bracketed) {
    const address = canonicalIpv6(split.host);
    if (address === undefined) return { problem: `${quote(split.host)} is not a valid IPv6 address` };
    return { capability: { kind: 'net', host: address, hostType: 'ipv6', wildcard: false, port } };
  }

  // 3. A wildcard is `*.` followed by a domain, and `*` appears nowhere else.
  const wildcard = split.host.startsWith('*.');
  const hostText = wildcard ? split.host.slice(2) : split.host;
  if (hostText.includes('*')) return { problem: '"*" is allowed only as the whole first label, as in net:*.example.com' };
  if (hostText === '') return { problem: 'the host is missing' };

  // 4. A name or an IPv4 address.
  const host = normaliseGrantHost(hostText);
  if ('problem' in host) return host;
  if (wildcard && host.hostType !== 'name') return { problem: '"*." needs a domain name, not an IPv4 address' };
  if (wildcard && !host.host.includes('.')) {
    return { problem: 'a wildcard needs a domain of at least two labels, as in net:*.example.com' };
  }
  // `localhost` resolves to a loopback address, which only a grant that names the port may reach.
  if (host.host === 'localhost' && port === null) {
    return { problem: 'net:localhost needs a port, as in net:localhost:8080, to reach a loopback address' };
  }

  return { capability: { kind: 'net', ...host, wildcard, port } };
};

/** Returns the canonical text of a net capability, such as `net:*.example.com` or `net:[::1]:9000`. */
export const formatNetCapability = (capability: NetCapability): string => {
  const host = capability.hostType === 'ipv6' ? `[${capability.host}]` : capability.host;
  const port = capability.port === null ? '' : `:${capability.port}`;
  return `net:${capability.wildcard ? '*.' : ''}${host}${port}`;
};

/** Checks whether a net grant covers a net need: the same host (a strict subdomain for a wildcard) and port. */
export const netGrantCovers = (grant: NetCapability, need: NetNeed): boolean => {
  if (grant.hostType !== need.hostType) return false;
  if (grant.port !== null && grant.port !== need.port) return false;

  if (grant.wildcard) return need.hostType === 'name' && need.host.endsWith(`.${grant.host}`);
  return grant.host === need.host;
};

/**
 * Returns the capability string that would allow a net need: the host alone
 * for a name on port 80 or 443, and host and port otherwise, because address
 * literals and `localhost` reach local services only through a port grant.
 */
export const neededNetCapability = (need: NetNeed): string => {
  const isWebPort = need.port === 80 || need.port === 443;
  const port = need.hostType === 'name' && need.host !== 'localhost' && isWebPort ? null : need.port;
  return formatNetCapability({ kind: 'net', host: need.host, hostType: need.hostType, wildcard: false, port });
};

/**
 * Checks whether a grant may reach loopback and private addresses: only an
 * address literal, or `localhost` with a port, may. The code that connects
 * must apply this to the grant that covered the request.
 */
export const reachesPrivateAddresses = (grant: NetCapability): boolean =>
  grant.hostType !== 'name' || (grant.host === 'localhost' && grant.port !== null);

/** Returns which addresses a request covered by this grant may connect to. */
const addressPolicyOf = (grant: Grant): AddressPolicy =>
  grant.capability.kind === 'net' && reachesPrivateAddresses(grant.capability) ? 'anyAddress' : 'publicOnly';

/** HTTP methods a plugin may use. CONNECT and TRACE are left out because `fetch` forbids them. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Arguments of `fetch` and `json` after checking. */
export interface RequestArgs {
  /** The URL as the parser serialised it, without its fragment. */
  readonly url: string;
  readonly method: (typeof HTTP_METHODS)[number];
  readonly headers: Readonly<Record<string, string>>;
  /** The body as the plugin sent it. A string is sent as UTF-8. */
  readonly body: string | Uint8Array | undefined;
  /** Maximum time for the whole call in milliseconds, redirects and body included, or undefined for the netTimeoutMs limit. */
  readonly timeoutMs: number | undefined;
}

/** Maximum number of request headers. */
const HEADERS_MAX_COUNT = 100;

// Headers that describe the connection or the message framing, which the
// HTTP client sets. A plugin that set Host could reach a virtual host other
// than the one the grant names.
const forbiddenHeaders = new Set([
  'host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer',
  'expect', 'proxy-authorization', 'proxy-connection',
]);

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const makeOptionsStruct = (env: PluginEnv) =>
  z
    .strictObject({
      method: z
        .string()
        .transform((method) => method.toUpperCase())
        .pipe(z.enum(HTTP_METHODS))
        .optional(),
      // Checked by checkHeaders, because zod drops a `__proto__` key without an error.
      headers: z.unknown().optional(),
      body: z.union([z.string(), z.custom<Uint8Array>(isBytes, 'must be a string or a Uint8Array')]).optional(),
      timeoutMs: z.int().min(1).max(env.limits.netMaxTimeoutMs).optional(),
    })
    .optional();

const checkHeaders = (alleged: unknown, label: string): Record<string, string> => {
  if (alleged === undefined) return {};
  const headers = expectPlainObject(alleged, label);

  const entries = Object.entries(headers);
  if (entries.length > HEADERS_MAX_COUNT) throw invalid(`${label} has more than ${HEADERS_MAX_COUNT} headers`);
  for (const [name, value] of entries) {
    if (!headerName.test(name) || name === '__proto__') throw invalid(`${label} has the invalid header name ${quote(name)}`);
    if (forbiddenHeaders.has(name.toLowerCase())) throw invalid(`${label} must not set ${name}, which the HTTP client sets`);
    if (typeof value !== 'string') throw invalid(`${label}.${name} must be a string, got ${describeType(value)}`);
    // CR or LF in a value would start a header of the plugin's choosing.
    if (/[\0\r\n]/.test(value)) throw invalid(`${label}.${name} must not contain NUL, CR or LF`);
  }

  return Object.fromEntries(entries) as Record<string, string>;
};

/** The zod schema of the options of `fetch` and `json`. */
type OptionsStruct = ReturnType<typeof makeOptionsStruct>;

const checkRequest = (alleged: readonly unknown[], method: string, env: PluginEnv, optionsStruct: OptionsStruct): CheckedCall<RequestArgs> => {
  // 1. The URL, and the host and port it goes to.
  assertArgumentCount(alleged, 2, method);
  const url = checkRequestUrl(alleged[0], `${method} url`);
  const need = needOfUrl(url, `${method} url`);

  // 2. The options.
  assertWithinLimit(alleged[1], 'timeoutMs', env.limits.netMaxTimeoutMs, 'netMaxTimeoutMs', `${method} options`);
  const options = parseArgument(optionsStruct, alleged[1], `${method} options`);
  const httpMethod = options?.method ?? 'GET';
  const headers = checkHeaders(options?.headers, `${method} options.headers`);
  if (options?.body !== undefined && (httpMethod === 'GET' || httpMethod === 'HEAD')) {
    throw invalid(`${method} options.body is not allowed with ${httpMethod}`);
  }
  const bodyBytes = typeof options?.body === 'string' ? Buffer.byteLength(options.body, 'utf8') : (options?.body?.byteLength ?? 0);
  if (bodyBytes > env.limits.netMaxRequestBytes) {
    throw limit(`${method} options.body is ${bodyBytes} bytes, over the netMaxRequestBytes limit of ${env.limits.netMaxRequestBytes} bytes`);
  }

  // 3. What the grants must cover. The audit target drops the query string,
  // where API keys and tokens often sit.
  return {
    need,
    target: auditTarget(url),
    args: { url: url.href, method: httpMethod, headers, body: options?.body, timeoutMs: options?.timeoutMs },
    audit: { method: httpMethod },
  };
};

type NetRequestModule = typeof import('./net-request.js');

let netRequest: Promise<NetRequestModule> | undefined;
const loadNetRequest = () => (netRequest ??= import('./net-request.js'));

/**
 * Makes `ctx.net` for one plugin on a given transport. Tests pass a resolver
 * that maps names without DNS, or a connector that records its targets.
 */
export const makeNetCapabilityWith = (env: PluginEnv, transport: NetTransport): CapabilityInstance => {
  // The HTTP client (ofetch, undici) loads at a plugin's first request, not
  // at start-up: most plugins of a project never make one.
  let opened: Promise<{ module: NetRequestModule; session: NetSession }> | undefined;
  const open = () =>
    (opened ??= loadNetRequest().then((module) => ({ module, session: module.makeNetSession(env, transport, addressPolicyOf) })));
  const perform = async (args: RequestArgs, call: CallContext | undefined, op: 'fetch' | 'json') => {
    const { module, session } = await open();
    return module.performRequest(session, args, op, call);
  };
  const teardown = async () => {
    if (opened === undefined) return;
    const { module, session } = await opened;
    await module.closeNetSession(session);
  };
  // Made once per plugin: built on every call, the schema took about a tenth
  // of the time of a loopback request in bench/net.ts.
  const optionsStruct = makeOptionsStruct(env);

  const fetch: Operation<RequestArgs> = {
    check: (alleged) => checkRequest(alleged, 'ctx.net.fetch', env, optionsStruct),
    perform: (args, call) => perform(args, call, 'fetch'),
  };

  const json: Operation<RequestArgs> = {
    check: (alleged) => checkRequest(alleged, 'ctx.net.json', env, optionsStruct),
    perform: (args, call) => perform(args, call, 'json'),
  };

  return { operations: { fetch, json }, teardown };
};

/** Makes `ctx.net` for one plugin: fetch and json over the system resolver and real sockets. */
export const makeNetCapability: CapabilityFactory = (env) => makeNetCapabilityWith(env, systemTransport());

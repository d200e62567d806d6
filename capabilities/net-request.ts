/**
 * Performing `ctx.net.fetch` and `ctx.net.json`. Each hop is one HTTP
 * exchange through ofetch, with undici's fetch and a pinned-address `Agent`
 * below it. Redirects are followed here, never by the HTTP client, and the
 * response body is read under the size and time limits.
 *
 * Threats: a redirect to a host the grants do not cover, or to a local
 * address. A body that never ends or that decompresses to gigabytes, so only
 * decompressed bytes are counted and Content-Length is never trusted. A
 * server that responds slowly to hold the plugin's slots. Each hop is checked
 * against the live grants and the address rules as a new request, counted
 * against the rate limit, and written to the audit log as its own event.
 */

import { createFetch } from 'ofetch';
import { Agent, Headers as UndiciHeaders, fetch as undiciFetch } from 'undici';
import { PlugrunError, failed, invalid, limit, messageOf } from './errors.js';
import { auditTarget, isCredentialHeader, queryNames, redactHeaders, type RequestAuditFields } from './net-audit.js';
import { checkRequestUrl, needOfUrl } from './net-host.js';
import { connectPinned, type AddressPolicy, type NetTransport } from './net-pinning.js';
import { makeRequestGate, type RequestGate } from './net-rate.js';
import type { RequestArgs } from './net.js';
import type { CallContext, Grant, PluginEnv } from './types.js';

/** The result of `ctx.net.fetch`. */
export interface NetResponse {
  readonly status: number;
  /** True for a 2xx status. */
  readonly ok: boolean;
  /** Response headers with lowercase names. Repeated headers are joined with ", ". */
  readonly headers: Record<string, string>;
  /** The body decoded as UTF-8, with invalid sequences replaced. */
  readonly text: string;
}

/** The state of one plugin's `ctx.net`: its limits, its two agents, and how a grant maps to an address policy. */
export interface NetSession {
  readonly env: PluginEnv;
  readonly gate: RequestGate;
  readonly agents: Readonly<Record<AddressPolicy, Agent>>;
  readonly policyOf: (grant: Grant) => AddressPolicy;
}

/** One request of a call: the first, or a redirect hop. */
interface HopRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | undefined;
}

// ofetch over undici's own fetch, so that the `dispatcher` and the fetch
// that uses it come from one copy of undici.
const $fetch = createFetch({
  fetch: undiciFetch as unknown as typeof globalThis.fetch,
  Headers: UndiciHeaders as unknown as typeof globalThis.Headers,
  AbortController: globalThis.AbortController,
});

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

// Headers that describe a request body, dropped when a redirect turns the request into a GET (Fetch standard, HTTP-redirect fetch).
const BODY_HEADERS = new Set(['content-type', 'content-encoding', 'content-language', 'content-location']);

/**
 * Makes an undici `Agent` whose every new connection goes through
 * `connectPinned` with one policy. A kept-alive connection stays on the
 * address it was opened to.
 */
const makePinnedAgent = (policy: AddressPolicy, transport: NetTransport, plugin: string): Agent =>
  new Agent({
    connect: (origin, callback) => {
      connectPinned(origin, policy, transport, plugin).then(
        (socket) => callback(null, socket),
        (error: unknown) => callback(error instanceof Error ? error : new Error(messageOf(error)), null),
      );
    },
  });

/** Makes the `ctx.net` state of one plugin: its rate gate and one agent per address policy. */
export const makeNetSession = (env: PluginEnv, transport: NetTransport, policyOf: (grant: Grant) => AddressPolicy): NetSession => ({
  env,
  gate: makeRequestGate(env.limits),
  agents: {
    publicOnly: makePinnedAgent('publicOnly', transport, env.plugin.name),
    anyAddress: makePinnedAgent('anyAddress', transport, env.plugin.name),
  },
  policyOf,
});

/** Closes the session's connections when the plugin stops. */
export const closeNetSession = async (session: NetSession): Promise<void> => {
  await Promise.all(Object.values(session.agents).map((agent) => agent.destroy().catch(() => undefined)));
};

const hasHeader = (headers: Readonly<Record<string, string>>, name: string): boolean =>
  Object.keys(headers).some((key) => key.toLowerCase() === name);

/** Builds the first request of a call from its checked arguments. */
const firstRequest = (args: RequestArgs, op: 'fetch' | 'json'): HopRequest => {
  const headers: Record<string, string> = { ...args.headers };
  if (!hasHeader(headers, 'user-agent')) headers['user-agent'] = 'plugrun';
  if (op === 'json' && !hasHeader(headers, 'accept')) headers.accept = 'application/json';

  let body: Uint8Array | undefined;
  if (typeof args.body === 'string') {
    body = new TextEncoder().encode(args.body);
    // The Fetch standard's type for a string body, where ofetch would send application/json.
    if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'text/plain;charset=UTF-8';
  } else {
    body = args.body;
  }

  return { url: new URL(args.url), method: args.method, headers, body };
};

/**
 * Builds the request for a redirect, as the Fetch standard does: 303, and
 * 301 or 302 after a POST, become a GET without a body. Credential headers
 * are dropped when the hop leaves the origin, so a token for one host is
 * never sent to another.
 */
const redirectRequest = (previous: HopRequest, status: number, location: string, label: string): HopRequest => {
  let resolved: string;
  try {
    resolved = new URL(location, previous.url).href;
  } catch {
    throw invalid(`${label} redirect location from ${auditTarget(previous.url)} is not a valid URL`);
  }
  const url = checkRequestUrl(resolved, `${label} redirect location`);

  const toGet = (status === 303 && previous.method !== 'HEAD') || ((status === 301 || status === 302) && previous.method === 'POST');
  const crossOrigin = url.origin !== previous.url.origin;
  const headers = Object.fromEntries(
    Object.entries(previous.headers).filter(([name]) => {
      if (toGet && BODY_HEADERS.has(name.toLowerCase())) return false;
      return !(crossOrigin && isCredentialHeader(name));
    }),
  );

  return { url, method: toGet ? 'GET' : previous.method, headers, body: toGet ? undefined : previous.body };
};

/** Returns the response headers as a plain object with lowercase names. */
const collectHeaders = (headers: Headers): Record<string, string> => {
  const collected: Record<string, string> = {};
  headers.forEach((value, name) => {
    collected[name] = Object.hasOwn(collected, name) ? `${collected[name]}, ${value}` : value;
  });
  return collected;
};

/**
 * Reads a response body up to `maxBytes` after decompression. Throws
 * `PLUGRUN_LIMIT` as soon as the count passes the limit, and cancels the
 * stream, which closes the connection.
 */
const readBody = async (response: Response, maxBytes: number, label: string, target: string): Promise<Uint8Array> => {
  if (response.body === null) return new Uint8Array(0);
  const tooLarge = () => limit(`${label}: the response body of ${target} is larger than ${maxBytes} bytes, the netMaxResponseBytes limit`);

  // A declared length over the limit ends the call before any byte is read.
  // A smaller declared length proves nothing, so bytes are counted anyway.
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (!response.headers.has('content-encoding') && declared > maxBytes) {
    void response.body.cancel().catch(() => undefined);
    throw tooLarge();
  }

  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;

    total += value.byteLength;
    if (total > maxBytes) {
      void reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
};

/** Finds a `PlugrunError` in a chain of causes, such as a denial thrown by the connect step inside undici and ofetch. */
const findPlugrunError = (error: unknown): PlugrunError | undefined => {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    if (current instanceof PlugrunError) return current;
    current = current.cause;
  }
  return undefined;
};

/** Returns the message of the innermost cause, which names the network error without the URL that ofetch adds. */
const innermostMessage = (error: unknown): string => {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error && current.cause instanceof Error; depth += 1) current = current.cause;
  return messageOf(current);
};

/** The time limit of one call. */
interface Deadline {
  readonly signal: AbortSignal;
  readonly ms: number;
  /** Names where the limit comes from, for the message. */
  readonly source: string;
}

const toPlugrunError = (error: unknown, deadline: Deadline, label: string, url: URL): PlugrunError => {
  if (deadline.signal.aborted) return limit(`${label}: ${auditTarget(url)} timed out after ${deadline.ms} ms, the ${deadline.source}`);

  const known = findPlugrunError(error);
  if (known !== undefined) return known;
  return failed(`${label}: the request to ${auditTarget(url)} failed: ${innermostMessage(error)}`, error);
};

/** Sends one request through ofetch without following redirects or retrying, and returns the response with its body unread. */
const send = async (request: HopRequest, agent: Agent, signal: AbortSignal): Promise<Response> => {
  const response = await $fetch.raw(request.url.href, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    redirect: 'manual',
    dispatcher: agent,
    signal,
    retry: false,
    ignoreResponseError: true,
    responseType: 'stream',
  });
  return response as unknown as Response;
};

/**
 * Performs a checked `ctx.net` call: the first request, each redirect hop,
 * and for `json` the parsing. The first request's fields go on the call's
 * own event (through `call.annotate`), and each hop writes its own event.
 */
export const performRequest = async (session: NetSession, args: RequestArgs, op: 'fetch' | 'json', call?: CallContext): Promise<unknown> => {
  const { env, gate } = session;
  const label = `ctx.net.${op}`;

  // 1. A concurrency slot and a deadline for the whole call.
  const release = gate.enter();
  const controller = new AbortController();
  const deadline: Deadline = {
    signal: controller.signal,
    ms: args.timeoutMs ?? Math.min(env.limits.netTimeoutMs, env.limits.netMaxTimeoutMs),
    source: args.timeoutMs === undefined ? 'netTimeoutMs limit' : 'timeoutMs option',
  };
  const timer = setTimeout(() => controller.abort(new Error('the deadline passed')), deadline.ms);

  let redirects = 0;
  try {
    // 2. Each hop is a request of its own.
    let request = firstRequest(args, op);
    for (;;) {
      const outcome = await performHop(session, request, redirects, op, deadline, call);
      if (outcome.kind === 'response') return finish(outcome.response, op, label, request);

      if (redirects >= env.limits.netMaxRedirects) {
        throw limit(`${label}: more than ${env.limits.netMaxRedirects} redirects, the netMaxRedirects limit`);
      }
      request = redirectRequest(request, outcome.status, outcome.location, label);
      redirects += 1;
    }
  } finally {
    clearTimeout(timer);
    release();
    if (redirects > 0) call?.annotate?.({ redirects });
  }
};

type HopOutcome =
  | { readonly kind: 'response'; readonly response: NetResponse }
  | { readonly kind: 'redirect'; readonly status: number; readonly location: string };

/** Performs one hop: checks its grant and rate, sends it, and records it. */
const performHop = async (
  session: NetSession,
  request: HopRequest,
  hop: number,
  op: 'fetch' | 'json',
  deadline: Deadline,
  call: CallContext | undefined,
): Promise<HopOutcome> => {
  const { env, gate } = session;
  const label = `ctx.net.${op}`;
  const target = auditTarget(request.url);
  const started = performance.now();

  // 1. The grant. The gate checked the first request before perform ran, so
  // `authorize` passes it again, while a hop no grant covers is written as
  // `denied` there. The covering grant sets the address policy, and without
  // one (a revocation in between, or a host without `findGrant`) only
  // public addresses are reached.
  const need = needOfUrl(request.url, hop === 0 ? `${label} url` : `${label} redirect location`);
  env.authorize(need, op, target);
  const grant = env.findGrant?.(need);
  const policy = grant === undefined ? 'publicOnly' : session.policyOf(grant);

  const query = queryNames(request.url);
  const fields: RequestAuditFields = {
    method: request.method,
    ...(query === undefined ? {} : { query }),
    requestHeaders: redactHeaders(Object.entries(request.headers)),
    requestBytes: request.body?.byteLength ?? 0,
  };
  // A hop that cannot be audited is not sent.
  const audit = env.audit;
  if (hop > 0 && audit === undefined) throw failed(`${label}: the redirect to ${target} was not followed, because this host cannot audit it`);
  const record = (outcome: 'allowed' | 'error', extra: Record<string, unknown>) => {
    if (hop === 0) call?.annotate?.({ ...fields, ...extra });
    else audit?.({ cap: 'net', op, target, outcome, ms: performance.now() - started, hop, ...fields, ...extra });
  };

  // 2. The exchange.
  let response: Response | undefined;
  try {
    gate.admit();
    response = await send(request, session.agents[policy], deadline.signal);
    const status = response.status;
    const responseHeaders = redactHeaders(response.headers.entries());

    const location = REDIRECT_STATUSES.has(status) ? response.headers.get('location') : null;
    if (location !== null) {
      void response.body?.cancel().catch(() => undefined);
      record('allowed', { status, responseHeaders, bytes: 0 });
      return { kind: 'redirect', status, location };
    }

    const body = await readBody(response, env.limits.netMaxResponseBytes, label, target);
    record('allowed', { status, responseHeaders, bytes: body.byteLength });
    return {
      kind: 'response',
      response: { status, ok: status >= 200 && status < 300, headers: collectHeaders(response.headers), text: new TextDecoder().decode(body) },
    };
  } catch (error) {
    const wrapped = toPlugrunError(error, deadline, label, request.url);
    const status = response === undefined ? {} : { status: response.status };
    record('error', { ...status, error: { code: wrapped.code, message: wrapped.message } });
    throw wrapped;
  }
};

/** Returns the result of the call: the response for `fetch`, the parsed body for `json`. */
const finish = (response: NetResponse, op: 'fetch' | 'json', label: string, request: HopRequest): unknown => {
  if (op === 'fetch') return response;

  const target = auditTarget(request.url);
  if (!response.ok) throw failed(`${label}: ${request.method} ${target} returned HTTP status ${response.status}`);
  try {
    return JSON.parse(response.text) as unknown;
  } catch (error) {
    throw failed(`${label}: the response of ${request.method} ${target} is not valid JSON: ${messageOf(error)}`);
  }
};

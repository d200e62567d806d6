/**
 * Hosts as `net:` grants and request URLs write them, brought to one form so
 * that a grant and a URL compare equal exactly when they name the same host.
 *
 * Names are normalised the way the WHATWG URL parser normalises the host of
 * an http(s) URL: IDNA to punycode, lowercase, and then one trailing dot is
 * dropped. Names are also held to letters, digits, `-` and `_`. The URL parser
 * accepts `$`, `(` and `;` in hosts, and a denial message prints
 * `plugrun grant <plugin> net:<host>` for the user to paste into a shell.
 */

import { domainToASCII } from 'node:url';
import { expectString, quote } from './arguments.js';
import { invalid } from './errors.js';
import type { Need } from './types.js';

/** The type of a host, as a net need and a net grant carry it. */
export type HostType = Extract<Need, { kind: 'net' }>['hostType'];

/** A host in normalised form: a name, a dotted-quad IPv4 address or an IPv6 address without brackets. */
export interface NormalisedHost {
  readonly host: string;
  readonly hostType: HostType;
}

/** Maximum length of a host name in characters, the longest that DNS can carry. */
const HOST_NAME_MAX_CHARS = 253;

/** Maximum length of a request URL, in characters. */
const URL_MAX_CHARS = 8192;

const dottedQuad = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const hostLabel = /^[a-z0-9_-]{1,63}$/;

/** Checks whether the last label of a host is a decimal or hexadecimal number, as the URL parser's IPv4 test does. */
const endsInNumber = (host: string): boolean => /(^|\.)(\d+|0x[0-9a-f]*)$/.test(host);

/** Returns a sentence saying what is wrong with a lowercased ASCII host name, or undefined when it is valid. */
export const findHostNameProblem = (name: string): string | undefined => {
  if (name.length > HOST_NAME_MAX_CHARS) return `is longer than ${HOST_NAME_MAX_CHARS} characters`;

  const labels = name.split('.');
  if (labels.some((label) => label === '')) return 'has an empty label';
  if (!labels.every((label) => hostLabel.test(label))) {
    return 'may use only letters, digits, "-" and "_" in labels of at most 63 characters';
  }

  // The URL parser reads a host whose last label is a number as an IPv4
  // address in another notation (`1.2.3` is 1.2.0.3), so no name ends in one.
  if (endsInNumber(name)) return 'ends in a number but is not a dotted-quad IPv4 address';

  return undefined;
};

/** Returns an IPv6 address in the compressed form the URL parser writes, or undefined when it is not one. */
export const canonicalIpv6 = (address: string): string | undefined => {
  if (!/^[0-9A-Fa-f:.]+$/.test(address)) return undefined;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
};

/**
 * Normalises a host name or dotted-quad IPv4 address written in a grant, or
 * returns a sentence saying what is wrong. IPv6 addresses are handled by
 * `canonicalIpv6`, since a grant writes them in brackets.
 */
export const normaliseGrantHost = (host: string): NormalisedHost | { readonly problem: string } => {
  // domainToASCII stops at "/", "?", "#" and "\\" without an error, and
  // decodes percent-escapes, so ASCII punctuation is checked before it runs.
  // Other characters go through IDNA, and its result is checked again.
  const punctuation = /[\0-\x7f]/.exec(host.replace(/[A-Za-z0-9._-]/g, ''));
  if (punctuation !== null) {
    return { problem: `the host ${quote(host)} contains ${quote(punctuation[0])}, but a host name may use only letters, digits, ".", "-" and "_"` };
  }

  // domainToASCII also reads other IPv4 notations as the URL parser does
  // (`010.0.0.1` is 8.0.0.1, `1.2.3` is 1.2.0.3), which a reader of the grant
  // would not expect, so only the dotted-quad notation is accepted.
  const written = host.toLowerCase().replace(/\.$/, '');
  if (endsInNumber(written) && !dottedQuad.test(written)) {
    return { problem: `the host ${quote(host)} is not a dotted-quad IPv4 address, such as 10.0.0.1` };
  }

  let name = domainToASCII(host);
  if (name === '') return { problem: `the host ${quote(host)} is not a valid host name` };
  if (name.endsWith('.')) name = name.slice(0, -1);

  // IPv4 addresses are accepted in dotted-quad form only, which is how the
  // URL parser writes every IPv4 host.
  if (dottedQuad.test(name)) return { host: name, hostType: 'ipv4' };

  const problem = findHostNameProblem(name);
  if (problem !== undefined) return { problem: `the host ${quote(host)} ${problem}` };
  return { host: name, hostType: 'name' };
};

/** Returns the host of a parsed http(s) URL in normalised form, or a sentence saying why no grant can name it. */
export const hostOfUrl = (url: URL): NormalisedHost | { readonly problem: string } => {
  const hostname = url.hostname;
  if (hostname.startsWith('[')) return { host: hostname.slice(1, -1), hostType: 'ipv6' };
  if (dottedQuad.test(hostname)) return { host: hostname, hostType: 'ipv4' };

  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  const problem = findHostNameProblem(name);
  if (problem !== undefined) return { problem: `the host ${quote(name)} ${problem}` };
  return { host: name, hostType: 'name' };
};

/** Returns what a checked request URL needs from the grants: its normalised host and port, 80 or 443 when the URL names none. */
export const needOfUrl = (url: URL, label: string): Extract<Need, { kind: 'net' }> => {
  const host = hostOfUrl(url);
  if ('problem' in host) throw invalid(`${label} cannot be granted, because ${host.problem}`);

  let port = Number(url.port);
  if (url.port === '') port = url.protocol === 'https:' ? 443 : 80;
  return { kind: 'net', host: host.host, hostType: host.hostType, port };
};

/**
 * Shortens a URL for an error message, which reaches the audit log: the query
 * and fragment are cut and user info is masked, because tokens sit there.
 */
const describeUrl = (text: string): string => {
  const withoutQuery = text.split(/[?#]/, 1)[0] ?? '';
  return quote(withoutQuery.replace(/^([^:/]*:\/\/)[^/]*@/, '$1***@'));
};

/**
 * Parses a request URL with the WHATWG URL parser, the one `fetch` uses, and
 * returns it without its fragment. Throws `PLUGRUN_INVALID` for a URL that is
 * not absolute, not http: or https:, carries user info or uses port 0.
 */
export const checkRequestUrl = (alleged: unknown, label: string): URL => {
  const text = expectString(alleged, label);
  if (text.length > URL_MAX_CHARS) throw invalid(`${label} is longer than ${URL_MAX_CHARS} characters`);

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The parser's error is not kept as the cause, because it carries the whole URL.
    throw invalid(`${label} ${describeUrl(text)} is not a valid absolute URL`);
  }

  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`${label} ${describeUrl(text)} uses ${url.protocol}, but only http: and https: are allowed`);
  }
  // `http://api.example.org@evil.example/` reads as one host and goes to another.
  if (url.username !== '' || url.password !== '') {
    throw invalid(`${label} ${describeUrl(text)} contains user info, which is not allowed. Send credentials in a header instead`);
  }

  if (url.port === '0') throw invalid(`${label} ${describeUrl(text)} uses port 0, which no server listens on`);

  url.hash = '';
  return url;
};

/**
 * The fields the audit log records of an HTTP request, and the parts it never records.
 *
 * Threat: credentials copied into a log that more people read than the
 * plugin's secrets were meant for. Bodies are never recorded. Header values
 * whose name marks a credential are replaced by `[redacted]`. Query strings
 * keep their parameter names only, and a Location header not even those.
 * Every other header value is cut, so a hostile server cannot fill the log
 * through its headers.
 */

/** The text that replaces a credential header's value. */
export const REDACTED = '[redacted]';

/** Maximum length of one header value in an audit event, in characters. */
const AUDIT_HEADER_VALUE_MAX_CHARS = 200;

/** Maximum number of headers, and of query parameter names, in one audit event. */
const AUDIT_LIST_MAX = 50;

/** Maximum length of one query parameter name in an audit event, in characters. */
const QUERY_NAME_MAX_CHARS = 100;

// Names that carry credentials by standard, and parts of names that do by
// custom: X-Api-Key, X-Auth-Token, X-Amz-Security-Token, Client-Secret.
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'set-cookie2', 'www-authenticate', 'proxy-authenticate']);
const CREDENTIAL_NAME_PARTS = ['key', 'token', 'secret', 'password', 'passwd', 'session', 'signature', 'credential', 'auth'];

// Headers whose value is a URL, where a token may sit in the query string or the user info.
const URL_HEADERS = new Set(['location', 'content-location', 'referer']);

/** Cuts the query string and fragment from a URL in a header, and masks its user info. */
const stripUrl = (value: string): string => {
  const [beforeQuery = ''] = value.split(/[?#]/, 1);
  return beforeQuery.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, '$1***@');
};

/** Checks whether a header name marks a credential, whose value is never logged nor sent on to another origin. */
export const isCredentialHeader = (name: string): boolean => {
  const lower = name.toLowerCase();
  return CREDENTIAL_HEADERS.has(lower) || CREDENTIAL_NAME_PARTS.some((part) => lower.includes(part));
};

/**
 * Returns headers as an audit event records them: names in lowercase,
 * credential values redacted, URLs without query string, fragment and user
 * info, other values cut after 200 characters, at most 50 headers.
 */
export const redactHeaders = (headers: Iterable<readonly [string, string]>): Record<string, string> => {
  const redacted: Record<string, string> = {};
  let count = 0;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (Object.hasOwn(redacted, lower)) continue;
    if (count === AUDIT_LIST_MAX) {
      redacted['…'] = 'more headers left out';
      break;
    }
    count += 1;

    if (isCredentialHeader(lower)) {
      redacted[lower] = REDACTED;
      continue;
    }
    const shown = URL_HEADERS.has(lower) ? stripUrl(value) : value;
    redacted[lower] =
      shown.length > AUDIT_HEADER_VALUE_MAX_CHARS ? `${shown.slice(0, AUDIT_HEADER_VALUE_MAX_CHARS)}… (${shown.length} characters)` : shown;
  }
  return redacted;
};

/** Returns the names of a URL's query parameters, without their values, or undefined when it has none. */
export const queryNames = (url: URL): string[] | undefined => {
  const names = [...new Set(url.searchParams.keys())]
    .slice(0, AUDIT_LIST_MAX)
    .map((name) => (name.length > QUERY_NAME_MAX_CHARS ? `${name.slice(0, QUERY_NAME_MAX_CHARS)}…` : name));
  return names.length === 0 ? undefined : names;
};

/** Returns the audit target of a URL: its origin and path, without query string and fragment. */
export const auditTarget = (url: URL): string => `${url.origin}${url.pathname}`;

/** The fields an audit event records about one request and its response. */
export interface RequestAuditFields {
  readonly method: string;
  /** Query parameter names, without values. */
  readonly query?: readonly string[];
  readonly requestHeaders: Readonly<Record<string, string>>;
  /** Size of the request body, in bytes. */
  readonly requestBytes: number;
  readonly status?: number;
  readonly responseHeaders?: Readonly<Record<string, string>>;
  /** Size of the response body after decompression, in bytes, or 0 for a redirect, whose body is not read. */
  readonly bytes?: number;
}

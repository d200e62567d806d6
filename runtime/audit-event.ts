/**
 * The audit event format: the fields of one event, the escaped JSON line
 * written for it, and the hash recipe of each format version.
 *
 * Version 2 hashes the line's own bytes: the previous event's hash, a
 * newline, and the line as written without its final `,"hash":"..."`
 * member. Version 1, written by earlier plugrun releases, hashed a canonical
 * JSON form with sorted keys instead, which costs about twice as much per
 * event; its lines are still verified by that recipe.
 *
 * The line is plain JSON with one addition: the characters that can move a
 * terminal's cursor, hide text or reorder it (DEL, C1 controls, zero-width and
 * bidi marks, line and paragraph separators) are written as `\uXXXX`
 * escapes, as JSON.stringify already does for C0 controls. A line printed
 * raw to a terminal therefore cannot forge output, and parsing it gives back
 * the exact values, so the hash is unchanged.
 */

import crypto from 'node:crypto';

import { compareText } from '../capabilities/compare.js';

/** Version of the event format, written in every event as `v`. */
export const AUDIT_FORMAT_VERSION = 2;

/** The kinds of outcome an event records. */
export type Outcome = 'allowed' | 'denied' | 'error';

/** The outcomes, for validating filters. */
export const OUTCOMES: readonly Outcome[] = ['allowed', 'denied', 'error'];

/** The fields a caller supplies for one event. */
export interface AuditInput {
  readonly plugin: string;
  /** `fs`, `net`, `db`, `msg`, `config`, `log` or `runtime`. */
  readonly cap: string;
  readonly op: string;
  readonly target?: string;
  readonly outcome: Outcome;
  /** Duration of the call in milliseconds, when it ran. */
  readonly ms?: number;
  /** For `denied`: the capability string that would have allowed the call. */
  readonly needed?: string;
  /** For `error`: the code and message. */
  readonly error?: { readonly code: string; readonly message: string };
  /** Further fields: `message` and `fields` of a log event, details of a runtime event. */
  readonly [extra: string]: unknown;
}

/** An event as written, with its sequence number, time and chain hash. */
export interface AuditEvent extends AuditInput {
  readonly v: number;
  readonly seq: number;
  readonly time: string;
  /** On the first event of a file that continues an earlier file: the hash of the event before it. */
  readonly prev?: string;
  readonly hash: string;
}

/** Serialises a JSON value with object keys sorted, so the hash does not depend on key order. */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => compareText(a, b));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
};

/** Computes the chain hash of a format-1 event from the previous event's hash. */
export const chainHash = (previousHash: string, event: Omit<AuditEvent, 'hash'>): string =>
  `sha256-${crypto.createHash('sha256').update(previousHash).update('\n').update(canonicalJson(event)).digest('base64')}`;

// JSON.stringify escapes C0 controls itself; these are the other characters a terminal acts on.
const terminalUnsafe = /[\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

const hasTerminalUnsafe = new RegExp(terminalUnsafe.source);

/** Serialises a value as one line of JSON with terminal-unsafe characters written as `\uXXXX` escapes. */
export const toSafeJson = (value: unknown): string => {
  const text = JSON.stringify(value);
  if (!hasTerminalUnsafe.test(text)) return text;
  return text.replace(terminalUnsafe, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
};

// crypto.hash, one call without a Hash object, exists from Node 20.12 and 21.7.
const sha256Base64: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'base64')
    : (text) => crypto.createHash('sha256').update(text).digest('base64');

/** Computes the chain hash of a format-2 line body (the line without its `hash` member) from the previous hash. */
export const lineHash = (previousHash: string, body: string): string => `sha256-${sha256Base64(`${previousHash}\n${body}`)}`;

/**
 * Serialises and hashes an event; returns it with its `hash` set and its
 * line (without newline). The object passed in is completed in place, so
 * the caller must own it.
 */
export const sealEvent = (previousHash: string, unhashed: Omit<AuditEvent, 'hash'>): { event: AuditEvent; line: string } => {
  const body = toSafeJson(unhashed);
  const hash = lineHash(previousHash, body);
  const event = unhashed as { hash?: string };
  event.hash = hash;
  return { event: event as AuditEvent, line: `${body.slice(0, -1)},"hash":"${hash}"}` };
};

const HASH_MEMBER = /,"hash":"(sha256-[A-Za-z0-9+/]+={0,2})"\}$/;

/**
 * Recomputes the hash a line should carry after `previousHash`, by the
 * recipe of its format version. Returns undefined for a line that is not an
 * event of a known version.
 */
export const expectedHash = (previousHash: string, line: string, event: Record<string, unknown>): string | undefined => {
  if (event.v === 1) {
    const { hash: _hash, ...body } = event;
    return chainHash(previousHash, body as Omit<AuditEvent, 'hash'>);
  }
  if (event.v === 2) {
    const match = HASH_MEMBER.exec(line);
    if (match === null) return undefined;
    return lineHash(previousHash, `${line.slice(0, match.index)}}`);
  }
  return undefined;
};

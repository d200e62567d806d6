/**
 * The audit log: one JSON object per line in `.plugrun/audit.ndjson`, for
 * every `ctx` call (allowed, denied or failed) and every runtime event.
 *
 * Each event's `hash` is the SHA-256 of the previous event's hash and this
 * event's canonical JSON, so an edited, removed or reordered line breaks the
 * chain. The chain and `seq` continue from the last line across restarts.
 * Lines are appended synchronously, so an event is on disk before the call's
 * result goes back to the plugin.
 */

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { compareText } from '../capabilities/compare.js';

/** Version of the event format, written in every event as `v`. */
export const AUDIT_FORMAT_VERSION = 1;

/** The kinds of outcome an event records. */
export type Outcome = 'allowed' | 'denied' | 'error';

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
  readonly hash: string;
}

/** Receives every event after it is written. */
export type AuditListener = (event: AuditEvent) => void;

/** Serialises a JSON value with object keys sorted, so the hash does not depend on key order. */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => compareText(a, b));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
};

/** Computes the chain hash of an event from the previous event's hash. */
export const chainHash = (previousHash: string, event: Omit<AuditEvent, 'hash'>): string =>
  `sha256-${crypto.createHash('sha256').update(previousHash).update('\n').update(canonicalJson(event)).digest('base64')}`;

/** Reads the last complete event of a log, to continue its sequence and chain. */
const readLastEvent = (filePath: string): { seq: number; hash: string } => {
  let fd: number;
  try {
    fd = fs.openSync(filePath, 'r');
  } catch {
    return { seq: 0, hash: '' };
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, 1024 * 1024);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').filter((line) => line.trim() !== '');
    for (let index = lines.length - 1; index >= 0; index -= 1) {
      try {
        const event = JSON.parse(lines[index]!) as Partial<AuditEvent>;
        if (typeof event.seq === 'number' && typeof event.hash === 'string') return { seq: event.seq, hash: event.hash };
      } catch {
        // A line cut off by a crash: the one before it is the last complete event.
      }
    }
    return { seq: 0, hash: '' };
  } finally {
    fs.closeSync(fd);
  }
};

/** An append-only, hash-chained audit log. */
export class AuditLog {
  readonly filePath: string;
  #fd: number;
  #seq: number;
  #hash: string;
  readonly #listeners = new Set<AuditListener>();

  /** Opens (or creates) the log at `filePath` and continues its chain. */
  constructor(filePath: string) {
    this.filePath = filePath;
    fs.mkdirSync(path.dirname(filePath), { recursive: true });
    const last = readLastEvent(filePath);
    this.#seq = last.seq;
    this.#hash = last.hash;
    this.#fd = fs.openSync(filePath, 'a');
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: AuditListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Writes one event to disk, then passes it to every listener. */
  write(input: AuditInput): AuditEvent {
    const { plugin, cap, op, target, outcome, ms, ...extra } = input;
    const unhashed = {
      v: AUDIT_FORMAT_VERSION,
      seq: this.#seq + 1,
      time: new Date().toISOString(),
      plugin,
      cap,
      op,
      ...(target === undefined || target === '' ? {} : { target }),
      outcome,
      ...(ms === undefined ? {} : { ms: Math.round(ms * 1000) / 1000 }),
      ...extra,
    };
    const hash = chainHash(this.#hash, unhashed);
    const event: AuditEvent = { ...unhashed, hash };

    fs.writeSync(this.#fd, `${JSON.stringify(event)}\n`);
    this.#seq = event.seq;
    this.#hash = hash;

    for (const listener of this.#listeners) listener(event);
    return event;
  }

  /** Flushes to disk and closes the file. */
  close(): void {
    if (this.#fd === -1) return;
    fs.fsyncSync(this.#fd);
    fs.closeSync(this.#fd);
    this.#fd = -1;
  }
}

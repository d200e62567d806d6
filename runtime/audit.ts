/**
 * The audit log: one JSON object per line in `.plugrun/audit.ndjson`, for
 * every `ctx` call (allowed, denied or failed) and every runtime event.
 *
 * Each event's `hash` is the SHA-256 of the previous event's hash and this
 * event's canonical JSON (see audit-event.ts), so an edited, removed,
 * reordered or inserted line breaks the chain. The chain and `seq` continue
 * across restarts, across processes that write the same log, and across
 * rotated files.
 *
 * Writing has two steps. `write` records the event in memory. `flush` takes
 * the inter-process append lock and reads the chain's end if another
 * process appended since. It then assigns `seq` and `hash`, rotates the file
 * when it is full, appends the lines with one write, and releases the lock. A flush
 * runs before the result of a ctx call goes back to the plugin (the
 * supervisor calls it), before a worker is terminated, when 1,024 events
 * are waiting, at the end of the current event-loop turn, and when the
 * process exits, signals included. Listeners see each event after its flush.
 */

import fs from 'node:fs';
import path from 'node:path';

import { AppendLock } from './audit-lock.js';
import { AUDIT_FORMAT_VERSION, sealEvent, type AuditEvent, type AuditInput } from './audit-event.js';
import { readChainTail, rotateFiles } from './audit-files.js';

export { AUDIT_FORMAT_VERSION, canonicalJson, chainHash, expectedHash, type AuditEvent, type AuditInput, type Outcome } from './audit-event.js';

/** Default size at which the current file is rotated: 50 MiB. */
export const DEFAULT_AUDIT_MAX_BYTES = 50 * 1024 * 1024;

/** Default number of rotated files kept besides the current one. */
export const DEFAULT_AUDIT_KEEP = 5;

/** Events waiting in memory at which `write` flushes at once. */
const FLUSH_AT_EVENTS = 1024;

/** Receives every event after it is written, with its line as written (without the newline). */
export type AuditListener = (event: AuditEvent, line: string) => void;

/** Options of an audit log. */
export interface AuditLogOptions {
  /** Size in bytes past which the current file is rotated before the next line; default 50 MiB. */
  readonly maxBytes?: number;
  /** Rotated files kept besides the current one; default 5. Older ones are deleted. */
  readonly keep?: number;
  /** Receives a failure of a flush that no caller waited for; default: a process warning. */
  readonly onError?: (error: Error) => void;
}

/** An event recorded in memory, whose `seq` is set and `hash` added at the flush. */
type PendingEvent = Omit<AuditEvent, 'hash'>;

/** Fields that `write` places first; an input's own value for `v`, `seq`, `time` or `hash` is ignored. */
const LEADING_FIELDS = new Set(['v', 'seq', 'time', 'plugin', 'cap', 'op', 'target', 'outcome', 'ms', 'prev', 'hash']);

const openLogs = new Set<AuditLog>();
let exitHookInstalled = false;

/** Flushes every open log when the process exits, including through `process.exit` after a signal. */
const installExitHook = () => {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const log of openLogs) {
      try {
        log.close();
      } catch {
        // Nothing can be reported this late; the lines already written stay.
      }
    }
  });
};

let lastMillis = -1;
let lastIso = '';

/** Returns the current time in ISO 8601, formatting it once per millisecond. */
const isoNow = (): string => {
  const millis = Date.now();
  if (millis !== lastMillis) {
    lastMillis = millis;
    lastIso = new Date(millis).toISOString();
  }
  return lastIso;
};

const writeAll = (fd: number, text: string): void => {
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < bytes.length) offset += fs.writeSync(fd, bytes, offset, bytes.length - offset);
};

/** Returns whether the byte before `size` is a newline, which a complete last line ends with. */
const endsWithNewline = (fd: number, size: number): boolean => {
  if (size === 0) return true;
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, size - 1);
  return byte[0] === 10;
};

/** An append-only, hash-chained audit log that several processes can write at once. */
export class AuditLog {
  readonly filePath: string;
  readonly #maxBytes: number;
  readonly #keep: number;
  readonly #onError: (error: Error) => void;
  readonly #lock: AppendLock;
  readonly #listeners = new Set<AuditListener>();
  #pending: PendingEvent[] = [];
  #flushScheduled = false;
  #closed = false;
  // The file as this process last left it; a different inode or size means another process wrote.
  #fd = -1;
  #ino = -1;
  #size = -1;
  #seq = 0;
  #hash = '';

  /** Opens (or creates) the log at `filePath`; the chain's end is read at the first flush. */
  constructor(filePath: string, options: AuditLogOptions = {}) {
    this.filePath = filePath;
    this.#maxBytes = options.maxBytes ?? DEFAULT_AUDIT_MAX_BYTES;
    this.#keep = options.keep ?? DEFAULT_AUDIT_KEEP;
    this.#onError = options.onError ?? ((error) => process.emitWarning(error));
    fs.mkdirSync(path.dirname(filePath), { recursive: true });
    this.#lock = new AppendLock(filePath);
    openLogs.add(this);
    installExitHook();
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: AuditListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Records one event; it reaches the file at the next flush, at the latest at the end of this event-loop turn. */
  write(input: AuditInput): void {
    if (this.#closed) throw new Error(`the audit log ${this.filePath} is closed`);
    // Built field by field in the documented order; seq is set at the flush.
    const event: Record<string, unknown> = { v: AUDIT_FORMAT_VERSION, seq: 0, time: isoNow() };
    event.plugin = input.plugin;
    event.cap = input.cap;
    event.op = input.op;
    if (input.target !== undefined && input.target !== '') event.target = input.target;
    event.outcome = input.outcome;
    if (input.ms !== undefined) event.ms = Math.round(input.ms * 1000) / 1000;
    for (const key in input) {
      if (!LEADING_FIELDS.has(key) && Object.hasOwn(input, key)) event[key] = input[key];
    }
    this.#pending.push(event as PendingEvent);
    if (this.#pending.length >= FLUSH_AT_EVENTS) {
      this.flush();
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#scheduledFlush());
    }
  }

  /** Writes every recorded event to the file under the append lock, then passes each to the listeners. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];

    let lockKept: boolean;
    try {
      lockKept = this.#lock.acquire();
    } catch (error) {
      this.#pending = [...batch, ...this.#pending];
      throw error;
    }
    let written: Array<{ event: AuditEvent; line: string }>;
    try {
      written = this.#append(batch, lockKept);
    } catch (error) {
      // The file's state is unknown now: read it again at the next flush.
      this.#ino = -1;
      throw error;
    } finally {
      this.#lock.release();
    }

    for (const { event, line } of written) {
      for (const listener of this.#listeners) listener(event, line);
    }
  }

  /** Flushes, syncs to disk and closes the file. */
  close(): void {
    if (this.#closed) return;
    try {
      this.flush();
    } finally {
      this.#closed = true;
      openLogs.delete(this);
      this.#lock.dispose();
      if (this.#fd !== -1) {
        fs.fsyncSync(this.#fd);
        fs.closeSync(this.#fd);
        this.#fd = -1;
      }
    }
  }

  #scheduledFlush() {
    this.#flushScheduled = false;
    if (this.#closed) return;
    try {
      this.flush();
    } catch (error) {
      this.#onError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Appends a batch under the lock; `lockKept` is true when this log has held the lock since its last batch. */
  #append(batch: readonly PendingEvent[], lockKept: boolean): Array<{ event: AuditEvent; line: string }> {
    // No other process can write while this log keeps the lock, so the file is as this log left it.
    let chunk = (lockKept && this.#fd !== -1 && this.#ino !== -1) || this.#syncWithFile() ? '' : '\n';
    let chunkBytes = chunk.length;
    const written: Array<{ event: AuditEvent; line: string }> = [];

    for (const pending of batch) {
      const seq = this.#seq + 1;
      let sealed = this.#seal(pending, seq, this.#size + chunkBytes === 0);
      let bytes = Buffer.byteLength(sealed.line) + 1;

      // Rotate before a line that would take the file past its size; a line larger than that gets a file of its own.
      if (this.#size + chunkBytes > 0 && this.#size + chunkBytes + bytes > this.#maxBytes) {
        writeAll(this.#fd, chunk);
        this.#rotate();
        chunk = '';
        chunkBytes = 0;
        sealed = this.#seal(pending, seq, true);
        bytes = Buffer.byteLength(sealed.line) + 1;
      }

      chunk += `${sealed.line}\n`;
      chunkBytes += bytes;
      this.#seq = seq;
      this.#hash = sealed.event.hash;
      written.push(sealed);
    }

    writeAll(this.#fd, chunk);
    this.#size += chunkBytes;
    return written;
  }

  /** Gives an event its `seq`, `prev` when it starts a file after earlier events, and `hash`. */
  #seal(pending: PendingEvent, seq: number, firstOfFile: boolean): { event: AuditEvent; line: string } {
    // Completed in place: the pending object is this log's own, and a copy per event costs more than the hash.
    const body = pending as Record<string, unknown>;
    body.seq = seq;
    if (body.hash !== undefined) delete body.hash;
    if (firstOfFile && this.#hash !== '') body.prev = this.#hash;
    else if (body.prev !== undefined) delete body.prev;
    return sealEvent(this.#hash, body as Omit<AuditEvent, 'hash'>);
  }

  /**
   * Makes the in-memory end of the chain match the file: reopens it after a
   * rotation by another process, and reads its last event after another
   * process appended. Returns false when the file ends in a line cut off by
   * a crash, which the next chunk must first terminate.
   */
  #syncWithFile(): boolean {
    const stats = fs.statSync(this.filePath, { throwIfNoEntry: false });
    if (this.#fd !== -1 && stats !== undefined && stats.ino === this.#ino && stats.size === this.#size) return true;

    if (this.#fd === -1 || stats === undefined || stats.ino !== this.#ino) {
      if (this.#fd !== -1) fs.closeSync(this.#fd);
      this.#fd = fs.openSync(this.filePath, 'a+');
    }
    const opened = fs.fstatSync(this.#fd);
    this.#ino = opened.ino;
    this.#size = opened.size;
    const tail = readChainTail(this.filePath);
    this.#seq = tail.seq;
    this.#hash = tail.hash;
    return endsWithNewline(this.#fd, opened.size);
  }

  #rotate() {
    fs.fsyncSync(this.#fd);
    fs.closeSync(this.#fd);
    this.#fd = -1;
    rotateFiles(this.filePath, this.#keep);
    this.#fd = fs.openSync(this.filePath, 'a+');
    const opened = fs.fstatSync(this.#fd);
    this.#ino = opened.ino;
    this.#size = opened.size;
  }
}

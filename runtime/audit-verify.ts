/**
 * Checks the hash chain of an audit log across its rotated files and names
 * the first break: the file, the line, and its kind.
 *
 * - `edited`: a line's content no longer matches its hash.
 * - `removed`: events are missing (a gap in `seq` that no later line fills).
 * - `reordered`: an event appears before one with a lower `seq`.
 * - `inserted`: a line that is not part of the chain, because the line after
 *   it continues the chain from the line before it, or it repeats an
 *   earlier `seq`.
 *
 * A line cut off by a crash during a write is an incomplete write, not a
 * break: it is the last line of the log without its newline, or a line that
 * does not parse while the next line continues the chain from the one
 * before it. Because the gate writes a call's event before the call's
 * result is sent, the call of a cut-off event never returned to its plugin.
 *
 * The chain cannot show events removed from the end of the newest file, or
 * a log rewritten from some line to its end with recomputed hashes: only a
 * head (`seq` and `hash`) recorded elsewhere can.
 */

import { expectedHash } from './audit-event.js';
import { listLogFiles, readLines, type LogLine } from './audit-files.js';

/** Kinds of chain break. */
export type BreakKind = 'edited' | 'removed' | 'reordered' | 'inserted';

/** The first break found. */
export interface ChainBreak {
  readonly kind: BreakKind;
  readonly file: string;
  readonly line: number;
  readonly seq?: number;
  /** What is wrong, for a person. */
  readonly message: string;
}

/** A line cut off by a crash during a write. */
export interface IncompleteWrite {
  readonly file: string;
  readonly line: number;
}

/** The outcome of a verification. */
export interface VerifyResult {
  readonly intact: boolean;
  /** The files read, oldest first. */
  readonly files: readonly string[];
  /** Events whose hash was checked before the first break, or in all when intact. */
  readonly events: number;
  /** The last checked event, to record elsewhere and compare at a later check. */
  readonly head?: { readonly seq: number; readonly hash: string };
  /** When the oldest file starts after events in rotated files that were deleted: the first `seq` present. */
  readonly startsAtSeq?: number;
  readonly incomplete: readonly IncompleteWrite[];
  readonly break?: ChainBreak;
}

/** One line with its parsed event, when it is one. */
interface Entry {
  readonly line: LogLine;
  readonly event?: Record<string, unknown> & { seq: number; hash: string; prev?: unknown };
}

const parseEntry = (line: LogLine): Entry => {
  try {
    const event = JSON.parse(line.text) as Record<string, unknown>;
    if (event !== null && typeof event === 'object' && Number.isSafeInteger(event.seq) && typeof event.hash === 'string') {
      return { line, event: event as Entry['event'] };
    }
  } catch {
    // Not JSON: a cut-off write or an edit, decided by the caller.
  }
  return { line };
};

function* entriesOf(files: readonly string[]): Generator<Entry> {
  for (const file of files) {
    for (const line of readLines(file)) yield parseEntry(line);
  }
}

const where = (line: LogLine) => `${line.file}:${line.line}`;

/** Verifies the chain of the log at `logPath` and its rotated files. */
export const verifyAuditLog = (logPath: string): VerifyResult => {
  const files = listLogFiles(logPath);
  const entries = entriesOf(files);
  const incomplete: IncompleteWrite[] = [];
  let previousHash = '';
  let previousSeq = 0;
  let anchored = false;
  let startsAtSeq: number | undefined;
  let events = 0;

  const head = () => (anchored ? { head: { seq: previousSeq, hash: previousHash } } : {});
  const broken = (found: ChainBreak): VerifyResult => ({ intact: false, files, events, ...head(), ...(startsAtSeq === undefined ? {} : { startsAtSeq }), incomplete, break: found });
  const continues = (entry: Entry | undefined, fromHash: string, seq: number): boolean =>
    entry?.event !== undefined && entry.event.seq === seq && expectedHash(fromHash, entry.line.text, entry.event) === entry.event.hash;

  let next = entries.next();
  while (!next.done) {
    const entry = next.value;
    next = entries.next();
    const following = next.done ? undefined : next.value;
    const { line, event } = entry;

    // 1. A line that is not an event: a crash's cut-off write, or an edit.
    if (event === undefined) {
      if ((!line.terminated && following === undefined) || (anchored && continues(following, previousHash, previousSeq + 1))) {
        incomplete.push({ file: line.file, line: line.line });
        continue;
      }
      const kind: BreakKind = line.text.trim() === '' ? 'inserted' : 'edited';
      return broken({ kind, file: line.file, line: line.line, message: `${where(line)} is not a valid audit event` });
    }

    // 2. The hash this event continues from: the previous line, or its own `prev` at the start of what is kept.
    let base = previousHash;
    let expectedSeq = previousSeq + 1;
    if (!anchored && typeof event.prev === 'string') {
      base = event.prev;
      expectedSeq = event.seq;
      startsAtSeq = event.seq;
    } else if (anchored && event.prev !== undefined && event.prev !== previousHash) {
      if (event.seq > expectedSeq) {
        return broken({ kind: 'removed', file: line.file, line: line.line, seq: event.seq, message: `events with seq ${expectedSeq} to ${event.seq - 1} are missing before ${where(line)}, at the end of the previous file` });
      }
      return broken({ kind: 'edited', file: line.file, line: line.line, seq: event.seq, message: `${where(line)} names a previous hash that is not the hash of the event before it` });
    }

    if (event.seq === expectedSeq && expectedHash(base, line.text, event) === event.hash) {
      previousHash = event.hash;
      previousSeq = event.seq;
      anchored = true;
      events += 1;
      continue;
    }

    // 3. A break: classify it. A line ahead of its turn that chains to its true predecessor was moved.
    if (event.seq > expectedSeq) {
      let laterLine: LogLine | undefined;
      let predecessor: Entry | undefined;
      for (let rest = following; rest !== undefined; ) {
        if (rest.event?.seq === expectedSeq && laterLine === undefined) laterLine = rest.line;
        if (rest.event?.seq === event.seq - 1) predecessor = rest;
        if (laterLine !== undefined && predecessor !== undefined) break;
        const step = entries.next();
        rest = step.done ? undefined : step.value;
      }
      const moved = predecessor?.event !== undefined && expectedHash(predecessor.event.hash, line.text, event) === event.hash;
      if (laterLine !== undefined && (moved || !(anchored && continues(following, previousHash, expectedSeq)))) {
        return broken({ kind: 'reordered', file: line.file, line: line.line, seq: event.seq, message: `${where(line)} has seq ${event.seq}, but seq ${expectedSeq} comes later, at ${where(laterLine)}` });
      }
      if (laterLine === undefined) {
        const missing = event.seq - 1 === expectedSeq ? `the event with seq ${expectedSeq} is` : `events with seq ${expectedSeq} to ${event.seq - 1} are`;
        return broken({ kind: 'removed', file: line.file, line: line.line, seq: event.seq, message: `${missing} missing before ${where(line)}` });
      }
    }
    if (anchored && continues(following, previousHash, expectedSeq)) {
      return broken({ kind: 'inserted', file: line.file, line: line.line, seq: event.seq, message: `${where(line)} is not part of the chain: the line after it continues from the line before it` });
    }
    if (event.seq === expectedSeq) {
      return broken({ kind: 'edited', file: line.file, line: line.line, seq: event.seq, message: `${where(line)} (seq ${event.seq}) does not match its hash: it, or the line before it, was changed after it was written` });
    }
    return broken({ kind: 'inserted', file: line.file, line: line.line, seq: event.seq, message: `${where(line)} repeats seq ${event.seq}, which the chain already passed` });
  }

  return { intact: true, files, events, ...head(), ...(startsAtSeq === undefined ? {} : { startsAtSeq }), incomplete };
};

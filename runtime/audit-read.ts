/**
 * Reading an audit log for people and scripts: every event across the
 * rotated files in chain order, the filters of `plugrun audit`, and a
 * follower that keeps reading new events like `tail -F`, across rotation.
 */

import fs from 'node:fs';

import type { AuditEvent } from './audit-event.js';
import { listLogFiles, listRotated, readLines } from './audit-files.js';

/** The selection of `plugrun audit`; every given field must match. */
export interface AuditFilter {
  readonly plugins?: readonly string[];
  readonly caps?: readonly string[];
  readonly ops?: readonly string[];
  readonly outcomes?: readonly string[];
  /** Milliseconds since the epoch; events at or after it. */
  readonly since?: number;
  /** Milliseconds since the epoch; events at or before it. */
  readonly until?: number;
}

/** Returns whether an event passes a filter. */
export const matchesFilter = (event: AuditEvent, filter: AuditFilter): boolean => {
  if (filter.plugins !== undefined && !filter.plugins.includes(event.plugin)) return false;
  if (filter.caps !== undefined && !filter.caps.includes(event.cap)) return false;
  if (filter.ops !== undefined && !filter.ops.includes(event.op)) return false;
  if (filter.outcomes !== undefined && !filter.outcomes.includes(event.outcome)) return false;
  if (filter.since !== undefined || filter.until !== undefined) {
    const time = Date.parse(event.time);
    if (filter.since !== undefined && !(time >= filter.since)) return false;
    if (filter.until !== undefined && !(time <= filter.until)) return false;
  }
  return true;
};

const parseEvent = (text: string): AuditEvent | undefined => {
  try {
    const event = JSON.parse(text) as AuditEvent;
    return event !== null && typeof event === 'object' && typeof event.seq === 'number' ? event : undefined;
  } catch {
    // A line cut off by a crash, or not an event: `plugrun audit verify` reports it.
    return undefined;
  }
};

/** Where a follower continues: the current file's inode and the offset after its last complete line. */
export interface ReadPosition {
  readonly ino: number;
  readonly offset: number;
}

/** Reads every event of the log, oldest first, passing each to `onEvent`; returns where reading stopped in the current file. */
export const readAuditLog = (logPath: string, onEvent: (event: AuditEvent) => void): ReadPosition => {
  const stats = fs.statSync(logPath, { throwIfNoEntry: false });
  let offset = 0;
  for (const file of listLogFiles(logPath)) {
    for (const line of readLines(file)) {
      if (!line.terminated) continue;
      if (file === logPath) offset = line.end;
      const event = parseEvent(line.text);
      if (event !== undefined) onEvent(event);
    }
  }
  return { ino: stats?.ino ?? -1, offset };
};

/** Options of a follower. */
export interface FollowOptions {
  readonly from: ReadPosition;
  readonly onEvent: (event: AuditEvent) => void;
  /** Polling interval in milliseconds; default 200. */
  readonly intervalMs?: number;
}

/**
 * Polls the log and passes on each new complete line. When the current
 * file was rotated, it finishes the old file (found among the rotated ones
 * by its inode), then any rotated file newer than that, then continues in
 * the new current file. Returns the function that stops following.
 */
export const followAuditLog = (logPath: string, options: FollowOptions): (() => void) => {
  let { ino, offset } = options.from;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const readFrom = (file: string, start: number, complete: boolean): number => {
    let end = start;
    for (const line of readLines(file, start)) {
      // An unterminated line may still be being written, unless the file is no longer current.
      if (!line.terminated && !complete) break;
      end = line.end;
      const event = parseEvent(line.text);
      if (event !== undefined) options.onEvent(event);
    }
    return end;
  };

  const poll = () => {
    const stats = fs.statSync(logPath, { throwIfNoEntry: false });
    if (stats !== undefined && stats.ino === ino) {
      if (stats.size < offset) offset = 0;
      if (stats.size > offset) offset = readFrom(logPath, offset, false);
      return;
    }

    // The file followed so far was rotated (or the log is new).
    const rotated = listRotated(logPath).map((entry) => ({ ...entry, ino: fs.statSync(entry.file, { throwIfNoEntry: false })?.ino }));
    const previous = rotated.find((entry) => entry.ino === ino);
    if (previous !== undefined) {
      readFrom(previous.file, offset, true);
      for (const newer of rotated.filter((entry) => entry.index < previous.index).reverse()) readFrom(newer.file, 0, true);
    }
    if (stats === undefined) return;
    ino = stats.ino;
    offset = readFrom(logPath, 0, false);
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      poll();
      schedule();
    }, options.intervalMs ?? 200);
  };
  schedule();

  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
};

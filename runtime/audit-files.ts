/**
 * The files of one audit log: the current file (`audit.ndjson`) and the
 * rotated ones (`audit.1.ndjson` the newest, up to `audit.<keep>.ndjson` the
 * oldest), how rotation shifts them, and how their lines are read.
 */

import fs from 'node:fs';
import path from 'node:path';

/** One line of a log file. */
export interface LogLine {
  readonly file: string;
  /** 1-based line number in the file. */
  readonly line: number;
  readonly text: string;
  /** False for a last line without its newline, as a crash during a write leaves it. */
  readonly terminated: boolean;
  /** Byte offset just past the line and its newline. */
  readonly end: number;
}

/** Returns the path of rotated file number `index` (1 is the newest) of the log at `logPath`. */
export const rotatedPath = (logPath: string, index: number): string => {
  const extension = path.extname(logPath);
  const stem = extension === '' ? logPath : logPath.slice(0, -extension.length);
  return `${stem}.${index}${extension}`;
};

/** Lists the rotated files that exist, newest first, as `{ index, file }`. */
export const listRotated = (logPath: string): Array<{ index: number; file: string }> => {
  const directory = path.dirname(logPath);
  const extension = path.extname(logPath);
  const stem = path.basename(logPath, extension);
  let names: string[];
  try {
    names = fs.readdirSync(directory);
  } catch {
    return [];
  }
  const found: Array<{ index: number; file: string }> = [];
  for (const name of names) {
    if (!name.startsWith(`${stem}.`) || !name.endsWith(extension)) continue;
    const middle = name.slice(stem.length + 1, name.length - extension.length);
    if (!/^[1-9][0-9]{0,5}$/.test(middle)) continue;
    found.push({ index: Number(middle), file: path.join(directory, name) });
  }
  return found.sort((a, b) => a.index - b.index);
};

/** Lists every file of the log in chain order: the oldest rotated file first, the current file last. */
export const listLogFiles = (logPath: string): string[] => {
  const files = listRotated(logPath)
    .reverse()
    .map((entry) => entry.file);
  if (fs.existsSync(logPath)) files.push(logPath);
  return files;
};

/**
 * Moves the current file to `.1`, each rotated file one number up, and
 * deletes those past `keep`. The caller holds the append lock.
 */
export const rotateFiles = (logPath: string, keep: number): void => {
  const rotated = listRotated(logPath);
  for (const { index, file } of [...rotated].reverse()) {
    if (index >= keep) fs.rmSync(file, { force: true });
    else fs.renameSync(file, rotatedPath(logPath, index + 1));
  }
  if (keep === 0) fs.rmSync(logPath, { force: true });
  else if (fs.existsSync(logPath)) fs.renameSync(logPath, rotatedPath(logPath, 1));
};

const CHUNK_BYTES = 1024 * 1024;

/**
 * Reads the lines of `file` from byte `start`, one chunk at a time, so a
 * 50 MiB file is never held whole. A trailing line without a newline is
 * yielded with `terminated: false`.
 */
export function* readLines(file: string, start = 0, firstLine = 1): Generator<LogLine> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const buffer = Buffer.alloc(CHUNK_BYTES);
    let position = start;
    let lineStart = start;
    let line = firstLine;
    let rest = Buffer.alloc(0);
    for (;;) {
      const count = fs.readSync(fd, buffer, 0, CHUNK_BYTES, position);
      if (count === 0) break;
      position += count;
      let data = rest.length === 0 ? buffer.subarray(0, count) : Buffer.concat([rest, buffer.subarray(0, count)]);
      let newline = data.indexOf(10);
      while (newline !== -1) {
        lineStart += newline + 1;
        yield { file, line, text: data.toString('utf8', 0, newline), terminated: true, end: lineStart };
        line += 1;
        data = data.subarray(newline + 1);
        newline = data.indexOf(10);
      }
      rest = Buffer.from(data);
    }
    if (rest.length > 0) yield { file, line, text: rest.toString('utf8'), terminated: false, end: lineStart + rest.length };
  } finally {
    fs.closeSync(fd);
  }
}

/** The end of a log's chain, from which the next event continues. */
export interface ChainTail {
  readonly seq: number;
  readonly hash: string;
}

const TAIL_BYTES = 1024 * 1024;

/** Reads the last complete event of one file, or undefined when it has none. */
const readFileTail = (file: string): ChainTail | undefined => {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    let length = Math.min(size, TAIL_BYTES);
    // An event longer than the window is rare; read the whole file then.
    for (;;) {
      const buffer = Buffer.alloc(length);
      fs.readSync(fd, buffer, 0, length, size - length);
      const lines = buffer.toString('utf8').split('\n');
      // The first line of a partial window may be cut; it is complete only when the window starts the file.
      const usable = length === size ? lines : lines.slice(1);
      for (let index = usable.length - 1; index >= 0; index -= 1) {
        const tail = parseTail(usable[index]!);
        if (tail !== undefined) return tail;
      }
      if (length === size) return undefined;
      length = size;
    }
  } finally {
    fs.closeSync(fd);
  }
};

const parseTail = (text: string): ChainTail | undefined => {
  if (text.trim() === '') return undefined;
  try {
    const event = JSON.parse(text) as { seq?: unknown; hash?: unknown };
    if (typeof event.seq === 'number' && typeof event.hash === 'string') return { seq: event.seq, hash: event.hash };
  } catch {
    // A line cut off by a crash: the one before it is the last complete event.
  }
  return undefined;
};

/**
 * Reads the last complete event of the log: from the current file, or, when
 * it is missing or has none (a crash right after rotating), from the newest
 * rotated file that has one. A new log has `{ seq: 0, hash: '' }`.
 */
export const readChainTail = (logPath: string): ChainTail => {
  const current = readFileTail(logPath);
  if (current !== undefined) return current;
  for (const { file } of listRotated(logPath)) {
    const tail = readFileTail(file);
    if (tail !== undefined) return tail;
  }
  return { seq: 0, hash: '' };
};

/**
 * plugin.lock.json: the pinned version, integrity and grants of each plugin.
 *
 * The grants in this file are the only authority a plugin has, so reading
 * fails closed. A missing file grants nothing, and a file that does not match
 * the schema exactly, unknown keys included, grants nothing either and is
 * never overwritten. Writes hold an inter-process lock across read, change
 * and write, and replace the file atomically, so concurrent `plugrun grant`
 * runs each land and a reader never sees half a file.
 */

import { realpath } from 'node:fs/promises';
import path from 'node:path';

import { lock } from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';

import { PlugrunError } from '../capabilities/errors.js';
import { LimitsOverrideStruct } from '../capabilities/limits.js';
import { parseCapability } from '../capabilities/capability-string.js';
import { formatProblem, problemsFromIssues, quoteValue, readJsonFile, type Problem } from './json-file.js';
import { PluginNameStruct, VersionStruct } from './manifest.js';

/** The only lockfile format this version reads and writes. */
export const LOCKFILE_VERSION = 1;

/** Max size of the lockfile that is read, far above thousands of plugins. */
const MAX_LOCKFILE_BYTES = 8 * 1024 * 1024;

/** `sha512-` and the canonical, padded base64 of 64 bytes. */
export const IntegrityStruct = z.string().refine(
  (alleged) => {
    const match = /^sha512-([A-Za-z0-9+/]{86}==)$/.exec(alleged);
    return match !== null && Buffer.from(match[1]!, 'base64').toString('base64') === match[1];
  },
  { error: (issue) => `invalid integrity ${quoteValue(issue.input)}, expected "sha512-" and 88 characters of base64` },
);

/** Granted capability strings, parsed, normalised, deduplicated and sorted. */
const GrantsStruct = z.array(z.string()).transform((alleged, context) => {
  const texts = new Set<string>();
  alleged.forEach((entry, index) => {
    try {
      texts.add(parseCapability(entry).text);
    } catch (error) {
      if (!(error instanceof PlugrunError)) throw error;
      context.addIssue({ code: 'custom', message: error.message, path: [index], input: entry });
    }
  });
  return sortTexts(texts);
});

/** Schema of one plugin's entry. */
export const LockedPluginStruct = z.strictObject({
  version: VersionStruct,
  integrity: IntegrityStruct,
  grants: GrantsStruct,
  limits: LimitsOverrideStruct.optional(),
});

/** Schema of plugin.lock.json. */
export const LockfileStruct = z.strictObject({
  lockfileVersion: z.literal(LOCKFILE_VERSION, {
    error: (issue) => `unsupported lockfileVersion ${quoteValue(issue.input)}, this plugrun reads version ${LOCKFILE_VERSION}`,
  }),
  plugins: z.record(PluginNameStruct, LockedPluginStruct),
});

/** A validated lockfile. */
export type Lockfile = z.output<typeof LockfileStruct>;

/** One plugin's validated entry. */
export type LockedPlugin = z.output<typeof LockedPluginStruct>;

/** A lockfile with no plugins, which is what a missing file means. */
export const emptyLockfile = (): Lockfile => ({ lockfileVersion: LOCKFILE_VERSION, plugins: {} });

// The default sort compares UTF-16 code units, so no locale changes the order.
const sortTexts = (texts: Iterable<string>): string[] => [...texts].sort();

const lockfileHints = {
  fix(fieldPath: readonly PropertyKey[], code: string): string {
    const [top, plugin, field] = fieldPath;
    if (code === 'invalid_key') return 'use the plugin\'s folder name as the key, or remove the entry';
    if (top === 'lockfileVersion') return 'use a plugrun that reads this version, or delete the file and run: plugrun lock';
    if (top !== 'plugins' || plugin === undefined) {
      return 'restore the file from version control, or delete it and run: plugrun lock';
    }
    if (field === undefined) return `correct the entry by hand, or remove it and run: plugrun lock ${String(plugin)}`;
    if (field === 'grants') return 'correct or remove that grant in the file';
    if (field === 'limits') return 'correct or remove that limit; values are positive integers';
    return `run: plugrun lock ${String(plugin)}`;
  },
  knownKeys(fieldPath: readonly PropertyKey[]): readonly string[] {
    if (fieldPath.length === 0) return Object.keys(LockfileStruct.shape);
    if (fieldPath.length === 2) return Object.keys(LockedPluginStruct.shape);
    return Object.keys(LimitsOverrideStruct.shape);
  },
};

/** State of the lockfile on disk. Only `ok` grants anything. */
export type LockfileState =
  | { readonly state: 'ok'; readonly lockfile: Lockfile }
  | { readonly state: 'missing' }
  | { readonly state: 'invalid'; readonly problems: readonly Problem[] };

/** Reads and validates the lockfile at `file`. A missing or invalid file is returned as a state, not thrown. */
export async function readLockfile(file: string): Promise<LockfileState> {
  const read = await readJsonFile(file, { maxBytes: MAX_LOCKFILE_BYTES });
  if (read.status === 'missing') return { state: 'missing' };
  if (read.status === 'invalid') return { state: 'invalid', problems: [read.problem] };

  const parsed = LockfileStruct.safeParse(read.value);
  if (!parsed.success) {
    return { state: 'invalid', problems: problemsFromIssues(file, parsed.error.issues, read.value, lockfileHints) };
  }
  return { state: 'ok', lockfile: parsed.data };
}

/**
 * Serialises a lockfile the same way every time: plugins sorted by name, each
 * entry's keys in schema order, grants sorted and deduplicated, limits sorted,
 * two-space JSON and a final newline, so git diffs show only real changes.
 */
export function serializeLockfile(lockfile: Lockfile): string {
  const plugins: Record<string, unknown> = {};
  for (const name of sortTexts(Object.keys(lockfile.plugins))) {
    const entry = lockfile.plugins[name]!;
    plugins[name] = {
      version: entry.version,
      integrity: entry.integrity,
      grants: sortTexts(new Set(entry.grants)),
      ...(entry.limits === undefined ? {} : { limits: sortKeys(entry.limits) }),
    };
  }
  return `${JSON.stringify({ lockfileVersion: lockfile.lockfileVersion, plugins }, null, 2)}\n`;
}

const sortKeys = (record: Readonly<Record<string, unknown>>): Record<string, unknown> =>
  Object.fromEntries(sortTexts(Object.keys(record)).map((key) => [key, record[key]]));

/** Error for a lockfile that cannot be read or would be invalid after a change, with its problems. */
export class LockfileError extends PlugrunError {
  readonly problems: readonly Problem[];

  constructor(summary: string, problems: readonly Problem[]) {
    super('PLUGRUN_INVALID', [summary, ...problems.map(formatProblem)].join('\n  '));
    this.name = 'LockfileError';
    this.problems = problems;
  }
}

/** A change to apply to a copy of the lockfile. It may edit the copy in place or return a new lockfile. */
export type LockfileMutation = (lockfile: Lockfile) => Lockfile | void | Promise<Lockfile | void>;

/** Outcome of `updateLockfile`. */
export interface LockfileUpdate {
  /** The lockfile as it is on disk now. */
  readonly lockfile: Lockfile;
  /** False when the change left the content as it was, in which case the file was not rewritten. */
  readonly changed: boolean;
}

/**
 * Retry schedule for a held lock, in milliseconds: 30 waits growing from 20 ms
 * by 1.5 times up to 1 s. The retry package stretches each wait by a random
 * factor from 1 to 2, so processes started together do not retry in step.
 * The waits add up to at least 22 s, more than `LOCK_STALE_MS`, so a lock
 * left by a crashed process is recovered within one call.
 */
const LOCK_RETRIES = { retries: 30, factor: 1.5, minTimeout: 20, maxTimeout: 1_000, randomize: true };

/** Age in milliseconds after which proper-lockfile treats a lock as stale. A live holder refreshes it every 5 s. */
const LOCK_STALE_MS = 10_000;

/**
 * Applies `mutate` to the lockfile at `file` under an inter-process lock,
 * validates the result and replaces the file atomically. A missing file is
 * created. Throws `LockfileError` when the file on disk or the result is invalid.
 */
export async function updateLockfile(file: string, mutate: LockfileMutation): Promise<LockfileUpdate> {
  const target = await resolveLockTarget(file);

  // 1. Lock. realpath is off because the file may not exist yet. The target
  // is resolved above, so two paths to one file still share a lock.
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lock(target, {
      realpath: false,
      stale: LOCK_STALE_MS,
      retries: LOCK_RETRIES,
      // proper-lockfile's default throws from a timer, which would crash the process.
      onCompromised: (error) => {
        compromised = error;
      },
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === 'ELOCKED'
      ? `failed to lock ${target}: another plugrun process kept it locked; try again`
      : `failed to lock ${target} (${code ?? String(error)}); check that its folder is writable`;
    throw new PlugrunError('PLUGRUN_FAILED', message, { cause: error });
  }

  try {
    // 2. Read again under the lock, so a change made meanwhile is kept.
    const current = await readLockfile(target);
    if (current.state === 'invalid') {
      throw new LockfileError(`${target} is invalid and was left unchanged`, current.problems);
    }
    const before = current.state === 'ok' ? current.lockfile : emptyLockfile();

    // 3. Change a copy, and validate the result as if it had been read from disk.
    const copy = structuredClone(before);
    const result = (await mutate(copy)) ?? copy;
    const parsed = LockfileStruct.safeParse(result);
    if (!parsed.success) {
      const problems = problemsFromIssues(target, parsed.error.issues, result, lockfileHints);
      throw new LockfileError(`the change would make ${target} invalid, so it was not written`, problems);
    }

    // 4. Write only a real change, so that watchers of the file see no false updates.
    const text = serializeLockfile(parsed.data);
    const changed = current.state === 'missing' || text !== serializeLockfile(before);
    if (changed) {
      if (compromised !== undefined) {
        throw new PlugrunError('PLUGRUN_FAILED', `lost the lock on ${target} (${compromised.message}); try again`, {
          cause: compromised,
        });
      }
      await writeFileAtomic(target, text);
    }
    return { lockfile: parsed.data, changed };
  } finally {
    await release().catch(() => {
      // A lock folder left by a failed release turns stale after LOCK_STALE_MS,
      // and the next update recovers it, so this update still succeeds.
    });
  }
}

/**
 * Resolves symbolic links in `file`, or in its folder when it does not exist,
 * so that every path to one lockfile takes the same lock.
 */
async function resolveLockTarget(file: string): Promise<string> {
  const absolute = path.resolve(file);
  try {
    return await realpath(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }

  const folder = path.dirname(absolute);
  try {
    return path.join(await realpath(folder), path.basename(absolute));
  } catch (error) {
    throw new PlugrunError('PLUGRUN_FAILED', `folder ${folder} of the lockfile not found; create it first`, { cause: error });
  }
}

/**
 * `fs:` and `fs.read:` grants and `ctx.fs`: the canonical text of a grant,
 * whether it covers the path a call needs, the checks of each call, and the
 * factory that joins them to the code that performs the calls.
 *
 * A grant covers its folder and everything below it. The folder itself counts
 * as inside, so `fs.read:exports/` allows listing `exports`. Paths are compared
 * segment by segment, so `fs:exports/` does not cover `exports2/`.
 *
 * Paths are checked lexically by `checkPluginPath`, and the grants are
 * compared with the lexical path. Performing a call never follows a symbolic
 * link (fs-folder.ts), so the file used is the file at the checked path. The
 * I/O is in fs-read.ts and fs-write.ts, the quota in fs-usage.ts.
 */

import { z } from 'zod';
import { assertArgumentCount, describeType, isBytes, parseArgument, quote } from './arguments.js';
import type { KindParseResult } from './capability-string.js';
import { invalid, limit } from './errors.js';
import {
  checkPluginPath,
  hasReservedSegment,
  isNormalisedPath,
  normaliseGrantFolder,
  parentFolder,
  TEMP_FILE_PREFIX,
  type CheckedPath,
} from './fs-path.js';
import { DataFolder, detectLookupMode, type LookupMode } from './fs-folder.js';
import { listAt, readFileAt, statAt } from './fs-read.js';
import { FsUsage } from './fs-usage.js';
import { deleteFileAt, writeFileAt, type WriteContext } from './fs-write.js';
import type { CapabilityFactory, CapabilityInstance, CheckedCall, FsCapability, Need, Operation, PluginEnv } from './types.js';

/** The need of a `ctx.fs` call: the access and the checked path, ending in `/` when it names a folder. */
export type FsNeed = Extract<Need, { kind: 'fs' }>;

/** Parses the part after `fs:` (access `write`) or `fs.read:` (access `read`). */
export const parseFsCapability = (access: FsCapability['access'], body: string): KindParseResult<FsCapability> => {
  const result = normaliseGrantFolder(body);
  if ('problem' in result) return { problem: `the folder ${result.problem}` };

  return { capability: { kind: 'fs', access, dir: result.folder } };
};

/** Returns the canonical text of an fs capability, such as `fs.read:exports/`. */
export const formatFsCapability = (capability: FsCapability): string =>
  `${capability.access === 'read' ? 'fs.read' : 'fs'}:${capability.dir}`;

/** Checks whether an fs grant covers an fs need. */
export const fsGrantCovers = (grant: FsCapability, need: FsNeed): boolean => {
  // A write grant includes reading, but a read grant never allows a write.
  if (need.access === 'write' && grant.access !== 'write') return false;

  // Needs are made by checkPluginPath, but a need built elsewhere (after
  // resolving a symbolic link, say) must not slip through with a `..`.
  if (!isNormalisedPath(need.path)) return false;

  const asFolder = need.path.endsWith('/') ? need.path : `${need.path}/`;
  return asFolder.startsWith(grant.dir);
};

/**
 * Returns the capability string that would allow an fs need: `fs:` for a
 * write, `fs.read:` for a read, naming the folder that contains the path. A
 * need for a folder (a path ending in `/`) names that folder, and so does a
 * need for a top-level path, because the data folder itself cannot be granted.
 */
export const neededFsCapability = (need: FsNeed): string => {
  if (!isNormalisedPath(need.path)) {
    throw new Error(`Internal error: fs need path ${quote(need.path)} is not normalised`);
  }

  const parent = parentFolder(need.path);
  let folder: string;
  if (need.path.endsWith('/')) folder = need.path;
  else if (parent !== '') folder = parent;
  else folder = `${need.path}/`;

  return formatFsCapability({ kind: 'fs', access: need.access, dir: folder });
};

/** Arguments of `readFile` after checking. */
export interface ReadFileArgs {
  readonly path: CheckedPath;
  readonly encoding: 'utf8' | 'bytes';
}

/** Arguments of `writeFile` and `appendFile` after checking. */
export interface WriteFileArgs {
  readonly path: CheckedPath;
  readonly data: string | Uint8Array;
}

/** Arguments of `deleteFile`, `list` and `stat` after checking. */
export interface PathArgs {
  readonly path: CheckedPath;
}

/**
 * Extensions that writes reject, whatever their case, because a user who
 * opens such a file from a file manager runs it.
 */
export const EXECUTABLE_EXTENSIONS: readonly string[] = ['.exe', '.bat', '.cmd', '.sh', '.ps1'];

const ReadFileOptionsStruct = z.strictObject({ encoding: z.enum(['utf8', 'bytes']).optional() }).optional();

/** Checks a path for `ctx.fs`, rejecting the names reserved for temporary files. */
const checkFsPath = (alleged: unknown, method: string): CheckedPath => {
  const path = checkPluginPath(alleged, `${method} path`);
  if (hasReservedSegment(path)) {
    throw invalid(`${method} path ${quote(path)} uses the prefix ${TEMP_FILE_PREFIX}, which is reserved for plugrun's temporary files`);
  }
  return path;
};

/** Checks a path that must name a file inside a folder, since no grant covers the data folder itself. */
const checkFilePath = (alleged: unknown, method: string): CheckedPath => {
  const path = checkFsPath(alleged, method);
  if (path === '' || !path.includes('/')) {
    throw invalid(
      `${method} path ${quote(path === '' ? '.' : path)} is not inside a folder, but grants name only folders.` +
        ' Put the file in one, as in "exports/report.txt", and ask for fs:exports/',
    );
  }
  return path;
};

/** Checks a path that may name a folder or a file, anywhere below the data folder. */
const checkAnyPath = (alleged: unknown, method: string): CheckedPath => {
  const path = checkFsPath(alleged, method);
  if (path === '') {
    throw invalid(`${method} path names the data folder itself, which no grant covers. Name a folder in it, as in "exports"`);
  }
  return path;
};

/** Rejects a write to a file with one of `EXECUTABLE_EXTENSIONS`. */
const assertNotExecutable = (path: CheckedPath, method: string): void => {
  // Windows drops trailing dots from names, so `run.bat.` would still run as a batch file.
  const name = path.slice(path.lastIndexOf('/') + 1).replace(/\.+$/, '').toLowerCase();
  const extension = EXECUTABLE_EXTENSIONS.find((candidate) => name.endsWith(candidate));
  if (extension === undefined) return;

  throw invalid(
    `${method} path ${quote(path)} has the extension ${extension}, and ctx.fs never writes executable file types` +
      ` (${EXECUTABLE_EXTENSIONS.join(', ')}). Use another extension, such as .txt`,
  );
};

const fsCall = <Args extends { path: CheckedPath }>(
  access: FsNeed['access'],
  args: Args,
  needPath: string = args.path,
  audit?: Record<string, unknown>,
): CheckedCall<Args> => ({
  need: { kind: 'fs', access, path: needPath },
  target: args.path,
  args,
  ...(audit === undefined ? {} : { audit }),
});

/**
 * Checks the data of a write. Data over the fsMaxFileBytes limit could never
 * be written, so it is rejected here, before the grants are consulted.
 */
const checkData = (alleged: unknown, method: string, env: PluginEnv): { data: string | Uint8Array; bytes: number } => {
  if (typeof alleged !== 'string' && !isBytes(alleged)) {
    throw invalid(`${method} data must be a string or a Uint8Array, got ${describeType(alleged)}`);
  }

  const bytes = typeof alleged === 'string' ? Buffer.byteLength(alleged, 'utf8') : alleged.byteLength;
  const max = env.limits.fsMaxFileBytes;
  if (bytes > max) throw limit(`${method} data is ${bytes} bytes, over the fsMaxFileBytes limit of ${max} bytes`);
  return { data: alleged, bytes };
};

const makeWriteOperation = (method: string, mode: 'replace' | 'append', env: PluginEnv, context: WriteContext): Operation<WriteFileArgs> => ({
  check(alleged) {
    assertArgumentCount(alleged, 2, method);
    const path = checkFilePath(alleged[0], method);
    assertNotExecutable(path, method);
    const { data, bytes } = checkData(alleged[1], method, env);
    return fsCall('write', { path, data }, path, { bytes });
  },
  perform: ({ path, data }) => writeFileAt(context, path, data, mode),
});

/** Makes `ctx.fs` for one plugin: readFile, writeFile, appendFile, deleteFile, list and stat. */
export const makeFsCapability: CapabilityFactory = (env) => makeFsCapabilityWithLookup(env, detectLookupMode());

/**
 * Makes `ctx.fs` with a given lookup mode (fs-folder.ts). Tests use it to run
 * the `absolute` mode of other platforms on Linux; undefined disables ctx.fs.
 */
export const makeFsCapabilityWithLookup = (env: PluginEnv, mode: LookupMode | undefined): CapabilityInstance => {
  const data = new DataFolder(env.paths.data, env.plugin.name, mode);
  const context: WriteContext = { data, usage: new FsUsage(data), limits: env.limits };

  const readFile: Operation<ReadFileArgs> = {
    check(alleged) {
      assertArgumentCount(alleged, 2, 'ctx.fs.readFile');
      const path = checkFilePath(alleged[0], 'ctx.fs.readFile');
      const options = parseArgument(ReadFileOptionsStruct, alleged[1], 'ctx.fs.readFile options');
      return fsCall('read', { path, encoding: options?.encoding ?? 'utf8' });
    },
    perform: ({ path, encoding }) => readFileAt(data, path, encoding, env.limits.fsMaxFileBytes),
  };

  const deleteFile: Operation<PathArgs> = {
    check(alleged) {
      assertArgumentCount(alleged, 1, 'ctx.fs.deleteFile');
      return fsCall('write', { path: checkFilePath(alleged[0], 'ctx.fs.deleteFile') });
    },
    perform: ({ path }) => deleteFileAt(context, path),
  };

  // The need of a listing ends in `/`, so the denial names the listed folder
  // itself rather than its parent.
  const list: Operation<PathArgs> = {
    check(alleged) {
      assertArgumentCount(alleged, 1, 'ctx.fs.list');
      if (alleged[0] === undefined) {
        throw invalid('ctx.fs.list path is missing. Name a folder, as in "exports", because no grant covers the data folder itself');
      }
      const path = checkAnyPath(alleged[0], 'ctx.fs.list');
      return fsCall('read', { path }, `${path}/`);
    },
    perform: ({ path }) => listAt(data, path),
  };

  const stat: Operation<PathArgs> = {
    check(alleged) {
      assertArgumentCount(alleged, 1, 'ctx.fs.stat');
      return fsCall('read', { path: checkAnyPath(alleged[0], 'ctx.fs.stat') });
    },
    perform: async ({ path }) => statAt(data, path),
  };

  return {
    operations: {
      readFile,
      writeFile: makeWriteOperation('ctx.fs.writeFile', 'replace', env, context),
      appendFile: makeWriteOperation('ctx.fs.appendFile', 'append', env, context),
      deleteFile,
      list,
      stat,
    },
    // Lets writes in flight finish, so that stopping a plugin never cuts one short.
    teardown: () => context.usage.idle(),
  };
};

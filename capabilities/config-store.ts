/**
 * The file that keeps one plugin's config values: a JSON object that maps
 * each key to its value, written with sorted keys and two-space indentation.
 *
 * The file is read once, on the first call. Each write replaces the whole
 * file atomically (a temporary file, then a rename), and calls run one after
 * another in call order, so concurrent sets through one store never lose an
 * update. A corrupt file is an error that names it. It is never reset,
 * because that would silently drop the plugin's settings.
 */

import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { describeType, isPlainObject, type JsonValue } from './arguments.js';
import { failed, limit, messageOf } from './errors.js';

/** Maximum size of one plugin's config file, in bytes. */
export const CONFIG_FILE_MAX_BYTES = 1024 * 1024;

/** One plugin's config values, backed by a JSON file. */
export interface ConfigStore {
  /** Returns a copy of the value of a key, or undefined when the key is not set. */
  get(key: string): Promise<JsonValue | undefined>;
  /** Sets a key and writes the file. Throws `PLUGRUN_LIMIT` when the file would grow past 1 MiB. */
  set(key: string, value: JsonValue): Promise<void>;
  /** Waits until every earlier call has finished. */
  flush(): Promise<void>;
}

const compareKeys = (a: string, b: string): number => {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
};

const serialise = (values: ReadonlyMap<string, JsonValue>): string => {
  const sorted = [...values].sort(([a], [b]) => compareKeys(a, b));
  // Object.fromEntries defines each key as an own property, `__proto__` included.
  return `${JSON.stringify(Object.fromEntries(sorted), null, 2)}\n`;
};

/**
 * Makes the store of the config file at `file`.
 *
 * NOTE: one store per file is assumed. Two stores of the same file, in one
 * process or in two (`plugrun call` while `plugrun start` runs), each keep
 * their own copy, so the later write drops the other's changes.
 */
export const makeConfigStore = (file: string): ConfigStore => {
  let values: ReadonlyMap<string, JsonValue> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  // A failed read is not remembered, so a file the user repairs is read again on the next call.
  const load = async (): Promise<ReadonlyMap<string, JsonValue>> => {
    if (values !== undefined) return values;

    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw failed(`cannot read the config file ${file}: ${messageOf(error)}`, error);
      }
      values = new Map();
      return values;
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw failed(`the config file ${file} is not valid JSON (${messageOf(error)}). Repair or delete it`, error);
    }
    if (!isPlainObject(parsed)) {
      throw failed(`the config file ${file} must contain a JSON object, but contains ${describeType(parsed)}. Repair or delete it`);
    }

    values = new Map(Object.entries(parsed as Record<string, JsonValue>));
    return values;
  };

  // Each step starts after every earlier step has settled, and a failed step does not stop the later ones.
  const enqueue = <Result>(step: () => Promise<Result>): Promise<Result> => {
    const result = queue.then(step);
    queue = result.catch(() => undefined);
    return result;
  };

  const get = (key: string) =>
    enqueue(async () => {
      const value = (await load()).get(key);
      return value === undefined ? undefined : structuredClone(value);
    });

  // The new values replace the old ones only once the file is written, so a
  // failed write leaves memory and disk in agreement.
  const set = (key: string, value: JsonValue) =>
    enqueue(async () => {
      const next = new Map(await load());
      next.set(key, structuredClone(value));

      const text = serialise(next);
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > CONFIG_FILE_MAX_BYTES) {
        throw limit(`config would grow to ${bytes} bytes, over the maximum of ${CONFIG_FILE_MAX_BYTES} bytes per plugin`);
      }

      try {
        await mkdir(path.dirname(file), { recursive: true });
        // Mode 0600 because plugins keep API keys and tokens in their config.
        await writeFileAtomic(file, text, { mode: 0o600 });
      } catch (error) {
        throw failed(`cannot write the config file ${file}: ${messageOf(error)}`, error);
      }
      values = next;
    });

  const flush = () => enqueue(async () => undefined);

  return { get, set, flush };
};

/**
 * Argument checks shared by the `ctx` operations, and the quoting of untrusted
 * text in error messages.
 *
 * Every value here comes from a plugin, so nothing is coerced: a value of the
 * wrong type is rejected with `PLUGRUN_INVALID`, never converted. The values
 * were already copied out of the plugin's realm by structured clone, so they
 * are data: no getters, proxies or functions remain to run during a check.
 */

import { types } from 'node:util';
import type { z } from 'zod';
import { invalid, limit } from './errors.js';

/** A JSON value, as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Maximum length of an untrusted string quoted in a message, in characters. */
const QUOTE_MAX_CHARS = 120;

/** Maximum nesting of arrays and objects in a JSON value. */
const JSON_MAX_DEPTH = 64;

const controlCharacters = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/**
 * Escapes control, format (bidi and zero-width) and line separator characters
 * as `\uXXXX`, so that untrusted text cannot move the cursor, reorder what a
 * terminal shows or start a fake line.
 */
export const escapeControlCharacters = (text: string): string =>
  text.replace(controlCharacters, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Quotes an untrusted string for a message: JSON string syntax, escaped, cut after 120 characters. */
export const quote = (text: string): string => {
  if (text.length <= QUOTE_MAX_CHARS) return escapeControlCharacters(JSON.stringify(text));

  const excerpt = escapeControlCharacters(JSON.stringify(text.slice(0, QUOTE_MAX_CHARS)));
  return `${excerpt}... (${text.length} characters)`;
};

/** Names the type of an untrusted value for a message, such as `a number` or `a Uint8Array`. */
export const describeType = (value: unknown): string => {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return `a ${typeof value}`;
  if (isPlainObject(value)) return 'an object';

  // Object.prototype.toString gives the built-in tag, such as Uint8Array or
  // Date, without calling the value's own toString.
  const tag = Object.prototype.toString.call(value).slice('[object '.length, -1);
  // "a Uint8Array", "an Int8Array": U is read as "you".
  return /^[AEIO]/.test(tag) ? `an ${tag}` : `a ${tag}`;
};

/** Checks whether a value is an object made by `{}` or `Object.create(null)`. */
export const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

/** Checks whether a value is a `Uint8Array` (a `Buffer` is one), whichever realm made it. */
export const isBytes = (value: unknown): value is Uint8Array => types.isUint8Array(value);

/** Rejects a call with more arguments than the method takes, so a misplaced option is not ignored. */
export const assertArgumentCount = (alleged: readonly unknown[], max: number, method: string): void => {
  if (alleged.length <= max) return;
  throw invalid(`${method} takes at most ${max} argument${max === 1 ? '' : 's'}, got ${alleged.length}`);
};

/** Returns the value when it is a string, and throws `PLUGRUN_INVALID` naming the argument otherwise. */
export const expectString = (alleged: unknown, label: string): string => {
  if (typeof alleged === 'string') return alleged;
  throw invalid(`${label} must be a string, got ${describeType(alleged)}`);
};

/** Returns the value when it is a plain object, and throws `PLUGRUN_INVALID` naming the argument otherwise. */
export const expectPlainObject = (alleged: unknown, label: string): Record<string, unknown> => {
  if (isPlainObject(alleged)) return alleged;
  throw invalid(`${label} must be a plain object, got ${describeType(alleged)}`);
};

const appendKey = (path: string, key: string): string =>
  /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${quote(key)}]`;

const findJsonProblem = (value: unknown, path: string, ancestors: Set<object>): string | undefined => {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return undefined;
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot represent`;
  }
  if (typeof value !== 'object') return `${path} is ${describeType(value)}, which is not a JSON value`;
  if (!Array.isArray(value) && !isPlainObject(value)) {
    return `${path} is ${describeType(value)}, which is not a JSON value`;
  }

  // Structured clone keeps cycles, which JSON cannot represent.
  if (ancestors.has(value)) return `${path} refers to itself`;
  if (ancestors.size >= JSON_MAX_DEPTH) return `${path} is nested deeper than ${JSON_MAX_DEPTH} levels`;
  ancestors.add(value);

  let problem: string | undefined;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length && problem === undefined; index += 1) {
      problem = findJsonProblem(value[index], `${path}[${index}]`, ancestors);
    }
  } else {
    for (const key of Object.keys(value)) {
      problem = findJsonProblem(value[key], appendKey(path, key), ancestors);
      if (problem !== undefined) break;
    }
  }

  ancestors.delete(value);
  return problem;
};

/**
 * Returns the value when it is a JSON value whose serialised form fits in
 * `maxBytes` of UTF-8. Throws `PLUGRUN_INVALID` naming the offending part, or
 * `PLUGRUN_LIMIT` when it is too large.
 */
export const expectJsonValue = (alleged: unknown, label: string, maxBytes: number): JsonValue => {
  const problem = findJsonProblem(alleged, label, new Set());
  if (problem !== undefined) throw invalid(problem);

  const bytes = Buffer.byteLength(JSON.stringify(alleged), 'utf8');
  if (bytes > maxBytes) throw limit(`${label} is ${bytes} bytes as JSON, over the maximum of ${maxBytes} bytes`);

  return alleged as JsonValue;
};

const findProtoKey = (value: unknown, path: string, ancestors: Set<object>): string | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  if (!Array.isArray(value) && !isPlainObject(value)) return undefined;
  if (ancestors.has(value) || ancestors.size >= JSON_MAX_DEPTH) return undefined;
  if (Object.hasOwn(value, '__proto__')) return `${path}.__proto__`;

  ancestors.add(value);
  let found: string | undefined;
  for (const [key, child] of Object.entries(value)) {
    found = findProtoKey(child, Array.isArray(value) ? `${path}[${key}]` : appendKey(path, key), ancestors);
    if (found !== undefined) break;
  }
  ancestors.delete(value);
  return found;
};

/**
 * Throws `PLUGRUN_LIMIT`, naming the limit, when an option requests more
 * than a per-plugin limit allows. It runs before the option's schema.
 */
export const assertWithinLimit = (
  alleged: unknown,
  key: string,
  max: number,
  limitName: string,
  label: string,
): void => {
  if (alleged === null || typeof alleged !== 'object') return;
  const value = (alleged as Record<string, unknown>)[key];
  if (typeof value === 'number' && value > max) {
    throw limit(`${label}.${key} ${value} is over the ${limitName} limit of ${max}; ask for less, or raise ${limitName} in plugin.lock.json`);
  }
};

/** Parses an argument with a zod schema. On failure it throws `PLUGRUN_INVALID` listing each problem with its path. */
export const parseArgument = <Schema extends z.ZodType>(schema: Schema, alleged: unknown, label: string): z.output<Schema> => {
  // zod's records drop an own `__proto__` key without an error, so it is rejected first.
  const protoKey = findProtoKey(alleged, label, new Set());
  if (protoKey !== undefined) throw invalid(`${protoKey} is a key reserved by JavaScript`);

  const result = schema.safeParse(alleged);
  if (result.success) return result.data;

  const problems = result.error.issues.map((issue) => {
    const path = issue.path.reduce<string>(
      (text, key) => (typeof key === 'number' ? `${text}[${key}]` : appendKey(text, String(key))),
      label,
    );
    // zod reports a bad record key as "Invalid key in record" and keeps the reason in nested issues.
    if (issue.code === 'invalid_key') return `${path}: invalid key, ${issue.issues.map((inner) => inner.message).join(', ')}`;
    return `${path}: ${issue.message}`;
  });
  throw invalid(escapeControlCharacters(problems.join('; ')));
};

/**
 * Project settings in `<dir>/plugrun.config.json`, optional and committed
 * with the project. Today they hold the audit log's rotation, because every
 * process that writes the log (`start`, `call`, `grant`, `revoke`) must
 * rotate it the same way: a command-line flag given to one of them but not
 * the others would delete rotated files early.
 *
 * ```json
 * { "audit": { "maxSize": "50MiB", "keep": 5 } }
 * ```
 */

import path from 'node:path';

import { z } from 'zod';

import { PlugrunError } from '../capabilities/errors.js';
import { AuditLog, DEFAULT_AUDIT_KEEP, DEFAULT_AUDIT_MAX_BYTES } from './audit.js';
import { formatProblem, problemsFromIssues, quoteValue, readJsonFile } from './json-file.js';
import type { ProjectPaths } from './project.js';

/** File name of the project settings, in the project folder. */
export const SETTINGS_FILE = 'plugrun.config.json';

/** Smallest rotation size accepted: 1 KiB, so that each file holds a few events. */
const MIN_AUDIT_BYTES = 1024;

/** Largest rotation size accepted: 1 TiB. */
const MAX_AUDIT_BYTES = 1024 ** 4;

/** Most rotated files kept. */
const MAX_AUDIT_KEEP = 1000;

const UNITS: Readonly<Record<string, number>> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3 };

/** Parses a size such as `50MiB`, `512KiB`, `10MB` or a number of bytes; returns undefined when invalid. */
export const parseSize = (alleged: string | number): number | undefined => {
  if (typeof alleged === 'number') return Number.isSafeInteger(alleged) ? alleged : undefined;
  const match = /^([0-9]+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/.exec(alleged.trim());
  if (match === null) return undefined;
  const bytes = Number(match[1]) * UNITS[match[2] ?? 'B']!;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
};

const SizeStruct = z.union([z.string(), z.number()]).transform((alleged, context) => {
  const bytes = parseSize(alleged);
  if (bytes === undefined || bytes < MIN_AUDIT_BYTES || bytes > MAX_AUDIT_BYTES) {
    context.addIssue({
      code: 'custom',
      message: `invalid size ${quoteValue(alleged)}, expected a size from 1KiB to 1024GiB such as "50MiB", "512KiB" or a number of bytes`,
    });
    return z.NEVER;
  }
  return bytes;
});

/** Schema of the settings file. */
export const SettingsStruct = z.strictObject({
  audit: z
    .strictObject({
      maxSize: SizeStruct.optional(),
      keep: z.number().int().min(0).max(MAX_AUDIT_KEEP).optional(),
    })
    .optional(),
});

/** The audit log's rotation, with defaults filled in. */
export interface AuditSettings {
  /** Size in bytes past which the current file is rotated. */
  readonly maxBytes: number;
  /** Rotated files kept besides the current one. */
  readonly keep: number;
}

const hints = {
  fix: () => `correct the value, or remove it to use the default (maxSize "50MiB", keep ${DEFAULT_AUDIT_KEEP})`,
  knownKeys: (fieldPath: readonly PropertyKey[]) => (fieldPath.length === 0 ? Object.keys(SettingsStruct.shape) : ['maxSize', 'keep']),
};

/**
 * Reads the audit rotation settings of the project in `root`. A missing file
 * means the defaults; an invalid one throws `PLUGRUN_INVALID` naming the
 * file, the field and the fix, and no event is written.
 */
export const readAuditSettings = async (root: string): Promise<AuditSettings> => {
  const file = path.join(root, SETTINGS_FILE);
  const read = await readJsonFile(file, { maxBytes: 64 * 1024 });
  if (read.status === 'missing') return { maxBytes: DEFAULT_AUDIT_MAX_BYTES, keep: DEFAULT_AUDIT_KEEP };
  if (read.status === 'invalid') throw new PlugrunError('PLUGRUN_INVALID', formatProblem(read.problem));

  const parsed = SettingsStruct.safeParse(read.value);
  if (!parsed.success) {
    const problems = problemsFromIssues(file, parsed.error.issues, read.value, hints);
    throw new PlugrunError('PLUGRUN_INVALID', problems.map(formatProblem).join('\n'));
  }
  return {
    maxBytes: parsed.data.audit?.maxSize ?? DEFAULT_AUDIT_MAX_BYTES,
    keep: parsed.data.audit?.keep ?? DEFAULT_AUDIT_KEEP,
  };
};

/** Opens the project's audit log with the rotation its settings give. */
export const openProjectAuditLog = async (project: ProjectPaths): Promise<AuditLog> => {
  const settings = await readAuditSettings(project.root);
  return new AuditLog(project.auditLog, { maxBytes: settings.maxBytes, keep: settings.keep });
};

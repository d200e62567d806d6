/**
 * The plugin manifest, `plugins/<name>/plugin.json`: its schema and its loader.
 *
 * A manifest comes from the plugin's author and is untrusted. It only
 * requests capabilities, because the lockfile alone grants them. Unknown
 * fields are rejected, unlike npm's package.json: a misspelt `capabilites`
 * or `dependancies` would otherwise drop requests or start-order constraints
 * without a word, and an error that suggests the right name costs an author
 * one edit. The price is that a manifest written for a later plugrun with a
 * new field fails on this one, with that field named.
 */

import path from 'node:path';

import semver from 'semver';
import { z } from 'zod';

import { PlugrunError } from '../capabilities/errors.js';
import { parseCapability } from '../capabilities/capability-string.js';
import { problemsFromIssues, quoteValue, readJsonFile, type Problem } from './json-file.js';

/** File name of the manifest inside a plugin folder. */
export const MANIFEST_FILE = 'plugin.json';

/** Max size of plugin.json, far above any real manifest, so a huge file is not read whole. */
const MAX_MANIFEST_BYTES = 256 * 1024;

/** Valid plugin names, which are also folder names, lockfile keys and `msg:` targets. */
export const PLUGIN_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A plugin name: 1 to 64 lowercase letters, digits, `-` or `_`, starting with a letter or digit. */
export const PluginNameStruct = z.string().regex(PLUGIN_NAME_PATTERN, {
  error: (issue) => `invalid plugin name ${quoteValue(issue.input)}`,
});

/**
 * A semantic version in its canonical form, prerelease and build allowed.
 * `semver.valid` also accepts `v1.2.0` and surrounding spaces, which would
 * make the lockfile's pinned version differ from the manifest's text.
 */
export const VersionStruct = z.string().refine(
  (alleged) => semver.valid(alleged) !== null && /^[0-9]/.test(alleged) && alleged === alleged.trim(),
  { error: (issue) => `invalid semantic version ${quoteValue(issue.input)}` },
);

const nonEmptyText = z.string().refine((alleged) => alleged.trim() !== '', { error: 'must not be empty' });

/**
 * Returns why `alleged` is not a relative file path inside the plugin folder,
 * or its normalised form (`./lib//a.js` becomes `lib/a.js`).
 */
const checkEntryPath = (alleged: string): { error: string } | { path: string } => {
  if (alleged === '') return { error: 'must not be empty' };
  if (alleged.includes('\\')) return { error: `must use "/" as separator, found a backslash in ${quoteValue(alleged)}` };
  if (alleged.includes('\0')) return { error: `must not contain a NUL character, found ${quoteValue(alleged)}` };
  if (alleged.startsWith('/') || /^[A-Za-z]:/.test(alleged)) {
    return { error: `must be relative to the plugin folder, found the absolute path ${quoteValue(alleged)}` };
  }
  if (alleged.split('/').includes('..')) {
    return { error: `must stay inside the plugin folder, found ".." in ${quoteValue(alleged)}` };
  }

  const normalised = path.posix.normalize(alleged);
  if (normalised === '.' || normalised.endsWith('/')) {
    return { error: `must name a file, found the folder ${quoteValue(alleged)}` };
  }
  return { path: normalised };
};

const EntryPathStruct = z.string().transform((alleged, context) => {
  const checked = checkEntryPath(alleged);
  if ('path' in checked) return checked.path;
  context.addIssue({ code: 'custom', message: checked.error, input: alleged });
  return z.NEVER;
});

/**
 * Requested capability strings, each parsed and stored in normalised form.
 * Two entries that normalise to the same capability are an error, like
 * duplicate dependencies, rather than silently merged, so the author learns
 * that both strings request one capability.
 */
const CapabilityRequestsStruct = z.array(z.string()).transform((alleged, context) => {
  const texts: string[] = [];
  const firstIndex = new Map<string, number>();
  alleged.forEach((entry, index) => {
    let text: string;
    try {
      text = parseCapability(entry).text;
    } catch (error) {
      if (!(error instanceof PlugrunError)) throw error;
      context.addIssue({ code: 'custom', message: error.message, path: [index], input: entry });
      return;
    }

    const earlier = firstIndex.get(text);
    if (earlier !== undefined) {
      context.addIssue({
        code: 'custom',
        message: `${quoteValue(entry)} repeats capabilities[${earlier}] (${quoteValue(alleged[earlier])}), both are ${text}`,
        path: [index],
        input: entry,
      });
      return;
    }
    firstIndex.set(text, index);
    texts.push(text);
  });
  return texts;
});

const DependenciesStruct = z.array(PluginNameStruct).superRefine((names, context) => {
  names.forEach((name, index) => {
    const earlier = names.indexOf(name);
    if (earlier === index) return;
    context.addIssue({
      code: 'custom',
      message: `${quoteValue(name)} repeats dependencies[${earlier}]`,
      path: [index],
      input: name,
    });
  });
});

/** Schema of plugin.json. The output has `main`, `capabilities`, `dependencies` and `loadOrder` filled in. */
export const ManifestStruct = z
  .strictObject({
    /** JSON Schema URL that editors use to validate the file; plugrun ignores it. */
    $schema: z.string().optional(),
    name: PluginNameStruct,
    version: VersionStruct,
    description: nonEmptyText,
    author: nonEmptyText,
    license: nonEmptyText,
    main: EntryPathStruct.default('index.js'),
    capabilities: CapabilityRequestsStruct.default([]),
    dependencies: DependenciesStruct.default([]),
    // An absent loadOrder is 0, so a plugin that sets a positive one starts after those that set none.
    loadOrder: z
      .number()
      .int({ error: (issue) => `must be an integer, found ${quoteValue(issue.input)}` })
      .nonnegative({ error: (issue) => `must not be negative, found ${quoteValue(issue.input)}` })
      .default(0),
  })
  .superRefine(
    (manifest, context) => {
      const index = manifest.dependencies.indexOf(manifest.name);
      if (index === -1) return;
      context.addIssue({
        code: 'custom',
        message: `plugin ${quoteValue(manifest.name)} names itself as a dependency`,
        path: ['dependencies', index],
        input: manifest.name,
      });
    },
    // Also run when other fields are invalid, so all problems are reported at once.
    { when: (payload) => isSelfDependencyCheckable(payload.value) },
  );

const isSelfDependencyCheckable = (alleged: unknown): alleged is { name: string; dependencies: unknown[] } =>
  typeof alleged === 'object' &&
  alleged !== null &&
  typeof (alleged as { name?: unknown }).name === 'string' &&
  Array.isArray((alleged as { dependencies?: unknown }).dependencies);

/** A validated manifest. */
export type Manifest = z.output<typeof ManifestStruct>;

const FIELD_FIXES: Readonly<Record<string, string>> = {
  $schema: 'give the URL of a JSON schema or remove the field',
  name: 'use 1 to 64 lowercase letters, digits, "-" or "_", starting with a letter or digit, and name the folder the same',
  version: 'use a semantic version such as "1.2.0" or "1.0.0-beta.1"',
  description: 'give a short description of what the plugin does',
  author: 'give the name of the plugin\'s author',
  license: 'give an SPDX license identifier such as "MIT"',
  main: 'give the path of the entry module relative to the plugin folder, such as "index.js" or "lib/main.js"',
  capabilities: 'correct the capability string or remove it',
  dependencies: 'list the names of other plugins, each once, or remove the field',
  loadOrder: 'use a non-negative integer such as 0 or 10',
};

const MANIFEST_HINTS = {
  fix: (fieldPath: readonly PropertyKey[]) => {
    const field = fieldPath[0];
    if (field === undefined) return 'write the manifest as a JSON object with name, version, description, author and license';
    return FIELD_FIXES[String(field)] ?? 'correct the field';
  },
  knownKeys: () => Object.keys(ManifestStruct.shape),
};

/** Result of loading a manifest: the manifest and the exact bytes read, or every problem found. */
export type ManifestResult =
  | { readonly ok: true; readonly manifest: Manifest; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly problems: readonly Problem[] };

/**
 * Reads and validates `<pluginDir>/plugin.json`, whose name must equal
 * `folderName`. The bytes returned are the ones validated, for the integrity hash.
 */
export async function loadManifest(pluginDir: string, folderName: string): Promise<ManifestResult> {
  const file = path.join(pluginDir, MANIFEST_FILE);
  // The manifest is read where it lies, never through a link, because a link
  // could point outside the plugin folder, whose files are all the plugin may ship.
  const read = await readJsonFile(file, { maxBytes: MAX_MANIFEST_BYTES, followSymlink: false });
  if (read.status === 'missing') {
    const fix = `add a ${MANIFEST_FILE} with name, version, description, author and license`;
    return { ok: false, problems: [{ file, field: '', message: 'file not found', fix }] };
  }
  if (read.status === 'invalid') return { ok: false, problems: [read.problem] };

  const parsed = ManifestStruct.safeParse(read.value);
  const problems = parsed.success ? [] : problemsFromIssues(file, parsed.error.issues, read.value, MANIFEST_HINTS);

  // The folder name is what other plugins, the lockfile and the CLI use, so a
  // manifest may not claim another name.
  const allegedName = (read.value as { name?: unknown } | null)?.name;
  if (typeof allegedName === 'string' && PLUGIN_NAME_PATTERN.test(allegedName) && allegedName !== folderName) {
    const fix = PLUGIN_NAME_PATTERN.test(folderName)
      ? `set "name" to "${folderName}" or rename the folder to "${allegedName}"`
      : `rename the folder to "${allegedName}"`;
    problems.push({
      file,
      field: 'name',
      message: `name ${quoteValue(allegedName)} differs from the folder name ${quoteValue(folderName)}`,
      fix,
    });
  }

  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  return { ok: true, manifest: parsed.data, bytes: read.bytes };
}

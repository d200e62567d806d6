/**
 * Builds a plugin's compartment-mapper archive: every module the plugin will
 * run, read once from disk into one zip in memory, with the SHA-512 of each
 * module recorded in the archive's compartment map.
 *
 * Threat model: the plugin folder is untrusted. Reads are confined to it, so
 * neither a `../` import, a dependency that Node would find in a parent
 * `node_modules`, nor a symbolic link that leaves the folder can pull a file
 * from outside into the archive. Node built-ins have no place in an archive,
 * so importing one fails here, with the import named, unless the browser
 * builds of the plugin's dependencies do without it.
 */

// The compartment mapper's linker expects the `Compartment` global that `ses`
// installs; importing `ses` does not lock down the host.
import 'ses';

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import url from 'node:url';

import { makeAndHashArchive, parseArchive } from '@endo/compartment-mapper';
import { makeReadPowers } from '@endo/compartment-mapper/node-powers.js';

import { PlugrunError } from '../capabilities/errors.js';
import { computeSha256, computeSha512 } from './integrity.js';
import { BROWSER_CONDITIONS, builtinRequiresIn, emptyModuleSource, makeIgnoredFileLookup } from './browser-build.js';
import { builtinImportIn, explainLoadError } from './load-errors.js';
import { makeNestedTypeLookup } from './nested-type.js';
import { rewriteModuleSource } from './source-rewrite.js';
import { formatFinding, scanModuleSource, type SourceFinding } from './source-scan.js';

/** The archive that goes into the worker, and the hash its compartment map must have. */
export interface PluginArchive {
  /** Zip bytes: compartment-map.json and every module, as compartment-mapper writes them. */
  readonly bytes: Uint8Array;
  /** Hex SHA-512 of the archive's compartment-map.json, which lists each module's SHA-512. */
  readonly mapSha512: string;
  /** Bytes of the plugin's own package.json, or an empty array when it has none. */
  readonly packageJsonBytes: Uint8Array;
  /** Source findings of modules that SES will reject (such as `import(` in a comment). */
  readonly findings: readonly SourceFinding[];
  /** Every path inside the plugin folder the build looked at, keyed by absolute path. */
  readonly probes: ReadonlyMap<string, Probe>;
  /** True when the build fell back to the browser builds of the plugin's dependencies. */
  readonly browserBuilds: boolean;
  /** True when the archive came from the archive cache rather than a build. */
  readonly cached?: boolean;
}

const isMissing = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/**
 * The result of one read of the plugin folder during a build: a file's
 * SHA-256, a path that did not exist, or where a path resolved to. A later
 * run compares them to tell whether a new build would read the same bytes.
 */
export type Probe =
  | { readonly kind: 'file'; readonly sha256: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'resolved'; readonly real: string };

/** The manifest fields the archive needs. */
export interface ArchiveManifest {
  readonly name: string;
  readonly version: string;
  readonly main: string;
}

const notFound = (filePath: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`ENOENT: no such file or directory, open '${filePath}'`), { code: 'ENOENT' });

/**
 * Makes a file-system facade for compartment-mapper that only reads inside
 * `root`. Paths outside read as missing, so the package search goes on and
 * fails with "Cannot find external module". A link inside that resolves
 * outside is recorded as an error of its own.
 */
const makeConfinedFs = (
  root: string,
  manifest: ArchiveManifest,
  packageJson: Uint8Array | undefined,
  escapes: string[],
  probes: Map<string, Probe>,
) => {
  const inside = (candidate: string): boolean => candidate === root || candidate.startsWith(root + path.sep);

  const realpathInside = async (filePath: string): Promise<string> => {
    const resolved = path.resolve(filePath);
    if (!inside(resolved)) throw notFound(filePath);

    let real: string;
    try {
      real = await fs.promises.realpath(resolved);
    } catch (error) {
      if (isMissing(error)) probes.set(resolved, { kind: 'missing' });
      throw error;
    }
    if (real !== resolved) probes.set(resolved, { kind: 'resolved', real });
    if (!inside(real)) {
      // compartment-mapper tries several candidate files and swallows their
      // errors, so the escape is recorded here and reported after the build.
      escapes.push(
        `plugin "${manifest.name}": ${path.relative(root, resolved)} is a symbolic link to ${real}, outside the plugin folder; copy the file into the plugin folder instead`,
      );
      throw notFound(filePath);
    }
    return real;
  };

  const packageJsonPath = path.join(root, 'package.json');
  const syntheticPackageJson = (): Uint8Array => {
    // A plugin without package.json is an ES module package named after the plugin.
    const descriptor = { name: manifest.name, version: manifest.version, type: 'module', main: manifest.main };
    return new TextEncoder().encode(JSON.stringify(descriptor));
  };

  const readFile = async (filePath: string): Promise<Uint8Array> => {
    if (path.resolve(filePath) === packageJsonPath) {
      return packageJson === undefined ? syntheticPackageJson() : withModuleType(packageJson, manifest);
    }
    const real = await realpathInside(filePath);
    const bytes = await fs.promises.readFile(real);
    probes.set(real, { kind: 'file', sha256: computeSha256(bytes) });
    return bytes;
  };

  return {
    promises: {
      readFile,
      realpath: realpathInside,
    },
  };
};

/**
 * Treats `.js` files of the plugin's own package as ES modules unless its
 * package.json sets another `type`, because the manifest's `main` is an ES module.
 */
const withModuleType = (packageJson: Uint8Array, manifest: ArchiveManifest): Uint8Array => {
  let descriptor: unknown;
  try {
    descriptor = JSON.parse(new TextDecoder().decode(packageJson));
  } catch (error) {
    throw new PlugrunError(
      'PLUGRUN_INVALID',
      `plugin "${manifest.name}": package.json is not valid JSON (${(error as Error).message}); fix or remove it`,
    );
  }
  if (descriptor === null || typeof descriptor !== 'object' || Array.isArray(descriptor)) {
    throw new PlugrunError('PLUGRUN_INVALID', `plugin "${manifest.name}": package.json must contain a JSON object`);
  }
  const patched = { type: 'module', ...descriptor, name: manifest.name, version: manifest.version };
  return new TextEncoder().encode(JSON.stringify(patched));
};

const readOptional = async (filePath: string): Promise<Uint8Array | undefined> => {
  try {
    return await fs.promises.readFile(filePath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

/** One build's archive and the findings of its source scan. */
interface Attempt {
  readonly bytes: Uint8Array;
  readonly sha512: string;
  readonly findings: SourceFinding[];
}

/**
 * Builds the archive once, with the browser builds of dependencies or
 * without. Throws compartment-mapper's error as it is, or a `PlugrunError`
 * for a link that leads outside the plugin folder.
 */
const buildOnce = async (
  root: string,
  manifest: ArchiveManifest,
  confinedFs: ReturnType<typeof makeConfinedFs>,
  escapes: string[],
  browser: boolean,
): Promise<Attempt> => {
  const powers = makeReadPowers({ fs: confinedFs as never, url, crypto });
  const findings: SourceFinding[] = [];
  const languageOf = makeNestedTypeLookup(confinedFs.promises.readFile);
  const isIgnored = makeIgnoredFileLookup(confinedFs.promises.readFile);
  // Each module is rewritten where SES would reject harmless text or where
  // it reads process.env.NODE_ENV, then scanned for what is left. The
  // rewritten text is what the archive holds, so the integrity covers
  // exactly what runs.
  const rewrite =
    (inferred: 'mjs' | 'cjs') => async (bytes: Uint8Array, _specifier: string, location: string, packageLocation: string) => {
      const language = (await languageOf(location, packageLocation)) ?? inferred;
      if (browser && (await isIgnored(location, packageLocation))) {
        return { bytes: new TextEncoder().encode(emptyModuleSource(language)), parser: language };
      }
      const file = path.relative(root, url.fileURLToPath(location));
      const source = new TextDecoder().decode(bytes);
      const rewritten = rewriteModuleSource(source, language);
      findings.push(...scanModuleSource(rewritten, file, language));
      return { bytes: rewritten === source ? bytes : new TextEncoder().encode(rewritten), parser: language };
    };

  const entry = url.pathToFileURL(path.join(root, manifest.main)).href;
  let archive: { bytes: Uint8Array; sha512?: string };
  try {
    archive = await makeAndHashArchive(powers, entry, {
      moduleTransforms: { mjs: rewrite('mjs'), cjs: rewrite('cjs') },
      ...(browser ? { conditions: new Set(BROWSER_CONDITIONS) } : {}),
    });
    // Parsing the archive as the worker will checks every module's hash and
    // that no file is left over. CommonJS requires of Node built-ins are
    // kept as errors that throw only when the require runs.
    await parseArchive(archive.bytes, manifest.name, { computeSha512 });
  } catch (error) {
    if (escapes.length > 0) throw new PlugrunError('PLUGRUN_INVALID', escapes.join('\n'), { cause: error });
    throw error;
  }
  // makeAndHashArchive returns the hash whenever the read powers can hash, which ours can.
  if (archive.sha512 === undefined) throw new Error('compartment-mapper returned no SHA-512 for the archive');
  return { bytes: archive.bytes, sha512: archive.sha512, findings };
};

/** The outcome of one build: its archive, or the error it failed with. */
type Outcome = { readonly ok: true; readonly attempt: Attempt } | { readonly ok: false; readonly error: unknown };

const settle = (pending: Promise<Attempt>): Promise<Outcome> =>
  pending.then(
    (attempt) => ({ ok: true as const, attempt }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/**
 * Whether a build needs Node built-ins: it failed on an import of one, or
 * its archive contains a CommonJS `require` of a built-in, which throws when it runs.
 */
const needsBuiltins = (outcome: Outcome): boolean => {
  if (!outcome.ok) {
    if (outcome.error instanceof PlugrunError) return false;
    return builtinImportIn(outcome.error instanceof Error ? outcome.error.message : String(outcome.error)) !== undefined;
  }
  return builtinRequiresIn(outcome.attempt.bytes).length > 0;
};

/**
 * Reads the plugin folder and builds its archive. Fails with a
 * `PlugrunError` naming the offending import or file when the plugin reaches
 * outside its folder or imports a Node built-in.
 *
 * A build that needs a Node built-in is made once more with the `browser`
 * export condition and `browser` package.json field, as bundlers do for a
 * browser target, so a package that ships a browser build uses it. That
 * build is kept only when it succeeds and needs no built-in; otherwise the
 * first build's archive or error is used. Both builds depend only on the
 * files they read, so the same files always give the same archive.
 */
export const buildPluginArchive = async (pluginDir: string, manifest: ArchiveManifest): Promise<PluginArchive> => {
  const root = await fs.promises.realpath(pluginDir);
  const packageJsonBytes = await readOptional(path.join(root, 'package.json'));
  const probes = new Map<string, Probe>();
  const packageJsonPath = path.join(root, 'package.json');
  probes.set(packageJsonPath, packageJsonBytes === undefined ? { kind: 'missing' } : { kind: 'file', sha256: computeSha256(packageJsonBytes) });
  // The probes of both builds are kept, because either build's files decide which archive is used.
  const attempt = (browser: boolean): Promise<Outcome> => {
    const escapes: string[] = [];
    const confinedFs = makeConfinedFs(root, manifest, packageJsonBytes, escapes, probes);
    return settle(buildOnce(root, manifest, confinedFs, escapes, browser));
  };

  let outcome = await attempt(false);
  let browserBuilds = false;
  if (needsBuiltins(outcome)) {
    const retry = await attempt(true);
    if (retry.ok && !needsBuiltins(retry)) {
      outcome = retry;
      browserBuilds = true;
    }
  }
  if (!outcome.ok) throw explainLoadError(manifest.name, outcome.error);

  const { findings } = outcome.attempt;
  const rejected = findings.filter((finding) => finding.kind !== 'require-in-module');
  if (rejected.length > 0) {
    const lines = rejected.map((finding) => `  ${formatFinding(finding)}`).join('\n');
    throw new PlugrunError('PLUGRUN_INVALID', `plugin "${manifest.name}" cannot be loaded:\n${lines}`);
  }

  return {
    bytes: outcome.attempt.bytes,
    mapSha512: outcome.attempt.sha512,
    packageJsonBytes: packageJsonBytes ?? new Uint8Array(0),
    findings,
    probes,
    browserBuilds,
  };
};

/**
 * Builds a plugin's compartment-mapper archive: every module the plugin will
 * run, read once from disk into one zip in memory, with the SHA-512 of each
 * module recorded in the archive's compartment map.
 *
 * Threat model: the plugin folder is untrusted. Reads are confined to it, so
 * neither a `../` import, a dependency that Node would find in a parent
 * `node_modules`, nor a symbolic link that leaves the folder can pull a file
 * from outside into the archive. Node built-ins have no place in an archive,
 * so importing one fails here, with the import named.
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
import { explainLoadError } from './load-errors.js';
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

/**
 * Reads the plugin folder once and builds its archive. Fails with a
 * `PlugrunError` naming the offending import or file when the plugin reaches
 * outside its folder or imports a Node built-in.
 */
export const buildPluginArchive = async (pluginDir: string, manifest: ArchiveManifest): Promise<PluginArchive> => {
  const root = await fs.promises.realpath(pluginDir);
  const packageJsonBytes = await readOptional(path.join(root, 'package.json'));
  const escapes: string[] = [];
  const probes = new Map<string, Probe>();
  const packageJsonPath = path.join(root, 'package.json');
  probes.set(packageJsonPath, packageJsonBytes === undefined ? { kind: 'missing' } : { kind: 'file', sha256: computeSha256(packageJsonBytes) });
  const confinedFs = makeConfinedFs(root, manifest, packageJsonBytes, escapes, probes);
  const powers = makeReadPowers({ fs: confinedFs as never, url, crypto });

  const findings: SourceFinding[] = [];
  const languageOf = makeNestedTypeLookup(confinedFs.promises.readFile);
  // Each module is rewritten where SES would reject harmless text or where
  // it reads process.env.NODE_ENV, then scanned for what is left. The
  // rewritten text is what the archive holds, so the integrity covers
  // exactly what runs.
  const rewrite =
    (inferred: 'mjs' | 'cjs') => async (bytes: Uint8Array, _specifier: string, location: string, packageLocation: string) => {
      const language = (await languageOf(location, packageLocation)) ?? inferred;
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
    });
    // Parsing the archive as the worker will checks every module's hash and
    // that no file is left over. Imports of Node built-ins are exits that only
    // fail when the plugin is evaluated, naming the import.
    await parseArchive(archive.bytes, manifest.name, { computeSha512 });
  } catch (error) {
    if (escapes.length > 0) throw new PlugrunError('PLUGRUN_INVALID', escapes.join('\n'), { cause: error });
    throw explainLoadError(manifest.name, error);
  }

  const rejected = findings.filter((finding) => finding.kind !== 'require-in-module');
  if (rejected.length > 0) {
    const lines = rejected.map((finding) => `  ${formatFinding(finding)}`).join('\n');
    throw new PlugrunError('PLUGRUN_INVALID', `plugin "${manifest.name}" cannot be loaded:\n${lines}`);
  }

  // makeAndHashArchive returns the hash whenever the read powers can hash, which ours can.
  if (archive.sha512 === undefined) throw new Error('compartment-mapper returned no SHA-512 for the archive');

  return {
    bytes: archive.bytes,
    mapSha512: archive.sha512,
    packageJsonBytes: packageJsonBytes ?? new Uint8Array(0),
    findings,
    probes,
  };
};
